/**
 * The compute command line. `run` executes the study's experiments for a
 * profile and writes artifacts plus manifest; `train` trains (or finds in the
 * cache) one model and prints its checkpoint folder.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BackendError, backendEnvVar, backendNames, describeBackend, isBackendName, startBackend } from './backend/index.ts';
import { defaultWorkers, planWorkers } from './backend/native.ts';
import { z } from 'zod';
import { checkResults } from './artifacts/check.ts';
import { writeJsonArtifact } from './artifacts/json.ts';
import { carriedColdRun, describeCommit, describeMachine, writeManifest, type Manifest, type StageRecord } from './artifacts/manifest.ts';
import { artifactSchemas } from './artifacts/schemas.ts';
import { checkStageTimes } from './artifacts/stage-times.ts';
import { datasetNames, isDatasetName, verifyDataFiles } from './data/index.ts';
import { TaskFailures } from './experiments/failures.ts';
import { removeStaleTemps, runOnce, scopes, taskTally } from './experiments/finished.ts';
import { runDemoExperiment } from './experiments/demo.ts';
import { runLaplaceExperiment } from './experiments/run-laplace.ts';
import { writeSummary } from './experiments/summary.ts';
import { runModelsExperiment } from './experiments/run-models.ts';
import type { RunSettings } from './experiments/inputs.ts';
import { getModelSpec, modelNames } from './models/zoo.ts';
import { formatDuration, ProgressBoard } from './progress/index.ts';
import { experimentNames, getProfile, parseExperiments, profileNames, type ExperimentName } from './study.ts';
import { TaskPool } from './workers/pool.ts';
import { QueuedTaskFailures, QueueRunner, RunStoppedError } from './queue/runner.ts';
import { parseQueueUrl } from './queue/store.ts';

const usage = `Usage: npm run compute -- <command> [options]

Commands:
  run      run the study's experiments and write their artifacts and manifest
  train    train one model (or reuse its cached checkpoint) and print the checkpoint folder
  backend  start the backend that a run would use and print it
  check    check artifacts against their schemas and the manifest (--out DIR, default results/)
  schemas  write the artifacts' JSON Schemas into DIR (--out DIR)

Options of run:
  --profile NAME   ${profileNames.join(' | ')} (default full; only full may write to results/)
  --only LIST      comma-separated experiments: ${experimentNames.join(', ')}
  --out DIR        where artifacts go (default: results/ for full, .cache/out/<profile> otherwise)
  --workers N      worker threads, each with its own backend (default 2 on cpu, wasm and node, 1 on gpu; 0 runs in this thread)
  --models LIST    with --only laplace, ensemble, landscape or demo: only these models (comma-separated)
  --data LIST      with --only laplace, ensemble, landscape or demo: only these data sets (comma-separated)
  --queue URL      run the tasks on queue workers (npm run worker -- --queue URL, on any machines) through the Redis server at URL
  --keep-queue     with --queue: keep the run's jobs and blobs on the server when it succeeds (by default they are removed then)
  --check-options  check the options (and that --out can be written) and exit: 0, or 2 with the problem

Options of train:
  --data NAME      ${datasetNames.join(' | ')}
  --model NAME     ${modelNames.join(' | ')}
  --profile NAME   ${profileNames.join(' | ')} (default full)

Common options:
  --backend NAME   ${backendNames.join(' | ')} (default: the first that starts; also ${backendEnvVar})
  --cache DIR      cache of checkpoints and fits (default .cache)
  --help           this text
`;

export class UsageError extends Error {
  override name = 'UsageError';
}

const options = {
  profile: { type: 'string' },
  only: { type: 'string' },
  out: { type: 'string' },
  workers: { type: 'string' },
  data: { type: 'string' },
  model: { type: 'string' },
  models: { type: 'string' },
  backend: { type: 'string' },
  cache: { type: 'string' },
  queue: { type: 'string' },
  'keep-queue': { type: 'boolean' },
  'check-options': { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${message.replace(/\.$/, '')}; run with --help to see the options.`);
  }
}

/** A comma-separated list of known names, or undefined when the option is absent. */
function parseNames(value: string | undefined, known: readonly string[], what: string): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`--${what === 'model' ? 'models' : 'data'} needs at least one ${what}.`);
  for (const name of names) {
    if (!known.includes(name)) throw new UsageError(`Unknown ${what} "${name}"; choose from ${known.join(', ')}.`);
  }
  return names;
}

