import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine, defaultBaseModelDir } from '@oppu/node';
import { type CliCommand, stringOption } from '../command.js';

const info: CliCommand = {
  name: 'info',
  summary: 'print the base model in use (name, size, hash) and the active TensorFlow.js backend, as JSON',
  options: {
    base: {
      type: 'string',
      placeholder: 'DIR',
      description: 'base model folder (HF layout); default: the embedded tiny model',
    },
  },
  examples: ['oppu info', 'oppu info --base ./my-llama'],
  async run(values, context) {
    const base = stringOption(values, 'base');
    const engine = await createEngine({
      ...(base ? { baseModelDir: context.path(base) } : {}),
      onLog: (line) => context.note(line),
    });
    try {
      const m = engine.model.info;
      const dir = base ? context.path(base) : defaultBaseModelDir();
      let diskBytes = 0;
      for (const f of await readdir(dir)) diskBytes += (await stat(join(dir, f))).size;
      context.out(
        JSON.stringify({
          base: dir,
          default: base === undefined,
          ...m,
          diskBytes,
          ...('backend' in engine ? { backend: (engine as { backend: string }).backend } : {}),
        }),
      );
    } finally {
      engine.dispose();
    }
  },
};
export default info;
