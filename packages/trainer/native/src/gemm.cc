// Cache-blocked SGEMM after the BLIS/GotoBLAS layout: B is packed into kc x NR panels, A is read in place,
// and a register-blocked micro-kernel computes one MR x NR tile per call. Micro-kernels are compiled with
// function-level target attributes (AVX-512F, AVX2+FMA) and picked at run time, so the binary runs on any
// x86-64 CPU (and elsewhere through the generic kernel).
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "simd.h"
#include "thread-pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OPPU_X86 1
#endif

namespace oppu {
namespace {

constexpr long kMaxMr = 8, kMaxNr = 32;

// Blocking. Defaults are tuned on the 2-core AVX-512 machine of docs/benchmarks.md; OPPU_GEMM_KC / _MC / _NC
// override them (read once at load) for tuning on other CPUs.
long env_long(const char* name, long fallback, long lo, long hi, long multiple) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end || x < lo || x > hi || x % multiple) return fallback;
  return x;
}
const long kKc = env_long("OPPU_GEMM_KC", 256, 16, 4096, 1);   // depth of a packed panel
const long kMc = env_long("OPPU_GEMM_MC", 96, 24, 1536, 24);   // rows per task (multiple of every MR)
const long kNc = env_long("OPPU_GEMM_NC", 2048, 32, 16384, 32);  // columns of B packed at once
// A short product with at most this many rows (one micro-tile: each value of B is used once) reads a
// row-major B in place instead of packing it. With more rows the tiles re-read a panel, and a panel read in
// place from a wide B (rows 16 KiB apart for a 4096-column head) maps to a few L1 sets and keeps missing.
const long kInPlaceRows = env_long("OPPU_GEMM_INPLACE_ROWS", 8, 0, 4096, 1);
// A tall product whose packed B (all of its depth) is at most this many floats packs it in one go.
constexpr long kWholeB = 64 * 1024;

// A micro-kernel reads A in place (rows `rows` of A from `a`, element (i, p) at a[i * rs + p * cs]: no packing
// of A, which for the narrow products of a transformer costs as much as the arithmetic) and a B panel of NR
// columns whose depth steps are `bs` floats apart (NR when packed, B's row stride when read in place).
// A full tile may be stored straight into C (`out`, C = alpha * acc + beta * C); the kernel returns true when
// it did, false when it left the tile in `tile` for the caller.
struct TileOut {
  float* c;
  long c_rs;
  float alpha, beta;
};
using MicroKernel = bool (*)(long kc, const float* a, long rs, long cs, long rows, const float* bp, long bs,
                             float* tile, const TileOut* out);

struct Kernel {
  const char* name;
  long mr, nr;
  MicroKernel run;
};

// Portable kernel: plain loops the compiler vectorizes with whatever the baseline ISA has (SSE2 on x86-64).
bool kernel_generic(long kc, const float* a, long rs, long cs, long rows, const float* bp, long bs, float* tile,
                    const TileOut*) {
  constexpr long MR = 4, NR = 16;
  const float* r[MR];
  for (long i = 0; i < MR; ++i) r[i] = a + std::min(i, rows - 1) * rs;
  float acc[MR][NR] = {};
  for (long p = 0, o = 0; p < kc; ++p, o += cs) {
    for (long i = 0; i < MR; ++i) {
      const float av = r[i][o];
      for (long j = 0; j < NR; ++j) acc[i][j] += av * bp[j];
    }
    bp += bs;
  }
  for (long i = 0; i < MR; ++i)
    for (long j = 0; j < NR; ++j) tile[i * NR + j] = acc[i][j];
  return false;
}

