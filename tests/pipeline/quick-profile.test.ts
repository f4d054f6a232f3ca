/**
 * The quick profile end to end through the command line, as a user runs it:
 * twice from empty caches into two folders (the artifacts must be byte for
 * byte the same), then once more on a warm cache (it must reuse and say so).
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { isColdRun, listArtifacts, manifestFile, type Manifest, type StageRecord } from '../../compute/artifacts/manifest.ts';
import { sha256 } from '../../compute/artifacts/json.ts';
import { checkResults } from '../../compute/artifacts/check.ts';
import { methodArtifact, modelsArtifact, summaryArtifact, sweepArtifact } from '../../compute/artifacts/schemas.ts';
import { nativeBinding } from '../../compute/backend/native.ts';

const run = promisify(execFile);

async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'compute/cli.ts', ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

// Two full quick-profile runs from empty caches: minutes, not seconds, on 2 cores.
const pipelineTimeout = 900_000;

// The first cold run is the one the global setup made for every suite (tests/quick-results.setup.ts).
const shared = inject('quickResults');
// The backend those runs choose: the forced one, else node where its binding is built, else wasm.
const expectedBackend = process.env.LAPLACE_BACKEND || ('path' in nativeBinding('@tensorflow/tfjs-node') ? 'node' : 'wasm');

describe.skipIf(shared.reused)('quick profile', () => {
  const root = mkdtempSync(join(tmpdir(), 'quick-'));
  const [outA, cacheA] = [shared.out, shared.cache];
  const [outB, cacheB] = ['out-b', 'cache-b'].map((name) => join(root, name));

  it('runs from empty caches twice and gives byte-identical artifacts', async () => {
    const first = { code: shared.code, stdout: shared.stdout, stderr: shared.stderr };
    const second = await cli(['run', '--profile', 'quick', '--out', outB, '--cache', cacheB]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`backend ${expectedBackend} `));
    expect(first.stdout).toMatch(/stage times:\n\s+models .*\n\s+laplace .*\n\s+ensemble .*\n\s+landscape /);

    const artifacts = listArtifacts(outA);
    for (const dataset of ['mnist', 'fashion-mnist']) {
      for (const method of ['sgd', 'temperature', 'diag', 'kfac', 'efb', 'last-layer']) expect(artifacts).toContain(`${dataset}/lenet5/${method}.json`);
      for (const search of ['diag-glm', 'kfac-glm', 'efb-glm', 'last-layer-glm', 'kfac-sampled']) expect(artifacts).toContain(`${dataset}/lenet5/search/${search}.json`);
      for (const method of ['diag', 'kfac', 'efb', 'last-layer']) expect(artifacts).toContain(`${dataset}/lenet5/sweep/${method}.json`);
      for (const method of ['sgd', 'temperature', 'diag', 'kfac', 'efb', 'last-layer']) expect(artifacts).toContain(`${dataset}/lenet5/seed-1/${method}.json`);
      expect(artifacts).toContain(`${dataset}/lenet5/landscape.json`);
      expect(artifacts).toContain(`${dataset}/lenet5/covariance-2x2.json`);
      expect(artifacts).toContain(`${dataset}/lenet5/ensemble.json`);
    }
    expect(artifacts).toContain('models.json');
    expect(artifacts).toContain('summary.json');
    // Every artifact matches its schema and the manifest.
    expect(checkResults(outA)).toEqual([]);
    expect(listArtifacts(outB)).toEqual(artifacts);
    for (const path of artifacts) {
      expect(readFileSync(join(outB, path)).equals(readFileSync(join(outA, path))), path).toBe(true);
    }
    const manifest = JSON.parse(readFileSync(join(outA, manifestFile), 'utf8')) as Manifest;
    expect(manifest.profile).toBe('quick');
    expect(manifest.backend.name).toBe(expectedBackend);
    for (const path of artifacts) expect(manifest.artifacts[path]).toBe(sha256(readFileSync(join(outA, path))));
    expect(manifest.data.mnist.map((file) => file.sha256)).toContain('ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db');
    // From empty caches every task ran and none was restored: a cold run, whose times the README may state.
    const stages = manifest.run.stages as Record<string, StageRecord>;
    expect(Object.keys(stages).sort()).toEqual(['demo', 'ensemble', 'landscape', 'laplace', 'models']);
    expect(Object.values(stages).map((stage) => stage.reused)).toEqual([0, 0, 0, 0, 0]);
    expect([stages.models.ran, stages.laplace.ran, stages.ensemble.ran, stages.landscape.ran, stages.demo.ran]).toEqual([12, 4, 2, 2, 0]);
    expect(isColdRun(manifest.run)).toBe(true);
  }, pipelineTimeout);

  it('trains models that beat chance (10%) by a wide margin', () => {
    const models = modelsArtifact.parse(JSON.parse(readFileSync(join(outA, 'models.json'), 'utf8')));
    expect(models.models).toHaveLength(10);
    // LeNet-5's second training seed, which is also the ensemble's second member, on each data set.
    expect(models.replicas.map((row) => `${row.dataset}/${row.model}/${row.member}`).sort()).toEqual(['fashion-mnist/lenet5/1', 'mnist/lenet5/1']);
    for (const row of models.models) {
      expect(row.testAccuracy, `${row.dataset}/${row.model}`).toBeGreaterThan(0.5);
      expect(row.trainCount).toBe(2000);
      expect(row.testCount).toBe(500);
      // The layer list is what the curvature structures are drawn from: it must account for every parameter.
      expect(row.layers.reduce((sum, layer) => sum + layer.parameters, 0), row.model).toBe(row.parameters);
    }
    const lenet = models.models.find((row) => row.model === 'lenet5')!;
    expect(lenet.layers.map((layer) => [layer.kind, layer.fanIn, layer.fanOut])).toEqual([
      ['conv2d', 25, 6],
      ['conv2d', 150, 16],
      ['dense', 256, 120],
      ['dense', 120, 84],
      ['dense', 84, 10],
    ]);
    const best = Math.max(...models.models.filter((row) => row.dataset === 'mnist').map((row) => row.testAccuracy));
    expect(best).toBeGreaterThan(0.85);
  });

  it('summarises every Laplace posterior and baseline per data set, with intervals, paired differences and seeds', () => {
    const summary = summaryArtifact.parse(JSON.parse(readFileSync(join(outA, 'summary.json'), 'utf8')));
    const laplace = (method: string) => ['tuned', 'marglik', 'textbook'].map((posterior) => `lenet5/${method}/${posterior}`);
    for (const dataset of ['mnist', 'fashion-mnist']) {
      const rows = summary.rows.filter((row) => row.dataset === dataset).map((row) => `${row.model}/${row.method}/${row.posterior}`);
      expect(rows).toEqual(['lenet5/sgd/map', 'lenet5/temperature/map', 'lenet5/ensemble/map', ...laplace('diag'), ...laplace('kfac'), 'lenet5/kfac/original', ...laplace('efb'), ...laplace('last-layer')]);
    }
    const read = (path: string) => methodArtifact.parse(JSON.parse(readFileSync(join(outA, path), 'utf8')));
    for (const row of summary.rows) {
      expect(row.logN === null).toBe(['sgd', 'temperature', 'ensemble'].includes(row.method));
      for (const metric of ['accuracy', 'ece', 'nll', 'auroc', 'fpr95'] as const) {
        expect(row.intervals[metric].low, `${row.method} ${metric}`).toBeLessThanOrEqual(row[metric] + 1e-12);
        expect(row.intervals[metric].high, `${row.method} ${metric}`).toBeGreaterThanOrEqual(row[metric] - 1e-12);
      }
      // The paired difference's estimate is the difference of the two rows (artifacts keep 6 significant digits).
      const sgd = summary.rows.find((other) => other.dataset === row.dataset && other.model === row.model && other.method === 'sgd')!;
      if (row.versus) for (const metric of ['accuracy', 'ece', 'nll', 'auroc', 'fpr95'] as const) expect(row.versus.sgd[metric].estimate).toBeCloseTo(row[metric] - sgd[metric], 4);
      else expect(['sgd', 'temperature']).toContain(row.method);
      // Two seeds of LeNet-5 on the rows the seed replicas have: the mean of this row and the seed-1 artifact's.
      if (row.posterior === 'original' || row.method === 'ensemble') expect(row.seeds).toBeNull();
      else {
        const replica = read(`${row.dataset}/lenet5/seed-1/${row.method}.json`).variants.find((variant) => variant.posterior === row.posterior)!;
        expect(row.seeds!.count).toBe(2);
        expect(row.seeds!.nll.mean).toBeCloseTo((row.nll + replica.calibration.nll) / 2, 4);
        expect(row.seeds!.auroc.min).toBe(Math.min(row.auroc, replica.ood.unknown[0].auroc));
      }
    }
  });

  it('ends the width sweep, at the collapse, on the deterministic network within 1e-6', () => {
    for (const dataset of ['mnist', 'fashion-mnist']) {
      for (const method of ['diag', 'kfac', 'efb', 'last-layer']) {
        const sweep = sweepArtifact.parse(JSON.parse(readFileSync(join(outA, `${dataset}/lenet5/sweep/${method}.json`), 'utf8')));
        const collapse = sweep.points.at(-1)!;
        for (const metric of ['accuracy', 'nll', 'ece', 'auroc', 'fpr95', 'fgsmEntropy'] as const) {
          expect(Math.abs(collapse[metric] - sweep.deterministic[metric]), `${dataset}/${method} ${metric}`).toBeLessThan(1e-6);
        }
        // And the widest end is a different network: the sweep does move the predictions.
        expect(Math.abs(sweep.points[0].nll - sweep.deterministic.nll), `${dataset}/${method}`).toBeGreaterThan(1e-3);
      }
    }
  });

  it('reuses cached checkpoints on a rerun and says so', async () => {
    // Into a copy: the shared folder is read by the site tests meanwhile. Without the finished-task
    // records every task runs again, from cached checkpoints and curvature.
    const outR = join(root, 'out-rerun');
    cpSync(outA, outR, { recursive: true });
    rmSync(join(cacheA, 'finished'), { recursive: true, force: true });
    const rerun = await cli(['run', '--profile', 'quick', '--out', outR, '--cache', cacheA]);
    expect(rerun.code, rerun.stderr).toBe(0);
    // Twelve trainings (ten zoo models, LeNet-5's second seed on each data set); the four Laplace tasks (two seeds
    // on two data sets) and the two landscapes load theirs again, the ensembles two members per data set, and the
    // demo export (which copies files in about a second and is not a recorded task) LeNet-5's on MNIST and on Fashion-MNIST.
    expect(rerun.stdout.match(/reusing cached checkpoint/g)).toHaveLength(24);
    expect(rerun.stdout.match(/reusing cached curvature/g)).toHaveLength(4);
    expect(rerun.stdout).not.toMatch(/^trained /m);
    // Its manifest counts the tasks that took their checkpoint or curvature from the cache as reused, so it
    // is no cold run; it carries the cold run whose copy it overwrote, the one whose times the README may state.
    const rerunManifest = JSON.parse(readFileSync(join(outR, manifestFile), 'utf8')) as Manifest;
    const rerunStages = rerunManifest.run.stages as Record<string, StageRecord>;
    expect([rerunStages.models, rerunStages.laplace].map((stage) => [stage.ran, stage.reused])).toEqual([
      [0, 12],
      [0, 4],
    ]);
    expect(isColdRun(rerunManifest.run)).toBe(false);
    const coldManifest = JSON.parse(readFileSync(join(outA, manifestFile), 'utf8')) as Manifest;
    expect(rerunManifest.run.lastColdRun?.finishedAt).toBe(coldManifest.run.finishedAt);
    expect(rerunManifest.run.lastColdRun?.stages).toEqual(coldManifest.run.stages);
    // Results from cached checkpoints and curvature are the same bytes as from a cold run.
    for (const path of listArtifacts(outB)) {
      expect(readFileSync(join(outR, path)).equals(readFileSync(join(outB, path))), path).toBe(true);
    }

    // With the records, a second rerun runs no task at all and restores a deleted artifact.
    rmSync(join(outR, 'mnist/lenet5/kfac.json'));
    const again = await cli(['run', '--profile', 'quick', '--out', outR, '--cache', cacheA]);
    expect(again.code, again.stderr).toBe(0);
    // 12 trainings, 4 Laplace tasks, 2 ensembles, 2 landscapes.
    expect(again.stdout.match(/reusing finished /g)).toHaveLength(20);
    // The manifest says so: every task of every stage reused, none ran, so not a cold run.
    const warm = JSON.parse(readFileSync(join(outR, manifestFile), 'utf8')) as Manifest;
    const warmStages = warm.run.stages as Record<string, StageRecord>;
    expect([warmStages.models, warmStages.laplace, warmStages.ensemble, warmStages.landscape].map((stage) => [stage.ran, stage.reused])).toEqual([
      [0, 12],
      [0, 4],
      [0, 2],
      [0, 2],
    ]);
    expect(isColdRun(warm.run)).toBe(false);
    expect(warm.run.lastColdRun?.finishedAt).toBe(coldManifest.run.finishedAt);
    // Only the demo export loads checkpoints again, one per data set.
    expect(again.stdout.match(/reusing cached checkpoint/g)).toHaveLength(2);
    for (const path of listArtifacts(outB)) {
      expect(readFileSync(join(outR, path)).equals(readFileSync(join(outB, path))), path).toBe(true);
    }
  }, pipelineTimeout);

  it('resumes a run killed midway and ends with the same bytes as an uninterrupted run', async () => {
    const [outK, cacheK] = ['out-killed', 'cache-killed'].map((name) => join(root, name));
    // Kill (SIGKILL, no chance to clean up) as soon as the first Laplace task has finished and the second is running.
    const child = spawn('npx', ['tsx', 'compute/cli.ts', 'run', '--profile', 'quick', '--out', outK, '--cache', cacheK], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const killed = await new Promise<boolean>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/^evaluated /m.test(output)) {
          process.kill(-child.pid!, 'SIGKILL');
          resolve(true);
        }
      });
      child.on('exit', () => resolve(false));
    });
    expect(killed, output).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(join(outK, 'summary.json'))).toBe(false);

    const resumed = await cli(['run', '--profile', 'quick', '--out', outK, '--cache', cacheK]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/reusing finished laplace /);
    expect(resumed.stdout).not.toMatch(/^trained /m);
    // Against the shared cold run, so this test stands alone.
    expect(listArtifacts(outK)).toEqual(listArtifacts(outA));
    for (const path of listArtifacts(outA)) {
      expect(readFileSync(join(outK, path)).equals(readFileSync(join(outA, path))), path).toBe(true);
    }
    expect(checkResults(outK)).toEqual([]);
  }, pipelineTimeout);

  it('refuses to write the quick profile over the committed results', async () => {
    const refused = await cli(['run', '--profile', 'quick', '--out', 'results']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(/^error: The quick profile may not write into results\/.*pass another --out folder\.$/);
  });

  it('refuses unknown profiles, experiments, backends and options with one sentence and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['run', '--profile', 'huge'], /Unknown profile "huge"; choose one of full, quick\./],
      [['run', '--profile', 'quick', '--only', 'nonsense', '--out', outA], /Unknown experiment "nonsense"; choose from models, laplace, ensemble, landscape, demo\./],
      [['run', '--profile', 'quick', '--backend', 'tpu', '--out', outA], /Unknown backend "tpu"; choose one of gpu, node, wasm, cpu/],
      [['run', '--frobnicate'], /Unknown option '--frobnicate'; run with --help/],
      [['run', '--profile', 'quick', '--only', 'laplace', '--models', 'resnet', '--out', outA], /Unknown model "resnet"; choose from mlp-1/],
      [['run', '--profile', 'quick', '--only', 'landscape', '--data', 'cifar', '--out', outA], /Unknown data set "cifar"; choose from mnist, fashion-mnist\./],
      [['run', '--profile', 'quick', '--models', 'lenet5', '--out', outA], /--models and --data restrict the laplace, ensemble and landscape experiments; .*pass --only without models\./],
      [['train', '--data', 'cifar', '--model', 'lenet5'], /Unknown data set "cifar"; choose one of mnist, fashion-mnist\./],
      [['train', '--data', 'mnist', '--model', 'resnet'], /Unknown model "resnet"; choose one of mlp-1/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(message);
    }
  });
});