function workerCount(value: string | undefined, backend: string): number {
  if (value === undefined) return defaultWorkers(backend);
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0 || count > 64) throw new UsageError(`--workers must be an integer from 0 to 64, got "${value}".`);
  return count;
}

/** A folder we can create or write into: refused before any work when its nearest existing ancestor is a file or read-only. */
function checkOutputFolder(outDir: string): void {
  let existing = outDir;
  while (!existsSync(existing)) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new UsageError(`--out ${outDir} cannot be made: ${existing} is a file, not a folder; choose another --out.`);
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    throw new UsageError(`--out ${outDir} cannot be written: ${existing} is not writable by this user; choose another --out.`);
  }
}

/** Every option of `run` checked, before anything is started or installed. */
function planRun(values: ReturnType<typeof parse>['values']) {
  const profile = getProfile(values.profile ?? 'full');
  const experiments = parseExperiments(values.only);
  const outDir = resolve(values.out ?? profile.defaultOut);
  if (profile.name !== 'full' && outDir === resolve('results')) {
    throw new UsageError(`The ${profile.name} profile may not write into results/, which holds the committed full-profile results; pass another --out folder.`);
  }
  checkOutputFolder(outDir);
  if (values.cache !== undefined) checkOutputFolder(resolve(values.cache));
  const chosenModels = parseNames(values.models, modelNames, 'model');
  const chosenData = parseNames(values.data, datasetNames, 'data set');
  if ((chosenModels || chosenData) && experiments.includes('models')) {
    throw new UsageError('--models and --data restrict the laplace, ensemble and landscape experiments; models.json always holds the whole zoo, so pass --only without models.');
  }
  const requestedBackend = values.backend ?? process.env[backendEnvVar] ?? '';
  if (requestedBackend !== '' && !isBackendName(requestedBackend)) {
    throw new BackendError(`Unknown backend "${requestedBackend}"; choose one of ${backendNames.join(', ')} (or leave ${backendEnvVar} unset to pick automatically).`);
  }
  // The worker count's own check needs the backend's default only when --workers is absent.
  if (values.workers !== undefined) workerCount(values.workers, 'wasm');
  const selected = (model: string) => !chosenModels || chosenModels.includes(model);
  const datasets = profile.datasets.filter((dataset) => !chosenData || chosenData.includes(dataset));
  const queue = values.queue === undefined ? undefined : parseQueueUrl(values.queue);
  if (values['keep-queue'] && !queue) throw new UsageError('--keep-queue keeps a queued run\'s jobs and blobs on its server, so it needs --queue URL.');
  return { profile, experiments, outDir, selected, datasets, queue };
}