#ifdef OPPU_X86
__attribute__((target("avx2,fma"))) bool kernel_avx2(long kc, const float* a, long rs, long cs, long rows,
                                                     const float* bp, long bs, float* tile, const TileOut* out) {
  const float *r0 = a, *r1 = a + std::min(1L, rows - 1) * rs, *r2 = a + std::min(2L, rows - 1) * rs,
              *r3 = a + std::min(3L, rows - 1) * rs, *r4 = a + std::min(4L, rows - 1) * rs,
              *r5 = a + std::min(5L, rows - 1) * rs;
  // 6 x 16 tile: 12 accumulators of 8 floats.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
         c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (long p = 0, o = 0; p < kc; ++p, o += cs) {
    const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
    __m256 a;
    a = _mm256_broadcast_ss(r0 + o), c00 = _mm256_fmadd_ps(a, b0, c00), c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(r1 + o), c10 = _mm256_fmadd_ps(a, b0, c10), c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(r2 + o), c20 = _mm256_fmadd_ps(a, b0, c20), c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(r3 + o), c30 = _mm256_fmadd_ps(a, b0, c30), c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(r4 + o), c40 = _mm256_fmadd_ps(a, b0, c40), c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(r5 + o), c50 = _mm256_fmadd_ps(a, b0, c50), c51 = _mm256_fmadd_ps(a, b1, c51);
    bp += bs;
  }
  if (out) {
    const __m256 al = _mm256_set1_ps(out->alpha), bt = _mm256_set1_ps(out->beta);
    const bool read = out->beta != 0.f;
#define OPPU_ROW(i, x0, x1)                                                                       \
  {                                                                                               \
    float* cr = out->c + (i) * out->c_rs;                                                         \
    __m256 y0 = _mm256_mul_ps(al, x0), y1 = _mm256_mul_ps(al, x1);                                \
    if (read) {                                                                                   \
      y0 = _mm256_fmadd_ps(bt, _mm256_loadu_ps(cr), y0);                                          \
      y1 = _mm256_fmadd_ps(bt, _mm256_loadu_ps(cr + 8), y1);                                      \
    }                                                                                             \
    _mm256_storeu_ps(cr, y0), _mm256_storeu_ps(cr + 8, y1);                                       \
  }
    OPPU_ROW(0, c00, c01) OPPU_ROW(1, c10, c11) OPPU_ROW(2, c20, c21)
    OPPU_ROW(3, c30, c31) OPPU_ROW(4, c40, c41) OPPU_ROW(5, c50, c51)
#undef OPPU_ROW
    return true;
  }
  _mm256_storeu_ps(tile + 0, c00), _mm256_storeu_ps(tile + 8, c01);
  _mm256_storeu_ps(tile + 16, c10), _mm256_storeu_ps(tile + 24, c11);
  _mm256_storeu_ps(tile + 32, c20), _mm256_storeu_ps(tile + 40, c21);
  _mm256_storeu_ps(tile + 48, c30), _mm256_storeu_ps(tile + 56, c31);
  _mm256_storeu_ps(tile + 64, c40), _mm256_storeu_ps(tile + 72, c41);
  _mm256_storeu_ps(tile + 80, c50), _mm256_storeu_ps(tile + 88, c51);
  return false;
}

