/**
 * The process the crash harness kills: it repeats one store operation forever and prints `done <state>` after
 * each one that completed. Usage: child.ts <home> <adapter|history|import|index|train>
 */
import { join } from 'node:path';
import { userId } from '@oppu/core';
import { createLocalOppu, FsAdapterStore, writeTestCheckpoint } from '@oppu/node';
import { HistoryStore, UserMemory } from '@oppu/retriever';

const [home, op] = process.argv.slice(2) as [string, string];
const say = (line: string) => process.stdout.write(`${line}\n`);
const user = userId('crash');

function weights(seed: number) {
  const data = Float32Array.from({ length: 16 * 1024 }, (_, i) => Math.sin(seed * 7919 + i));
  // A LoRA pair of rank 8 (imports check PEFT names, rank and A/B pairs).
  return {
    config: { peft_type: 'LORA', r: 8, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] },
    tensors: new Map([
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
        { dtype: 'float32' as const, shape: [8, 1024], data: data.slice(0, 8 * 1024) },
      ],
      [
        'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
        { dtype: 'float32' as const, shape: [1024, 8], data: data.slice(8 * 1024) },
      ],
    ]),
  };
}
const meta = {
  task: 'LaMP_7',
  baseModel: { name: 'crash-test', hash: 'c'.repeat(64) },
  peft: { method: 'lora' as const, r: 8, alpha: 8, dropout: 0.05, targetModules: ['q_proj', 'v_proj'] },
  createdAt: '2026-01-01T00:00:00.000Z',
};

if (op === 'adapter') {
  const store = new FsAdapterStore({ root: join(home, 'adapters') });
  say('ready');
  for (let i = 0; ; i++) {
    const m = await store.put(user, weights(i), meta);
    say(`done ${m.version} ${m.sha256}`);
  }
} else if (op === 'import') {
  const store = new FsAdapterStore({ root: join(home, 'adapters') });
  const source = userId('source');
  if ((await store.list(source)).length === 0)
    for (let i = 0; i < 3; i++) await store.put(source, weights(100 + i), meta);
  const archive = await store.export(source);
  say('ready');
  for (;;) {
    const metas = await store.import(user, archive);
    say(`done ${metas.map((m) => m.sha256).join(',')}`);
  }
} else if (op === 'history') {
  const history = new HistoryStore(join(home, 'history.sqlite'));
  say('ready');
  for (let i = history.count(user); ; i++) {
    history.add(user, [{ id: `i${i}`, text: `item number ${i} of the crash test` }]);
    say(`done ${history.count(user)}`);
  }
} else if (op === 'index') {
  const memory = new UserMemory({ dir: join(home, 'memory') });
  say('ready');
  for (let i = 0; ; i++) {
    await memory.add(user, [{ id: `m${i}`, text: `memory item ${i} about cats and dogs` }]);
    say(`done ${i + 1}`);
  }
} else if (op === 'train') {
  await writeTestCheckpoint(join(home, 'model'));
  const oppu = await createLocalOppu({
    home: join(home, 'svc'),
    baseModelDir: join(home, 'model'),
    training: { maxSteps: 3 },
    summarizer: 'none',
    onLog: () => {},
  });
  if ((await oppu.service.items(user)).length === 0)
    await oppu.service.addItems(user, [
      { id: 'a', text: 'the cat sat' },
      { id: 'b', text: 'a dog ran' },
    ]);
  say('ready');
  for (;;) {
    const m = await oppu.service.train(user);
    say(`done ${m.version} ${m.sha256}`);
  }
} else {
  throw new Error(`unknown operation ${op}`);
}
