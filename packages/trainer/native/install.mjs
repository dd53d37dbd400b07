// Builds the native kernels addon (native/build/Release/oppu_kernels.node) with node-gyp. Run by the package's
// `install` script. Never fails the install: without a compiler (or with OPPU_NATIVE=0) it says so in one line
// and @oppu/trainer uses its wasm kernels. `node native/install.mjs --strict` exits non-zero on failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const say = (msg) => console.log(`[@oppu/trainer] ${msg}`);
const giveUp = (why) => {
  say(
    `native kernels not built: ${why}. Training uses the wasm kernels (slower); see the README's Kernels section.`,
  );
  process.exit(strict ? 1 : 0);
};

if (process.env.OPPU_NATIVE === '0') giveUp('OPPU_NATIVE=0');

// node-gyp: the one npm/pnpm hand to install scripts, else a local install, else one on PATH.
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {}
  for (const root of [
    '/usr/lib/node_modules',
    '/usr/local/lib/node_modules',
    join(dirname(process.execPath), '..', 'lib', 'node_modules'),
  ]) {
    candidates.push(join(root, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    candidates.push(join(root, 'pnpm', 'dist', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const found = candidates.find((c) => c && existsSync(c));
  return found ? [process.execPath, found] : ['node-gyp'];
}

// Headers: use the ones installed beside node (Debian's nodejs puts them in /usr/include/node) so node-gyp
// needs no download.
const args = ['rebuild', '--directory', here];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const [cmd, ...pre] = nodeGyp();
const started = Date.now();
const run = spawnSync(cmd, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (run.error || run.status !== 0) {
  const tail = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  if (tail) console.log(tail);
  giveUp(run.error ? `could not run node-gyp (${run.error.message})` : `node-gyp exited with ${run.status}`);
}
if (!existsSync(join(here, 'build', 'Release', 'oppu_kernels.node'))) giveUp('node-gyp produced no addon');
say(`native kernels built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
