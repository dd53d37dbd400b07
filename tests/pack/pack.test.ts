/**
 * A stranger installs oppu from npm: every publishable package is built and packed, each tarball passes publint
 * and Are the Types Wrong, declares what it imports, and ships what it needs; then the tarballs are installed
 * with npm into a scratch project in the OS temp folder (no workspace, no links) and a plain-Node script there
 * uses every package (tests/pack/smoke.mjs), and the `oppu` command runs from the install.
 *
 * Slow (a build, npm install compiling better-sqlite3, hnswlib-node and the trainer's addon: about 3 minutes on
 * 2 cores, 4 with the README examples; well over 10 on 2 cores shared with other work at `nice -n 19`, which the
 * install's time limit allows), so it runs in CI (`CI` set, as .ci/run does) or with OPPU_PACK_TEST=1:
 *   OPPU_PACK_TEST=1 npx vitest run tests/pack
 */
import { type ExecFileOptions, execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SMOKE = fileURLToPath(new URL('./smoke.mjs', import.meta.url));

/** Every package we publish: folder under packages/ and npm name. The playground and tests/ are private. */
const PACKAGES = [
  'contracts',
  'core',
  'cli',
  'trainer',
  'retriever',
  'node',
  'langchain',
  'bot-discord',
  'model-tiny',
  'queue',
  's3',
] as const;
type PackageDir = (typeof PACKAGES)[number];

/**
 * How long the npm install and smoke.mjs may take. Compiling better-sqlite3's sqlite3.c alone took over 8 minutes
 * on 2 cores shared with a model pretraining at `nice -n 19` (load average 8).
 */
const INSTALL_TIMEOUT_MS = 1_200_000;

/** @oppu/model-tiny must stay small enough to ship inside an npm package. */
const MODEL_LIMIT_BYTES = 30_000_000;

/** The fields of a packed package.json this test reads. */
interface Manifest {
  name: string;
  type?: string;
  license?: string;
  engines?: { node?: string };
  repository?: { type?: string; url?: string; directory?: string };
  publishConfig?: { access?: string };
  sideEffects?: boolean | string[];
  exports: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
type DependencyField = 'dependencies' | 'peerDependencies' | 'optionalDependencies';

const enabled = (!!process.env.CI && process.env.CI !== 'false') || process.env.OPPU_PACK_TEST === '1';

/** Whether smoke.mjs can run @oppu/queue for real (it starts a throw-away redis-server; .ci/run installs it). */
const hasRedis =
  spawnSync(process.env.REDIS_SERVER ?? 'redis-server', ['--version'], { encoding: 'utf8' }).status === 0;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws on a non-zero exit (the caller asserts, with the output). */
function run(cmd: string, args: string[], options: ExecFileOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...options },
      (error, stdout, stderr) => {
        // A command that could not start at all (ENOENT) is an error; an exit status or a signal is a result.
        if (error && typeof error.code !== 'number' && !error.signal) return reject(error);
        const code = !error ? 0 : typeof error.code === 'number' ? error.code : 128;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** `run`, failing with the command's output when it exits non-zero. */
async function must(cmd: string, args: string[], options: ExecFileOptions = {}): Promise<Run> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.code}\n${r.stdout}\n${r.stderr}`.slice(-8000));
  }
  return r;
}

/** npm_config_nodedir as scripts/quickstart.mjs sets it: node-gyp then uses the local headers, no download. */
function installEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the workspace's package manager may leak into the scratch install (npm_config_* such as a
  // registry, cache or proxy are the user's and stay).
  for (const key of Object.keys(env)) {
    if (/^(pnpm_|npm_lifecycle_|npm_package_|npm_execpath$|npm_node_execpath$|npm_command$)/i.test(key)) {
      delete env[key];
    }
  }
  delete env.npm_config_user_agent;
  delete env.NODE_OPTIONS;
  delete env.VITEST;
  delete env.OPPU_BASE_MODEL_DIR;
  const prefix = dirname(dirname(process.execPath));
  if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node.h'))) {
    env.npm_config_nodedir = prefix;
  }
  return env;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const file of await listFiles(dir)) total += (await stat(file)).size;
  return total;
}

/** The packages a module imports (static, dynamic with a literal, require), by package name. */
function importedPackages(source: string): string[] {
  const names = new Set<string>();
  for (const { fileName } of ts.preProcessFile(source, true, true).importedFiles) {
    if (fileName.startsWith('.') || fileName.startsWith('/') || fileName.startsWith('node:')) continue;
    const parts = fileName.split('/');
    const name = fileName.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    if (builtinModules.includes(name)) continue;
    names.add(name);
  }
  return [...names];
}

describe.runIf(enabled)('the packed packages, installed outside the workspace', () => {
  let work: string;
  let packs: string;
  let scratch: string;
  const tarballs = new Map<PackageDir, string>();
  const unpacked = new Map<PackageDir, string>();
  const manifests = new Map<PackageDir, Manifest>();
  // biome-ignore lint/suspicious/noExplicitAny: JSON lines printed by smoke.mjs
  let smoke: Record<string, Record<string, any>> = {};
  /** The npm install and the smoke script, started as soon as the tarballs exist (it overlaps the lint tests). */
  let installed: Promise<{ env: NodeJS.ProcessEnv; smokeRun: Run }> | undefined;

  async function installAndRun(): Promise<{ env: NodeJS.ProcessEnv; smokeRun: Run }> {
    const env = installEnv();
    // The tarballs are copied in and named as file: dependencies, so npm resolves the packages' own
    // @oppu/* dependencies to them and never to the registry (where they do not exist yet).
    // @20minutes/s3rver: the local S3-compatible server smoke.mjs runs @oppu/s3 against (as tests/ does).
    const deps: Record<string, string> = { '@langchain/core': '^1.4.0', '@20minutes/s3rver': '4.0.4' };
    await mkdir(join(scratch, 'tarballs'));
    for (const [dir, file] of tarballs) {
      const name = file.slice(packs.length + 1);
      await copyFile(file, join(scratch, 'tarballs', name));
      deps[`@oppu/${dir}`] = `file:tarballs/${name}`;
    }
    const manifest = { name: 'oppu-pack-scratch', private: true, type: 'module', dependencies: deps };
    await writeFile(join(scratch, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await copyFile(SMOKE, join(scratch, 'smoke.mjs'));
    const started = Date.now();
    const install = await must(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', '--foreground-scripts'],
      { cwd: scratch, env },
    );
    // The trainer's install script says in one line whether it built the native kernels.
    const native = install.stdout.split('\n').filter((l) => l.includes('[@oppu/trainer]'));
    console.info(`npm install: ${((Date.now() - started) / 1000).toFixed(0)} s\n${native.join('\n')}`);
    const smokeRun = await run(process.execPath, ['smoke.mjs', join(work, 'smoke')], { cwd: scratch, env });
    smoke = Object.fromEntries(
      smokeRun.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .map((r) => [r.step, r]),
    );
    return { env, smokeRun };
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'oppu-pack-'));
    packs = join(work, 'tarballs');
    scratch = join(work, 'scratch');
    await mkdir(packs);
    await mkdir(scratch);
    // dist/ for every package (turbo: a no-op when .ci/run built already).
    await must('pnpm', ['build'], { cwd: ROOT });
    for (const dir of PACKAGES) {
      const name = `@oppu/${dir}`;
      await must('pnpm', ['--filter', name, 'pack', '--pack-destination', packs], { cwd: ROOT });
      const file = (await readdir(packs)).find((f) => f.startsWith(`oppu-${dir}-`) && f.endsWith('.tgz'));
      if (!file) throw new Error(`pnpm pack wrote no tarball for ${name} into ${packs}`);
      tarballs.set(dir, join(packs, file));
      const into = join(work, 'unpacked', dir);
      await mkdir(into, { recursive: true });
      await must('tar', ['-xzf', join(packs, file), '-C', into]);
      unpacked.set(dir, join(into, 'package'));
      manifests.set(dir, JSON.parse(await readFile(join(into, 'package', 'package.json'), 'utf8')));
    }
    installed = installAndRun();
    installed.catch(() => {}); // awaited (and reported) by the install tests' beforeAll
  }, 300_000);

  afterAll(async () => {
    await installed?.catch(() => {});
    if (work && !process.env.OPPU_PACK_KEEP) await rm(work, { recursive: true, force: true });
  }, INSTALL_TIMEOUT_MS);

  describe.each(PACKAGES)('@oppu/%s', (dir) => {
    it('passes publint (warnings are errors)', async () => {
      const r = await run(join(ROOT, 'node_modules/.bin/publint'), ['run', tarballs.get(dir)!, '--strict'], {
        cwd: ROOT,
      });
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    }, 60_000);

    it('passes Are the Types Wrong for ESM consumers', async () => {
      // ESM-only packages: `require()` of them fails in Node 20 (CJSResolvesToESM under node16-cjs) and node10
      // resolution ignores `exports` (NoResolution on subpaths). The esm-only profile ignores exactly those two
      // resolutions; types for node16 ESM and for bundlers must be clean.
      const attw = join(ROOT, 'node_modules/.bin/attw');
      const r = await run(attw, [tarballs.get(dir)!, '--profile', 'esm-only', '--format', 'json'], {
        cwd: ROOT,
      });
      const problems = JSON.parse(r.stdout).analysis.problems as { kind: string; resolutionKind?: string }[];
      expect(r.code, JSON.stringify(problems, null, 2)).toBe(0);
      // ...and what the profile ignores is only those two kinds.
      const unexcused = problems.filter(
        (p) =>
          !(
            (p.kind === 'CJSResolvesToESM' && p.resolutionKind === 'node16-cjs') ||
            (p.kind === 'NoResolution' && p.resolutionKind === 'node10')
          ),
      );
      expect(unexcused).toEqual([]);
    }, 60_000);

    it('has the publishing fields and a README, LICENSE, types for every entry', async () => {
      const pkg = manifests.get(dir)!;
      const root = unpacked.get(dir)!;
      expect(pkg.name).toBe(`@oppu/${dir}`);
      expect(pkg.type).toBe('module');
      expect(pkg.engines?.node).toMatch(/^>=20/);
      expect(pkg.license).toMatch(/^(MIT|\(MIT AND .+\))$/);
      expect(pkg.repository).toMatchObject({ type: 'git', directory: `packages/${dir}` });
      expect(pkg.publishConfig?.access).toBe('public');
      // false, or the list of modules that do something on import (the trainer's kernels register tfjs' wasm backend).
      expect(pkg.sideEffects === false || Array.isArray(pkg.sideEffects), 'sideEffects').toBe(true);
      expect(existsSync(join(root, 'README.md')), 'README.md').toBe(true);
      expect(existsSync(join(root, 'LICENSE')), 'LICENSE').toBe(true);
      // Published dependencies name versions, never the workspace protocol.
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as DependencyField[]) {
        for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
          expect(range, `${field}.${dep}`).not.toMatch(/^(workspace|link|file):/);
        }
      }
      for (const [entry, target] of Object.entries(pkg.exports)) {
        if (typeof target === 'string') {
          expect(entry, `exports["${entry}"] is a bare path`).toBe('./package.json');
          continue;
        }
        expect(Object.keys(target), `exports["${entry}"] conditions`).toEqual(['source', 'types', 'default']);
        for (const condition of ['source', 'types', 'default']) {
          expect(existsSync(join(root, target[condition] ?? '')), `exports["${entry}"].${condition}`).toBe(
            true,
          );
        }
      }
      const shipped = (await listFiles(root)).map((f) => relative(root, f).split(sep).join('/'));
      expect(shipped.filter((f) => /\.test\.(ts|js)$|\.bench\.ts$|(^|\/)native\/build\//.test(f))).toEqual(
        [],
      );
    });

    it('declares every package its built code imports', async () => {
      const pkg = manifests.get(dir)!;
      const declared = new Set([
        pkg.name,
        ...Object.keys(pkg.dependencies ?? {}),
        ...Object.keys(pkg.peerDependencies ?? {}),
        ...Object.keys(pkg.optionalDependencies ?? {}),
      ]);
      const undeclared: string[] = [];
      const root = unpacked.get(dir)!;
      for (const file of await listFiles(join(root, 'dist'))) {
        if (!file.endsWith('.js')) continue;
        for (const name of importedPackages(await readFile(file, 'utf8'))) {
          if (!declared.has(name)) undeclared.push(`${relative(root, file)} imports ${name}`);
        }
      }
      expect(undeclared).toEqual([]);
    });
  });

  it('ships executable bins with a shebang', async () => {
    for (const dir of PACKAGES) {
      const bins = manifests.get(dir)!.bin ?? {};
      for (const [name, path] of Object.entries(bins)) {
        const file = join(unpacked.get(dir)!, path);
        expect(existsSync(file), `${name}: ${path}`).toBe(true);
        expect((await readFile(file, 'utf8')).startsWith('#!/usr/bin/env node\n'), `${name} shebang`).toBe(
          true,
        );
        expect((await stat(file)).mode & 0o111, `${name} is executable`).not.toBe(0);
      }
    }
  });

  it('ships what the packages read at run time (model weights, word vectors, the native addon sources)', () => {
    const has = (dir: PackageDir, path: string) => existsSync(join(unpacked.get(dir)!, path));
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(has('model-tiny', `model/${f}`), `model-tiny model/${f}`).toBe(true);
    }
    expect(has('model-tiny', 'MODEL_CARD.md')).toBe(true);
    // Task adapters shipped beside the model (@oppu/node's shippedTaskAdapterDir) must ship too.
    if (existsSync(join(ROOT, 'packages/model-tiny/task-adapters'))) {
      expect(has('model-tiny', 'task-adapters')).toBe(true);
    }
    expect(has('retriever', 'assets/word-vectors.oppuwv')).toBe(true);
    for (const f of ['native/binding.gyp', 'native/install.mjs', 'native/src/addon.cc']) {
      expect(has('trainer', f), `trainer ${f}`).toBe(true);
    }
    expect(manifests.get('trainer')!.scripts?.install).toBe('node native/install.mjs');
  });

  it('keeps @oppu/model-tiny under 30 MB, packed and unpacked', async () => {
    const packed = (await stat(tarballs.get('model-tiny')!)).size;
    const size = await sizeOf(unpacked.get('model-tiny')!);
    console.info(
      `@oppu/model-tiny: tarball ${(packed / 1e6).toFixed(2)} MB, unpacked ${(size / 1e6).toFixed(2)} MB (limit ${(MODEL_LIMIT_BYTES / 1e6).toFixed(1)} MB)`,
    );
    expect(packed).toBeLessThan(MODEL_LIMIT_BYTES);
    expect(size).toBeLessThan(MODEL_LIMIT_BYTES);
  });

  describe('installed with npm into a scratch project', () => {
    let env: NodeJS.ProcessEnv;
    let smokeRun: Run;

    beforeAll(async () => {
      ({ env, smokeRun } = await installed!);
    }, INSTALL_TIMEOUT_MS);

    it('has no link into the workspace', async () => {
      for (const dir of PACKAGES) {
        const installed = join(scratch, 'node_modules', '@oppu', dir);
        expect((await stat(installed)).isDirectory()).toBe(true);
        const real = await realpath(installed);
        expect(real.startsWith(scratch), `${installed} -> ${real}`).toBe(true);
      }
    });

    it('runs a plain-Node script that uses every package', () => {
      expect(smokeRun.code, `${smokeRun.stdout}\n${smokeRun.stderr}`).toBe(0);
      expect(Object.keys(smoke)).toEqual([
        'contracts',
        'core',
        'model-tiny',
        'retriever',
        'cli',
        'node',
        'langchain',
        's3',
        'queue',
        'bot-discord',
        'done',
      ]);
      // Each package was loaded from the scratch project's node_modules, as built (dist), never from sources.
      const loadedFrom: Record<PackageDir, string> = {
        contracts: smoke.contracts!.from,
        core: smoke.core!.from,
        cli: smoke.cli!.from,
        trainer: smoke['model-tiny']!.trainerFrom,
        retriever: smoke.retriever!.from,
        node: smoke.node!.from,
        langchain: smoke.langchain!.from,
        'bot-discord': smoke['bot-discord']!.from,
        'model-tiny': smoke['model-tiny']!.from,
        queue: smoke.queue!.from,
        s3: smoke.s3!.from,
      };
      for (const dir of PACKAGES) {
        expect(loadedFrom[dir], dir).toBe(join(scratch, 'node_modules', '@oppu', dir, 'dist', 'index.js'));
      }
    });

    it('@oppu/contracts holds only OppuError as a value, the class @oppu/core throws', () => {
      expect(smoke.contracts).toMatchObject({ values: ['OppuError'], sameErrorAsCore: true });
    });

    it('@oppu/core scores a LaMP file', () => {
      expect(smoke.core).toMatchObject({ questions: 12, score: { task: 'LaMP_2M', count: 12 } });
      // The oracle knows the synthetic users' preferences: far above chance (1/15) on 12 questions.
      expect(smoke.core!.score.accuracy).toBeGreaterThan(0.5);
    });

    it('@oppu/cli scores the same LaMP file through its main, and a missing option is exit code 2', () => {
      expect(smoke.cli).toMatchObject({ code: 0, score: smoke.core!.score, stderr: '', usageCode: 2 });
      expect(smoke.cli!.usage).toBe(
        'oppu score: missing --preds (run `oppu score --help` for the options)\n',
      );
    });

    it('@oppu/model-tiny loads on @oppu/trainer and generates, with the native kernels built at install', () => {
      const step = smoke['model-tiny']!;
      expect(step.modelDir).toBe(join(scratch, 'node_modules', '@oppu', 'model-tiny', 'model'));
      expect(step.info).toMatchObject({ name: 'oppu/tiny-llama' });
      expect(step.info.parameters).toBeGreaterThan(1_000_000);
      expect(step.text.trim().length).toBeGreaterThan(0);
      expect(step.backend).toBe('wasm');
      expect(step.native, 'the install script built native/build/Release/oppu_kernels.node').toMatchObject({
        available: true,
      });
    });

    it('@oppu/retriever builds a user memory with BM25 and HNSW', () => {
      expect(smoke.retriever).toMatchObject({ bm25: ['3', '1'], vector: ['2'] });
      expect([...smoke.retriever!.hybrid].sort()).toEqual(['1', '2', '3']);
      const index = join(work, 'smoke', 'memory', 'users');
      expect(existsSync(index), `${index}: the per-user HNSW indexes`).toBe(true);
    });

    it('@oppu/node trains a LoRA for 2 steps and answers with it', () => {
      expect(smoke.node).toMatchObject({ version: 1, steps: 2, answer: { adapterVersion: 1 } });
      expect(smoke.node!.answer.method).toMatch(/^oppu/);
      expect(typeof smoke.node!.answer.text).toBe('string');
    });

    it('@oppu/langchain invokes the chat model as a user', () => {
      expect(smoke.langchain).toMatchObject({ type: 'ai', content: smoke.node!.answer.text });
      expect(smoke.langchain!.method).toBe(smoke.node!.answer.method);
    });

    it('@oppu/s3 stores, lists and reads back an adapter version on a local S3 server', () => {
      const step = smoke.s3!;
      expect(step).toMatchObject({ put: { version: 1 }, listed: [['bob', 1]], got: { version: 1 } });
      // The version in the bucket is bob's trained adapter, byte for byte, its sha256 verified on the way back.
      expect(step.put.sha256).toBe(step.localSha256);
      expect(step.got.sha256).toBe(step.localSha256);
      expect(step.tensors).toBeGreaterThan(0);
      expect(step.sameTensors).toBe(true);
    });

    it('@oppu/queue trains one job on a local worker over Redis (skipped only without redis-server)', () => {
      const step = smoke.queue!;
      if (!hasRedis) {
        console.warn(`@oppu/queue smoke step SKIPPED: ${step.skipped}`);
        expect(step.skipped).toMatch(/redis-server is not on PATH/);
        return;
      }
      expect(step.skipped).toBeUndefined();
      expect(step.added).toEqual([true, false]); // the same request twice is one job
      expect(step.result).toMatchObject({ user: 'carol', job: step.job, version: 1, reused: false });
      expect(step.stored).toEqual([{ version: 1, job: step.job, steps: 2 }]);
    });

    it('@oppu/bot-discord registers its slash commands through discord.js', () => {
      expect(smoke['bot-discord']).toMatchObject({ scope: 'global' });
      expect(smoke['bot-discord']!.names).toContain('ask');
    });

    it('runs the installed `oppu` command (npx)', async () => {
      const help = await run('npx', ['--no-install', 'oppu', '--help'], { cwd: scratch, env });
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/usage: oppu <command>/);
      for (const command of ['info', 'run', 'score', 'synth', 'validate'])
        expect(help.stdout).toContain(command);

      const { golds, preds } = smoke.core!;
      const score = await run('npx', ['--no-install', 'oppu', 'score', '--golds', golds, '--preds', preds], {
        cwd: scratch,
        env,
      });
      expect(score.code, score.stderr).toBe(0);
      expect(JSON.parse(score.stdout)).toEqual(smoke.core!.score);

      // `oppu info` finds @oppu/node and the embedded model from the install, and falls back to the wasm
      // kernels when the native addon is turned off.
      const info = await run('npx', ['--no-install', 'oppu', 'info'], {
        cwd: scratch,
        env: { ...env, OPPU_NATIVE: '0' },
      });
      expect(info.code, info.stderr).toBe(0);
      expect(JSON.parse(info.stdout)).toMatchObject({ default: true, backend: 'wasm' });
      expect(info.stderr).toMatch(/disabled by OPPU_NATIVE=0/);
    }, 60_000);

    // The first example of each README, as a stranger would paste it: TypeScript stripped by the TypeScript
    // compiler (no type check), run by plain Node in an empty folder of the scratch project. @oppu/queue's starts a
    // throw-away redis-server (on PATH in CI); @oppu/bot-discord's talks to the package's stand-in Discord. Not
    // here: @oppu/s3's needs an S3 bucket (tests/readme-examples.test.ts runs it against a local server on sources;
    // its code path runs in smoke.mjs).
    it.each([
      'core',
      'cli',
      'trainer',
      'model-tiny',
      'retriever',
      'node',
      'langchain',
      'queue',
      'bot-discord',
    ] as const)(
      'runs the example at the top of @oppu/%s README',
      async (dir) => {
        const readme = await readFile(join(unpacked.get(dir)!, 'README.md'), 'utf8');
        const block = /```(?:ts|js)\n([\s\S]*?)```/.exec(readme);
        expect(block, 'a ts or js code block').not.toBeNull();
        const js = ts.transpileModule(block![1]!, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        const folder = join(scratch, 'examples', dir);
        await mkdir(folder, { recursive: true });
        await writeFile(join(folder, 'example.mjs'), js);
        const r = await run(process.execPath, ['example.mjs'], { cwd: folder, env, timeout: 120_000 });
        expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      },
      150_000,
    );

    it('runs the installed `oppu-discord` and `oppu-discord-deploy`, which say what is missing', async () => {
      for (const bin of ['oppu-discord', 'oppu-discord-deploy']) {
        const r = await run('npx', ['--no-install', bin], {
          cwd: scratch,
          env: { ...env, DISCORD_TOKEN: '' },
        });
        expect(r.code, bin).toBe(1);
        expect(r.stderr, bin).toMatch(/DISCORD_TOKEN is not set/);
      }
    }, 60_000);
  });
});