__attribute__((target("avx512f"))) bool kernel_avx512(long kc, const float* a, long rs, long cs, long rows,
                                                       const float* bp, long bs, float* tile, const TileOut* out) {
  const float *r0 = a, *r1 = a + std::min(1L, rows - 1) * rs, *r2 = a + std::min(2L, rows - 1) * rs,
              *r3 = a + std::min(3L, rows - 1) * rs, *r4 = a + std::min(4L, rows - 1) * rs,
              *r5 = a + std::min(5L, rows - 1) * rs, *r6 = a + std::min(6L, rows - 1) * rs,
              *r7 = a + std::min(7L, rows - 1) * rs;
  // 8 x 32 tile: 16 accumulators of 16 floats.
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
         c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  for (long p = 0, o = 0; p < kc; ++p, o += cs) {
    const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
    __m512 a;
    a = _mm512_set1_ps(r0[o]), c00 = _mm512_fmadd_ps(a, b0, c00), c01 = _mm512_fmadd_ps(a, b1, c01);
    a = _mm512_set1_ps(r1[o]), c10 = _mm512_fmadd_ps(a, b0, c10), c11 = _mm512_fmadd_ps(a, b1, c11);
    a = _mm512_set1_ps(r2[o]), c20 = _mm512_fmadd_ps(a, b0, c20), c21 = _mm512_fmadd_ps(a, b1, c21);
    a = _mm512_set1_ps(r3[o]), c30 = _mm512_fmadd_ps(a, b0, c30), c31 = _mm512_fmadd_ps(a, b1, c31);
    a = _mm512_set1_ps(r4[o]), c40 = _mm512_fmadd_ps(a, b0, c40), c41 = _mm512_fmadd_ps(a, b1, c41);
    a = _mm512_set1_ps(r5[o]), c50 = _mm512_fmadd_ps(a, b0, c50), c51 = _mm512_fmadd_ps(a, b1, c51);
    a = _mm512_set1_ps(r6[o]), c60 = _mm512_fmadd_ps(a, b0, c60), c61 = _mm512_fmadd_ps(a, b1, c61);
    a = _mm512_set1_ps(r7[o]), c70 = _mm512_fmadd_ps(a, b0, c70), c71 = _mm512_fmadd_ps(a, b1, c71);
    bp += bs;
  }
  if (out) {
    const __m512 al = _mm512_set1_ps(out->alpha), bt = _mm512_set1_ps(out->beta);
    const bool read = out->beta != 0.f;
#define OPPU_ROW(i, x0, x1)                                                                       \
  {                                                                                               \
    float* cr = out->c + (i) * out->c_rs;                                                         \
    __m512 y0 = _mm512_mul_ps(al, x0), y1 = _mm512_mul_ps(al, x1);                                \
    if (read) {                                                                                   \
      y0 = _mm512_fmadd_ps(bt, _mm512_loadu_ps(cr), y0);                                          \
      y1 = _mm512_fmadd_ps(bt, _mm512_loadu_ps(cr + 16), y1);                                     \
    }                                                                                             \
    _mm512_storeu_ps(cr, y0), _mm512_storeu_ps(cr + 16, y1);                                      \
  }
    OPPU_ROW(0, c00, c01) OPPU_ROW(1, c10, c11) OPPU_ROW(2, c20, c21) OPPU_ROW(3, c30, c31)
    OPPU_ROW(4, c40, c41) OPPU_ROW(5, c50, c51) OPPU_ROW(6, c60, c61) OPPU_ROW(7, c70, c71)
#undef OPPU_ROW
    return true;
  }
  _mm512_storeu_ps(tile + 0, c00), _mm512_storeu_ps(tile + 16, c01);
  _mm512_storeu_ps(tile + 32, c10), _mm512_storeu_ps(tile + 48, c11);
  _mm512_storeu_ps(tile + 64, c20), _mm512_storeu_ps(tile + 80, c21);
  _mm512_storeu_ps(tile + 96, c30), _mm512_storeu_ps(tile + 112, c31);
  _mm512_storeu_ps(tile + 128, c40), _mm512_storeu_ps(tile + 144, c41);
  _mm512_storeu_ps(tile + 160, c50), _mm512_storeu_ps(tile + 176, c51);
  _mm512_storeu_ps(tile + 192, c60), _mm512_storeu_ps(tile + 208, c61);
  _mm512_storeu_ps(tile + 224, c70), _mm512_storeu_ps(tile + 240, c71);
  return false;
}
#endif

const Kernel kGeneric{"generic", 4, 16, kernel_generic};
#ifdef OPPU_X86
const Kernel kAvx2{"avx2", 6, 16, kernel_avx2};
const Kernel kAvx512{"avx512", 8, 32, kernel_avx512};
#endif

#ifdef OPPU_SIMD_X86
namespace small_avx512 {
using V = simd::V512;
#define OPPU_SIMD OPPU_AVX512
#include "gemm-small.inc"
#undef OPPU_SIMD
}  // namespace small_avx512
namespace small_avx2 {
using V = simd::V256;
#define OPPU_SIMD OPPU_AVX2
#include "gemm-small.inc"
#undef OPPU_SIMD
}  // namespace small_avx2
#endif

