import { exportGguf as writeGguf } from '@oppu/node';
import { type CliCommand, stringOption } from '../command.js';

const exportGguf: CliCommand = {
  name: 'export-gguf',
  summary: "write the base model, or a user's LoRA adapter, as a GGUF file for llama.cpp and Ollama",
  options: {
    base: {
      type: 'string',
      placeholder: 'DIR',
      description: 'base model folder (HF layout); default: the embedded tiny model',
    },
    adapter: {
      type: 'string',
      placeholder: 'DIR',
      description:
        "a user's LoRA adapter folder (adapter_config.json + adapter_model.safetensors): write only the adapter, for the base given by --base",
    },
    out: {
      type: 'string',
      placeholder: 'FILE',
      description: 'the .gguf file to write (replaced atomically)',
    },
    name: {
      type: 'string',
      placeholder: 'NAME',
      description: "general.name in the file (default: the model's name, or the adapter folder's name)",
    },
  },
  required: ['out'],
  examples: [
    'oppu export-gguf --out base.gguf',
    'oppu export-gguf --adapter ./.oppu/adapters/alice/v0001 --out alice.gguf',
    'llama-cli -m base.gguf --lora alice.gguf -p "Dear team," -n 32 --temp 0',
  ],
  async run(values, context) {
    const out = context.path(stringOption(values, 'out')!);
    const base = stringOption(values, 'base');
    const adapter = stringOption(values, 'adapter');
    const name = stringOption(values, 'name');
    const result = await writeGguf({
      out,
      ...(base ? { baseModelDir: context.path(base) } : {}),
      ...(adapter ? { adapterDir: context.path(adapter) } : {}),
      ...(name ? { name } : {}),
    });
    // The result as one JSON line (the CLI's convention); how to serve it on stderr.
    context.out(JSON.stringify(result));
    context.note(
      result.kind === 'model'
        ? `serve it with llama.cpp: llama-cli -m ${result.file}`
        : `serve it with llama.cpp: llama-cli -m BASE.gguf --lora ${result.file} (BASE.gguf from oppu export-gguf${base ? ` --base ${base}` : ''})`,
    );
  },
};
export default exportGguf;
