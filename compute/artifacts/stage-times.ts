/**
 * The README's statement of what the study costs, made from the manifest so
 * that no time is typed by hand: when the run that wrote results/ was cold
 * (every stage measured in that one run, no task restored from a cache), its
 * stage times; when it was not, the times of the last cold run it carries
 * (named by date and commit) and why its own are not stated; without either, a
 * sentence saying that the committed run does not measure the study's cost. `npm run reproduce` rewrites the block
 * between the markers; `npm run results:check` fails when it does not match.
 */
import { formatDuration } from '../progress/index.ts';
import { isColdRun, type Manifest, type RunRecord, type StageRecord } from './manifest.ts';

export const stageTimesStart = '<!-- stage-times:start (written by scripts/update-readme.ts from results/manifest.json) -->';
export const stageTimesEnd = '<!-- stage-times:end -->';

/** Why a stage's time is not a cold measurement, or null when it is one. */
function whyNotCold(stage: StageRecord | number): string | null {
  if (typeof stage === 'number') return 'recorded before the manifest counted reused tasks';
  if (stage.carriedOver) return 'kept from an earlier run by a partial (--only) run';
  if (stage.reused > 0) return `${stage.reused} of ${stage.ran + stage.reused} tasks restored, wholly or partly, from the cache`;
  return null;
}

/** Why the run that wrote the manifest is not a cold one, one reason per group of stages. */
function reasonsNotCold(stages: [string, StageRecord | number][]): string {
  // Stages grouped by reason, so one reason shared by every stage is said once.
  const byReason = new Map<string, string[]>();
  for (const [name, stage] of stages) {
    const reason = whyNotCold(stage);
    if (reason !== null) byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
  }
  return [...byReason].map(([reason, names]) => `${names.join(', ')}: ${reason}`).join('; ');
}

/** The table of a cold run's stages, with its total. */
function stageTable(stages: Record<string, StageRecord>): string[] {
  const records = Object.entries(stages);
  const total = records.reduce((sum, [, stage]) => sum + stage.seconds, 0);
  return [
    '| stage | wall time | tasks |',
    '| --- | --- | --- |',
    ...records.map(([name, stage]) => `| ${name} | ${formatDuration(stage.seconds)} | ${stage.ran} |`),
    `| total | ${formatDuration(total)} | ${records.reduce((sum, [, stage]) => sum + stage.ran, 0)} |`,
  ];
}

/** Machine, backend, workers and Node of a cold run, as one sentence. */
function setting(stages: Record<string, StageRecord>, machine: RunRecord['machine'], fallback: string, backend: string, node: string): string {
  const workers = [...new Set(Object.values(stages).map((stage) => stage.workers))].join(' or ');
  const where = machine ? `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB` : fallback;
  return `Machine: ${where}; backend ${backend}, ${workers} worker${workers === '1' ? '' : 's'}; Node ${node}.`;
}

/** The Markdown between the markers for this manifest. */
export function stageTimesText(manifest: Pick<Manifest, 'run' | 'backend' | 'profile'>): string {
  const { run } = manifest;
  const stages = Object.entries(run.stages);
  const at = (commit: string | undefined) => (commit ? ` at commit ${commit}` : '');
  if (isColdRun(run)) {
    const cold = run.stages as Record<string, StageRecord>;
    return [
      `Measured by the run that wrote \`results/\` (${manifest.profile} profile, finished ${run.finishedAt.slice(0, 10)}${at(run.commit)}), from an empty cache: every task ran, none was restored.`,
      setting(cold, run.machine, run.platform, manifest.backend.name, run.node),
      '',
      ...stageTable(cold),
    ].join('\n');
  }
  const cold = run.lastColdRun;
  if (cold) {
    return [
      `Measured by the last cold run of the ${manifest.profile} profile (finished ${cold.finishedAt.slice(0, 10)}${at(cold.commit)}), from an empty cache: every task ran, none was restored.`,
      setting(cold.stages, cold.machine, run.platform, cold.backend, cold.node),
      `The run that wrote \`results/\` since (finished ${run.finishedAt.slice(0, 10)}${at(run.commit)}) was not cold (${reasonsNotCold(stages)}), so its own times are not stated.`,
      '',
      ...stageTable(cold.stages),
    ].join('\n');
  }
  return [
    `The run that wrote \`results/\` (finished ${run.finishedAt.slice(0, 10)}) was not a cold one, so its stage times do not measure`,
    `what the study costs and none is stated here: ${reasonsNotCold(stages)}.`,
    'A full-profile run from an empty cache rewrites this paragraph with its own times.',
  ].join('\n');
}

/** README text with the block between the markers replaced; throws when the markers are missing. */
export function replaceStageTimes(readme: string, text: string): string {
  const start = readme.indexOf(stageTimesStart);
  const end = readme.indexOf(stageTimesEnd);
  if (start < 0 || end < start) throw new Error(`README.md lacks the stage-time markers (${stageTimesStart} … ${stageTimesEnd}); put them back in its Time section.`);
  return `${readme.slice(0, start + stageTimesStart.length)}\n${text}\n${readme.slice(end)}`;
}

/** One sentence when the README's block does not say what the manifest says, else null. */
export function checkStageTimes(readme: string, manifest: Pick<Manifest, 'run' | 'backend' | 'profile'>): string | null {
  let expected: string;
  try {
    expected = replaceStageTimes(readme, stageTimesText(manifest));
  } catch (error) {
    return (error as Error).message;
  }
  if (expected === readme) return null;
  return 'README.md\'s stage times do not match results/manifest.json (a time typed by hand, or a stale README); run `npx tsx scripts/update-readme.ts` to rewrite them from the manifest.';
}
