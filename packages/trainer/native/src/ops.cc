#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "simd.h"
#include "thread-pool.h"

namespace oppu {

#ifdef OPPU_SIMD_X86
namespace avx512 {
using V = simd::V512;
#define OPPU_SIMD OPPU_AVX512
#include "ops-simd.inc"
#undef OPPU_SIMD
}  // namespace avx512
namespace avx2 {
using V = simd::V256;
#define OPPU_SIMD OPPU_AVX2
#include "ops-simd.inc"
#undef OPPU_SIMD
}  // namespace avx2
#endif

namespace {
// The row kernels follow the GEMM's instruction set (gemm_set_isa switches both, so tests cover each path).
enum class Isa { kGeneric, kAvx2, kAvx512 };
Isa ops_isa() {
  const char* isa = gemm_isa();
  if (std::strcmp(isa, "avx512") == 0) return Isa::kAvx512;
  if (std::strcmp(isa, "avx2") == 0) return Isa::kAvx2;
  return Isa::kGeneric;
}
}  // namespace

double softmax_xent(const float* logits, const int32_t* targets, const float* weights, long n, long v, float* grad,
                    long* bad_row, ThreadPool& pool) {
  double wsum = 0;
  *bad_row = -1;
  for (long i = 0; i < n; ++i) {
    const float w = weights ? weights[i] : 1.f;
    if (w != 0.f && (targets[i] < 0 || targets[i] >= v)) {
      *bad_row = i;
      return NAN;
    }
    wsum += w;
  }
  const int tasks = std::min<long>(pool.size() * 4, std::max<long>(1, n));
  std::vector<double> partial(tasks, 0.0);
  const float inv = wsum > 0 ? float(1.0 / wsum) : 0.f;
  const Isa isa = ops_isa();
  pool.run(tasks, [&](int t) {
    const long lo = n * t / tasks, hi = n * (t + 1) / tasks;
#ifdef OPPU_SIMD_X86
    if (isa == Isa::kAvx512) {
      partial[t] = avx512::softmax_xent_rows(logits, targets, weights, lo, hi, v, inv, grad);
      return;
    }
    if (isa == Isa::kAvx2) {
      partial[t] = avx2::softmax_xent_rows(logits, targets, weights, lo, hi, v, inv, grad);
      return;
    }
#endif
    double acc = 0;
    for (long i = lo; i < hi; ++i) {
      const float* row = logits + i * v;
      const float w = weights ? weights[i] : 1.f;
      float mx = row[0];
      for (long j = 1; j < v; ++j) mx = std::max(mx, row[j]);
      double sum = 0;
      float* g = grad ? grad + i * v : nullptr;
      for (long j = 0; j < v; ++j) {
        const float e = std::exp(row[j] - mx);
        if (g) g[j] = e;
        sum += e;
      }
      const double lse = mx + std::log(sum);
      if (w != 0.f) acc += w * (lse - row[targets[i]]);
      if (g) {
        const float scale = float(w * inv / sum);
        for (long j = 0; j < v; ++j) g[j] *= scale;
        if (w != 0.f) g[targets[i]] -= w * inv;
      }
    }
    partial[t] = acc;
  });
  double total = 0;
  for (double p : partial) total += p;
  return wsum > 0 ? total / wsum : 0.0;
}

}  // namespace oppu

