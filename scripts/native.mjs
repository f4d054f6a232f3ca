// The native TensorFlow backend, built here instead of downloaded.
//
// @tensorflow/tfjs-node(-gpu)'s own install script fetches libtensorflow
// 2.9.1 from outside the package registries (package.json denies it in
// allowScripts). Its binding is a thin wrapper over TensorFlow's C API, which
// the TensorFlow pip wheels carry: libtensorflow_cc.so.2 exports the TF_ and
// TFE_ symbols, libtensorflow_framework.so.2 sits beside it, the headers are
// in tensorflow/include. So: pip downloads the pinned wheel (by name, as pip
// is set up on the machine), we unpack the two libraries and the headers the
// binding includes into the package's deps/, build the binding with node-gyp
// against the running Node's own headers, and put it where the package loads
// it. Everything is cached under .cache/native/; a second run only checks.
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { $ } from 'zx';

/** A problem the user can fix; its message is one sentence. */
export class SetupError extends Error {
  name = 'SetupError';
}

// The wheels' C library does not depend on the Python version, so one wheel
// (CPython 3.11, manylinux 2.27) is named exactly, whatever Python runs pip.
const wheelTags = ['--only-binary=:all:', '--python-version', '3.11', '--implementation', 'cp', '--abi', 'cp311', '--platform', 'manylinux_2_27_x86_64', '--platform', 'manylinux_2_17_x86_64', '--platform', 'manylinux2014_x86_64'];

/**
 * CUDA 12 libraries for the GPU build: the lower bounds of TensorFlow 2.21.0's
 * own "and-cuda" extra (its wheel's METADATA), i.e. the versions it was built against.
 */
const cuda12 = [
  ['nvidia-cublas-cu12', '12.5.3.2'],
  ['nvidia-cuda-cupti-cu12', '12.5.82'],
  ['nvidia-cuda-nvcc-cu12', '12.5.82'],
  ['nvidia-cuda-nvrtc-cu12', '12.5.82'],
  ['nvidia-cuda-runtime-cu12', '12.5.82'],
  ['nvidia-cudnn-cu12', '9.3.0.75'],
  ['nvidia-cufft-cu12', '11.2.3.61'],
  ['nvidia-curand-cu12', '10.3.6.82'],
  ['nvidia-cusolver-cu12', '11.6.3.83'],
  ['nvidia-cusparse-cu12', '12.5.1.3'],
  ['nvidia-nccl-cu12', '2.27.7'],
  ['nvidia-nvjitlink-cu12', '12.5.82'],
].map(([name, version]) => ({ name, version, sha256: null }));

export const recipes = {
  cpu: {
    flavour: 'cpu',
    package: '@tensorflow/tfjs-node',
    packageVersion: '4.22.0',
    wheel: { name: 'tensorflow-cpu', version: '2.21.0', sha256: '2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c' },
    cuda: [],
  },
  gpu: {
    flavour: 'gpu',
    package: '@tensorflow/tfjs-node-gpu',
    packageVersion: '4.22.0',
    // Not on the machines this was written on, so not pinned by hash yet: the
    // first download's sha256 is printed and kept in the cache's source.json.
    wheel: { name: 'tensorflow', version: '2.21.0', sha256: null },
    cuda: cuda12,
  },
};

/** Headers the binding includes; their own includes are followed inside the wheel. */
const headerRoots = ['tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h', 'tensorflow/c/tf_datatype.h', 'tensorflow/c/tf_status.h', 'tensorflow/c/tf_tensor.h', 'tensorflow/core/platform/ctstring_internal.h'];
const libraries = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
// binding.gyp links -ltensorflow -ltensorflow_framework; the loader then looks for the sonames.
const linkerNames = { 'libtensorflow.so': 'libtensorflow_cc.so.2', 'libtensorflow_framework.so': 'libtensorflow_framework.so.2' };
const stampFile = 'laplace-native.json';

