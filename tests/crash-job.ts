/**
 * A store job killed part-way, for tests/isolation-property.test.ts: once the job has begun, the process kills
 * itself (SIGKILL) at its `at`-th change to the file system (mkdir, writeFile, rename, rm, or open, which the store
 * uses to fsync), leaving exactly what a crash at that moment leaves. The point is counted, not timed, so the same
 * job on the same user state always stops at the same step. Exits 0 when the job finishes first.
 *
 *   node --conditions source --import tsx tests/crash-job.ts <adapters root> <user> <put|import|forget> <at>
 */
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { userId } from '@oppu/core';
import { FsAdapterStore } from '@oppu/node';

const [root, id, job, at] = process.argv.slice(2) as [string, string, string, string];
const user = userId(id);
const store = new FsAdapterStore({ root });
await store.list(user); // the store's start-up sweep runs before the count begins
const latest = await store.get(user);
const archive = job === 'import' && latest ? await store.export(user) : undefined;

const fs = fsp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
let changes = 0;
for (const name of ['mkdir', 'writeFile', 'rename', 'rm', 'open']) {
  const real = fs[name]!;
  fs[name] = (...args: unknown[]) => {
    if (changes++ === Number(at)) process.kill(process.pid, 'SIGKILL');
    return real(...args);
  };
}
syncBuiltinESMExports(); // the store's `import { rename } from 'node:fs/promises'` now sees the wrappers

if (job === 'put' && latest) {
  const { version: _v, sha256: _s, userId: _u, ...meta } = latest.meta;
  await store.put(user, latest.weights, { ...meta, parent: latest.meta.version });
} else if (job === 'import' && archive) {
  await store.import(user, archive);
} else if (job === 'forget') {
  await store.delete(user);
}