// Products of at most this many rows skip the blocked path when the vector kernels apply (see gemm-small.inc).
const long kSmallRows = env_long("OPPU_GEMM_SMALL_ROWS", 4, 0, 64, 1);
// Multi-threaded products of at most this many rows with a row-major B stream B row by row
// (`stream_rows_nn` in gemm-small.inc; the same floats as the blocked path). 0 turns it off (for comparing).
const long kStreamRows = env_long("OPPU_GEMM_STREAM_ROWS", 8, 0, 8, 1);

// C = alpha A B + beta C by the few-row kernels; false when they do not apply (ISA, or B and A not laid out
// with a unit stride they need), and the caller takes the blocked path.
bool small_rows(const Kernel& kern, long m, long n, long k, float alpha, const float* a, long a_rs, long a_cs,
                const float* b, long b_rs, long b_cs, float beta, float* c, long c_rs);

const Kernel* best_kernel() {
#ifdef OPPU_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &kAvx2;
#endif
  return &kGeneric;
}

const Kernel* g_kernel = best_kernel();

// Per-thread buffer for packed panels of B, 64-byte aligned.
struct PackBuffers {
  float* b = nullptr;
  PackBuffers() {
    // aligned_alloc wants a size that is a multiple of the alignment.
    const size_t bytes = sizeof(float) * size_t((kNc + kMaxNr) * kKc);
    b = static_cast<float*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  }
  ~PackBuffers() { std::free(b); }
};

// Packs depth [0, kc) x columns [0, nc) of B into NR-column panels: panel j holds, for each p, NR values.
void pack_b(const float* b, long rs, long cs, long kc, long nc, long nr, float* out) {
  for (long j0 = 0; j0 < nc; j0 += nr) {
    const long cols = std::min(nr, nc - j0);
    const float* src = b + j0 * cs;
    if (cs == 1) {
      for (long p = 0; p < kc; ++p) {
        const float* row = src + p * rs;
        std::memcpy(out, row, sizeof(float) * cols);
        for (long j = cols; j < nr; ++j) out[j] = 0.f;
        out += nr;
      }
    } else if (rs == 1) {
      // Transposed B (a weight read as W^T): each column is contiguous in memory, so read it along its
      // length and scatter into the panel (which sits in L1). Reading row by row instead would touch NR
      // lines cs floats apart per value, and for power-of-two cs those all map to one L1 set.
      for (long j = 0; j < cols; ++j) {
        const float* col = src + j * cs;
        for (long p = 0; p < kc; ++p) out[p * nr + j] = col[p];
      }
      for (long j = cols; j < nr; ++j)
        for (long p = 0; p < kc; ++p) out[p * nr + j] = 0.f;
      out += kc * nr;
    } else {
      for (long p = 0; p < kc; ++p) {
        const float* row = src + p * rs;
        long j = 0;
        for (; j < cols; ++j) out[j] = row[j * cs];
        for (; j < nr; ++j) out[j] = 0.f;
        out += nr;
      }
    }
  }
}