namespace oppu {
namespace {

// Splits [0, n) into chunks of at least `grain` items over the pool.
template <class F>
void parallel_rows(ThreadPool& pool, long n, long grain, F&& f) {
  const long tasks = std::max<long>(1, std::min<long>(pool.size() * 4, n / std::max<long>(grain, 1)));
  if (tasks == 1) {
    f(0L, n);
    return;
  }
  pool.run(int(tasks), [&](int t) { f(n * t / tasks, n * (t + 1) / tasks); });
}

}  // namespace

void rmsnorm_forward(const float* x, const float* w, long n, long d, float eps, float* y, float* r, ThreadPool& pool) {
  const Isa isa = ops_isa();
  parallel_rows(pool, n, 64, [&](long lo, long hi) {
#ifdef OPPU_SIMD_X86
    if (isa == Isa::kAvx512) return avx512::rmsnorm_fwd(x, w, lo, hi, d, eps, y, r);
    if (isa == Isa::kAvx2) return avx2::rmsnorm_fwd(x, w, lo, hi, d, eps, y, r);
#endif
    for (long i = lo; i < hi; ++i) {
      const float* xr = x + i * d;
      float ss = 0;
      for (long j = 0; j < d; ++j) ss += xr[j] * xr[j];
      const float ri = 1.f / std::sqrt(ss / float(d) + eps);
      r[i] = ri;
      float* yr = y + i * d;
      for (long j = 0; j < d; ++j) yr[j] = xr[j] * ri * w[j];
    }
  });
}

void rmsnorm_backward(const float* x, const float* w, const float* r, const float* dy, long n, long d, float* dx,
                      ThreadPool& pool) {
  const Isa isa = ops_isa();
  parallel_rows(pool, n, 64, [&](long lo, long hi) {
#ifdef OPPU_SIMD_X86
    if (isa == Isa::kAvx512) return avx512::rmsnorm_bwd(x, w, r, dy, lo, hi, d, dx);
    if (isa == Isa::kAvx2) return avx2::rmsnorm_bwd(x, w, r, dy, lo, hi, d, dx);
#endif
    for (long i = lo; i < hi; ++i) {
      const float* xr = x + i * d;
      const float* gr = dy + i * d;
      float dot = 0;
      for (long j = 0; j < d; ++j) dot += gr[j] * w[j] * xr[j];
      const float ri = r[i];
      const float c = ri * ri * ri * dot / float(d);
      float* o = dx + i * d;
      for (long j = 0; j < d; ++j) o[j] = ri * gr[j] * w[j] - xr[j] * c;
    }
  });
}

void swiglu_forward(const float* a, const float* b, long n, float* y, ThreadPool& pool) {
  const Isa isa = ops_isa();
  parallel_rows(pool, n, 16384, [&](long lo, long hi) {
#ifdef OPPU_SIMD_X86
    if (isa == Isa::kAvx512) return avx512::swiglu_fwd(a, b, lo, hi, y);
    if (isa == Isa::kAvx2) return avx2::swiglu_fwd(a, b, lo, hi, y);
#endif
    for (long i = lo; i < hi; ++i) {
      const float s = 1.f / (1.f + std::exp(-a[i]));
      y[i] = a[i] * s * b[i];
    }
  });
}

void swiglu_backward(const float* a, const float* b, const float* dy, long n, float* da, float* db, ThreadPool& pool) {
  const Isa isa = ops_isa();
  parallel_rows(pool, n, 16384, [&](long lo, long hi) {
#ifdef OPPU_SIMD_X86
    if (isa == Isa::kAvx512) return avx512::swiglu_bwd(a, b, dy, lo, hi, da, db);
    if (isa == Isa::kAvx2) return avx2::swiglu_bwd(a, b, dy, lo, hi, da, db);
#endif
    for (long i = lo; i < hi; ++i) {
      const float s = 1.f / (1.f + std::exp(-a[i]));
      const float silu = a[i] * s;
      db[i] = dy[i] * silu;
      da[i] = dy[i] * b[i] * s * (1.f + a[i] * (1.f - s));
    }
  });
}

void rope(const float* x, const float* cos, const float* sin, long rows, long heads, long hd, bool interleaved,
          bool inverse, float* y, ThreadPool& pool) {
  const long half = hd / 2;
  const float sg = inverse ? -1.f : 1.f;
  parallel_rows(pool, rows, 16, [&](long lo, long hi) {
    for (long r = lo; r < hi; ++r) {
      const float* c = cos + r * half;
      const float* s = sin + r * half;
      for (long h = 0; h < heads; ++h) {
        const float* xr = x + (r * heads + h) * hd;
        float* yr = y + (r * heads + h) * hd;
        if (interleaved) {
          for (long i = 0; i < half; ++i) {
            const float x0 = xr[2 * i], x1 = xr[2 * i + 1], sn = sg * s[i];
            yr[2 * i] = x0 * c[i] - x1 * sn;
            yr[2 * i + 1] = x0 * sn + x1 * c[i];
          }
        } else {
          for (long i = 0; i < half; ++i) {
            const float x0 = xr[i], x1 = xr[i + half], sn = sg * s[i];
            yr[i] = x0 * c[i] - x1 * sn;
            yr[i + half] = x1 * c[i] + x0 * sn;
          }
        }
      }
    }
  });
}

}  // namespace oppu

