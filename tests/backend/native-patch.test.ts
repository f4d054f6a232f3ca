/**
 * scripts/native.mjs's one change to the tfjs-node binding (an alternate
 * signal stack per JavaScript thread; native-profiler.test.ts checks what it
 * is for): on the package's own tfjs_binding.cc it adds the include and the
 * call once each, right after the lines it names, a second application
 * changes nothing, and a source without those lines is refused with a
 * SetupError instead of building an unpatched binding.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module without types.
import { bindingPatch, patchBindingSources, SetupError } from '../../scripts/native.mjs';

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
const scratch = mkdtempSync(join(tmpdir(), 'native-patch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The package's source as npm installed it: without the lines setup may already have added here.
const pristine = readFileSync(join(packageDir, 'binding', 'tfjs_binding.cc'), 'utf8')
  .split('\n')
  .filter((line) => !line.includes('added by scripts/native.mjs'))
  .join('\n');

function packageWith(source: string, name: string): string {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'binding'), { recursive: true });
  writeFileSync(join(dir, 'binding', 'tfjs_binding.cc'), source);
  return dir;
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe('the binding patch', () => {
  it('adds the include and the call once each, after the lines it names, and copies the header', () => {
    const dir = packageWith(pristine, 'once');
    patchBindingSources(dir);
    const patched = readFileSync(join(dir, 'binding', 'tfjs_binding.cc'), 'utf8');
    expect(count(patched, '#include "laplace_signal_stack.h"')).toBe(1);
    expect(count(patched, 'laplace_signal_stack::Install(env);')).toBe(1);
    expect(patched).toContain('#include "utils.h"\n#include "laplace_signal_stack.h"');
    expect(patched).toContain('static napi_value InitTFNodeJSBinding(napi_env env, napi_value exports) {\n  laplace_signal_stack::Install(env);');
    // Nothing else moved: removing the two added lines gives the package's source back.
    expect(patched.split('\n').filter((line) => !line.includes('added by scripts/native.mjs')).join('\n')).toBe(pristine);
    expect(readFileSync(join(dir, 'binding', bindingPatch.header), 'utf8')).toBe(readFileSync(bindingPatch.source, 'utf8'));
  });

  it('changes nothing when applied a second time', () => {
    const dir = packageWith(pristine, 'twice');
    patchBindingSources(dir);
    const first = readFileSync(join(dir, 'binding', 'tfjs_binding.cc'), 'utf8');
    patchBindingSources(dir);
    expect(readFileSync(join(dir, 'binding', 'tfjs_binding.cc'), 'utf8')).toBe(first);
  });

  it('refuses a source without the lines it follows', () => {
    const dir = packageWith(pristine.replace('static napi_value InitTFNodeJSBinding(', 'static napi_value InitBinding('), 'changed');
    expect(() => patchBindingSources(dir)).toThrow(SetupError);
    expect(() => patchBindingSources(dir)).toThrow(/no longer has the line the signal-stack patch follows/);
  });
});