async function runCommand(values: ReturnType<typeof parse>['values']): Promise<void> {
  const { profile, experiments, outDir, selected, datasets, queue } = planRun(values);
  // --check-options: what npm run reproduce asks before it installs anything.
  if (values['check-options']) return;
  const board = new ProgressBoard();
  // With --queue the server is reached first: one sentence and no work done when it cannot be.
  const queueRunner = queue ? await QueueRunner.open(queue, profile.datasets, board) : null;
  // The native backend sizes its thread pool for the workers before it starts.
  planWorkers(values.workers === undefined ? defaultWorkers('node') : Number(values.workers));
  const backend = await startBackend(values.backend).catch(async (error: unknown) => {
    await queueRunner?.close();
    throw error;
  });
  console.log(`${describeBackend(backend)}; profile ${profile.name}; writing to ${outDir}`);
  const settings: RunSettings = { profile: profile.name, backend: backend.name, cacheDir: resolve(values.cache ?? '.cache') };
  const workers = workerCount(values.workers, backend.name);
  // Queued tasks run on the queue's workers; the demo, which only copies cached files, runs in this thread.
  const pool = new TaskPool(queueRunner ? 0 : workers, backend.name, board);
  const runner = queueRunner ?? pool;
  const stages: Record<string, StageRecord> = {};
  // The code this run runs: read now, before the run rewrites results/.
  const commit = describeCommit();
  const finished = { cacheDir: settings.cacheDir, outDir, log: (line: string) => board.log(line) };
  // A queued run stopped by a signal ends like one that lost its queue: one sentence, nothing half-written (a bare signal would kill it mid-write).
  const onSignal = (signal: NodeJS.Signals) => {
    if (queueRunner) interruptRun(queueRunner, signal);
  };
  if (queueRunner) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const failures = queueRunner ? new QueuedTaskFailures((line) => board.log(line), queueRunner) : new TaskFailures((line) => board.log(line));
  const leftovers = removeStaleTemps(outDir);
  if (leftovers > 0) console.log(`removed ${leftovers} temp file${leftovers > 1 ? 's' : ''} an interrupted run left in ${outDir}`);
  const runners: Record<ExperimentName, () => Promise<void>> = {
    models: () => runModelsExperiment(runner, settings, profile, outDir, board, failures),
    laplace: () => runLaplaceExperiment(runner, settings, { ...profile, datasets }, outDir, board, failures, selected),
    ensemble: async () => {
      const model = profile.ensemble.model;
      if (!selected(model)) return;
      await Promise.all(
        datasets.map((dataset) => {
          const label = `ensemble ${dataset}/${model}`;
          return failures.guard(label, runOnce(runner, 'ensemble', { settings, dataset, outDir }, label, scopes.file(`${dataset}/${model}/ensemble.json`), finished));
        }),
      );
    },
    landscape: async () => {
      const jobs = datasets.flatMap((dataset) => profile.landscape.models.filter(selected).map((model) => ({ dataset, model })));
      await Promise.all(
        jobs.map(({ dataset, model }) => {
          const label = `landscape ${dataset}/${model}`;
          return failures.guard(label, runOnce(runner, 'landscape', { settings, dataset, model, outDir }, label, scopes.file(`${dataset}/${model}/landscape.json`), finished));
        }),
      );
    },
    // In this thread, not a worker: it copies cached files and writes bytes, so no finished-task record (which holds text) is needed.
    demo: async () => {
      const context = { log: (line: string) => board.log(line), progress: (done: number, total: number, unit: string) => board.update({ task: 'demo', done, total, unit }) };
      await failures.guard('demo', runDemoExperiment(settings, { ...profile, datasets }, outDir, context, selected));
    },
  };
  try {
    for (const experiment of experiments) {
      const started = performance.now();
      const before = { ...taskTally };
      const retriedBefore = queueRunner?.stats.retried.size ?? 0;
      await runners[experiment]();
      // A queued task that failed for good, or a lost server, ends the run here, before anything else is written.
      if (queueRunner?.fatal) throw queueRunner.fatal;
      const stageWorkers = queueRunner ? queueRunner.stats.workers.size : workers;
      stages[experiment] = {
        seconds: (performance.now() - started) / 1000,
        ran: taskTally.ran - before.ran,
        reused: taskTally.reused - before.reused,
        workers: stageWorkers,
        // A stage's tasks all finish within it, so the retried set grows only by its own.
        ...(queueRunner ? { retried: queueRunner.stats.retried.size - retriedBefore } : {}),
      };
    }
    // Everything the run needs is now in outDir and the cache; its jobs and blobs would only fill the server.
    if (queueRunner && failures.list.length === 0 && !stoppedBy) {
      if (values['keep-queue']) board.log('queue: the run\'s jobs and blobs stay on the server (--keep-queue)');
      else {
        const removed = await queueRunner.removeRun().catch((error: Error) => error);
        if (removed instanceof Error) board.log(`queue: could not remove the run's jobs and blobs (${removed.message}); they stay on the server`);
        else board.log(`queue: removed the run's ${removed.jobs} job${removed.jobs === 1 ? '' : 's'} and ${removed.blobs} blob${removed.blobs === 1 ? '' : 's'} from the server (--keep-queue keeps them)`);
      }
    }
  } finally {
    await pool.close();
    await queueRunner?.close();
  }
  if (stoppedBy) throw queueRunner!.fatal!;
  writeSummary(outDir, profile);
  // A run of some experiments (--only) keeps the previous run's times for the others, so the manifest still says what the whole profile took;
  // a run that is not cold carries the last cold run's times, so the README can still state what the study costs.
  const previous = previousManifest(outDir);
  const previousStages = previousManifestStages(previous, profile.name);
  const allStages = { ...previousStages, ...stages };
  const lastColdRun = carriedColdRun({ stages: allStages }, previous, profile.name);
  writeManifest(outDir, {
    profile: profile.name,
    seeds: { split: profile.split.splitSeed, training: profile.trainingSeed },
    backend: { name: backend.name, version: backend.version, core: backend.coreVersion },
    packages: (await import('./artifacts/manifest.ts')).packageVersions(),
    data: Object.fromEntries(
      profile.datasets.map((dataset) => [dataset, verifyDataFiles(dataset).map((file) => ({ file: file.path.split('/').slice(-1)[0], sha256: file.sha256 }))]),
    ),
    run: {
      stages: allStages,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      machine: describeMachine(),
      finishedAt: new Date().toISOString(),
      ...(commit ? { commit } : {}),
      ...(lastColdRun ? { lastColdRun } : {}),
      ...(queueRunner ? { queue: { tasks: queueRunner.stats.done, workers: [...queueRunner.stats.workers].sort(), retried: [...queueRunner.stats.retried].sort() } } : {}),
    },
  });
  console.log('stage times:');
  for (const [stage, record] of Object.entries(stages)) {
    console.log(`  ${stage.padEnd(12)} ${formatDuration(record.seconds).padEnd(8)} ${record.ran} task${record.ran === 1 ? '' : 's'} ran, ${record.reused} reused`);
  }
  if (queueRunner) {
    const { done, retried, workers: seen } = queueRunner.stats;
    console.log(`queue: ${done} task${done === 1 ? '' : 's'} on ${seen.size} worker${seen.size === 1 ? '' : 's'} (${[...seen].join(', ')}), ${retried.size} retried${retried.size > 0 ? ` (${[...retried].join(', ')})` : ''}`);
  }
  if (failures.list.length > 0) {
    const names = failures.list.map((failure) => failure.task).join(', ');
    throw new RunFailedError(`${failures.list.length} task${failures.list.length > 1 ? 's' : ''} failed (${names}); the others' artifacts are written. Fix the cause named above and run again: finished tasks are reused.`);
  }
}