// One matrix (no batch): C[m x n] = alpha * A[m x k] * B[k x n] + beta * C.
void gemm_serial(const Kernel& kern, long m, long n, long k, float alpha, const float* a, long a_rs, long a_cs,
                 const float* b, long b_rs, long b_cs, float beta, float* c, long c_rs, PackBuffers& buf) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (long i = 0; i < m; ++i)
      for (long j = 0; j < n; ++j) c[i * c_rs + j] = beta == 0.f ? 0.f : beta * c[i * c_rs + j];
    return;
  }
  if (small_rows(kern, m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, c_rs)) return;
  const long mr = kern.mr, nr = kern.nr;
  alignas(64) float tile[kMaxMr * kMaxNr];
  for (long jc = 0; jc < n; jc += kNc) {
    const long nc = std::min(kNc, n - jc);
    for (long pc = 0; pc < k; pc += kKc) {
      const long kc = std::min(kKc, k - pc);
      const float bet = pc == 0 ? beta : 1.f;
      pack_b(b + pc * b_rs + jc * b_cs, b_rs, b_cs, kc, nc, nr, buf.b);
      for (long ic = 0; ic < m; ic += kMc) {
        const long mc = std::min(kMc, m - ic);
        for (long jr = 0; jr < nc; jr += nr) {
          const long cols = std::min(nr, nc - jr);
          const float* bp = buf.b + jr * kc;
          for (long ir = 0; ir < mc; ir += mr) {
            const long rows = std::min(mr, mc - ir);
            float* cp = c + (ic + ir) * c_rs + jc + jr;
            const TileOut direct{cp, c_rs, alpha, bet};
            if (kern.run(kc, a + (ic + ir) * a_rs + pc * a_cs, a_rs, a_cs, rows, bp, nr, tile,
                         rows == mr && cols == nr ? &direct : nullptr))
              continue;
            for (long i = 0; i < rows; ++i) {
              float* crow = cp + i * c_rs;
              const float* trow = tile + i * nr;
              if (bet == 0.f) {
                for (long j = 0; j < cols; ++j) crow[j] = alpha * trow[j];
              } else if (bet == 1.f) {
                for (long j = 0; j < cols; ++j) crow[j] += alpha * trow[j];
              } else {
                for (long j = 0; j < cols; ++j) crow[j] = alpha * trow[j] + bet * crow[j];
              }
            }
          }
        }
      }
    }
  }
}

bool small_rows(const Kernel& kern, long m, long n, long k, float alpha, const float* a, long a_rs, long a_cs,
                const float* b, long b_rs, long b_cs, float beta, float* c, long c_rs) {
#ifdef OPPU_SIMD_X86
  if (m > kSmallRows || k <= 0) return false;
  const bool avx512 = &kern == &kAvx512, avx2 = &kern == &kAvx2;
  if (!avx512 && !avx2) return false;
  if (b_cs == 1) {
    (avx512 ? small_avx512::stream_rows_nn : small_avx2::stream_rows_nn)(m, n, k, kKc, alpha, a, a_rs, a_cs, b, b_rs,
                                                                            beta, c, c_rs);
    return true;
  }
  if (b_rs == 1 && a_cs == 1) {
    (avx512 ? small_avx512::small_rows_nt : small_avx2::small_rows_nt)(m, n, k, alpha, a, a_rs, b, b_cs, beta, c,
                                                                          c_rs);
    return true;
  }
#else
  (void)kern, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)a_rs, (void)a_cs, (void)b, (void)b_rs,
      (void)b_cs, (void)beta, (void)c, (void)c_rs;
#endif
  return false;
}

PackBuffers& thread_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

}  // namespace

const char* gemm_isa() { return g_kernel->name; }

void gemm_one_thread(long m, long n, long k, float alpha, const float* a, long a_rs, long a_cs, const float* b,
                     long b_rs, long b_cs, float beta, float* c, long c_rs) {
  gemm_serial(*g_kernel, m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, c_rs, thread_buffers());
}

bool gemm_set_isa(const std::string& isa) {
  const Kernel* best = best_kernel();
  if (isa == "generic") {
    g_kernel = &kGeneric;
    return true;
  }
#ifdef OPPU_X86
  if (isa == "avx2" && (best == &kAvx2 || best == &kAvx512)) {
    g_kernel = &kAvx2;
    return true;
  }
  if (isa == "avx512" && best == &kAvx512) {
    g_kernel = &kAvx512;
    return true;
  }
#endif
  if (isa == "best") {
    g_kernel = best;
    return true;
  }
  return false;
}

