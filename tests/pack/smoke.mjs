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

// @oppu/contracts: its one value, OppuError, is the class @oppu/core throws (core re-exports it).
{
  const contracts = await import('@oppu/contracts');
  const core = await import('@oppu/core');
  report('contracts', {
    from: from('@oppu/contracts'),
    values: Object.keys(contracts),
    sameErrorAsCore: contracts.OppuError === core.OppuError,
  });
}

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

// @oppu/cli: `oppu score` through the command line's `main` on the core step's files prints the same score and
// exits 0; a missing option exits 2 with one line naming it.
{
  const { main } = await import('@oppu/cli');
  const sink = () => {
    const s = {
      text: '',
      write(t) {
        s.text += t;
        return true;
      },
    };
    return s;
  };
  const [stdout, stderr, usage] = [sink(), sink(), sink()];
  const golds = join(work, 'outputs.json');
  const code = await main(['score', '--golds', golds, '--preds', join(work, 'oracle.json')], {
    stdout,
    stderr,
  });
  const usageCode = await main(['score', '--golds', golds], { stdout: sink(), stderr: usage });
  report('cli', {
    from: from('@oppu/cli'),
    code,
    score: JSON.parse(stdout.text),
    stderr: stderr.text,
    usageCode,
    usage: usage.text,
  });
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

  // @oppu/s3: bob's adapter copied into a bucket of a local S3-compatible server (@20minutes/s3rver, installed
  // into this project beside the tarballs), listed and read back with its sha256 checked.
  const { default: S3rver } = await import('@20minutes/s3rver');
  const { S3AdapterStore } = await import('@oppu/s3');
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(work, 's3'),
    configureBuckets: [{ name: 'oppu', configs: [] }],
  });
  const { port } = await s3rver.run();
  const s3 = new S3AdapterStore({
    bucket: 'oppu',
    prefix: 'smoke',
    clientConfig: {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    },
  });
  // s3rver checks the signature of bucket-level requests (ListObjectsV2) against `/bucket`, while the SDK signs
  // `/bucket/`; S3 accepts both (a quirk of the test server only, as in tests/adapter-store-contract.test.ts).
  s3.client.middlewareStack.add(
    (next) => async (args) => {
      if (args.request.path && /^\/[^/]+\/$/.test(args.request.path))
        args.request.path = args.request.path.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: 's3rverBucketPath' },
  );
  try {
    const local = await oppu.adapters.get(bob);
    const { version: _v, sha256: _s, userId: _u, ...meta } = local.meta;
    const put = await s3.put(bob, local.weights, meta);
    const listed = (await s3.list(bob)).map((m) => [m.userId, m.version]);
    const back = await s3.get(bob);
    const same = [...local.weights.tensors].every(([name, t]) => {
      const b = back.weights.tensors.get(name);
      return (
        b &&
        Buffer.compare(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
          Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
        ) === 0
      );
    });
    report('s3', {
      from: from('@oppu/s3'),
      put: { version: put.version, sha256: put.sha256 },
      listed,
      got: { version: back.meta.version, sha256: back.meta.sha256 },
      localSha256: local.meta.sha256,
      tensors: back.weights.tensors.size,
      sameTensors: same && back.weights.tensors.size === local.weights.tensors.size,
    });
  } finally {
    s3.client.destroy();
    await s3rver.close();
  }
} finally {
  await oppu.close();
}

// @oppu/queue: a throw-away redis-server, one local training worker over createLocalOppu on a tiny test checkpoint,
// one job enqueued for carol and waited for. Skipped (with the reason) where redis-server is not installed.
{
  const queueLib = await import('@oppu/queue');
  const { writeTestCheckpoint } = await import('@oppu/node');
  if (!queueLib.findRedisServer()) {
    report('queue', {
      from: from('@oppu/queue'),
      skipped: 'redis-server is not on PATH (apt-get install -y redis-server, or set REDIS_SERVER)',
    });
  } else {
    const redis = await queueLib.startLocalRedis();
    const connection = { host: redis.host, port: redis.port };
    const model = join(work, 'queue', 'model');
    await writeTestCheckpoint(model);
    let local;
    let queue;
    try {
      local = await queueLib.startLocalTrainingWorker({
        connection,
        oppu: {
          home: join(work, 'queue', 'home'),
          baseModelDir: model,
          training: { maxSteps: 2, batchSize: 2, seed: 1 },
          summarizer: 'none',
          onLog: () => {},
        },
      });
      const carol = userId('carol');
      // The history a bot would have recorded in the shared home.
      await local.oppu.service.addItems(carol, [
        { id: '1', text: 'the cat sat on the mat' },
        { id: '2', text: 'a dog ran in the park' },
      ]);
      queue = new queueLib.TrainingQueue({ connection, attempts: 1 });
      await queue.listen();
      const progress = [];
      queue.onProgress((p) => progress.push(p.done));
      const enqueued = await queue.enqueueTraining(carol, { request: 'smoke-1' });
      const again = await queue.enqueueTraining(carol, { request: 'smoke-1' });
      const result = await queue.result(enqueued.job, 120_000);
      const stored = await local.oppu.adapters.list(carol);
      report('queue', {
        from: from('@oppu/queue'),
        job: enqueued.job,
        added: [enqueued.added, again.added],
        result: { user: result.user, job: result.job, version: result.version, reused: result.reused },
        stored: stored.map((m) => ({ version: m.version, job: m.training?.job, steps: m.training?.steps })),
        progressEvents: progress.length,
      });
    } finally {
      await queue?.close();
      await local?.close();
      await redis.stop();
    }
  }
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
