// Vector types for the row kernels of ops.cc: one struct per instruction set, each a handful of static
// functions over a native vector (add, mul, fma, masked load/store of a row's ragged tail, horizontal sums,
// and the pieces of an exp). ops-simd.inc is compiled once per struct with that struct's target attribute,
// so one binary carries an AVX-512, an AVX2+FMA and a portable path and picks one at run time.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OPPU_SIMD_X86 1
#endif

namespace oppu {
namespace simd {

// Constants of the vector exp (ops-simd.inc, `vexp`).
constexpr float kExpHi = 88.0f, kExpLo = -87.3365447f;
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f, kP3 = 4.1665795894e-2f,
                kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

#ifdef OPPU_SIMD_X86
#define OPPU_AVX512 __attribute__((target("avx512f")))
#define OPPU_AVX2 __attribute__((target("avx2,fma")))

struct V512 {
  using T = __m512;
  static constexpr long W = 16;
  OPPU_AVX512 static inline __mmask16 mask(long n) {
    return n >= W ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
  }
  OPPU_AVX512 static inline T set1(float v) { return _mm512_set1_ps(v); }
  OPPU_AVX512 static inline T load(const float* p) { return _mm512_loadu_ps(p); }
  // The first n (< W) lanes from p, the others `fill`; reads nothing past p + n.
  OPPU_AVX512 static inline T load(const float* p, long n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask(n), p);
  }
  OPPU_AVX512 static inline void store(float* p, T v) { _mm512_storeu_ps(p, v); }
  OPPU_AVX512 static inline void store(float* p, T v, long n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  OPPU_AVX512 static inline T keep(T v, long n) { return _mm512_maskz_mov_ps(mask(n), v); }
  OPPU_AVX512 static inline T add(T a, T b) { return _mm512_add_ps(a, b); }
  OPPU_AVX512 static inline T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  OPPU_AVX512 static inline T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  OPPU_AVX512 static inline T div(T a, T b) { return _mm512_div_ps(a, b); }
  OPPU_AVX512 static inline T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  OPPU_AVX512 static inline T max(T a, T b) { return _mm512_max_ps(a, b); }
  OPPU_AVX512 static inline float hsum(T v) { return _mm512_reduce_add_ps(v); }
  OPPU_AVX512 static inline float hmax(T v) { return _mm512_reduce_max_ps(v); }
  OPPU_AVX512 static inline T min(T a, T b) { return _mm512_min_ps(a, b); }
  OPPU_AVX512 static inline T fnma(T a, T b, T c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a * b
  OPPU_AVX512 static inline T round(T x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for whole n in [-126, 127], built as the float's exponent bits.
  OPPU_AVX512 static inline T pow2(T n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
  // y where x >= lo, else 0; NaN where x is NaN.
  OPPU_AVX512 static inline T fixup(T y, T x, float lo) {
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_LT_OQ), _mm512_setzero_ps());
    return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), _mm512_set1_ps(__builtin_nanf("")));
  }
};

struct V256 {
  using T = __m256;
  static constexpr long W = 8;
  OPPU_AVX2 static inline __m256i mask(long n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  OPPU_AVX2 static inline T set1(float v) { return _mm256_set1_ps(v); }
  OPPU_AVX2 static inline T load(const float* p) { return _mm256_loadu_ps(p); }
  OPPU_AVX2 static inline T load(const float* p, long n, float fill) {
    const __m256i m = mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  OPPU_AVX2 static inline void store(float* p, T v) { _mm256_storeu_ps(p, v); }
  OPPU_AVX2 static inline void store(float* p, T v, long n) { _mm256_maskstore_ps(p, mask(n), v); }
  OPPU_AVX2 static inline T keep(T v, long n) { return _mm256_and_ps(v, _mm256_castsi256_ps(mask(n))); }
  OPPU_AVX2 static inline T add(T a, T b) { return _mm256_add_ps(a, b); }
  OPPU_AVX2 static inline T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  OPPU_AVX2 static inline T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  OPPU_AVX2 static inline T div(T a, T b) { return _mm256_div_ps(a, b); }
  OPPU_AVX2 static inline T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  OPPU_AVX2 static inline T max(T a, T b) { return _mm256_max_ps(a, b); }
  OPPU_AVX2 static inline float hsum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  OPPU_AVX2 static inline float hmax(T v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  OPPU_AVX2 static inline T min(T a, T b) { return _mm256_min_ps(a, b); }
  OPPU_AVX2 static inline T fnma(T a, T b, T c) { return _mm256_fnmadd_ps(a, b, c); }
  OPPU_AVX2 static inline T round(T x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  OPPU_AVX2 static inline T pow2(T n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  OPPU_AVX2 static inline T fixup(T y, T x, float lo) {
    y = _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(lo), _CMP_LT_OQ), y);
    return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_nanf("")), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  }
};
#endif

}  // namespace simd
}  // namespace oppu