// Reads the wheel with Python's zipfile (pip needs Python anyway): the two
// libraries, the include closure of the binding's headers, and for CUDA wheels
// their nvidia/ tree without headers.
const unpackPython = String.raw`
import json, os, re, shutil, sys, zipfile
wheel, dest, mode = sys.argv[1], sys.argv[2], sys.argv[3]
z = zipfile.ZipFile(wheel)
names = set(z.namelist())
def put(member, target):
    path = os.path.join(dest, target)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with z.open(member) as src, open(path, 'wb') as out:
        shutil.copyfileobj(src, out, 1 << 20)
    bits = (z.getinfo(member).external_attr >> 16) & 0o777
    os.chmod(path, bits or 0o644)
if mode == 'tensorflow':
    for library in json.loads(sys.argv[4]):
        put('tensorflow/' + library, 'lib/' + library)
    prefix = 'tensorflow/include/'
    todo, seen = list(json.loads(sys.argv[5])), set()
    while todo:
        header = todo.pop()
        if header in seen:
            continue
        if prefix + header not in names:
            sys.exit('header %s is not in the wheel' % header)
        seen.add(header)
        put(prefix + header, 'include/' + header)
        text = z.read(prefix + header).decode('utf-8', 'replace')
        todo += [h for h in re.findall(r'^\s*#\s*include\s*"([^"]+)"', text, re.M) if prefix + h in names]
    print(json.dumps({'headers': len(seen)}))
else:
    count = 0
    for member in names:
        if member.startswith('nvidia/') and not member.endswith('/') and '/include/' not in member and not member.endswith('.py'):
            put(member, member)
            count += 1
    print(json.dumps({'files': count}))
`;

async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

async function commandWorks(command, args) {
  try {
    await $({ quiet: true })`${command} ${args}`;
    return true;
  } catch {
    return false;
  }
}

/** Each tool the build needs, and the one command that installs it when it is missing. */
async function requireTools(needs) {
  const asRoot = process.getuid?.() === 0 ? '' : 'sudo ';
  if (!(await commandWorks('python3', ['--version']))) throw new SetupError(`python3 is missing, and the native backend needs it (for pip and node-gyp): install it with \`${asRoot}apt-get install -y python3\`.`);
  if (needs.pip && !(await commandWorks('python3', ['-m', 'pip', '--version']))) throw new SetupError(`pip is missing, and the native backend needs it to fetch TensorFlow's C library: install it with \`${asRoot}apt-get install -y python3-pip\`.`);
  if (needs.compiler) {
    if (!(await commandWorks('c++', ['--version'])) && !(await commandWorks('g++', ['--version']))) throw new SetupError(`A C++ compiler is missing, and the native backend's binding needs one: install it with \`${asRoot}apt-get install -y g++\`.`);
    if (!(await commandWorks('make', ['--version']))) throw new SetupError(`make is missing, and the native backend's binding needs it: install it with \`${asRoot}apt-get install -y make\`.`);
  }
}

/** npm's own node-gyp: npm tells scripts where it is; otherwise it sits beside npm. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  if (process.env.npm_execpath) candidates.push(join(dirname(dirname(process.env.npm_execpath)), 'node_modules/node-gyp/bin/node-gyp.js'));
  for (const bin of (process.env.PATH ?? '').split(':')) {
    const npm = join(bin, 'npm');
    if (existsSync(npm)) candidates.push(join(dirname(dirname(realpathSync(npm))), 'node_modules/node-gyp/bin/node-gyp.js'));
  }
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) throw new SetupError('node-gyp, which comes with npm, was not found; reinstall npm (it ships node-gyp) or put node-gyp on the PATH with `npm install -g node-gyp`.');
  return found;
}

/** The running Node's install prefix, whose include/node has the headers node-gyp would otherwise download. */
function nodePrefix() {
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  if (!existsSync(join(prefix, 'include/node/node_api.h'))) {
    throw new SetupError(`Node's headers are not in ${prefix}/include/node, and the native binding is built against them; install Node from a build that ships its headers (the official Node.js builds do).`);
  }
  return prefix;
}

function packageDir(recipe) {
  return resolve('node_modules', recipe.package);
}

/** The package itself, without its download script; npm ci installs it where npm honours allowScripts. */
async function ensurePackage(recipe, log) {
  const manifest = readJson(join(packageDir(recipe), 'package.json'));
  if (manifest?.version === recipe.packageVersion) return;
  log(`installing ${recipe.package} ${recipe.packageVersion} (without its download script)`);
  await $({ quiet: true })`npm install --no-save --ignore-scripts --no-audit --no-fund ${`${recipe.package}@${recipe.packageVersion}`}`;
  if (readJson(join(packageDir(recipe), 'package.json'))?.version !== recipe.packageVersion) {
    throw new SetupError(`npm did not install ${recipe.package} ${recipe.packageVersion}; run \`npm install --no-save --ignore-scripts ${recipe.package}@${recipe.packageVersion}\` and read its error.`);
  }
}

