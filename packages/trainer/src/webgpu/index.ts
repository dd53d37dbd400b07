export { bgmv, bgmvReference } from './bgmv.js';
export { loraLinearWebgpu } from './lora-linear-webgpu.js';
export {
  BGMV_KERNEL,
  LORA_LINEAR_KERNEL,
  registerWebgpuKernels,
  SEGMENT_MAT_MUL_KERNEL,
  SEGMENT_WEIGHT_GRAD_KERNEL,
} from './register-kernels.js';
export { type Segments, segmentsOf, sgmv, sgmvReference } from './sgmv.js';
export {
  findWebgpuAdapter,
  isSoftwareAdapter,
  registerWebgpuBackend,
  type WebgpuAdapter,
  type WebgpuAdapterReport,
} from './webgpu-adapter.js';
