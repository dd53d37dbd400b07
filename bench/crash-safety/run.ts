/**
 * Crash safety: kills (SIGKILL) a process at random moments while it trains, saves adapter versions, imports an
 * archive, writes history and adds to (and saves) a vector index; after every kill the stores must open cleanly,
 * every version the process reported as done must still load (checksum verified), and nothing half-written may
 * be visible. Prints the number of trials and of losses.
 *
 *   pnpm bench:crash-safety [--trials 200] [--seed 1]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { userId } from '@oppu/core';
import { FsAdapterStore } from '@oppu/node';
import { HistoryStore, UserMemory } from '@oppu/retriever';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '200' }, seed: { type: 'string', default: '1' } },
});
const trials = Number(values.trials);
let rng = Number(values.seed) >>> 0;
const random = () => {
  rng = (Math.imul(rng ^ (rng >>> 15), 2246822507) + 0x9e3779b9) >>> 0;
  return rng / 2 ** 32;
};
const OPS = ['adapter', 'history', 'import', 'index', 'train'] as const;
const user = userId('crash');
const root = await mkdtemp(join(tmpdir(), 'oppu-crash-'));
const homes = Object.fromEntries(OPS.map((op) => [op, join(root, op)]));

/** Runs the child until `ready`, lets it work a random while, kills it; returns what it reported done. */
function killOnce(op: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions', 'source', '--import', 'tsx', join(import.meta.dirname, 'child.ts'), homes[op]!, op],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const done: string[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      buffer += d;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === 'ready') {
          // A training job takes longer than a store write: give it time to finish some and be caught in others.
          const span = op === 'train' ? 2500 : 600;
          setTimeout(() => child.kill('SIGKILL'), 20 + random() * span);
        } else if (line.startsWith('done ')) done.push(line.slice(5));
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(done);
      else reject(new Error(`${op} child exited with ${code}: ${stderr.slice(-500)}`));
    });
  });
}

let losses = 0;
const lost = (op: string, what: string) => {
  losses++;
  console.log(`LOSS (${op}): ${what}`);
};
const counts: Record<string, number> = {};
const completed: Record<string, number> = {};
for (let t = 0; t < trials; t++) {
  const op = OPS[t % OPS.length]!;
  const done = await killOnce(op);
  counts[op] = (counts[op] ?? 0) + 1;
  completed[op] = (completed[op] ?? 0) + done.length;
  const last = done[done.length - 1];
  if (op === 'adapter' || op === 'train') {
    const store = new FsAdapterStore({
      root: join(homes[op]!, op === 'train' ? 'svc/adapters' : 'adapters'),
    });
    const versions = await store.list(user);
    for (const m of versions) {
      const got = await store.get(user, m.version).catch((e: Error) => e);
      if (got instanceof Error) lost(op, `version ${m.version} does not load: ${got.message}`);
    }
    // The service keeps the newest `maxVersions` (10) versions and prunes older ones by design, so a reported
    // version must be there unless a newer one pushed it out.
    const oldest = versions[0]?.version ?? Number.POSITIVE_INFINITY;
    for (const line of done) {
      const [v, sha] = line.split(' ');
      if (op === 'train' && Number(v) < oldest) continue;
      const m = versions.find((x) => x.version === Number(v));
      if (!m || m.sha256 !== sha) lost(op, `reported version ${v} is missing or changed`);
    }
    const dir = join(homes[op]!, op === 'train' ? 'svc/adapters' : 'adapters', 'crash');
    const visible = (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
    if (visible.some((n) => !/^v\d{4,}$/.test(n))) lost(op, `unexpected entries ${visible.join(', ')}`);
  } else if (op === 'import') {
    const store = new FsAdapterStore({ root: join(homes[op]!, 'adapters') });
    const versions = await store.list(user);
    if (versions.length > 0) {
      for (const m of versions)
        if ((await store.get(user, m.version).catch(() => undefined)) === undefined)
          lost(op, `imported version ${m.version} does not load`);
      const source = (await store.list(userId('source'))).map((m) => m.sha256).join(',');
      if (versions.map((m) => m.sha256).join(',') !== source)
        lost(op, 'a half-imported set of versions is visible');
    } else if (last !== undefined) lost(op, 'a completed import is gone');
  } else if (op === 'history') {
    const history = new HistoryStore(join(homes[op]!, 'history.sqlite'));
    const n = history.count(user);
    history.close();
    if (last !== undefined && n < Number(last))
      lost(op, `${last} items were reported stored, ${n} are there`);
  } else if (op === 'index') {
    const memory = new UserMemory({ dir: join(homes[op]!, 'memory') });
    const hits = await memory.retrieve(user, 'memory item about cats', { k: 3 }).catch((e: Error) => e);
    if (hits instanceof Error) lost(op, `the memory does not open: ${hits.message}`);
    const n = (await memory.retrieve(user, 'memory', { k: 100_000 }).catch(() => [])).length;
    if (last !== undefined && n < Number(last))
      lost(op, `${last} items were reported indexed, ${n} are found`);
  }
  if ((t + 1) % 25 === 0) console.log(`${t + 1}/${trials} trials, ${losses} losses`);
}
console.log(
  `\n${trials} kills (${OPS.map((op) => `${op} ${counts[op] ?? 0}`).join(', ')}); operations completed before the kills: ${OPS.map((op) => `${op} ${completed[op] ?? 0}`).join(', ')}; losses: ${losses}`,
);
await rm(root, { recursive: true, force: true });
process.exit(losses === 0 ? 0 : 1);