async function pipDownload(name, version, sha256, into, log) {
  mkdirSync(into, { recursive: true });
  const before = new Set(readdirSync(into));
  log(`downloading ${name} ${version} with pip`);
  const requirement = sha256 ? ['-r', join(into, `${name}.requirements.txt`)] : [`${name}==${version}`];
  if (sha256) writeFileSync(requirement[1], `${name}==${version} --hash=sha256:${sha256}\n`);
  try {
    await $({ quiet: true })`python3 -m pip download --no-deps ${wheelTags} --dest ${into} ${requirement}`;
  } catch (error) {
    const lines = String(error.stderr ?? '').trim().split('\n').filter(Boolean);
    throw new SetupError(`pip could not download ${name} ${version} (${lines.at(-1) ?? 'no message'}).`);
  }
  const file = readdirSync(into).find((entry) => entry.endsWith('.whl') && !before.has(entry) && entry.toLowerCase().startsWith(name.replaceAll('-', '_').toLowerCase() + '-'))
    ?? readdirSync(into).find((entry) => entry.endsWith('.whl') && entry.toLowerCase().startsWith(name.replaceAll('-', '_').toLowerCase() + `-${version}-`));
  if (!file) throw new SetupError(`pip reported success but left no ${name} wheel in ${into}; delete that folder and run setup again.`);
  const path = join(into, file);
  const actual = await sha256File(path);
  if (sha256 && actual !== sha256) {
    rmSync(path, { force: true });
    throw new SetupError(`The ${name} ${version} wheel pip fetched has sha256 ${actual}, not the pinned ${sha256}; it was deleted, so check the package index pip uses and run setup again.`);
  }
  if (!sha256) log(`${file}: sha256 ${actual} (not pinned in scripts/native.mjs)`);
  return { file, path, sha256: actual };
}

