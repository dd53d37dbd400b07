import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The WebGPU adapter under Node. Browsers and Deno have `navigator.gpu`; under Node the optional `webgpu`
 * package (Dawn's Node binding) provides it. Dawn looks for Vulkan/Metal/D3D12 first; where none starts (a
 * server with no GPU driver) it can still run on OpenGL ES through Mesa's software renderer (llvmpipe), which
 * WebGPU exposes only as a "compatibility" feature-level adapter. Such an adapter is correct but slow, so the
 * automatic backend choice skips it (`software: true`) and only `OPPU_BACKEND=webgpu` uses it.
 */

/** What was found, for log lines and for the decision "hardware or software". */
export interface WebgpuAdapterReport {
  /** e.g. `llvmpipe (LLVM 15.0.6, 256 bits)` or `NVIDIA GeForce RTX 4090`. */
  readonly device: string;
  /** Driver/API description, e.g. `OpenGL version OpenGL ES 3.2 Mesa 22.3.6`. */
  readonly description: string;
  readonly vendor: string;
  /** 'core' for a full WebGPU adapter, 'compatibility' for the OpenGL ES (compat mode) one. */
  readonly featureLevel: 'core' | 'compatibility';
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, WARP) or an adapter flagged as fallback. */
  readonly software: boolean;
  /** One line: `llvmpipe… (OpenGL ES 3.2 Mesa 22.3.6; compatibility; software)`. */
  readonly summary: string;
}

/** The slice of the WebGPU API used here (no dependency on @webgpu/types). */
export interface GpuAdapterLike {
  readonly info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  readonly isFallbackAdapter?: boolean;
  readonly limits: Record<string, number>;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
    featureLevel?: 'core' | 'compatibility';
  }): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

