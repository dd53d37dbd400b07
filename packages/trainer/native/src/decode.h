// One batch-1 decoding step through every layer of a Llama-family decoder (decode.cc).
#pragma once
#include <vector>

namespace oppu {

class ThreadPool;

// A LoRA pair on one projection: y += scale · (x·A)·B, A [in, r], B [r, out]; a null A: none.
struct LowRank {
  const float *a = nullptr, *b = nullptr;
  long r = 0;
  float scale = 0.f;
};

// The projections in the order of `DecodeLayer::lora`.
enum Proj { kQ, kK, kV, kO, kGate, kUp, kDown, kProjections };

// One layer's weights (projections row-major [in, out], as x·W) and its KV cache [kvh, cap, hd] (batch row 0).
// Biases may be null.
struct DecodeLayer {
  const float *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *bo, *ffn_norm, *wg, *wu, *wd, *bg, *bu, *bd;
  float *kc, *vc;
  LowRank lora[kProjections];
};

struct DecodeArgs {
  float* x;                     // [d]: the new token's embedding in, the last layer's output out
  const float *cos, *sin;       // [hd / 2]: RoPE angles of position `pos`
  long d, h, kvh, hd, f;        // sizes
  long cap;                     // positions the cache buffers hold
  long pos;                     // the new token's position (keys 0..pos are attended to)
  long window;                  // sliding window (keys pos - window + 1 .. pos); <= 0: none
  float eps, scale;             // RMSNorm epsilon, attention scale
  bool interleaved;             // RoPE pairs (2i, 2i+1) instead of (i, i + hd/2)
  std::vector<DecodeLayer> layers;
};

void decode_step(const DecodeArgs& args, ThreadPool& pool);

}  // namespace oppu