/** .cache/native/<wheel>-<version>/: lib/, include/ (and nvidia/ for the GPU build), source.json. */
async function ensureLibraries(recipe, cacheRoot, log) {
  const dir = join(cacheRoot, `${recipe.wheel.name}-${recipe.wheel.version}`);
  const source = readJson(join(dir, 'source.json'));
  const complete = source && (!recipe.wheel.sha256 || source.wheel.sha256 === recipe.wheel.sha256) && libraries.every((library) => existsSync(join(dir, 'lib', library)));
  if (complete) return { dir, source };
  await requireTools({ pip: true });
  const partial = `${dir}.partial`;
  try {
    return await unpackInto(recipe, dir, partial, join(cacheRoot, 'downloads'), log);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

async function unpackInto(recipe, dir, partial, downloads, log) {
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const wheel = await pipDownload(recipe.wheel.name, recipe.wheel.version, recipe.wheel.sha256, downloads, log);
  log(`unpacking TensorFlow's C library and headers from ${wheel.file}`);
  await $({ quiet: true })`python3 -c ${unpackPython} ${wheel.path} ${partial} tensorflow ${JSON.stringify(libraries)} ${JSON.stringify(headerRoots)}`;
  const cuda = [];
  for (const item of recipe.cuda) {
    const download = await pipDownload(item.name, item.version, item.sha256, downloads, log);
    await $({ quiet: true })`python3 -c ${unpackPython} ${download.path} ${partial} nvidia`;
    cuda.push({ name: item.name, version: item.version, file: download.file, sha256: download.sha256 });
  }
  const record = { wheel: { name: recipe.wheel.name, version: recipe.wheel.version, file: wheel.file, sha256: wheel.sha256 }, cuda };
  writeFileSync(join(partial, 'source.json'), `${JSON.stringify(record, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  // The unpacked libraries are the cache; the wheels (a quarter of a gigabyte for the CPU build) are not kept.
  for (const entry of [wheel.file, ...cuda.map((item) => item.file)]) rmSync(join(downloads, entry), { force: true });
  return { dir, source: record };
}

/** Hard links where the file system allows (no second copy of 850 MB), copies elsewhere. */
function linkTree(from, to) {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const [source, target] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) {
      mkdirSync(target, { recursive: true });
      linkTree(source, target);
      continue;
    }
    rmSync(target, { force: true });
    try {
      linkSync(source, target);
    } catch {
      copyFileSync(source, target);
    }
  }
}

/**
 * Our one change to the binding's source: an alternate signal stack for every
 * JavaScript thread that loads it (native-signal-stack.h says why: oneDNN's
 * GEMM kernels in TensorFlow 2.21 point rsp at the heap, and a profiler's
 * SIGPROF landing there corrupted it). Applied in place before the sources
 * are hashed, so the binding key, and with it the cached build, follows it;
 * applying it twice changes nothing.
 */
export const bindingPatch = {
  header: 'laplace_signal_stack.h',
  source: new URL('./native-signal-stack.h', import.meta.url),
  file: 'tfjs_binding.cc',
  edits: [
    { after: '#include "utils.h"\n', insert: '#include "laplace_signal_stack.h"  // added by scripts/native.mjs\n' },
    { after: 'static napi_value InitTFNodeJSBinding(napi_env env, napi_value exports) {\n', insert: '  laplace_signal_stack::Install(env);  // added by scripts/native.mjs\n' },
  ],
};

export function patchBindingSources(dir) {
  const header = readFileSync(bindingPatch.source, 'utf8');
  const headerPath = join(dir, 'binding', bindingPatch.header);
  if (!existsSync(headerPath) || readFileSync(headerPath, 'utf8') !== header) writeFileSync(headerPath, header);
  const path = join(dir, 'binding', bindingPatch.file);
  const original = readFileSync(path, 'utf8');
  let text = original;
  for (const { after, insert } of bindingPatch.edits) {
    if (text.includes(after + insert)) continue;
    const at = text.indexOf(after);
    if (at < 0) throw new SetupError(`The binding's ${bindingPatch.file} no longer has the line the signal-stack patch follows (${after.trim()}); update bindingPatch in scripts/native.mjs for this package version.`);
    text = text.slice(0, at + after.length) + insert + text.slice(at + after.length);
  }
  if (text !== original) writeFileSync(path, text);
}

function bindingSourcesHash(dir) {
  const hash = createHash('sha256');
  hash.update(readFileSync(join(dir, 'binding.gyp')));
  for (const file of readdirSync(join(dir, 'binding')).sort()) hash.update(file).update(readFileSync(join(dir, 'binding', file)));
  return hash.digest('hex');
}

/** The N-API version the package's loader (node-pre-gyp) will look for: its highest that this Node supports. */
function napiVersion(manifest) {
  const supported = manifest.binary.napi_versions.filter((version) => version <= Number(process.versions.napi));
  if (supported.length === 0) throw new SetupError(`This Node (N-API ${process.versions.napi}) is older than any N-API version the binding supports; use Node 20 or newer.`);
  return Math.max(...supported);
}

/** The expected state of the package, which a second run compares with its stamp. */
function expectedStamp(recipe, source, manifest) {
  const napi = napiVersion(manifest);
  const key = createHash('sha256')
    .update(JSON.stringify({ package: recipe.package, version: manifest.version, wheel: source.wheel.sha256, cuda: source.cuda.map((item) => item.sha256), node: process.version, arch: process.arch, napi, sources: bindingSourcesHash(packageDir(recipe)) }))
    .digest('hex')
    .slice(0, 16);
  return { package: `${recipe.package}@${manifest.version}`, tensorflow: `${source.wheel.name} ${source.wheel.version}`, sha256: source.wheel.sha256, napi, node: process.version, bindingKey: key };
}

function bindingPath(recipe, manifest, napi) {
  return join(packageDir(recipe), manifest.binary.module_path.replace('{napi_build_version}', String(napi)), `${manifest.binary.module_name}.node`);
}

/** Load the package in a fresh Node and multiply two matrices: what the study will do first. */
async function checkLoads(recipe) {
  const script = `
    const tf = require(${JSON.stringify(recipe.package)});
    const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]])).arraySync().flat().join(',');
    if (tf.getBackend() !== 'tensorflow' || product !== '19,22,43,50') throw new Error('wrong product ' + product + ' on ' + tf.getBackend());
    console.log(tf.backend().binding.TF_Version);`;
  try {
    const { stdout } = await $({ quiet: true, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } })`node -e ${script}`;
    return stdout.trim();
  } catch (error) {
    const lines = String(error.stderr ?? '').trim().split('\n').filter(Boolean);
    throw new SetupError(`The native binding was built but does not load (${lines.find((line) => /Error/.test(line)) ?? lines.at(-1) ?? 'no message'}); delete .cache/native and node_modules/${recipe.package}, run \`npm ci\` and setup again.`);
  }
}

/**
 * Make `require(recipe.package)` load TensorFlow 2.21 built here. Returns a
 * line saying what was done (or that nothing needed doing).
 */
export async function ensureNative(recipe, { cacheRoot = resolve('.cache/native'), log = console.log } = {}) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new SetupError(`The native backend is built from TensorFlow's Linux x86-64 wheel and this machine is ${process.platform}-${process.arch}; the project runs on wasm here.`);
  }
  await ensurePackage(recipe, log);
  const dir = packageDir(recipe);
  patchBindingSources(dir);
  const manifest = readJson(join(dir, 'package.json'));
  const stampPath = join(dir, 'deps', stampFile);
  const stamp = readJson(stampPath);
  const napi = napiVersion(manifest);
  const binding = bindingPath(recipe, manifest, napi);
  // The fast path: nothing to download, unpack or build.
  const cached = readJson(join(cacheRoot, `${recipe.wheel.name}-${recipe.wheel.version}`, 'source.json'));
  if (stamp && cached && existsSync(binding) && libraries.every((library) => existsSync(join(dir, 'deps/lib', library)))) {
    const expected = expectedStamp(recipe, cached, manifest);
    if (JSON.stringify(stamp) === JSON.stringify(expected) && (!recipe.wheel.sha256 || cached.wheel.sha256 === recipe.wheel.sha256)) {
      return `native backend ready: ${recipe.package} ${manifest.version} on TensorFlow ${recipe.wheel.version} (${recipe.wheel.name} wheel)`;
    }
  }

  const started = performance.now();
  const { dir: libraryDir, source } = await ensureLibraries(recipe, cacheRoot, log);
  const expected = expectedStamp(recipe, source, manifest);

  // deps/ as the binding expects it: whatever the package's own script may have put there goes.
  const deps = join(dir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(deps, { recursive: true });
  linkTree(libraryDir, deps);
  rmSync(join(deps, 'source.json'), { force: true });
  for (const [name, target] of Object.entries(linkerNames)) symlinkSync(target, join(deps, 'lib', name));

  const cachedBinding = join(cacheRoot, 'bindings', `${recipe.flavour}-${expected.bindingKey}.node`);
  if (!existsSync(cachedBinding)) {
    await requireTools({ compiler: true });
    const nodeGyp = findNodeGyp();
    const prefix = nodePrefix();
    log(`building ${recipe.package}'s binding with node-gyp against Node ${process.version} (${prefix}/include/node)`);
    const moduleDir = dirname(binding);
    try {
      await $({ quiet: true, cwd: dir })`node ${nodeGyp} rebuild --nodedir=${prefix} --napi_build_version=${napi} --module_name=${manifest.binary.module_name} --module_path=${moduleDir} --jobs=${availableParallelism()}`;
    } catch (error) {
      const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim().split('\n');
      console.error(output.slice(-30).join('\n'));
      throw new SetupError(`node-gyp could not build ${recipe.package}'s binding (its last lines are above).`);
    }
    mkdirSync(dirname(cachedBinding), { recursive: true });
    copyFileSync(join(dir, 'build/Release', `${manifest.binary.module_name}.node`), `${cachedBinding}.tmp`);
    renameSync(`${cachedBinding}.tmp`, cachedBinding);
  }
  mkdirSync(dirname(binding), { recursive: true });
  copyFileSync(cachedBinding, binding);

  // The GPU build loads and computes on the CPU too, where no device answers.
  const version = await checkLoads(recipe);
  if (version !== recipe.wheel.version) {
    throw new SetupError(`The native binding loaded TensorFlow ${version}, not ${recipe.wheel.version}; delete .cache/native and run setup again.`);
  }
  if (recipe.flavour === 'gpu') await reportCudaSearchPath(deps, log);
  writeFileSync(stampPath, `${JSON.stringify(expected, null, 2)}\n`);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  return `native backend built: ${recipe.package} ${manifest.version} on TensorFlow ${recipe.wheel.version} from the ${recipe.wheel.name} wheel (${seconds} s; cached in ${relative(process.cwd(), cacheRoot)})`;
}

