// Run by tests/pack/pack.test.ts with plain `node` (no tsx, no vitest, no source condition) inside a scratch
// project outside the workspace, where every @oppu package was installed from its packed tarball with npm.
// It does one real thing with each package and prints one JSON line per package: {"step": ..., ...}.
// Usage: node smoke.mjs <work dir>
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const work = process.argv[2];
if (!work) throw new Error('usage: node smoke.mjs <work dir>');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
const report = (step, fields) => console.log(JSON.stringify({ step, ...fields }));
/** Where `import(name)` loads a package from: it must be this project's node_modules, never the workspace. */
const from = (name) => fileURLToPath(import.meta.resolve(name));

// @oppu/core: write a synthetic LaMP-2M outputs file and predictions, read them back and score them.
{
  const core = await import('@oppu/core');
  const data = core.synthesize({ task: 'LaMP_2M', users: 4, items: 8, queries: 3, seed: 1 });
  const golds = join(work, 'outputs.json');
  const preds = join(work, 'oracle.json');
  await core.writeOutputs(golds, data.outputs);
  await core.writeOutputs(preds, {
    task: data.task,
    golds: [...data.oracleAnswers].map(([id, output]) => ({ id, output })),
  });
  const score = core.scoreLamp('LaMP_2M', await core.readOutputs(golds), await core.readOutputs(preds));
  report('core', { from: from('@oppu/core'), questions: data.questions.length, score, golds, preds });
}

// @oppu/trainer + @oppu/model-tiny: the fastest backend, the embedded model, greedy generation.
{
  const { initBackend } = await import('@oppu/trainer');
  const { nativeStatus } = await import('@oppu/trainer/kernels');
  const { loadTinyModel, modelDir } = await import('@oppu/model-tiny');
  const backend = await initBackend({ log: () => {} });
  const base = await loadTinyModel();
  const [out] = await base.generate([{ prompt: 'The President said that' }], {
    maxNewTokens: 12,
    temperature: 0,
  });
  report('model-tiny', {
    from: from('@oppu/model-tiny'),
    trainerFrom: from('@oppu/trainer'),
    modelDir,
    backend: backend.name,
    native: nativeStatus(),
    info: { name: base.info.name, parameters: base.info.parameters },
    text: out.text,
  });
  base.dispose();
}

// @oppu/retriever: a user's memory, BM25 and HNSW (the default SIF embeddings read the shipped word vectors).
{
  const { userId } = await import('@oppu/core');
  const { UserMemory } = await import('@oppu/retriever');
  const memory = new UserMemory({ dir: join(work, 'memory'), fields: ['text'] });
  const alice = userId('alice');
  await memory.add(alice, [
    { id: '1', date: '2021-05-01', text: 'a whale hunt at sea on a wooden ship' },
    { id: '2', date: '2021-06-01', text: 'baking sourdough bread on sunday mornings' },
    { id: '3', date: '2021-07-01', text: 'the harpoon missed and the whale dove deep' },
  ]);
  const ids = (hits) => hits.map((h) => h.item.id);
  const bm25 = ids(await memory.retrieve(alice, 'whale', { k: 2, mode: 'bm25' }));
  const vector = ids(await memory.retrieve(alice, 'bread', { k: 1, mode: 'vector' }));
  const hybrid = ids(await memory.retrieve(alice, 'whale ship', { k: 3 }));
  memory.close();
  report('retriever', { from: from('@oppu/retriever'), bm25, vector, hybrid });
}

// @oppu/node: the local service on the embedded model; a LoRA trained for two steps, then an answer with it.
const { createLocalOppu } = await import('@oppu/node');
const { userId } = await import('@oppu/core');
const oppu = await createLocalOppu({ home: join(work, 'home'), training: { maxSteps: 2 }, onLog: () => {} });
const bob = userId('bob');
try {
  await oppu.service.addItems(bob, [
    { id: '1', text: 'ran ten miles before sunrise, legs are jelly' },
    { id: '2', text: 'rest day. foam roller and a lot of water' },
    { id: '3', text: 'new shoes, same hills, better time' },
  ]);
  const meta = await oppu.service.train(bob);
  const input = oppu.service.task.formatInput({ text: 'off to the gym, wish me luck' });
  const answer = await oppu.service.ask(bob, input);
  report('node', {
    from: from('@oppu/node'),
    version: meta.version,
    steps: meta.training?.steps,
    answer: { text: answer.text, method: answer.method, adapterVersion: answer.adapterVersion },
  });

  // @oppu/langchain: the chat model on that service, invoked as bob.
  const { OppuChatModel } = await import('@oppu/langchain');
  const model = new OppuChatModel({ service: oppu.service });
  const message = await model.invoke(input, { configurable: { userId: 'bob' } });
  report('langchain', {
    from: from('@oppu/langchain'),
    type: message._getType(),
    content: message.content,
    method: message.response_metadata?.method,
  });
} finally {
  await oppu.close();
}

// @oppu/bot-discord: the slash commands registered through discord.js against the shipped fake Discord API.
{
  const { deployCommands } = await import('@oppu/bot-discord');
  const { APPLICATION_ID, FakeDiscord } = await import('@oppu/bot-discord/testing');
  const discord = await FakeDiscord.start();
  try {
    const result = await deployCommands(
      { token: 'pack-test', clientId: APPLICATION_ID },
      { api: discord.api },
    );
    report('bot-discord', { from: from('@oppu/bot-discord'), ...result });
  } finally {
    await discord.close();
  }
}

const pkg = JSON.parse(await readFile(join(process.cwd(), 'package.json'), 'utf8'));
report('done', { dependencies: Object.keys(pkg.dependencies ?? {}) });