export interface WebgpuAdapter {
  readonly adapter: GpuAdapterLike;
  readonly gpu: GpuLike;
  readonly report: WebgpuAdapterReport;
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b|software/i;

/** Whether an adapter is a CPU rasteriser: `isFallbackAdapter`, or a known software renderer by name. */
export function isSoftwareAdapter(adapter: GpuAdapterLike): boolean {
  const info = adapter.info ?? {};
  if (info.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return true;
  return SOFTWARE.test(
    `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.device ?? ''} ${info.description ?? ''}`,
  );
}

function report(adapter: GpuAdapterLike, featureLevel: 'core' | 'compatibility'): WebgpuAdapterReport {
  const info = adapter.info ?? {};
  const device = (info.device || info.architecture || 'unknown device').replace(/-+$/, '');
  const description = info.description ?? '';
  const software = isSoftwareAdapter(adapter);
  const parts = [description, featureLevel, software ? 'software' : 'hardware'].filter(Boolean);
  return {
    device,
    description,
    vendor: info.vendor ?? '',
    featureLevel,
    software,
    summary: `${device} (${parts.join('; ')})`,
  };
}

let dawn: Promise<DawnModule> | undefined;

async function loadDawn(): Promise<DawnModule> {
  dawn ??= (async () => {
    try {
      return (await import(/* @vite-ignore */ 'webgpu')) as unknown as DawnModule;
    } catch (error) {
      dawn = undefined;
      const message = error instanceof Error ? error.message : String(error);
      if (/Cannot find (package|module)|ERR_MODULE_NOT_FOUND|Could not resolve/.test(message)) {
        throw new Error('webgpu is not installed (optional: pnpm add webgpu@0.6.2)');
      }
      throw new Error(`webgpu (Dawn for Node) failed to load: ${message}`);
    }
  })();
  return dawn;
}

const found = new Map<boolean, Promise<WebgpuAdapter>>();

/**
 * Finds a WebGPU adapter: `navigator.gpu` when the runtime has one, else Dawn (the `webgpu` package): first a
 * core adapter on Vulkan/Metal/D3D12, then Dawn's OpenGL ES backend in compatibility mode (Mesa's EGL without a
 * display: `EGL_PLATFORM=surfaceless` is set when neither it nor DISPLAY/WAYLAND_DISPLAY is). `OPPU_DAWN_FLAGS`
 * (comma-separated, e.g. `backend=vulkan,adapter=NVIDIA`) replaces the search with one Dawn instance made with
 * those flags. `coreOnly` (the automatic backend choice) stops after the core adapter: a GPU worth using is
 * reached through Vulkan/Metal/D3D12, and on Linux without a Vulkan loader Dawn is not even loaded (it would
 * only print its warnings). The result is cached; a failure is not.
 */
export function findWebgpuAdapter(options: { coreOnly?: boolean } = {}): Promise<WebgpuAdapter> {
  const coreOnly = options.coreOnly ?? false;
  let pending = found.get(coreOnly);
  if (!pending) {
    pending = search(coreOnly).catch((error: unknown) => {
      found.delete(coreOnly);
      throw error;
    });
    found.set(coreOnly, pending);
  }
  return pending;
}

/** Linux: whether a Vulkan loader (libvulkan.so.1) is where the dynamic linker looks; elsewhere true. */
export function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/lib64',
    '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

async function search(coreOnly: boolean): Promise<WebgpuAdapter> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  const tries: Array<{ gpu: () => Promise<GpuLike>; level: 'core' | 'compatibility'; what: string }> = [];
  if (nav?.gpu) {
    const gpu = nav.gpu;
    tries.push({ gpu: async () => gpu, level: 'core', what: 'navigator.gpu' });
    if (!coreOnly) {
      tries.push({ gpu: async () => gpu, level: 'compatibility', what: 'navigator.gpu (compatibility)' });
    }
  } else {
    const flags = process.env.OPPU_DAWN_FLAGS;
    if (flags) {
      const list = flags.split(',').filter(Boolean);
      const make = async () => (await loadDawn()).create(list);
      tries.push({ gpu: make, level: 'core', what: `Dawn [${list}]` });
      if (!coreOnly)
        tries.push({ gpu: make, level: 'compatibility', what: `Dawn [${list}] (compatibility)` });
    } else {
      if (coreOnly && !hasVulkanLoader()) {
        throw new Error('no Vulkan loader (libvulkan.so.1) for a hardware WebGPU adapter');
      }
      tries.push({ gpu: async () => (await loadDawn()).create([]), level: 'core', what: 'Dawn (Vulkan)' });
      if (!coreOnly)
        tries.push({
          gpu: async () => {
            const d = await loadDawn();
            if (!process.env.EGL_PLATFORM && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
              process.env.EGL_PLATFORM = 'surfaceless';
            }
            return d.create(['backend=opengles']);
          },
          level: 'compatibility',
          what: 'Dawn (OpenGL ES, compatibility)',
        });
    }
  }
  const missed: string[] = [];
  for (const t of tries) {
    const gpu = await t.gpu();
    const adapter = await gpu.requestAdapter(
      t.level === 'core'
        ? { powerPreference: 'high-performance' }
        : { powerPreference: 'high-performance', featureLevel: 'compatibility' },
    );
    if (adapter) return { adapter, gpu, report: report(adapter, t.level) };
    missed.push(t.what);
  }
  throw new Error(
    `no WebGPU adapter (tried ${missed.join(', ')}): install a Vulkan/Metal/D3D12 driver, or Mesa's ` +
      'EGL/GLES (apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri) for the software renderer',
  );
}

let registered: WebgpuAdapter | undefined;

/**
 * Registers tfjs's `webgpu` backend on the adapter found by `findWebgpuAdapter` (tfjs-backend-webgpu's own
 * registration asks for a core adapter only, so the OpenGL ES compatibility adapter would be missed) and
 * installs Dawn's globals (`GPUBufferUsage`...) and `navigator.gpu` under Node. Call `tf.setBackend('webgpu')`
 * afterwards.
 */
export async function registerWebgpuBackend(found: WebgpuAdapter): Promise<void> {
  if (registered === found && tf.findBackendFactory('webgpu')) return;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, (await loadDawn()).globals);
    Object.defineProperty(globalThis, 'navigator', {
      configurable: true,
      value: { ...(g.navigator ?? {}), gpu: found.gpu },
    });
  }
  let wg: typeof import('@tensorflow/tfjs-backend-webgpu');
  try {
    wg = await import(/* @vite-ignore */ '@tensorflow/tfjs-backend-webgpu');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      /Cannot find (package|module)|ERR_MODULE_NOT_FOUND|Could not resolve/.test(message)
        ? '@tensorflow/tfjs-backend-webgpu is not installed (optional: pnpm add @tensorflow/tfjs-backend-webgpu@4.22.0)'
        : `@tensorflow/tfjs-backend-webgpu failed to load: ${message}`,
    );
  }
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  const { adapter } = found;
  tf.registerBackend(
    'webgpu',
    async () => {
      const l = adapter.limits;
      // The limits tfjs-backend-webgpu asks for, plus storage buffers (its kernels bind up to 8 inputs).
      const device = await adapter.requestDevice({
        requiredLimits: {
          maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize!,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension!,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize!,
          maxBufferSize: l.maxBufferSize!,
          maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX!,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup!,
          maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage!,
        },
      });
      const Backend = wg.WebGPUBackend as unknown as new (device: unknown, info: unknown) => tf.KernelBackend;
      return new Backend(device, adapter.info);
    },
    3,
  );
  registered = found;
}
