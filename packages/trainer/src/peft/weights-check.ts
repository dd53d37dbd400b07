import { type AdapterWeights, type HostTensor, OppuError } from '@oppu/core';

/** Fetches a float tensor from adapter weights, checking its shape; errors name the tensor and what to do. */
export function takeTensor(
  weights: AdapterWeights,
  name: string,
  shape: readonly number[],
  where: string,
): Float32Array {
  const t: HostTensor | undefined = weights.tensors.get(name);
  if (!t)
    throw new OppuError(
      'adapter_mismatch',
      `${where}: tensor "${name}" is missing (the adapter was trained for other modules or another model)`,
    );
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new OppuError(
      'adapter_mismatch',
      `${where}: tensor "${name}" has shape [${t.shape.join(', ')}], this model needs [${shape.join(', ')}] (was the adapter trained on another base model?)`,
    );
  if (!(t.data instanceof Float32Array))
    throw new OppuError(
      'adapter_mismatch',
      `${where}: tensor "${name}" is ${t.dtype}, expected a float tensor`,
    );
  return t.data;
}

/** Fails on tensors the method would silently ignore. */
export function checkNoExtraTensors(
  weights: AdapterWeights,
  expected: ReadonlySet<string>,
  where: string,
): void {
  for (const name of weights.tensors.keys()) {
    if (!expected.has(name))
      throw new OppuError(
        'adapter_mismatch',
        `${where}: unexpected tensor "${name}" (not part of this adapter's config; the file and adapter_config.json disagree)`,
      );
  }
}

/** [r, c] row-major data transposed to [c, r]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j] as number;
  return out;
}
