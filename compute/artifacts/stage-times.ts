/**
 * The README's statement of what the study costs, made from the manifest so
 * that no time is typed by hand: when the run that wrote results/ was cold
 * (every stage measured in that one run, no task restored from a cache), its
 * stage times; otherwise a sentence saying that the committed run does not
 * measure the study's cost, and why. `npm run reproduce` rewrites the block
 * between the markers; `npm run results:check` fails when it does not match.
 */
import { formatDuration } from '../progress/index.ts';
import { isColdRun, type Manifest, type StageRecord } from './manifest.ts';

export const stageTimesStart = '<!-- stage-times:start (written by scripts/update-readme.ts from results/manifest.json) -->';
export const stageTimesEnd = '<!-- stage-times:end -->';

/** Why a stage's time is not a cold measurement, or null when it is one. */
function whyNotCold(stage: StageRecord | number): string | null {
  if (typeof stage === 'number') return 'recorded before the manifest counted reused tasks';
  if (stage.carriedOver) return 'kept from an earlier run by a partial (--only) run';
  if (stage.reused > 0) return `${stage.reused} of ${stage.ran + stage.reused} tasks restored from the cache`;
  return null;
}

/** The Markdown between the markers for this manifest. */
export function stageTimesText(manifest: Pick<Manifest, 'run' | 'backend' | 'profile'>): string {
  const { run } = manifest;
  const stages = Object.entries(run.stages);
  if (!isColdRun(run)) {
    // Stages grouped by reason, so one reason shared by every stage is said once.
    const byReason = new Map<string, string[]>();
    for (const [name, stage] of stages) {
      const reason = whyNotCold(stage);
      if (reason !== null) byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
    }
    return [
      `The run that wrote \`results/\` (finished ${run.finishedAt.slice(0, 10)}) was not a cold one, so its stage times do not measure`,
      `what the study costs and none is stated here: ${[...byReason].map(([reason, names]) => `${names.join(', ')}: ${reason}`).join('; ')}.`,
      'A full-profile run from an empty cache rewrites this paragraph with its own times.',
    ].join('\n');
  }
  const records = stages.map(([name, stage]) => [name, stage as StageRecord] as const);
  const total = records.reduce((sum, [, stage]) => sum + stage.seconds, 0);
  const machine = run.machine ? `${run.machine.cpu}, ${run.machine.cores} cores, ${run.machine.memoryGiB} GiB` : run.platform;
  const workers = [...new Set(records.map(([, stage]) => stage.workers))].join(' or ');
  return [
    `Measured by the run that wrote \`results/\` (${manifest.profile} profile, finished ${run.finishedAt.slice(0, 10)}), from an empty cache: every task ran, none was restored.`,
    `Machine: ${machine}; backend ${manifest.backend.name}, ${workers} worker${workers === '1' ? '' : 's'}; Node ${run.node}.`,
    '',
    '| stage | wall time | tasks |',
    '| --- | --- | --- |',
    ...records.map(([name, stage]) => `| ${name} | ${formatDuration(stage.seconds)} | ${stage.ran} |`),
    `| total | ${formatDuration(total)} | ${records.reduce((sum, [, stage]) => sum + stage.ran, 0)} |`,
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
