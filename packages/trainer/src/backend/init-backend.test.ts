import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { activeBackend, defaultWasmThreads, initBackend } from './init-backend.js';

describe('initBackend', () => {
  it('falls back past the missing native bindings to multi-threaded wasm, with a log line for each skip', async () => {
    const lines: string[] = [];
    const info = await initBackend({ backend: 'auto', log: (l) => lines.push(l) });
    // tfjs-node / tfjs-node-gpu are optional peers and not installed in this workspace.
    expect(info.name).toBe('wasm');
    expect(info.skipped.join('\n')).toMatch(/@tensorflow\/tfjs-node-gpu is not installed/);
    expect(lines.at(-1)).toMatch(
      /^oppu: tfjs backend "wasm" \(@tensorflow\/tfjs-backend-wasm, \d+ threads?\)$/,
    );
    expect(info.threads).toBe(defaultWasmThreads());
    expect(activeBackend()).toBe(info);
    expect(tf.getBackend()).toBe('wasm');
    // A matmul on the (threaded) binary gives the right numbers.
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
    const c = tf.matMul(a, b);
    expect(Array.from(await c.data())).toEqual([4, 5, 10, 11]);
    tf.dispose([a, b, c]);
  });

  it('honours an explicit backend and switches', async () => {
    const info = await initBackend({ backend: 'cpu', log: () => {} });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(activeBackend()?.name).toBe('cpu');
  });

  it('reads OPPU_BACKEND and rejects an unknown value with a clear message', async () => {
    const saved = process.env.OPPU_BACKEND;
    try {
      process.env.OPPU_BACKEND = 'tpu';
      await expect(initBackend({ log: () => {} })).rejects.toThrow(
        /OPPU_BACKEND="tpu" is not a backend: use one of/,
      );
      process.env.OPPU_BACKEND = 'wasm';
      expect((await initBackend({ log: () => {} })).name).toBe('wasm');
    } finally {
      if (saved === undefined) delete process.env.OPPU_BACKEND;
      else process.env.OPPU_BACKEND = saved;
    }
  });

  it('a forced backend whose package is missing is an error naming the package, not a crash', async () => {
    await expect(initBackend({ backend: 'tensorflow', log: () => {} })).rejects.toThrow(
      /OPPU_BACKEND=tensorflow: the backend could not start \(@tensorflow\/tfjs-node-gpu is not installed/,
    );
    // The previous backend is still usable.
    expect(tf.getBackend()).toBe('wasm');
  });
});
