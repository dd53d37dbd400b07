// One decoding step of a Llama-family decoder, all layers in one call: batch 1, one new token, the KV cache
// written in place. Per layer: RMSNorm, the q/k/v projections (+ biases, + a user's LoRA), RoPE, the new key and value into the
// cache, grouped-query attention over the cached positions (within the sliding window), o_proj and the residual,
// RMSNorm, SwiGLU (gate, up, down) and the residual. The projections are the GEMM of gemm.cc (its one-row
// streaming path) and the row kernels of ops.cc, the same ones the tfjs graph calls op by op; what this saves is
// the ~48 kernel dispatches of the graph per layer.
#include "decode.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gemm.h"
#include "ops.h"
#include "thread-pool.h"

namespace oppu {
namespace {

// y[n] = alpha · x[k] · W[k, n] + beta · y, W row-major.
void row_product(const float* x, const float* w, long k, long n, float alpha, float beta, float* y, ThreadPool& pool) {
  GemmArgs g;
  g.batch = 1, g.m = 1, g.n = n, g.k = k;
  g.a = x, g.a_rs = k, g.a_cs = 1, g.a_bs = 0;
  g.b = w, g.b_rs = n, g.b_cs = 1, g.b_bs = 0;
  g.c = y, g.c_rs = n, g.c_bs = 0;
  g.alpha = alpha, g.beta = beta;
  gemm(g, pool);
}

// y[n] = x[k] · W[k, n] (+ bias[n]) (+ scale · (x·A)·B), W row-major; `t` has room for the LoRA rank.
void project(const float* x, const float* w, const float* bias, const LowRank& lora, long k, long n, float* y,
             float* t, ThreadPool& pool) {
  row_product(x, w, k, n, 1.f, 0.f, y, pool);
  if (bias)
    for (long i = 0; i < n; ++i) y[i] += bias[i];
  if (lora.a) {
    // r is small (8, 16): these two products are too little work to wake the pool for.
    gemm_one_thread(1, lora.r, k, 1.f, x, k, 1, lora.a, lora.r, 1, 0.f, t, lora.r);
    gemm_one_thread(1, n, lora.r, lora.scale, t, lora.r, 1, lora.b, n, 1, 1.f, y, n);
  }
}

// Query head `hh` over keys [lo, pos]: out[hd] = softmax(scale * q·k_j) · v_j. `scores` has room for pos + 1.
void attend_head(const DecodeArgs& a, const DecodeLayer& l, const float* q, long hh, long lo, float* scores,
                 float* out) {
  const long hd = a.hd, g = a.h / a.kvh, kv = hh / g;
  const float* qh = q + hh * hd;
  const float* kc = l.kc + kv * a.cap * hd;
  const float* vc = l.vc + kv * a.cap * hd;
  float mx = -INFINITY;
  for (long j = lo; j <= a.pos; ++j) {
    const float* kj = kc + j * hd;
    float s = 0.f;
    for (long i = 0; i < hd; ++i) s += qh[i] * kj[i];
    s *= a.scale;
    scores[j] = s;
    mx = std::max(mx, s);
  }
  float sum = 0.f;
  for (long j = lo; j <= a.pos; ++j) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  const float inv = 1.f / sum;
  float* o = out + hh * hd;
  std::fill(o, o + hd, 0.f);
  for (long j = lo; j <= a.pos; ++j) {
    const float p = scores[j] * inv;
    const float* vj = vc + j * hd;
    for (long i = 0; i < hd; ++i) o[i] += p * vj[i];
  }
}

}  // namespace

void decode_step(const DecodeArgs& a, ThreadPool& pool) {
  const long d = a.d, hd = a.hd, qd = a.h * hd, kvd = a.kvh * hd, f = a.f;
  // Scratch, one set per calling thread (engine worker threads decode concurrently).
  thread_local std::vector<float> buf;
  long rank = 0;
  for (const DecodeLayer& l : a.layers)
    for (const LowRank& lr : l.lora) rank = std::max(rank, lr.r);
  const long need = d + 1 + qd + 2 * kvd + qd + qd + d + 3 * f + (a.pos + 1) * a.h + rank;
  if (long(buf.size()) < need) buf.resize(need);
  float* xn = buf.data();
  float* r = xn + d;
  float* q = r + 1;
  float* k = q + qd;
  float* v = k + kvd;
  float* qr = v + kvd;
  float* att = qr + qd;
  float* o = att + qd;
  float* gate = o + d;
  float* up = gate + f;
  float* act = up + f;
  float* scores = act + f;  // [h, pos + 1]
  float* t = scores + (a.pos + 1) * a.h;  // [rank]
  const long lo = a.window > 0 ? std::max(0L, a.pos - a.window + 1) : 0;
  float* x = a.x;
  for (const DecodeLayer& l : a.layers) {
    rmsnorm_forward(x, l.attn_norm, 1, d, a.eps, xn, r, pool);
    project(xn, l.wq, l.bq, l.lora[kQ], d, qd, q, t, pool);
    project(xn, l.wk, l.bk, l.lora[kK], d, kvd, k, t, pool);
    project(xn, l.wv, l.bv, l.lora[kV], d, kvd, v, t, pool);
    rope(q, a.cos, a.sin, 1, a.h, hd, a.interleaved, false, qr, pool);
    // The rotated key and the value go straight into the cache at position pos: [kvh, cap, hd].
    for (long kh = 0; kh < a.kvh; ++kh) {
      std::copy(v + kh * hd, v + (kh + 1) * hd, l.vc + (kh * a.cap + a.pos) * hd);
    }
    rope(k, a.cos, a.sin, 1, a.kvh, hd, a.interleaved, false, k, pool);
    for (long kh = 0; kh < a.kvh; ++kh) {
      std::copy(k + kh * hd, k + (kh + 1) * hd, l.kc + (kh * a.cap + a.pos) * hd);
    }
    const long span = a.pos + 1;
    if (span * a.h >= 4096 && pool.size() > 1) {
      pool.run(int(a.h), [&](int hh) { attend_head(a, l, qr, hh, lo, scores + hh * span, att); });
    } else {
      for (long hh = 0; hh < a.h; ++hh) attend_head(a, l, qr, hh, lo, scores + hh * span, att);
    }
    project(att, l.wo, l.bo, l.lora[kO], qd, d, o, t, pool);
    for (long i = 0; i < d; ++i) x[i] += o[i];
    rmsnorm_forward(x, l.ffn_norm, 1, d, a.eps, xn, r, pool);
    project(xn, l.wg, l.bg, l.lora[kGate], d, f, gate, t, pool);
    project(xn, l.wu, l.bu, l.lora[kUp], d, f, up, t, pool);
    swiglu_forward(gate, up, f, act, pool);
    project(act, l.wd, l.bd, l.lora[kDown], f, d, o, t, pool);
    for (long i = 0; i < d; ++i) x[i] += o[i];
  }
}

}  // namespace oppu
