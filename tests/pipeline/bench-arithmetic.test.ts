/** The bench's arithmetic floors (tests/bench/arithmetic.ts) against multiply-adds counted by hand. */
import { beforeAll, describe, expect, it } from 'vitest';
import { startBackend } from '../../compute/backend/index.ts';
import { Network } from '../../compute/laplace/index.ts';
import { buildModel, getModelSpec } from '../../compute/models/zoo.ts';
import { fitFlops, forwardFlops, statisticsFlops } from '../bench/arithmetic.ts';

beforeAll(async () => {
  await startBackend(process.env.LAPLACE_BACKEND || 'cpu');
});

describe('the bench arithmetic', () => {
  it("counts LeNet-5's forward pass as its multiply-adds, layer by layer", () => {
    const network = new Network(buildModel(getModelSpec('lenet5')));
    // conv 6@5×5 on 28×28 → 24×24; conv 16@5×5×6 on 12×12 → 8×8; dense 256→120→84→10.
    const multiplyAdds = 24 * 24 * 6 * 25 + 8 * 8 * 16 * 150 + 256 * 120 + 120 * 84 + 84 * 10;
    expect(multiplyAdds).toBe(281_640);
    expect(forwardFlops(network)).toBe(2 * multiplyAdds);
  });

  it("counts mlp-1's fit and statistics pass from its two layers", () => {
    const network = new Network(buildModel(getModelSpec('mlp-1')));
    const forward = 2 * (784 * 256 + 256 * 10);
    expect(forwardFlops(network)).toBe(forward);
    // Dense layers: one position; a = fan-in + 1 rows, g outputs.
    const layers = [
      [785, 256],
      [257, 10],
    ];
    const classes = 10;
    const perLayerFit = ([a, g]: number[]) => 2 * (a * a + g * g) + 2 * a * g + 2 * a * g + 2 * (a * a + g * g) + 2 * a * g;
    const lastRows = 257 * classes;
    const fit = fitFlops(network);
    expect(fit.perImage).toBe(6 * forward + perLayerFit(layers[0]) + perLayerFit(layers[1]) + 2 * lastRows * lastRows);
    const cube = (n: number) => (4 / 3) * n ** 3;
    expect(fit.perFit).toBeCloseTo(cube(785) + cube(256) + cube(257) + cube(10) + cube(lastRows), -3);
    const perLayerStatistics = ([a, g]: number[]) => 2 * a * a + classes * (2 * g * g + 4 * a * g + 4 * a * g);
    expect(statisticsFlops(network)).toBe(forward * (1 + 2 * classes) + perLayerStatistics(layers[0]) + perLayerStatistics(layers[1]) + 2 * 257 ** 2 * classes ** 2);
  });
});