/** The signal that stopped a queued run, if one did; the process then exits as soon as main has said so. */
let stoppedBy: NodeJS.Signals | null = null;
let errorReported = false;

const signalExitCode = (signal: NodeJS.Signals) => 128 + (osConstants.signals[signal] ?? 1);

function interruptRun(runner: QueueRunner, signal: NodeJS.Signals): void {
  if (stoppedBy) {
    // A second signal: no more waiting, not even for a server that is gone.
    if (!errorReported) console.error(`error: ${runner.fatal?.message ?? `Stopped by ${signal}.`}`);
    process.exit(signalExitCode(signal));
  }
  stoppedBy = signal;
  runner.interrupt(signal);
  // Closing the connections waits at most a few seconds; should anything still hold the run, it ends anyway.
  setTimeout(() => {
    if (!errorReported) console.error(`error: ${runner.fatal?.message ?? `Stopped by ${signal}.`}`);
    process.exit(signalExitCode(signal));
  }, 10_000).unref();
}

/** The manifest already in `outDir`, or null when there is none that parses. */
function previousManifest(outDir: string): Manifest | null {
  try {
    const previous = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as Manifest;
    return previous.run?.stages ? previous : null;
  } catch {
    return null;
  }
}

/** The stages of the previous manifest, when it is of the same profile, marked as carried over; none otherwise. */
function previousManifestStages(previous: Manifest | null, profileName: string): Manifest['run']['stages'] {
  if (previous === null || previous.profile !== profileName) return {};
  return Object.fromEntries(Object.entries(previous.run.stages).map(([stage, record]) => [stage, typeof record === 'number' ? record : { ...record, carriedOver: true as const }]));
}

