import { registerBgmvKernel } from './bgmv-program.js';
import { registerLoraLinearKernel } from './lora-linear-program.js';
import { registerSegmentMatMulKernel } from './segment-mat-mul-program.js';
import { registerSegmentWeightGradKernel } from './segment-weight-grad-program.js';

export { BGMV_KERNEL } from './bgmv-program.js';
export { LORA_LINEAR_KERNEL } from './lora-linear-program.js';
export { SEGMENT_MAT_MUL_KERNEL } from './segment-mat-mul-program.js';
export { SEGMENT_WEIGHT_GRAD_KERNEL } from './segment-weight-grad-program.js';

/**
 * Registers oppu's WGSL kernels (OppuLoraLinear, OppuSegmentMatMul, OppuBgmv, OppuSegmentWeightGrad) for tfjs's
 * webgpu backend. Idempotent; the ops call it themselves. Registering needs no GPU: the shaders compile on first
 * use.
 */
export function registerWebgpuKernels(): void {
  registerLoraLinearKernel();
  registerSegmentMatMulKernel();
  registerBgmvKernel();
  registerSegmentWeightGradKernel();
}
