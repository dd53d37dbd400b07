import type * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';

// Each test file runs in its own process: here the addon is switched off before the kernels load.
describe('OPPU_NATIVE=0', () => {
  it('keeps the addon out with one log line, and the kernels fall back to wasm with the same values', async () => {
    process.env.OPPU_NATIVE = '0';
    delete process.env.OPPU_QUIET;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { installKernels, nativeKernels, nativeStatus, loraLinear, loraLinearReference } = await import(
      './index.js'
    );
    const { rand, relErr, useWasm } = await import('./kernel-testing.js');
    expect(nativeKernels()).toBeNull();
    expect(nativeStatus()).toEqual({ available: false, detail: 'disabled by OPPU_NATIVE=0' });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /native kernels disabled by OPPU_NATIVE=0; using the wasm kernels/,
    );
    await useWasm();
    expect(installKernels().matMul).toBe('wasm');
    const x = rand([3, 4, 16], 1) as tf.Tensor3D;
    const [w, a, b] = [rand([16, 12], 2), rand([16, 4], 3), rand([4, 12], 4)] as tf.Tensor2D[];
    expect(relErr(loraLinear(x, w!, a!, b!, 2), loraLinearReference(x, w!, a!, b!, 2))).toBeLessThan(1e-5);
    warn.mockRestore();
  });
});
