import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { softmaxCrossEntropy, softmaxCrossEntropyReference } from './cross-entropy.js';
import { rmsNorm, rmsNormReference } from './fused-ops.js';
import { installKernels } from './index.js';
import { rand, relErr } from './kernel-testing.js';
import { loraLinear, loraLinearReference } from './lora-linear.js';
import { nativeKernels } from './native.js';

// The product runs the threaded wasm binary, whose memory is a SharedArrayBuffer: the addon must take it.
describe.skipIf(!nativeKernels() || typeof SharedArrayBuffer !== 'function')(
  'kernels on threaded wasm',
  () => {
    it('compute in place on SharedArrayBuffer memory and agree with plain tf', async () => {
      await initBackend({ backend: 'wasm', wasmThreads: 2, log: () => {} });
      expect((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer).toBeInstanceOf(
        SharedArrayBuffer,
      );
      expect(installKernels().matMul).toBe('native');
      const x = rand([2, 7, 32], 1) as tf.Tensor3D;
      const [w, a, b] = [rand([32, 48], 2), rand([32, 4], 3), rand([4, 48], 4)] as tf.Tensor2D[];
      expect(relErr(loraLinear(x, w!, a!, b!, 2), loraLinearReference(x, w!, a!, b!, 2))).toBeLessThan(1e-5);
      const logits = rand([6, 9], 5) as tf.Tensor2D;
      const t = tf.tensor1d([1, 2, 3, 4, 5, 6], 'int32');
      expect(relErr(softmaxCrossEntropy(logits, t), softmaxCrossEntropyReference(logits, t))).toBeLessThan(
        1e-5,
      );
      const nw = tf.ones([32]) as tf.Tensor1D;
      expect(relErr(rmsNorm(x, nw, 1e-5), rmsNormReference(x, nw, 1e-5))).toBeLessThan(1e-5);
    });
  },
);
