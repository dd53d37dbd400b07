import type { AdapterWeights, HostTensor, PromptTuningConfig } from '@oppu/core';
import { OppuError } from '@oppu/core';
import * as tf from '@tensorflow/tfjs-core';
import type { LinearAdapter } from '../../model/hooks.js';
import { checkDims, type PeftModelDims } from '../model-dims.js';
import type { AdapterBaseInfo, PeftMethod } from '../peft-method.js';
import { checkNoExtraTensors, takeTensor } from '../weights-check.js';
import {
  promptTuningConfigFromPeft,
  promptTuningConfigToPeft,
  validatePromptTuningConfig,
} from './config.js';

export interface PromptTuningOptions {
  readonly seed?: number;
  /**
   * The model's token embeddings of a text, [tokens, hidden]; required when the config has `initText`.
   * As PEFT: the rows are repeated to fill `numVirtualTokens` if the text is short, or cut if it is long.
   */
  readonly initEmbeddings?: (text: string) => tf.Tensor2D;
  /** Start from these values ([N, hidden] row-major), e.g. loaded from a file; no init is run. */
  readonly values?: Float32Array;
}

/**
 * Prompt tuning (Lester et al. 2021, HF PEFT `tuners/prompt_tuning`): N learned "virtual token" embeddings
 * [N, hidden] prepended to every input. Saved as `prompt_embeddings` [N, hidden]. Random init is N(0, 1), as
 * PEFT's `nn.Embedding`; text init copies the embeddings of the text's tokens.
 */
export class PromptTuningModel implements PeftMethod {
  readonly method = 'prompt' as const;
  readonly config: PromptTuningConfig;
  readonly dims: PeftModelDims;
  readonly embeddings: tf.Variable<tf.Rank.R2>;
  private disposed = false;

  constructor(config: PromptTuningConfig, dims: PeftModelDims, options: PromptTuningOptions = {}) {
    checkDims(dims);
    this.config = validatePromptTuningConfig(config);
    this.dims = dims;
    const n = this.config.numVirtualTokens;
    const text = this.config.initText;
    const values = options.values;
    if (text !== undefined && !options.initEmbeddings && !values)
      throw new OppuError(
        'invalid_peft_config',
        "prompt tuning: initText needs the model's token embeddings (pass options.initEmbeddings)",
      );
    this.embeddings = tf.tidy(() => {
      if (values) return tf.variable(tf.tensor2d(values, [n, dims.hiddenSize]));
      if (text === undefined || !options.initEmbeddings)
        return tf.variable(tf.randomNormal([n, dims.hiddenSize], 0, 1, 'float32', options.seed ?? 0));
      const rows = options.initEmbeddings(text);
      if (rows.rank !== 2 || rows.shape[1] !== dims.hiddenSize || rows.shape[0] === 0)
        throw new OppuError(
          'invalid_peft_config',
          `prompt tuning: initEmbeddings gave shape [${rows.shape.join(', ')}], expected [tokens > 0, ${dims.hiddenSize}]`,
        );
      const idx = Array.from({ length: n }, (_, i) => i % rows.shape[0]);
      return tf.variable(tf.gather(rows, idx) as tf.Tensor2D);
    }) as tf.Variable<tf.Rank.R2>;
  }

  static fromWeights(weights: AdapterWeights, dims: PeftModelDims, where = 'adapter'): PromptTuningModel {
    const config = promptTuningConfigFromPeft(weights.config, `${where}: adapter_config.json`, dims);
    checkDims(dims);
    const values = takeTensor(
      weights,
      'prompt_embeddings',
      [config.numVirtualTokens, dims.hiddenSize],
      where,
    );
    checkNoExtraTensors(weights, new Set(['prompt_embeddings']), where);
    // The values come from the file, so a text init is not recomputed.
    return new PromptTuningModel(config, dims, { values });
  }

  setTraining(): void {
    // No dropout in prompt tuning.
  }

  asLinearAdapter(): LinearAdapter {
    return {
      linear: (_ctx, x, base) => base(x),
      prefixEmbeddings: (batch: number): tf.Tensor3D => {
        if (this.disposed) throw new OppuError('disposed', 'prompt tuning: used after dispose()');
        // [batch, N, hidden]
        return tf.tidy(() => tf.tile(tf.expandDims(this.embeddings, 0), [batch, 1, 1]) as tf.Tensor3D);
      },
    };
  }

  trainableVariables(): tf.Variable[] {
    return [this.embeddings];
  }

  numParameters(): number {
    return this.embeddings.size;
  }

  toWeights(base: AdapterBaseInfo = {}): AdapterWeights {
    const tensors = new Map<string, HostTensor>([
      [
        'prompt_embeddings',
        {
          dtype: 'float32',
          shape: [...this.embeddings.shape],
          data: this.embeddings.dataSync() as Float32Array,
        },
      ],
    ]);
    return { config: promptTuningConfigToPeft(this.config, this.dims, base), tensors };
  }

  fromWeights(weights: AdapterWeights, where = 'adapter'): void {
    const data = takeTensor(weights, 'prompt_embeddings', this.embeddings.shape, where);
    checkNoExtraTensors(weights, new Set(['prompt_embeddings']), where);
    tf.tidy(() => this.embeddings.assign(tf.tensor2d(data, this.embeddings.shape as [number, number])));
  }

  dispose(): void {
    if (this.disposed) return;
    this.embeddings.dispose();
    this.disposed = true;
  }
}
