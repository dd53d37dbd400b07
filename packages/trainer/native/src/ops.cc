#include "ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "thread-pool.h"

namespace oppu {

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
  pool.run(tasks, [&](int t) {
    const long lo = n * t / tasks, hi = n * (t + 1) / tasks;
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
  parallel_rows(pool, n, 64, [&](long lo, long hi) {
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
  parallel_rows(pool, n, 64, [&](long lo, long hi) {
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
  parallel_rows(pool, n, 16384, [&](long lo, long hi) {
    for (long i = lo; i < hi; ++i) {
      const float s = 1.f / (1.f + std::exp(-a[i]));
      y[i] = a[i] * s * b[i];
    }
  });
}

void swiglu_backward(const float* a, const float* b, const float* dy, long n, float* da, float* db, ThreadPool& pool) {
  parallel_rows(pool, n, 16384, [&](long lo, long hi) {
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

void causal_softmax_forward(const float* x, long n, long t, float scale, float* y, ThreadPool& pool) {
  parallel_rows(pool, n * t, 256, [&](long lo, long hi) {
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
  });
}

void causal_softmax_backward(const float* y, const float* dy, long n, long t, float scale, float* dx, ThreadPool& pool) {
  parallel_rows(pool, n * t, 256, [&](long lo, long hi) {
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
  });
}

}  // namespace oppu
