// Single-precision GEMM with strided operands: C[b] = alpha * A[b] * B[b] + beta * C[b] for b in [0, batch).
// Element (i, k) of A[b] is a[b * a_bs + i * a_rs + k * a_cs]: a transposed operand is just swapped strides,
// and a batch stride of 0 broadcasts one matrix over the batch.
#pragma once
#include <cstddef>
#include <string>

namespace oppu {

class ThreadPool;

struct GemmArgs {
  long batch, m, n, k;
  const float* a;
  long a_rs, a_cs, a_bs;
  const float* b;
  long b_rs, b_cs, b_bs;
  float* c;
  long c_rs, c_bs;
  float alpha, beta;
};

// Which micro-kernel runs: "avx512", "avx2", "generic". The best one the CPU supports is picked at load time.
const char* gemm_isa();
// Forces a kernel (for tests); returns false when the CPU cannot run it.
bool gemm_set_isa(const std::string& isa);

void gemm(const GemmArgs& g, ThreadPool& pool);

// One matrix on the calling thread (for kernels that already run one task per thread):
// C[m x n] = alpha * A * B + beta * C, strides as in GemmArgs, C with unit column stride.
void gemm_one_thread(long m, long n, long k, float alpha, const float* a, long a_rs, long a_cs, const float* b,
                     long b_rs, long b_cs, float beta, float* c, long c_rs);

}  // namespace oppu