namespace oppu {

namespace {

// Rows [lo, hi) of a causal softmax over [*, t, t] (row r is query r % t), on the given instruction set.
// In place (x == y, dy == dx) is allowed.
void softmax_rows_fwd(Isa isa, const float* x, long lo, long hi, long t, float scale, float* y) {
#ifdef OPPU_SIMD_X86
  if (isa == Isa::kAvx512) return avx512::causal_softmax_fwd(x, lo, hi, t, scale, y);
  if (isa == Isa::kAvx2) return avx2::causal_softmax_fwd(x, lo, hi, t, scale, y);
#endif
  for (long row = lo; row < hi; ++row) {
    const long q = row % t;  // query position: keys 0..q are visible
    const float* xr = x + row * t;
    float* yr = y + row * t;
    float mx = scale * xr[0];
    for (long j = 1; j <= q; ++j) mx = std::max(mx, scale * xr[j]);
    float sum = 0;
    for (long j = 0; j <= q; ++j) {
      const float e = std::exp(scale * xr[j] - mx);
      yr[j] = e;
      sum += e;
    }
    const float inv = 1.f / sum;
    for (long j = 0; j <= q; ++j) yr[j] *= inv;
    for (long j = q + 1; j < t; ++j) yr[j] = 0.f;
  }
}

void softmax_rows_bwd(Isa isa, const float* y, const float* dy, long lo, long hi, long t, float scale, float* dx) {
#ifdef OPPU_SIMD_X86
  if (isa == Isa::kAvx512) return avx512::causal_softmax_bwd(y, dy, lo, hi, t, scale, dx);
  if (isa == Isa::kAvx2) return avx2::causal_softmax_bwd(y, dy, lo, hi, t, scale, dx);
#endif
  for (long row = lo; row < hi; ++row) {
    const long q = row % t;
    const float* yr = y + row * t;
    const float* gr = dy + row * t;
    float* o = dx + row * t;
    float dot = 0;
    for (long j = 0; j <= q; ++j) dot += gr[j] * yr[j];
    for (long j = 0; j <= q; ++j) o[j] = scale * yr[j] * (gr[j] - dot);
    for (long j = q + 1; j < t; ++j) o[j] = 0.f;
  }
}

}  // namespace

void causal_softmax_forward(const float* x, long n, long t, float scale, float* y, ThreadPool& pool) {
  const Isa isa = ops_isa();
  parallel_rows(pool, n * t, 256, [&](long lo, long hi) {
    softmax_rows_fwd(isa, x, lo, hi, t, scale, y);
  });
}

void causal_softmax_backward(const float* y, const float* dy, long n, long t, float scale, float* dx, ThreadPool& pool) {
  const Isa isa = ops_isa();
  parallel_rows(pool, n * t, 256, [&](long lo, long hi) {
    softmax_rows_bwd(isa, y, dy, lo, hi, t, scale, dx);
  });
}

}  // namespace oppu

