import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The program shape tfjs-backend-webgpu 4.22 compiles and runs (its `WebGPUProgram`, which the package does not
 * export). The backend writes the bindings: `result` (the output, binding 0), one `array<f32>`/`array<i32>`
 * storage buffer per name in `variableNames` (in that order), and a `uniforms` struct holding every input's
 * shape as `<name>Shape` (`xShape`, `wShape`...), `outShape`, `size` when `size` is set, then the fields
 * declared in `uniforms`. `getUserCode` writes `fn main()` (or `fn main(index : i32)` for a flat dispatch);
 * the backend adds the entry point and caches the pipeline by `shaderKey` + input ranks and dtypes.
 */
export interface WgslProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  /** Components per element of each input's binding (4 binds it as `array<vec4<f32>>`). */
  variableComponents?: number[] | undefined;
  getUserCode(): string;
}

/** The part of tfjs-backend-webgpu's WebGPUBackend the kernels call. */
interface WebgpuBackendLike {
  runWebGPUProgram(
    program: WgslProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: Array<{ type: string; data: number[] }>,
  ): tf.TensorInfo;
}

/** Workgroups for a flat dispatch of `size` invocations, `workgroup` per group. */
export function flatDispatch(size: number, workgroup: number): [number, number, number] {
  return [Math.ceil(size / workgroup), 1, 1];
}

/**
 * Registers `kernelName` for the webgpu backend: `run(attrs)` builds the program and its uniforms, the inputs
 * are bound in the order of `names`. Idempotent. The kernels then show under their own names in `tf.profile`.
 */
export function registerWgslKernel<A extends tf.NamedAttrMap>(
  kernelName: string,
  names: readonly string[],
  build: (
    inputs: tf.TensorInfo[],
    attrs: A,
  ) => { program: WgslProgram; uniforms?: Array<{ type: string; data: number[] }> },
): void {
  if (tf.getKernel(kernelName, 'webgpu')) return;
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const list = names.map((n) => {
        const t = inputs[n];
        if (!t) throw new Error(`${kernelName}: input "${n}" is missing`);
        return t;
      });
      const { program, uniforms } = build(list, attrs as unknown as A);
      return (backend as unknown as WebgpuBackendLike).runWebGPUProgram(program, list, 'float32', uniforms);
    },
  });
}

/** Throws unless the webgpu backend is active: the WGSL kernels exist only there. */
export function assertWebgpu(op: string): void {
  const name = tf.getBackend();
  if (name !== 'webgpu') {
    throw new OppuError(
      'backend/not-webgpu',
      `${op}: the WGSL kernels run on the webgpu backend, but the active tfjs backend is "${name}"; start it ` +
        `with initBackend({ backend: 'webgpu' }) (or OPPU_BACKEND=webgpu), or use the plain-tf reference`,
    );
  }
}

/** Runs a registered WGSL kernel; its output is a tracked tensor (tidy and dispose apply as usual). */
export function runWgsl(
  kernelName: string,
  inputs: tf.NamedTensorMap,
  attrs: tf.NamedAttrMap = {},
): tf.Tensor {
  return tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor;
}
