/** A framework-neutral tensor, as stored in safetensors files and adapter archives. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'int32' | 'int64' | 'uint8';

export interface HostTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** float32 data for the float dtypes (converted on load), Int32Array for int32, raw bytes otherwise. */
  readonly data: Float32Array | Int32Array | Uint8Array | BigInt64Array;
}

/** An adapter in HF PEFT layout: the parsed `adapter_config.json` and the tensors of `adapter_model.safetensors`. */
export interface AdapterWeights {
  readonly config: Readonly<Record<string, unknown>>;
  readonly tensors: ReadonlyMap<string, HostTensor>;
}
