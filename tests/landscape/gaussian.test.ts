/**
 * The 2-D Gaussian fit against surfaces made by hand from known parameters: exact surfaces
 * (axis-aligned, positively and negatively correlated, broad and cut off by the grid, a
 * non-square grid that pins the layout) are recovered to 1e-6; with seeded noise of standard
 * deviation σ the parameters land within stated tolerances and the RMS residual is ≈ σ.
 */
import { describe, expect, it } from 'vitest';
import { LandscapeError, fitGaussian2d, linspace } from '../../compute/landscape/index.ts';
import { Random } from '../../compute/laplace/random.ts';
import { gaussianSurface } from './helpers.ts';

type Covariance = [[number, number], [number, number]];

interface Case {
  name: string;
  alphas: number[];
  betas: number[];
  amplitude: number;
  mean: [number, number];
  covariance: Covariance;
}

const square = linspace(-1, 1, 41);

const exactCases: Case[] = [
  { name: 'axis-aligned', alphas: square, betas: square, amplitude: 0.8, mean: [0.12, -0.07], covariance: [[0.09, 0], [0, 0.04]] },
  { name: 'correlated (ρ ≈ 0.72), non-square grid', alphas: linspace(-1, 1, 31), betas: linspace(-0.8, 1.2, 25), amplitude: 0.95, mean: [-0.1, 0.2], covariance: [[0.08, 0.05], [0.05, 0.06]] },
  { name: 'anti-correlated (ρ ≈ −0.6)', alphas: square, betas: square, amplitude: 0.5, mean: [0.3, 0.1], covariance: [[0.05, -0.036], [-0.036, 0.072]] },
  { name: 'broad, cut off by the grid', alphas: square, betas: square, amplitude: 0.99, mean: [0.05, 0], covariance: [[0.6, 0.1], [0.1, 0.35]] },
];

function expectParameters(fit: ReturnType<typeof fitGaussian2d>, truth: Case, tolerance: { amplitude: number; mean: number; covariance: number }): void {
  expect(Math.abs(fit.amplitude - truth.amplitude)).toBeLessThan(tolerance.amplitude);
  expect(Math.abs(fit.mean[0] - truth.mean[0])).toBeLessThan(tolerance.mean);
  expect(Math.abs(fit.mean[1] - truth.mean[1])).toBeLessThan(tolerance.mean);
  // Covariance entries relative to the larger variance.
  const scale = Math.max(truth.covariance[0][0], truth.covariance[1][1]);
  for (const [i, j] of [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]) {
    expect(Math.abs(fit.covariance[i][j] - truth.covariance[i][j]) / scale).toBeLessThan(tolerance.covariance);
  }
  const [[sxx, sxy], [syx, syy]] = fit.covariance;
  expect(sxy).toBe(syx);
  expect(sxx).toBeGreaterThan(0);
  expect(sxx * syy - sxy * sxy).toBeGreaterThan(0);
  expect(fit.standardDeviations[0]).toBeCloseTo(Math.sqrt(sxx), 12);
  expect(fit.correlation).toBeCloseTo(sxy / Math.sqrt(sxx * syy), 12);
}

describe('fitGaussian2d on exact surfaces', () => {
  for (const truth of exactCases) {
    it(`recovers A, μ and Σ to 1e-6: ${truth.name}`, () => {
      const values = gaussianSurface(truth.alphas, truth.betas, truth.amplitude, truth.mean, truth.covariance);
      const fit = fitGaussian2d(truth.alphas, truth.betas, values);
      expect(fit.converged).toBe(true);
      expectParameters(fit, truth, { amplitude: 1e-6, mean: 1e-6, covariance: 1e-6 });
      expect(fit.surface.length).toBe(values.length);
      expect(fit.residual.rms).toBeLessThan(1e-8);
      expect(fit.residual.maxAbs).toBeLessThan(1e-7);
      expect(fit.residual.rSquared).toBeGreaterThan(1 - 1e-12);
      // The returned surface is the landscape layout: row j = betas[j], column i = alphas[i].
      const nx = truth.alphas.length;
      const j = Math.floor(truth.betas.length / 3);
      const i = Math.floor((2 * nx) / 3);
      expect(fit.surface[j * nx + i]).toBeCloseTo(values[j * nx + i], 8);
    });
  }

  it('a transposed grid gives the transposed covariance (layout check)', () => {
    const truth = exactCases[1];
    const values = gaussianSurface(truth.alphas, truth.betas, truth.amplitude, truth.mean, truth.covariance);
    // The same values read with the axes swapped, as a caller with the wrong layout would.
    const nx = truth.alphas.length;
    const ny = truth.betas.length;
    const transposed = Array.from({ length: nx * ny }, (_, k) => values[(k % ny) * nx + Math.floor(k / ny)]);
    const fit = fitGaussian2d(truth.betas, truth.alphas, transposed);
    expect(fit.mean[0]).toBeCloseTo(truth.mean[1], 6);
    expect(fit.covariance[0][0]).toBeCloseTo(truth.covariance[1][1], 6);
    expect(fit.covariance[1][1]).toBeCloseTo(truth.covariance[0][0], 6);
  });
});

