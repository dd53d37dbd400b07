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
