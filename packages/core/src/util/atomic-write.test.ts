import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createAtomicWriter,
  writeDirAtomicSync,
  writeFileAtomic,
  writeFileAtomicSync,
} from './atomic-write.js';

/**
 * The file system as the module sees it, wrapped so the test can see the durable steps (write, fsync, rename) in
 * order, and can make a write fail half-way as a full disk would.
 */
const fsLog = vi.hoisted(() => ({ steps: [] as string[], failWrite: false, fds: new Map<number, string>() }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (path, flags, mode) => {
    const handle = await real.open(path, flags, mode);
    const name = String(path);
    return new Proxy(handle, {
      get(target, prop) {
        if (prop === 'sync')
          return async () => {
            await target.sync();
            fsLog.steps.push(`fsync ${name}`);
          };
        if (prop === 'writeFile')
          return async (data: string | Uint8Array) => {
            if (fsLog.failWrite) {
              await target.writeFile(data.slice(0, Math.floor(data.length / 2)));
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            }
            await target.writeFile(data);
            fsLog.steps.push(`write ${name}`);
          };
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  const rename: typeof real.rename = async (from, to) => {
    await real.rename(from, to);
    fsLog.steps.push(`rename ${from} -> ${to}`);
  };
  return { ...real, default: { ...real, open, rename }, open, rename };
});

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const openSync = ((path: string, flags: string) => {
    const fd = real.openSync(path, flags);
    fsLog.fds.set(fd, String(path));
    return fd;
  }) as typeof real.openSync;
  const writeFileSync = ((fd: number, data: string | Uint8Array) => {
    if (fsLog.failWrite) {
      real.writeFileSync(fd, data.slice(0, Math.floor(data.length / 2)));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    real.writeFileSync(fd, data);
    fsLog.steps.push(`write ${fsLog.fds.get(fd)}`);
  }) as typeof real.writeFileSync;
  const fsyncSync = (fd: number) => {
    real.fsyncSync(fd);
    fsLog.steps.push(`fsync ${fsLog.fds.get(fd)}`);
  };
  const renameSync = (from: string, to: string) => {
    real.renameSync(from, to);
    fsLog.steps.push(`rename ${from} -> ${to}`);
  };
  const patched = { openSync, writeFileSync, fsyncSync, renameSync };
  return { ...real, ...patched, default: { ...real, ...patched } };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oppu-atomic-'));
  fsLog.steps.length = 0;
  fsLog.failWrite = false;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The logged steps, each temp file named `<folder>/<tmp>` (its name is random). */
function steps(): string[] {
  return fsLog.steps.map((s) => s.replace(/(\S*)\/\.[^/\s]+\.\d+\.[0-9a-f]{8}\.tmp/g, '$1/<tmp>'));
}

const realFs = await vi.importActual<typeof import('node:fs')>('node:fs');

describe.each([
  ['writeFileAtomic', (path: string, data: string) => writeFileAtomic(path, data)],
  ['writeFileAtomicSync', async (path: string, data: string) => writeFileAtomicSync(path, data)],
])('%s', (_name, write) => {
  it('writes a temp file in the same folder, fsyncs it, renames it over the target, then fsyncs the folder', async () => {
    const path = join(dir, 'sub', 'a.json');
    await write(path, 'one');
    const sub = join(dir, 'sub');
    expect(steps()).toEqual([
      `write ${sub}/<tmp>`,
      `fsync ${sub}/<tmp>`,
      `rename ${sub}/<tmp> -> ${path}`,
      `fsync ${sub}`,
    ]);
    await write(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.json']);
  });

  it('leaves the old file intact and no temp file when the write fails half-way', async () => {
    const path = join(dir, 'sub', 'a.json');
    await write(path, 'the old content');
    fsLog.failWrite = true;
    await expect(write(path, 'the new content, long enough to be cut')).rejects.toMatchObject({
      code: 'file_write_failed',
      message: expect.stringMatching(/a\.json: cannot write \(ENOSPC/),
    });
    expect(await readFile(path, 'utf8')).toBe('the old content');
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.json']);
  });
});

describe('writeFileAtomicSync with a writer function', () => {
  it('fsyncs what the function wrote at the temp path before renaming it into place', async () => {
    const path = join(dir, 'sub', 'index.bin');
    writeFileAtomicSync(path, (tmp) => {
      expect(basename(tmp)).toMatch(/^\.index\.bin\.\d+\.[0-9a-f]{8}\.tmp$/);
      fsLog.steps.push('writer');
      realFs.writeFileSync(tmp, 'bytes');
    });
    const sub = join(dir, 'sub');
    expect(steps()).toEqual([
      'writer',
      `fsync ${sub}/<tmp>`,
      `rename ${sub}/<tmp> -> ${path}`,
      `fsync ${sub}`,
    ]);
    expect(await readFile(path, 'utf8')).toBe('bytes');
  });

  it('keeps the old file when the function throws', async () => {
    const path = join(dir, 'sub', 'index.bin');
    writeFileAtomicSync(path, 'old');
    expect(() =>
      writeFileAtomicSync(path, () => {
        throw new Error('index too large');
      }),
    ).toThrow(/index\.bin: cannot write \(index too large\)/);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(join(dir, 'sub'))).toEqual(['index.bin']);
  });
});

describe('createAtomicWriter', () => {
  it('shows nothing at the target until commit, which fsyncs file and folder; abort keeps the old file', async () => {
    const path = join(dir, 'big.json');
    await writeFile(path, 'old');
    const w = await createAtomicWriter(path);
    await w.write('new ');
    await w.write('content');
    expect(await readFile(path, 'utf8')).toBe('old');
    await w.commit();
    expect(await readFile(path, 'utf8')).toBe('new content');
    expect(steps()).toEqual([`fsync ${dir}/<tmp>`, `rename ${dir}/<tmp> -> ${path}`, `fsync ${dir}`]);

    const w2 = await createAtomicWriter(path);
    await w2.write('half');
    await w2.abort();
    expect(await readFile(path, 'utf8')).toBe('new content');
    expect(await readdir(dir)).toEqual(['big.json']);
  });
});

describe('writeDirAtomicSync', () => {
  /** The steps with the staging and set-aside folders' random names replaced by <stage> and <aside>. */
  const dirSteps = () =>
    fsLog.steps.map((s) =>
      s
        .replace(/\.model\.\d+\.[0-9a-f]{8}\.tmp/g, '<stage>')
        .replace(/\.model\.\d+\.[0-9a-f]{8}\.old/g, '<aside>'),
    );

  it('fsyncs every file and the staging folder, swaps the folder in, then fsyncs the parent', async () => {
    const target = join(dir, 'model');
    writeDirAtomicSync(target, { 'config.json': '{"v":1}', 'model.safetensors': new Uint8Array([1, 2]) });
    expect(dirSteps()).toEqual([
      `write ${dir}/<stage>/config.json`,
      `fsync ${dir}/<stage>/config.json`,
      `write ${dir}/<stage>/model.safetensors`,
      `fsync ${dir}/<stage>/model.safetensors`,
      `fsync ${dir}/<stage>`,
      `rename ${dir}/<stage> -> ${target}`,
      `fsync ${dir}`,
    ]);
    fsLog.steps.length = 0;
    writeDirAtomicSync(target, { 'config.json': '{"v":2}' });
    expect(dirSteps()).toEqual([
      `write ${dir}/<stage>/config.json`,
      `fsync ${dir}/<stage>/config.json`,
      `fsync ${dir}/<stage>`,
      `rename ${target} -> ${dir}/<aside>`,
      `rename ${dir}/<stage> -> ${target}`,
      `fsync ${dir}`,
    ]);
    // Exactly the new files: the old folder's weights are gone with it, nothing is left beside it.
    expect(await readdir(target)).toEqual(['config.json']);
    expect(await readFile(join(target, 'config.json'), 'utf8')).toBe('{"v":2}');
    expect(await readdir(dir)).toEqual(['model']);
  });

  it('leaves the old folder intact and no staging folder when a write fails half-way', async () => {
    const target = join(dir, 'model');
    writeDirAtomicSync(target, { 'config.json': 'old config', 'weights.bin': 'old weights' });
    fsLog.failWrite = true;
    expect(() =>
      writeDirAtomicSync(target, { 'config.json': 'new config', 'weights.bin': 'new weights' }),
    ).toThrow(/model: cannot write \(ENOSPC/);
    expect(await readFile(join(target, 'config.json'), 'utf8')).toBe('old config');
    expect(await readFile(join(target, 'weights.bin'), 'utf8')).toBe('old weights');
    expect(await readdir(dir)).toEqual(['model']);
  });
});
