import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AdapterWeights, type HostTensor, OppuError, writeFileAtomic } from '@oppu/core';
import { readSafetensors } from '../../safetensors/read.js';
import { writeSafetensors } from '../../safetensors/write.js';
import { peftJson } from './config-fields.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

/** The bytes of the two files of a PEFT adapter folder (for archives and checksums). */
export function encodeAdapter(weights: AdapterWeights): { config: string; safetensors: Uint8Array } {
  for (const [name, t] of weights.tensors) {
    if (t.dtype !== 'float32' || !(t.data instanceof Float32Array))
      throw new OppuError('invalid_tensor', `adapter tensor "${name}": expected float32, got ${t.dtype}`);
  }
  // PEFT writes {"format": "pt"} as safetensors metadata.
  return {
    config: `${peftJson(weights.config)}\n`,
    safetensors: writeSafetensors(weights.tensors, { format: 'pt' }),
  };
}

/** Parses the two files of a PEFT adapter folder; `where` names the folder in errors. */
export function decodeAdapter(
  configText: string,
  safetensors: Uint8Array,
  where = 'adapter',
): AdapterWeights {
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch (err) {
    throw new OppuError(
      'invalid_adapter_config',
      `${where}/${ADAPTER_CONFIG_FILE}: not valid JSON (${(err as Error).message})`,
    );
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new OppuError('invalid_adapter_config', `${where}/${ADAPTER_CONFIG_FILE}: not a JSON object`);
  const { tensors } = readSafetensors(safetensors, { file: `${where}/${ADAPTER_WEIGHTS_FILE}` });
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array))
      throw new OppuError(
        'invalid_tensor',
        `${where}/${ADAPTER_WEIGHTS_FILE}: tensor "${name}" is ${t.dtype}, expected a float tensor`,
      );
    // fp16/bf16 adapters are read as float32 values.
    out.set(name, { dtype: 'float32', shape: t.shape, data: t.data });
  }
  assertFiniteTensors(out, `${where}/${ADAPTER_WEIGHTS_FILE}`);
  return { config: config as Record<string, unknown>, tensors: out };
}

/**
 * Refuses NaN and infinite values in float tensors: a diverged training or a damaged file, which would turn every
 * answer of the adapter into noise. `where` names the file or adapter in the error.
 */
export function assertFiniteTensors(tensors: ReadonlyMap<string, HostTensor>, where: string): void {
  for (const [name, t] of tensors) {
    const data = t.data;
    if (!(data instanceof Float32Array)) continue;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (v - v !== 0) {
        throw new OppuError(
          'adapter_not_finite',
          `${where}: tensor "${name}" holds ${v} at element ${i}; the adapter diverged or the file is damaged (retrain it)`,
        );
      }
    }
  }
}

/**
 * Saves an adapter as HF PEFT does: `adapter_config.json` (sorted keys, 2-space indent) and
 * `adapter_model.safetensors` (float32). Both writes are atomic; the weights are written first, so a crash
 * leaves either the old pair or the new weights with the old config (which `loadAdapter` validates).
 */
export async function saveAdapter(dir: string, weights: AdapterWeights): Promise<void> {
  const { config, safetensors } = encodeAdapter(weights);
  await writeFileAtomic(join(dir, ADAPTER_WEIGHTS_FILE), safetensors);
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_FILE), config);
}

/** Loads an adapter folder written by `saveAdapter` or by PEFT's `save_pretrained` (safetensors only). */
export async function loadAdapter(dir: string): Promise<AdapterWeights> {
  const read = async (file: string) => {
    try {
      return await readFile(join(dir, file));
    } catch (err) {
      throw new OppuError(
        'adapter_not_found',
        `${join(dir, file)}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); an adapter folder holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}`,
        { cause: err },
      );
    }
  };
  // Both reads run at once, but the error is chosen in a fixed order (config first), not by whichever
  // read happens to fail first: the same broken folder always gets the same message.
  const [config, st] = await Promise.allSettled([read(ADAPTER_CONFIG_FILE), read(ADAPTER_WEIGHTS_FILE)]);
  if (config.status === 'rejected') throw config.reason;
  if (st.status === 'rejected') throw st.reason;
  return decodeAdapter(config.value.toString('utf8'), st.value, dir);
}
