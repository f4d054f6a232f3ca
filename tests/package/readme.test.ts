/**
 * The package README's example runs as written: its code block, taken from the
 * README itself, with only the package name pointed at this checkout's source,
 * run by tsx in a folder of its own (it writes a posterior file there). A few
 * lines appended check what the README claims of it: one row of probabilities
 * per test image that sums to 1, the reloaded posterior predicting the same bits,
 * and an accuracy above chance.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const folder = mkdtempSync(join(tmpdir(), 'laplace-readme-'));

afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** The first ```js block after the heading. */
function codeBlockAfter(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  expect(start, `${heading} in the README`).toBeGreaterThanOrEqual(0);
  const match = /```js\n([\s\S]*?)```/.exec(markdown.slice(start));
  expect(match, `a js block after ${heading}`).not.toBeNull();
  return match![1];
}

describe('the README', () => {
  it('runs its example as written, and the example does what the README says', async () => {
    const example = codeBlockAfter(readFileSync(join(root, 'compute/laplace/README.md'), 'utf8'), '## Example');
    expect(example).toContain("from 'tfjs-laplace'");
    const source = example.replace("from 'tfjs-laplace'", `from '${join(root, 'compute/laplace/index.ts')}'`);
    const checks = `
const predicted = Array.from({ length: probabilities.length / 4 }, (_, row) => { const p = Array.from(probabilities.subarray(4 * row, 4 * row + 4)); return p.indexOf(Math.max(...p)); });
const truth = labelsTest.arraySync();
console.log('CHECK ' + JSON.stringify({
  rows: probabilities.length / 4,
  sums: Array.from({ length: probabilities.length / 4 }, (_, row) => probabilities.subarray(4 * row, 4 * row + 4).reduce((a, b) => a + b, 0)),
  identical: Buffer.from(same.buffer).equals(Buffer.from(probabilities.buffer)),
  accuracy: predicted.filter((c, i) => c === truth[i]).length / truth.length,
}));
`;
    writeFileSync(join(folder, 'example.mts'), source + checks);
    if (!existsSync(join(folder, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(folder, 'node_modules'));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'example.mts'], { cwd: folder, maxBuffer: 1 << 24 });
    const check = JSON.parse(stdout.split('\n').find((line) => line.startsWith('CHECK '))!.slice(6)) as { rows: number; sums: number[]; identical: boolean; accuracy: number };
    console.log(stdout.split('\n').filter((line) => !line.startsWith('CHECK ')).join('\n'), `accuracy ${check.accuracy}`);
    expect(check.rows).toBe(100);
    for (const sum of check.sums) expect(sum).toBeCloseTo(1, 5);
    expect(check.identical).toBe(true);
    // Four classes: chance is 25%.
    expect(check.accuracy).toBeGreaterThan(0.4);
    expect(existsSync(join(folder, 'my-cnn.kfac.laplace'))).toBe(true);
  }, 300_000);
});