/**
 * TensorFlow dlopens the CUDA libraries by soname and searches its own
 * RUNPATH, which in the GPU wheel points at ../nvidia/<library>/lib: deps/lib
 * and deps/nvidia mirror the wheel's site-packages layout for that. Say so
 * when the wheel's RUNPATH does not look like that.
 */
async function reportCudaSearchPath(deps, log) {
  let runpath = '';
  try {
    const { stdout } = await $({ quiet: true })`readelf -d ${join(deps, 'lib/libtensorflow_cc.so.2')} ${join(deps, 'lib/libtensorflow_framework.so.2')}`;
    runpath = stdout;
  } catch {
    // readelf (binutils) missing: say what to do either way.
  }
  const libraryDirs = (existsSync(join(deps, 'nvidia')) ? readdirSync(join(deps, 'nvidia')) : [])
    .map((name) => join(deps, 'nvidia', name, 'lib'))
    .filter((path) => existsSync(path) && statSync(path).isDirectory());
  if (runpath.includes('$ORIGIN/../nvidia/')) log(`the GPU library's RUNPATH reaches the CUDA libraries in ${relative(process.cwd(), join(deps, 'nvidia'))}`);
  else log(`the GPU library's RUNPATH does not name ../nvidia; if TensorFlow reports missing CUDA libraries, start Node with LD_LIBRARY_PATH=${libraryDirs.join(':')}`);
}
