import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { hasVulkanLoader, isSoftwareAdapter } from './webgpu-adapter.js';
import { webgpuAvailability } from './webgpu-testing.js';

const gpu = await webgpuAvailability();
const adapter = (info: Record<string, unknown>) => ({ info, limits: {}, requestDevice: async () => ({}) });

describe('isSoftwareAdapter', () => {
  it('tells CPU rasterisers from GPUs by the fallback flag or the renderer name', () => {
    expect(
      isSoftwareAdapter(
        adapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL ES 3.2 Mesa' }),
      ),
    ).toBe(true);
    expect(isSoftwareAdapter(adapter({ vendor: 'mesa', device: 'lavapipe' }))).toBe(true);
    expect(isSoftwareAdapter(adapter({ vendor: 'google', architecture: 'swiftshader' }))).toBe(true);
    expect(
      isSoftwareAdapter(
        adapter({ vendor: 'nvidia', device: 'NVIDIA GeForce RTX 4090', isFallbackAdapter: true }),
      ),
    ).toBe(true);
    expect(
      isSoftwareAdapter(
        adapter({ vendor: 'nvidia', device: 'NVIDIA GeForce RTX 4090', description: 'Vulkan' }),
      ),
    ).toBe(false);
    expect(isSoftwareAdapter(adapter({ vendor: 'apple', architecture: 'metal-3', device: 'Apple M2' }))).toBe(
      false,
    );
  });
});

describe('initBackend and WebGPU', () => {
  it('the automatic choice passes over a software or missing WebGPU adapter, saying which', async () => {
    const lines: string[] = [];
    const info = await initBackend({ backend: 'auto', log: (l) => lines.push(l) });
    const line = info.skipped.find((l) => l.includes('"webgpu"'));
    if (gpu.ok && !/software/.test(gpu.adapter)) {
      expect(info.name).toBe('webgpu'); // a hardware adapter is used
    } else {
      expect(info.name).not.toBe('webgpu');
      // Automatic choice asks for a core (Vulkan/Metal/D3D12) adapter only: on Linux without a Vulkan loader it
      // does not load Dawn at all; with one it finds a software core adapter (lavapipe) or none.
      expect(line).toMatch(
        hasVulkanLoader()
          ? /backend "webgpu" skipped: (only a software adapter: .*software|no WebGPU adapter|webgpu is not installed|.*failed to load)/
          : /backend "webgpu" skipped: no Vulkan loader \(libvulkan\.so\.1\)/,
      );
    }
  });

  it.skipIf(!gpu.ok)(
    `OPPU_BACKEND=webgpu takes any adapter and names it in the log line${gpu.ok ? '' : ` (skipped: ${gpu.reason})`}`,
    async () => {
      const lines: string[] = [];
      const info = await initBackend({ backend: 'webgpu', log: (l) => lines.push(l) });
      expect(info.name).toBe('webgpu');
      expect(tf.getBackend()).toBe('webgpu');
      expect(lines.at(-1)).toMatch(
        /^oppu: tfjs backend "webgpu" \(@tensorflow\/tfjs-backend-webgpu on .+\)$/,
      );
      const c = tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]));
      expect(Array.from(await c.data())).toEqual([4, 5, 10, 11]);
    },
  );
});
