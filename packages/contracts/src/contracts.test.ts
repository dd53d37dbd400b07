import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');

async function sources(): Promise<Map<string, string>> {
  const files = (await readdir(SRC)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  return new Map(
    await Promise.all(files.map(async (f) => [f, await readFile(join(SRC, f), 'utf8')] as const)),
  );
}

/** The bare realm the package ran in, and its exports (set by the test that builds it). */
let realm: { context: vm.Context; index: Record<string, unknown> } | undefined;

describe('@oppu/contracts', () => {
  it('imports nothing but its own files: no node: module, no package, no Node global', async () => {
    const found: string[] = [];
    for (const [file, text] of await sources()) {
      const info = ts.preProcessFile(text, true, true);
      for (const ref of info.importedFiles)
        if (!/^\.\/[a-z-]+\.js$/.test(ref.fileName)) found.push(`${file}: ${ref.fileName}`);
      for (const global of ['process', 'Buffer', 'require', '__dirname', 'globalThis']) {
        if (new RegExp(`\\b${global}\\b`).test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
          found.push(`${file}: uses ${global}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('runs in a bare JavaScript realm (no Node, no bundler): its one value is OppuError', async () => {
    // Each file compiled on its own (as a bundler-free loader would) and run in a fresh context whose only way to
    // load a module is the package's own files; anything else would throw.
    const files = await sources();
    const cache = new Map<string, Record<string, unknown>>();
    const context = vm.createContext({});
    const load = (spec: string): Record<string, unknown> => {
      const file = spec.replace(/^\.\//, '').replace(/\.js$/, '.ts');
      const text = files.get(file);
      if (text === undefined)
        throw new Error(`@oppu/contracts imports ${spec}, which is not one of its files`);
      const cached = cache.get(file);
      if (cached) return cached;
      const exports: Record<string, unknown> = {};
      cache.set(file, exports);
      const js = ts.transpileModule(text, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      vm.runInContext(`(function (exports, require) {${js}\n})`, context)(exports, load);
      return exports;
    };
    const index = load('./index.js');
    realm = { context, index };
    expect(Object.keys(index).filter((k) => k !== '__esModule')).toEqual(['OppuError']);
    const OppuError = index.OppuError as new (code: string, message: string) => Error & { code: string };
    const error = new OppuError('invalid_user_id', 'userId: "a b" is not a valid user id');
    expect([error.name, error.code, error.message]).toEqual([
      'OppuError',
      'invalid_user_id',
      'userId: "a b" is not a valid user id',
    ]);
  });

  it("the README's example runs as printed in that realm: a user's own retriever", async () => {
    const readme = await readFile(join(SRC, '..', 'README.md'), 'utf8');
    const code = /^```ts\n([\s\S]*?)^```$/m.exec(readme)![1]!;
    const js = ts.transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const exports: Record<string, unknown> = {};
    const only = (spec: string) => {
      if (spec !== '@oppu/contracts') throw new Error(`the example imports ${spec}`);
      return realm!.index;
    };
    vm.runInContext(`(function (exports, require) {${js}\n})`, realm!.context)(exports, only);
    const memory = new (
      exports.PageMemory as new () => {
        add(user: string, items: object[]): Promise<void>;
        retrieve(user: string, query: string, options?: { k?: number }): Promise<{ item: { id: string } }[]>;
      }
    )();
    await memory.add('ann', [
      { id: 'a', text: 'a robot city' },
      { id: 'b', text: 'a road trip' },
    ]);
    await memory.add('bob', [{ id: 'c', text: 'robot wars' }]);
    expect((await memory.retrieve('ann', 'robot')).map((s) => s.item.id)).toEqual(['a']);
    await expect(memory.retrieve('ann', '')).rejects.toThrow('retrieve: query is empty');
  });
});
