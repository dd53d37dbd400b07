#!/usr/bin/env node
// Fresh-machine quickstart: Node 20+ is the only prerequisite.
//   node scripts/quickstart.mjs           install everything, then start the main job (`pnpm start`)
//   node scripts/quickstart.mjs --install install only
// It installs pnpm 12.4.2 when missing, points node-gyp at the local Node headers when they are present
// (native addons then build without downloading headers), and runs `pnpm install --frozen-lockfile`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PNPM = '12.4.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const installOnly = process.argv.includes('--install');

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`quickstart: Node ${process.versions.node} is too old; install Node 20.19 or newer.`);
  process.exit(1);
}

const env = { ...process.env };
// Node installed under a prefix with its headers (Debian's /usr, nvm, the official tarball) needs no download.
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node.h'))) {
  env.npm_config_nodedir = prefix;
}

function run(cmd, args) {
  console.error(`quickstart: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function pnpmVersion() {
  const r = spawnSync('pnpm', ['-v'], { env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

if (pnpmVersion() !== PNPM) {
  if (run('npm', ['install', '-g', `pnpm@${PNPM}`]) !== 0 || pnpmVersion() !== PNPM) {
    console.error(
      `quickstart: could not install pnpm ${PNPM} globally; run "npm install -g pnpm@${PNPM}" and retry.`,
    );
    process.exit(1);
  }
}
if (run('pnpm', ['install', '--frozen-lockfile']) !== 0) process.exit(1);
if (installOnly) process.exit(0);
process.exit(run('pnpm', ['start']));
