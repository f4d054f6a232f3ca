/**
 * npm run bench: every part of the benchmark, each in a process of its own
 * (a process holds one TensorFlow.js backend), one after another. Options are
 * checked before anything is measured; each part also runs alone with its own
 * options (npx tsx tests/bench/PART.ts --help).
 *
 *   npm run bench -- [--only PART,PART] [--backend NAME] [--list] [--help]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { backendNames } from '../../compute/backend/index.ts';
import { benchParts } from './parts.ts';


const usage = `Usage: npm run bench -- [options]

Speed and memory goals as ratios measured in the same run (never absolute seconds on a shared machine).

Options:
  --only LIST      comma-separated parts to run (default all): ${benchParts.map((part) => part.name).join(', ')}
  --backend NAME   ${backendNames.join(' | ')}: the backend of the parts that take one (default: the first that starts)
  --torch-python PATH  passed to the fits part: a Python with torch, so ours ÷ PyTorch is measured in the same run
  --list           print the parts and what each measures, and exit
  --help           this text

Parts:
${benchParts.map((part) => `  ${part.name.padEnd(10)} ${part.measures}`).join('\n')}
`;

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

let values: { only?: string; backend?: string; 'torch-python'?: string; list?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({ options: { only: { type: 'string' }, backend: { type: 'string' }, 'torch-python': { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true }));
} catch (error) {
  fail(`${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '').replace(/\.$/, '')}; run with --help to see the options.`);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (values.list) {
  for (const part of benchParts) console.log(`${part.name.padEnd(10)} ${part.measures}`);
  process.exit(0);
}
if (values.backend !== undefined && !(backendNames as readonly string[]).includes(values.backend)) fail(`Unknown backend "${values.backend}"; choose one of ${backendNames.join(', ')}.`);
const torchPython = values['torch-python'];
if (torchPython !== undefined && !existsSync(torchPython)) fail(`--torch-python ${torchPython} does not exist; give a Python that has torch.`);
const chosen = values.only === undefined ? benchParts.map((part) => part.name) : values.only.split(',').map((name) => name.trim()).filter(Boolean);
for (const name of chosen) {
  if (!benchParts.some((part) => part.name === name)) fail(`Unknown part "${name}"; choose from ${benchParts.map((part) => part.name).join(', ')}.`);
}

const here = new URL('.', import.meta.url).pathname;
let failed = 0;
for (const part of benchParts.filter((candidate) => chosen.includes(candidate.name))) {
  const file = `${here}${part.file}`;
  if (!existsSync(file)) fail(`Part ${part.name}'s script ${file} is missing.`);
  console.log(`\n######## ${part.name}: ${part.measures}\n`);
  const args = ['tsx', file, ...(part.backend && values.backend ? ['--backend', values.backend] : []), ...(part.name === 'fits' && torchPython ? ['--torch-python', torchPython] : [])];
  const result = spawnSync('npx', args, { stdio: 'inherit' });
  if (result.status !== 0) {
    failed += 1;
    console.error(`error: bench part ${part.name} exited with ${result.status ?? result.signal}.`);
  }
}
process.exit(failed > 0 ? 1 : 0);