describe('fitGaussian2d with noise', () => {
  const noise = 0.01;
  for (const truth of exactCases.slice(0, 3)) {
    it(`recovers the parameters within tolerance and reports a residual ≈ σ = ${noise}: ${truth.name}`, () => {
      const random = new Random(99);
      const clean = gaussianSurface(truth.alphas, truth.betas, truth.amplitude, truth.mean, truth.covariance);
      const values = clean.map((value) => value + noise * random.normal());
      const fit = fitGaussian2d(truth.alphas, truth.betas, values);
      expect(fit.converged).toBe(true);
      // Tolerances: ~10× the standard errors of a least-squares fit at this noise and grid.
      expectParameters(fit, truth, { amplitude: 0.02, mean: 0.01, covariance: 0.05 });
      expect(fit.residual.rms).toBeGreaterThan(0.8 * noise);
      expect(fit.residual.rms).toBeLessThan(1.2 * noise);
      expect(fit.residual.relativeRms).toBeLessThan(0.03);
      expect(fit.residual.maxAbs).toBeLessThan(5 * noise);
      expect(fit.residual.range).toBeGreaterThan(truth.amplitude * 0.9);
      // R² of a fit that leaves only the noise: 1 − σ² / var(values), with some slack.
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      expect(fit.residual.rSquared).toBeGreaterThan(1 - (1.5 * noise * noise) / variance);
    });
  }
});

describe('fitGaussian2d inputs', () => {
  it('fits the likelihood of a quadratic loss exactly: exp(−(c + ½ dᵀ H d)) is a Gaussian with Σ = H⁻¹', () => {
    // H = [[20, 6], [6, 10]], c = 0.05, centred at (0.1, −0.05).
    const loss: number[] = [];
    for (const beta of square) {
      for (const alpha of square) {
        const dx = alpha - 0.1;
        const dy = beta + 0.05;
        loss.push(0.05 + 0.5 * (20 * dx * dx + 12 * dx * dy + 10 * dy * dy));
      }
    }
    const fit = fitGaussian2d(square, square, loss.map((value) => Math.exp(-value)));
    const det = 20 * 10 - 36;
    expect(fit.amplitude).toBeCloseTo(Math.exp(-0.05), 8);
    expect(fit.mean[0]).toBeCloseTo(0.1, 8);
    expect(fit.mean[1]).toBeCloseTo(-0.05, 8);
    expect(fit.covariance[0][0]).toBeCloseTo(10 / det, 8);
    expect(fit.covariance[0][1]).toBeCloseTo(-6 / det, 8);
    expect(fit.covariance[1][1]).toBeCloseTo(20 / det, 8);
  });

  it('refuses mismatched sizes, non-finite values, tiny grids and flat surfaces', () => {
    expect(() => fitGaussian2d(square, square, [1, 2, 3])).toThrow(LandscapeError);
    expect(() => fitGaussian2d([0], [0, 1], [1, 1])).toThrow(LandscapeError);
    expect(() => fitGaussian2d([0, 1], [0, 1], [1, Number.NaN, 0, 0])).toThrow(LandscapeError);
    expect(() => fitGaussian2d([0, 1], [0, 1], [0.5, 0.5, 0.5, 0.5])).toThrow(LandscapeError);
  });
});
