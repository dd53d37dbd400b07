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
