// Row-wise kernels beside the GEMM.
#pragma once
#include <cstdint>

namespace oppu {

class ThreadPool;

// Softmax cross-entropy over rows of logits [n, v] with integer targets [n] and optional row weights [n]
// (null = all 1). Writes d(loss)/d(logits) for loss = sum_i w_i * nll_i / sum_i w_i into grad [n, v] (may be
// null) and returns that loss. A target outside [0, v) with a non-zero weight makes it return NaN and sets
// *bad_row to the row.
double softmax_xent(const float* logits, const int32_t* targets, const float* weights, long n, long v, float* grad,
                    long* bad_row, ThreadPool& pool);

}  // namespace oppu

namespace oppu {

// RMSNorm over rows of x [n, d]: y = x * r * w with r = 1 / sqrt(mean(x^2) + eps); r is stored per row.
void rmsnorm_forward(const float* x, const float* w, long n, long d, float eps, float* y, float* r, ThreadPool& pool);
// Its gradient w.r.t. x (w is frozen): dx = r * g - x * r^3 / d * sum(g * x), g = dy * w.
void rmsnorm_backward(const float* x, const float* w, const float* r, const float* dy, long n, long d, float* dx,
                      ThreadPool& pool);
// SwiGLU gate: y = silu(a) * b over n elements, and its gradients da, db.
void swiglu_forward(const float* a, const float* b, long n, float* y, ThreadPool& pool);
void swiglu_backward(const float* a, const float* b, const float* dy, long n, float* da, float* db, ThreadPool& pool);
// Rotary embedding of x [rows, heads, hd] by angles cos/sin [rows, hd/2]; `interleaved` pairs (2i, 2i+1)
// (llama2.c) else (i, i + hd/2) (HF); `inverse` rotates by minus the angle (the gradient).
void rope(const float* x, const float* cos, const float* sin, long rows, long heads, long hd, bool interleaved,
          bool inverse, float* y, ThreadPool& pool);

}  // namespace oppu

namespace oppu {

// Causal softmax over rows of scores [n, t, t] (query i sees keys j <= i): y = softmax(scale * x + mask).
// Entries above the diagonal are 0 in y. Backward: dx = scale * y * (dy - sum_j dy * y).
void causal_softmax_forward(const float* x, long n, long t, float scale, float* y, ThreadPool& pool);
void causal_softmax_backward(const float* y, const float* dy, long n, long t, float scale, float* dx, ThreadPool& pool);

}  // namespace oppu

namespace oppu {

// Causal self-attention of one training/prefill pass, fused: q [b, t, h, hd], k and v [b, t, kvh, hd]
// (grouped-query: query head i reads kv head i / (h / kvh)), out [b, t, h, hd] = softmax(scale * q k^T,
// causal) v, with the probabilities kept in probs [b, h, t, t] for the backward pass. Heads are read and
// written in place through strides (no transposes), and only the blocks on or below the diagonal are
// computed: causal attention needs about half the products of the dense form.
struct AttentionArgs {
  const float *q, *k, *v;
  float *out, *probs;
  long b, t, h, kvh, hd;
  float scale;
};
void causal_attention_forward(const AttentionArgs& a, ThreadPool& pool);

// Its gradient: dq, dk, dv from dout [b, t, h, hd] and the saved probs.
struct AttentionGradArgs {
  const float *q, *k, *v, *probs, *dout;
  float *dq, *dk, *dv;
  long b, t, h, kvh, hd;
  float scale;
};
void causal_attention_backward(const AttentionGradArgs& a, ThreadPool& pool);

}  // namespace oppu