namespace {

// Stores an MR x NR tile into C: C = alpha * tile + beta * C (beta = 0 never reads C).
inline void store_tile(const float* tile, long nr, long rows, long cols, float alpha, float beta, float* c,
                       long c_rs) {
  for (long i = 0; i < rows; ++i) {
    float* crow = c + i * c_rs;
    const float* trow = tile + i * nr;
    if (beta == 0.f) {
      for (long j = 0; j < cols; ++j) crow[j] = alpha * trow[j];
    } else if (beta == 1.f) {
      for (long j = 0; j < cols; ++j) crow[j] += alpha * trow[j];
    } else {
      for (long j = 0; j < cols; ++j) crow[j] = alpha * trow[j] + beta * crow[j];
    }
  }
}

// A buffer shared by the pool's threads during one parallel GEMM. One per calling thread: the main JS thread and
// every worker thread of the engine pool call at the same time, each with its own thread pool, so one buffer for
// the process would be resized under another call's feet.
struct SharedBuffer {
  float* buf = nullptr;
  size_t cap = 0;
  ~SharedBuffer() { std::free(buf); }
};
float* shared_buffer(size_t floats) {
  thread_local SharedBuffer s;
  if (floats > s.cap) {
    std::free(s.buf);
    s.cap = floats;
    s.buf = static_cast<float*>(std::aligned_alloc(64, ((sizeof(float) * s.cap + 63) / 64) * 64));
  }
  return s.buf;
}

#ifdef OPPU_SIMD_X86
// A decoding step's product (few rows, row-major B) deeper than one block: each task computes one kc-deep block
// for every column, reading whole rows of B one after the other (the fastest way through memory), into its own
// accumulators; then the blocks are folded into C in depth order, as the blocked path folds them, so the result
// is the same floats.
void stream_parallel(bool avx512, const GemmArgs& g, ThreadPool& pool) {
  const long m = g.m, n = g.n, k = g.k, blocks = (k + kKc - 1) / kKc;
  float* acc = shared_buffer(size_t(blocks) * m * n);
  // One task per block, each reading whole rows.
  pool.run(int(blocks), [&](int q) {
    const long pc = q * kKc;
    (avx512 ? small_avx512::stream_block : small_avx2::stream_block)(m, n, std::min(kKc, k - pc), g.a + pc * g.a_cs,
                                                                    g.a_rs, g.a_cs, g.b + pc * g.b_rs, g.b_rs,
                                                                    acc + q * m * n, n);
  });
  // The fold reads blocks x m x n floats that are still in cache: on this thread, not worth waking the pool again.
  (avx512 ? small_avx512::stream_fold : small_avx2::stream_fold)(m, n, 0, n, blocks, acc, g.alpha, g.beta, g.c, g.c_rs);
}
#endif

// One matrix on all threads. Tall problems: B's kc x nc block is packed once (in parallel) and shared; tasks
// are MR-aligned row blocks taken from an atomic counter, several per thread, so a thread that the OS
// preempts (the CPU is shared) delays the rest by one small block, not half the matrix. Short problems
// (few rows, e.g. decoding): A is packed once and tasks are column-panel ranges.
void gemm_parallel(const Kernel& kern, const GemmArgs& g, ThreadPool& pool) {
  const long m = g.m, n = g.n, k = g.k, mr = kern.mr, nr = kern.nr;
  const long threads = pool.size();
  const bool split_rows = m >= 4 * mr * threads;
  // Rows [ic, ic + mc) x the columns of one packed block (bp: panels of depth kc for columns jc .. jc + nc).
  auto rows_times_panels = [&](const float* bp, long jc, long nc, long pc, long kc, float beta, long ic, long mc) {
    alignas(64) float tile[kMaxMr * kMaxNr];
    for (long jr = 0; jr < nc; jr += nr) {
      const long cols = std::min(nr, nc - jr);
      for (long ir = 0; ir < mc; ir += mr) {
        const long rows = std::min(mr, mc - ir);
        float* cp = g.c + (ic + ir) * g.c_rs + jc + jr;
        const TileOut direct{cp, g.c_rs, g.alpha, beta};
        if (!kern.run(kc, g.a + (ic + ir) * g.a_rs + pc * g.a_cs, g.a_rs, g.a_cs, rows, bp + jr * kc, nr, tile,
                      rows == mr && cols == nr ? &direct : nullptr))
          store_tile(tile, nr, rows, cols, g.alpha, beta, cp, g.c_rs);
      }
    }
  };
  const long kblocks = (k + kKc - 1) / kKc;
#ifdef OPPU_SIMD_X86
  const bool stream = g.b_cs == 1 && m <= kStreamRows && (&kern == &kAvx512 || &kern == &kAvx2);
  if (stream && kblocks > 1) return stream_parallel(&kern == &kAvx512, g, pool);
#else
  const bool stream = false;
#endif
  for (long jc = 0; jc < n; jc += kNc) {
    const long nc = std::min(kNc, n - jc);
    const long panels = (nc + nr - 1) / nr;
    if (!split_rows) {
      // Short (few rows, e.g. decoding or the r-row products of LoRA): tasks own column ranges, so each packs
      // its own panels and walks the whole depth with no barrier in between.
      // Streaming B (one block deep) wants long runs of a row per task; the blocked kernel, more tasks.
      const long tasks = std::min(panels, stream ? threads : threads * 4);
      pool.run(int(tasks), [&](int t) {
        const long p0 = panels * t / tasks, p1 = panels * (t + 1) / tasks;
        if (p0 == p1) return;
        const long j0 = p0 * nr, j1 = std::min(nc, p1 * nr);
#ifdef OPPU_SIMD_X86
        if (stream) {
          (&kern == &kAvx512 ? small_avx512::stream_rows_nn : small_avx2::stream_rows_nn)(
              m, j1 - j0, k, kKc, g.alpha, g.a, g.a_rs, g.a_cs, g.b + jc + j0, g.b_rs, g.beta, g.c + jc + j0, g.c_rs);
          return;
        }
#endif
        PackBuffers& buf = thread_buffers();
        // With few rows each value of B is used a few times only, and packing it (a read and a write) costs as
        // much as the products: full-width panels of a row-major B are read where they are, a row of NR
        // values per depth step; only a ragged last panel, or a transposed B, is packed.
        const bool in_place = g.b_cs == 1 && m <= kInPlaceRows;
        for (long pc = 0; pc < k; pc += kKc) {
          const long kc = std::min(kKc, k - pc);
          const long packed_from = in_place ? j0 + (j1 - j0) / nr * nr : j0;
          if (packed_from < j1)
            pack_b(g.b + pc * g.b_rs + (jc + packed_from) * g.b_cs, g.b_rs, g.b_cs, kc, j1 - packed_from, nr, buf.b);
          alignas(64) float tile[kMaxMr * kMaxNr];
          const float beta = pc == 0 ? g.beta : 1.f;
          for (long jr = j0; jr < j1; jr += nr) {
            const long cols = std::min(nr, j1 - jr);
            const bool direct_b = jr < packed_from;
            const float* bp = direct_b ? g.b + pc * g.b_rs + jc + jr : buf.b + (jr - packed_from) * kc;
            const long bs = direct_b ? g.b_rs : nr;
            for (long ir = 0; ir < m; ir += mr) {
              const long rows = std::min(mr, m - ir);
              float* cp = g.c + ir * g.c_rs + jc + jr;
              const TileOut direct{cp, g.c_rs, g.alpha, beta};
              if (!kern.run(kc, g.a + ir * g.a_rs + pc * g.a_cs, g.a_rs, g.a_cs, rows, bp, bs, tile,
                            rows == mr && cols == nr ? &direct : nullptr))
                store_tile(tile, nr, rows, cols, g.alpha, beta, cp, g.c_rs);
            }
          }
        }
      });
      continue;
    }
    long mb = ((m + 4 * threads - 1) / (4 * threads) + mr - 1) / mr * mr;
    mb = std::min(std::max(mb, mr), kMc);
    const long blocks = (m + mb - 1) / mb;
    const long padded = panels * nr;
    if (padded * k <= kWholeB) {
      // Tall and narrow (n of a LoRA rank, or a short depth): B packed whole, every depth block at once, then one
      // pass in which each row block walks the depth: two barriers instead of two per depth block.
      float* bp = shared_buffer(size_t(padded) * k);
      const long per = std::max(1L, std::min(panels, (threads * 2 + kblocks - 1) / kblocks));
      pool.run(int(kblocks * per), [&](int t) {
        const long q = t / per, part = t % per, pc = q * kKc, kc = std::min(kKc, k - pc);
        const long p0 = panels * part / per, p1 = panels * (part + 1) / per;
        const long j0 = p0 * nr, j1 = std::min(nc, p1 * nr);
        if (j0 < j1)
          pack_b(g.b + pc * g.b_rs + (jc + j0) * g.b_cs, g.b_rs, g.b_cs, kc, j1 - j0, nr,
                 bp + pc * padded + p0 * nr * kc);
      });
      pool.run(int(blocks), [&](int t) {
        const long ic = t * mb, mc = std::min(mb, m - ic);
        for (long pc = 0; pc < k; pc += kKc)
          rows_times_panels(bp + pc * padded, jc, nc, pc, std::min(kKc, k - pc), pc == 0 ? g.beta : 1.f, ic, mc);
      });
      continue;
    }
    for (long pc = 0; pc < k; pc += kKc) {
      // Tall: B's kc x nc block packed once (in parallel) and shared; tasks are row blocks.
      const long kc = std::min(kKc, k - pc);
      float* bp = shared_buffer(size_t(padded) * kc);
      const long pack_tasks = std::min(panels, threads * 2);
      pool.run(int(pack_tasks), [&](int t) {
        const long p0 = panels * t / pack_tasks, p1 = panels * (t + 1) / pack_tasks;
        const long j0 = p0 * nr, j1 = std::min(nc, p1 * nr);
        pack_b(g.b + pc * g.b_rs + (jc + j0) * g.b_cs, g.b_rs, g.b_cs, kc, j1 - j0, nr, bp + p0 * nr * kc);
      });
      pool.run(int(blocks), [&](int t) {
        const long ic = t * mb;
        rows_times_panels(bp, jc, nc, pc, kc, pc == 0 ? g.beta : 1.f, ic, std::min(mb, m - ic));
      });
    }
  }
}

}  // namespace

