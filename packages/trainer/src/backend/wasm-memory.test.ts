import { OPPU_LORA, OppuError } from '@oppu/core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installKernels, uninstallKernels } from '../kernels/index.js';
import type { WasmBackend } from '../kernels/wasm-heap.js';
import { type LlamaConfig, LlamaModel, randomLlamaArrays } from '../model/llama.js';
import { LoraModel } from '../peft/lora/model.js';
import type { TrainingExample } from '../train/batching.js';
import { trainAdapter } from '../train/train-adapter.js';
import { initBackend } from './init-backend.js';
import { guardWasmMemory, WASM_HEAP_HEADROOM, WASM_HEAP_MAX, wasmHeapUsage } from './wasm-memory.js';

describe('the wasm heap guard (a fake allocator)', () => {
  it('throws out_of_memory where malloc would return 0, also after emscripten swaps its malloc stub', () => {
    const raw = { next: 1024, limit: 4096 };
    const rawMalloc = (n: number) => {
      if (raw.next + n > raw.limit) return 0;
      raw.next += n;
      return raw.next - n;
    };
    // Emscripten's `_malloc` starts as a stub that replaces itself with the wasm export on its first call.
    const wasm = {
      HEAPU8: new Uint8Array(4096),
      _malloc(n: number): number {
        wasm._malloc = rawMalloc;
        return rawMalloc(n);
      },
      _free: (_p: number) => {},
    };
    guardWasmMemory(wasm);
    expect(wasm._malloc(1000)).toBeGreaterThan(0);
    const error = (() => {
      try {
        wasm._malloc(4000);
      } catch (e) {
        return e as OppuError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(OppuError);
    expect(error?.code).toBe('out_of_memory');
    expect(error?.message).toMatch(
      /^out of memory: the wasm heap cannot hold \d+ MiB more .*; lower maxBatchTokens/,
    );
    expect(error?.message).not.toContain('\n');
  });

  it('refuses a block that would end in the headroom kept for the runtime', () => {
    const wasm = {
      HEAPU8: new Uint8Array(16),
      _malloc: (n: number) => WASM_HEAP_MAX - WASM_HEAP_HEADROOM - n + 8,
      _free: () => {},
    };
    guardWasmMemory(wasm);
    expect(() => wasm._malloc(1024)).toThrow(/out of memory/);
  });
});

/** A small random decoder: big enough that a few long rows need real memory. */
const CONFIG: LlamaConfig = {
  dim: 64,
  hidden: 128,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  vocab: 512,
  maxSeqLen: 512,
  normEps: 1e-5,
  ropeTheta: 10000,
  ropeStyle: 'half',
  tiedEmbeddings: true,
};
const examples: TrainingExample[] = Array.from({ length: 4 }, (_, i) => ({
  prompt: Array.from({ length: 400 }, (_, t) => 5 + ((t * 7 + i) % 500)),
  answer: [7, 8, 9],
}));

describe('the wasm backend when its 4 GiB heap runs out', () => {
  let backend: WasmBackend;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', wasmThreads: 1, log: () => {} });
    installKernels();
    backend = tf.backend() as unknown as WasmBackend;
  });
  afterAll(() => uninstallKernels());

  /** Reserves (without touching: no resident memory) blocks of `bytes` until the heap refuses one. */
  const fillHeap = (bytes: number): { hogs: TensorInfo[]; error: unknown } => {
    const hogs: TensorInfo[] = [];
    try {
      for (let i = 0; i < 4096; i++) hogs.push(backend.makeOutput([bytes / 4], 'float32'));
    } catch (error) {
      return { hogs, error };
    }
    return { hogs, error: undefined };
  };
  const free = (hogs: TensorInfo[]) => {
    for (const h of hogs) backend.disposeData(h.dataId);
  };

  it('refuses the allocation in one line instead of placing a tensor at address 0, and keeps working', async () => {
    const { hogs, error } = fillHeap(512 * 2 ** 20);
    try {
      expect((error as OppuError).code).toBe('out_of_memory');
      expect(hogs.length).toBeGreaterThanOrEqual(6);
      for (const h of hogs) expect(backend.dataIdMap.get(h.dataId).memoryOffset).toBeGreaterThan(0);
    } finally {
      free(hogs);
    }
    // Nothing was written over the runtime: ops, reads and disposals all still work.
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6], [2, 1]));
    expect([...(await y.data())]).toEqual([17, 39]);
    tf.dispose(y);
    expect(wasmHeapUsage()?.heapBytes).toBeGreaterThan(3 * 2 ** 30);
  });

  it('fails a training step that cannot have its memory with out_of_memory, and trains the same once it can', async () => {
    const model = new LlamaModel(CONFIG, randomLlamaArrays(CONFIG, 5));
    const train = async () => {
      const lora = new LoraModel({ ...OPPU_LORA, dropout: 0 }, model.dims, { seed: 1 });
      try {
        const r = await trainAdapter(model, lora, examples, {
          maxSteps: 2,
          batchSize: 4,
          learningRate: 1e-2,
        });
        return { losses: r.losses, weights: lora.trainableVariables().map((v) => [...v.dataSync()]) };
      } finally {
        lora.dispose();
      }
    };
    try {
      const before = await train();
      // Leave less than one training pass needs (a pass here takes some 100 MiB).
      const big = fillHeap(256 * 2 ** 20);
      const small = fillHeap(8 * 2 ** 20);
      try {
        await expect(train()).rejects.toMatchObject({ code: 'out_of_memory' });
      } finally {
        free([...big.hogs, ...small.hogs]);
      }
      expect(await train()).toEqual(before);
    } finally {
      model.dispose();
    }
  });
});