export class RunFailedError extends Error {
  override name = 'RunFailedError';
}

async function trainCommand(values: ReturnType<typeof parse>['values']): Promise<void> {
  if (!values.data) throw new UsageError(`train needs --data (${datasetNames.join(' or ')}).`);
  if (!isDatasetName(values.data)) throw new UsageError(`Unknown data set "${values.data}"; choose one of ${datasetNames.join(', ')}.`);
  if (!values.model) throw new UsageError(`train needs --model (one of ${modelNames.join(', ')}).`);
  getModelSpec(values.model);
  const profile = getProfile(values.profile ?? 'full');
  const backend = await startBackend(values.backend);
  console.log(describeBackend(backend));
  const board = new ProgressBoard();
  const pool = new TaskPool(0, backend.name, board);
  const settings: RunSettings = { profile: profile.name, backend: backend.name, cacheDir: resolve(values.cache ?? '.cache') };
  const { trainedZooModel } = await import('./experiments/inputs.ts');
  const { trained } = await trainedZooModel(settings, values.data, values.model, {
    progress: (done, total, unit) => board.update({ task: `train ${values.data}/${values.model}`, done, total, unit }),
    log: (line) => board.log(line),
  });
  board.finish(`train ${values.data}/${values.model}`);
  trained.model.dispose();
  await pool.close();
  console.log(trained.dir);
}

function checkCommand(values: ReturnType<typeof parse>['values']): number {
  const outDir = values.out ?? 'results';
  const problems = checkResults(outDir);
  // The committed results also vouch for the README's stated times.
  if (resolve(outDir) === resolve('results') && existsSync('README.md') && existsSync(join(outDir, 'manifest.json'))) {
    const problem = checkStageTimes(readFileSync('README.md', 'utf8'), JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as Manifest);
    if (problem) problems.push(problem);
  }
  for (const problem of problems) console.error(`error: ${problem}`);
  if (problems.length === 0) console.log(`${outDir}: every artifact matches its schema and the manifest`);
  return problems.length === 0 ? 0 : 1;
}

function writeSchemas(values: ReturnType<typeof parse>['values']): void {
  if (!values.out) throw new UsageError('schemas needs --out DIR, the folder to write the JSON Schemas into.');
  for (const { name, schema } of artifactSchemas) {
    writeJsonArtifact(join(values.out, `${name}.schema.json`), z.toJSONSchema(schema));
  }
  console.log(`wrote ${artifactSchemas.length} JSON Schemas into ${values.out}`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parse(argv);
    const command = positionals[0];
    if (values.help || command === 'help' || command === undefined) {
      console.log(usage);
      return values.help || command === 'help' ? 0 : 1;
    }
    if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}"; run with --help to see the usage.`);
    if (command === 'run') await runCommand(values);
    else if (command === 'train') await trainCommand(values);
    else if (command === 'check') return checkCommand(values);
    else if (command === 'backend') console.log(describeBackend(await startBackend(values.backend)));
    else if (command === 'schemas') writeSchemas(values);
    else throw new UsageError(`Unknown command "${command}"; use run, train, backend, check or schemas (see --help).`);
    return 0;
  } catch (error) {
    const failure = error as Error;
    // Every branch below says what went wrong; a signal's watchdog need not say it again.
    errorReported = true;
    if (failure instanceof RunStoppedError) {
      console.error(`error: ${failure.message}`);
      return signalExitCode(failure.signal);
    }
    const known = ['QueueError', 'UsageError', 'StudyError', 'DataError', 'BackendError', 'ModelError', 'CheckpointError', 'TaskError', 'TrainingError'];
    if (known.includes(failure.name)) {
      console.error(`error: ${failure.message}`);
      return 2;
    }
    if (failure.name === 'RunFailedError') {
      console.error(`error: ${failure.message}`);
      return 1;
    }
    console.error(failure.stack ?? String(error));
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
  // Stopped by a signal: what the run still had open (a connection to a server that is gone) must not hold it.
  if (stoppedBy) process.exit();
}