namespace oppu {
namespace {
constexpr long kAttnBlock = 32;  // rows per block of the block-triangular products
}  // namespace

void causal_attention_forward(const AttentionArgs& a, ThreadPool& pool) {
  const Isa isa = ops_isa();
  const long t = a.t, hd = a.hd, g = a.h / a.kvh;
  const long q_rs = a.h * hd, kv_rs = a.kvh * hd;
  // One task per (batch row, kv head): its g query heads share the keys and values it reads.
  pool.run(int(a.b * a.kvh), [&](int task) {
    const long bi = task / a.kvh, kv = task % a.kvh;
    const float* kb = a.k + (bi * t * a.kvh + kv) * hd;
    const float* vb = a.v + (bi * t * a.kvh + kv) * hd;
    for (long j = 0; j < g; ++j) {
      const long head = kv * g + j;
      const float* qb = a.q + (bi * t * a.h + head) * hd;
      float* ob = a.out + (bi * t * a.h + head) * hd;
      float* pb = a.probs + (bi * a.h + head) * t * t;
      // scores of rows [i0, i1) against keys [0, i1): the blocks right of the diagonal are never needed
      for (long i0 = 0; i0 < t; i0 += kAttnBlock) {
        const long i1 = std::min(t, i0 + kAttnBlock);
        gemm_one_thread(i1 - i0, i1, hd, 1.f, qb + i0 * q_rs, q_rs, 1, kb, 1, kv_rs, 0.f, pb + i0 * t, t);
      }
      softmax_rows_fwd(isa, pb, 0, t, t, a.scale, pb);  // in place; zeroes the entries right of the diagonal
      for (long i0 = 0; i0 < t; i0 += kAttnBlock) {
        const long i1 = std::min(t, i0 + kAttnBlock);
        gemm_one_thread(i1 - i0, hd, i1, 1.f, pb + i0 * t, t, 1, vb, kv_rs, 1, 0.f, ob + i0 * q_rs, q_rs);
      }
    }
  });
}

void causal_attention_backward(const AttentionGradArgs& a, ThreadPool& pool) {
  const Isa isa = ops_isa();
  const long t = a.t, hd = a.hd, g = a.h / a.kvh;
  const long q_rs = a.h * hd, kv_rs = a.kvh * hd;
  pool.run(int(a.b * a.kvh), [&](int task) {
    const long bi = task / a.kvh, kv = task % a.kvh;
    thread_local std::vector<float> scratch;
    if (scratch.size() < size_t(t * t)) scratch.resize(size_t(t * t));
    float* ds = scratch.data();  // dP, then dS, of one head [t, t]
    const float* kb = a.k + (bi * t * a.kvh + kv) * hd;
    const float* vb = a.v + (bi * t * a.kvh + kv) * hd;
    float* dkb = a.dk + (bi * t * a.kvh + kv) * hd;
    float* dvb = a.dv + (bi * t * a.kvh + kv) * hd;
    for (long j = 0; j < g; ++j) {
      const long head = kv * g + j;
      const float beta = j == 0 ? 0.f : 1.f;  // dk, dv sum over the group's query heads
      const float* qb = a.q + (bi * t * a.h + head) * hd;
      const float* gb = a.dout + (bi * t * a.h + head) * hd;
      const float* pb = a.probs + (bi * a.h + head) * t * t;
      float* dqb = a.dq + (bi * t * a.h + head) * hd;
      for (long i0 = 0; i0 < t; i0 += kAttnBlock) {  // dP = dout v^T, on and below the diagonal
        const long i1 = std::min(t, i0 + kAttnBlock);
        gemm_one_thread(i1 - i0, i1, hd, 1.f, gb + i0 * q_rs, q_rs, 1, vb, 1, kv_rs, 0.f, ds + i0 * t, t);
      }
      softmax_rows_bwd(isa, pb, ds, 0, t, t, a.scale, ds);  // dS = scale * P * (dP - rowsum(dP * P)), in place
      for (long i0 = 0; i0 < t; i0 += kAttnBlock) {  // dq = dS k
        const long i1 = std::min(t, i0 + kAttnBlock);
        gemm_one_thread(i1 - i0, hd, i1, 1.f, ds + i0 * t, t, 1, kb, kv_rs, 1, 0.f, dqb + i0 * q_rs, q_rs);
      }
      for (long j0 = 0; j0 < t; j0 += kAttnBlock) {  // dk = dS^T q and dv = P^T dout: rows j0.. only
        const long j1 = std::min(t, j0 + kAttnBlock);
        gemm_one_thread(j1 - j0, hd, t - j0, 1.f, ds + j0 * t + j0, 1, t, qb + j0 * q_rs, q_rs, 1, beta,
                        dkb + j0 * kv_rs, kv_rs);
        gemm_one_thread(j1 - j0, hd, t - j0, 1.f, pb + j0 * t + j0, 1, t, gb + j0 * q_rs, q_rs, 1, beta,
                        dvb + j0 * kv_rs, kv_rs);
      }
    }
  });
}

}  // namespace oppu