void gemm(const GemmArgs& g, ThreadPool& pool) {
  const Kernel& kern = *g_kernel;
  if (g.batch <= 0 || g.m <= 0 || g.n <= 0) return;
  const double flops = 2.0 * g.batch * g.m * g.n * static_cast<double>(g.k);
  auto one = [&](long bi) {
    gemm_serial(kern, g.m, g.n, g.k, g.alpha, g.a + bi * g.a_bs, g.a_rs, g.a_cs, g.b + bi * g.b_bs, g.b_rs, g.b_cs,
                g.beta, g.c + bi * g.c_bs, g.c_rs, thread_buffers());
  };
  if (pool.size() == 1 || flops < 2.0e5 || g.k <= 0) {
    for (long bi = 0; bi < g.batch; ++bi) one(bi);
  } else if (g.batch >= 2 * pool.size()) {
    // Many matrices (attention heads): one task per matrix, handed out dynamically.
    pool.run(static_cast<int>(g.batch), [&](int t) { one(t); });
  } else {
    for (long bi = 0; bi < g.batch; ++bi) {
      GemmArgs one_matrix = g;
      one_matrix.batch = 1;
      one_matrix.a = g.a + bi * g.a_bs;
      one_matrix.b = g.b + bi * g.b_bs;
      one_matrix.c = g.c + bi * g.c_bs;
      gemm_parallel(kern, one_matrix, pool);
    }
  }
}

}  // namespace oppu
