// N-API entry points of the oppu kernels addon (plain C N-API: ABI-stable across Node versions, no
// dependency to install). Operands are ArrayBuffers or typed arrays, addressed by float offsets, so the caller
// can pass the memory of the tfjs wasm backend (`HEAPU8.buffer`) and compute in place, with no copy.
#include <node_api.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "decode.h"
#include "gemm.h"
#include "ops.h"
#include "thread-pool.h"

namespace {

struct Instance {
  std::unique_ptr<oppu::ThreadPool> pool;
};

int default_threads() {
  if (const char* env = std::getenv("OPPU_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1 && n <= 256) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

napi_value throw_error(napi_env env, const std::string& message) {
  napi_throw_error(env, "ERR_OPPU_KERNELS", message.c_str());
  return nullptr;
}

// A float view of an ArrayBuffer or typed array argument: base pointer and length in floats.
bool float_view(napi_env env, napi_value v, float** data, size_t* length) {
  bool is_ab = false, is_ta = false;
  napi_is_arraybuffer(env, v, &is_ab);
  if (is_ab) {
    void* p = nullptr;
    size_t bytes = 0;
    if (napi_get_arraybuffer_info(env, v, &p, &bytes) != napi_ok) return false;
    *data = static_cast<float*>(p);
    *length = bytes / sizeof(float);
    return true;
  }
  napi_is_typedarray(env, v, &is_ta);
  if (is_ta) {
    napi_typedarray_type type;
    size_t count = 0, offset = 0;
    void* p = nullptr;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &count, &p, &ab, &offset) != napi_ok) return false;
    if (type != napi_float32_array) return false;
    *data = static_cast<float*>(p);
    *length = count;
    return true;
  }
  return false;
}

Instance* instance(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Instance*>(data);
}

// Largest float index touched by a [batch x rows x cols] operand at `off` with the given strides.
bool in_bounds(double off, long batch, long rows, long cols, long rs, long cs, long bs, size_t length) {
  if (off < 0 || rs < 0 || cs < 0 || bs < 0) return false;
  if (batch == 0 || rows == 0 || cols == 0) return true;
  const double last = off + double(batch - 1) * bs + double(rows - 1) * rs + double(cols - 1) * cs;
  return last < double(length);
}

// gemm(a, b, c, params: Float64Array(17))
// params: batch, m, n, k, aOff, aRs, aCs, aBs, bOff, bRs, bCs, bBs, cOff, cRs, cBs, alpha, beta
napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 4) return throw_error(env, "gemm(a, b, c, params): expected 4 arguments");
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!float_view(env, argv[0], &a, &la) || !float_view(env, argv[1], &b, &lb) ||
      !float_view(env, argv[2], &c, &lc))
    return throw_error(env, "gemm: a, b and c must be ArrayBuffers or Float32Arrays");
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void* pp = nullptr;
  napi_value ab;
  bool is_ta = false;
  napi_is_typedarray(env, argv[3], &is_ta);
  if (!is_ta || napi_get_typedarray_info(env, argv[3], &type, &count, &pp, &ab, &offset) != napi_ok ||
      type != napi_float64_array || count != 17)
    return throw_error(env, "gemm: params must be a Float64Array of 17 numbers");
  const double* p = static_cast<const double*>(pp);
  oppu::GemmArgs g;
  g.batch = long(p[0]), g.m = long(p[1]), g.n = long(p[2]), g.k = long(p[3]);
  g.a_rs = long(p[5]), g.a_cs = long(p[6]), g.a_bs = long(p[7]);
  g.b_rs = long(p[9]), g.b_cs = long(p[10]), g.b_bs = long(p[11]);
  g.c_rs = long(p[13]), g.c_bs = long(p[14]);
  g.alpha = float(p[15]), g.beta = float(p[16]);
  if (g.batch < 0 || g.m < 0 || g.n < 0 || g.k < 0) return throw_error(env, "gemm: negative dimension");
  if (!in_bounds(p[4], g.batch, g.m, g.k, g.a_rs, g.a_cs, g.a_bs, la))
    return throw_error(env, "gemm: operand a reaches outside its buffer");
  if (!in_bounds(p[8], g.batch, g.k, g.n, g.b_rs, g.b_cs, g.b_bs, lb))
    return throw_error(env, "gemm: operand b reaches outside its buffer");
  if (!in_bounds(p[12], g.batch, g.m, g.n, g.c_rs, 1, g.c_bs, lc))
    return throw_error(env, "gemm: output c reaches outside its buffer");
  g.a = a + long(p[4]);
  g.b = b + long(p[8]);
  g.c = c + long(p[12]);
  oppu::gemm(g, *instance(env)->pool);
  return nullptr;
}

// Typed-array argument of one element type: pointer and element count (works over SharedArrayBuffers too).
bool typed_view(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) return false;
  napi_typedarray_type type;
  size_t offset = 0;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, length, data, &ab, &offset) != napi_ok) return false;
  return type == want;
}

// softmaxXent(heap: Float32Array, logitsOff, gradOff (-1: none), n, v, targets: Int32Array,
//             weights: Float32Array | null) -> loss. Offsets in floats into heap.
napi_value SoftmaxXent(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 7) return throw_error(env, "softmaxXent: expected 7 arguments");
  void *heap_p, *tgt_p, *w_p = nullptr;
  size_t heap_n, tgt_n, w_n = 0;
  if (!typed_view(env, argv[0], napi_float32_array, &heap_p, &heap_n))
    return throw_error(env, "softmaxXent: heap must be a Float32Array");
  double dims[4];
  for (int i = 0; i < 4; ++i)
    if (napi_get_value_double(env, argv[1 + i], &dims[i]) != napi_ok)
      return throw_error(env, "softmaxXent: offsets and sizes must be numbers");
  const long logits_off = long(dims[0]), grad_off = long(dims[1]), n = long(dims[2]), v = long(dims[3]);
  if (!typed_view(env, argv[5], napi_int32_array, &tgt_p, &tgt_n) || long(tgt_n) < n)
    return throw_error(env, "softmaxXent: targets must be an Int32Array of n ids");
  napi_valuetype wt;
  napi_typeof(env, argv[6], &wt);
  if (wt != napi_null && wt != napi_undefined &&
      (!typed_view(env, argv[6], napi_float32_array, &w_p, &w_n) || long(w_n) < n))
    return throw_error(env, "softmaxXent: weights must be a Float32Array of n weights or null");
  if (n <= 0 || v <= 0 || logits_off < 0 || logits_off + n * v > long(heap_n) ||
      (grad_off >= 0 && grad_off + n * v > long(heap_n)))
    return throw_error(env, "softmaxXent: logits or grad reach outside the heap");
  float* heap = static_cast<float*>(heap_p);
  long bad = -1;
  const double loss = oppu::softmax_xent(heap + logits_off, static_cast<const int32_t*>(tgt_p),
                                         static_cast<const float*>(w_p), n, v, grad_off >= 0 ? heap + grad_off : nullptr,
                                         &bad, *instance(env)->pool);
  if (bad >= 0) return throw_error(env, "softmaxXent: row " + std::to_string(bad) + " has a target outside [0, " + std::to_string(v) + ")");
  napi_value out;
  napi_create_double(env, loss, &out);
  return out;
}

// decodeStep(heap: Float32Array, p: Float64Array, cos: Float32Array, sin: Float32Array): one batch-1 decoding
// step through every layer (decode.h), in place: the token's embedding at p[0] becomes the last layer's output,
// and each layer's new key and value are written into its cache. Offsets in floats into heap; cos/sin hold the
// position's hd/2 RoPE angles. p: x, d, h, kvh, hd, f, cap, pos, window, eps, scale, interleaved, layers, then
// per layer: attn_norm, wq, wk, wv, wo, bq, bk, bv, bo, ffn_norm, wg, wu, wd, bg, bu, bd, kcache, vcache (a
// bias -1: none), then for q, k, v, o, gate, up, down a LoRA: A, B (A -1: none), rank, scale.
constexpr int kHeadParams = 13, kLayerParams = 18, kLoraParams = 4 * oppu::kProjections;
napi_value DecodeStep(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void *heap_p, *p_p, *cos_p, *sin_p;
  size_t heap_n, p_n, cos_n, sin_n;
  if (argc != 4 || !typed_view(env, argv[0], napi_float32_array, &heap_p, &heap_n) ||
      !typed_view(env, argv[1], napi_float64_array, &p_p, &p_n) ||
      !typed_view(env, argv[2], napi_float32_array, &cos_p, &cos_n) ||
      !typed_view(env, argv[3], napi_float32_array, &sin_p, &sin_n))
    return throw_error(env, "decodeStep(heap: Float32Array, params: Float64Array, cos: Float32Array, sin: Float32Array): bad arguments");
  const double* p = static_cast<const double*>(p_p);
  if (p_n < kHeadParams) return throw_error(env, "decodeStep: params too short");
  float* h = static_cast<float*>(heap_p);
  oppu::DecodeArgs a;
  a.d = long(p[1]), a.h = long(p[2]), a.kvh = long(p[3]), a.hd = long(p[4]), a.f = long(p[5]);
  a.cap = long(p[6]), a.pos = long(p[7]), a.window = long(p[8]);
  a.eps = float(p[9]), a.scale = float(p[10]), a.interleaved = p[11] != 0;
  const long layers = long(p[12]);
  if (a.d <= 0 || a.h <= 0 || a.kvh <= 0 || a.h % a.kvh != 0 || a.hd <= 0 || a.hd % 2 != 0 || a.f <= 0 ||
      a.pos < 0 || a.pos >= a.cap || layers < 0 || p_n != size_t(kHeadParams + (kLayerParams + kLoraParams) * layers))
    return throw_error(env, "decodeStep: inconsistent sizes in params");
  if (long(cos_n) < a.hd / 2 || long(sin_n) < a.hd / 2)
    return throw_error(env, "decodeStep: cos and sin need hd/2 angles");
  a.cos = static_cast<const float*>(cos_p);
  a.sin = static_cast<const float*>(sin_p);
  auto ok = [&](double off, long len) { return off >= 0 && off + double(len) <= double(heap_n); };
  if (!ok(p[0], a.d)) return throw_error(env, "decodeStep: x reaches outside the heap");
  a.x = h + long(p[0]);
  const long qd = a.h * a.hd, kvd = a.kvh * a.hd;
  // Per layer: attn_norm, wq, wk, wv, wo, bq, bk, bv, bo, ffn_norm, wg, wu, wd, bg, bu, bd, kcache, vcache.
  const long sizes[kLayerParams] = {a.d, a.d * qd, a.d * kvd, a.d * kvd, qd * a.d,  qd,        kvd,       kvd,
                                    a.d, a.d,      a.d * a.f, a.d * a.f, a.f * a.d, a.f,       a.f,       a.d,
                                    kvd * a.cap, kvd * a.cap};
  const bool optional[kLayerParams] = {false, false, false, false, false, true,  true,  true,  true,
                                       false, false, false, false, true,  true,  true,  false, false};
  a.layers.resize(layers);
  for (long l = 0; l < layers; ++l) {
    const double* lp = p + kHeadParams + (kLayerParams + kLoraParams) * l;
    float* ptr[kLayerParams];
    for (int i = 0; i < kLayerParams; ++i) {
      if (optional[i] && lp[i] < 0) {
        ptr[i] = nullptr;
        continue;
      }
      if (!ok(lp[i], sizes[i]))
        return throw_error(env, "decodeStep: layer " + std::to_string(l) + " operand " + std::to_string(i) +
                                    " reaches outside the heap");
      ptr[i] = h + long(lp[i]);
    }
    oppu::DecodeLayer& dl = a.layers[l];
    dl.attn_norm = ptr[0], dl.wq = ptr[1], dl.wk = ptr[2], dl.wv = ptr[3], dl.wo = ptr[4];
    dl.bq = ptr[5], dl.bk = ptr[6], dl.bv = ptr[7], dl.bo = ptr[8], dl.ffn_norm = ptr[9];
    dl.wg = ptr[10], dl.wu = ptr[11], dl.wd = ptr[12], dl.bg = ptr[13], dl.bu = ptr[14], dl.bd = ptr[15];
    dl.kc = ptr[16], dl.vc = ptr[17];
    // LoRA per projection (q, k, v, o, gate, up, down): A offset (-1: none), B offset, rank, scale.
    const long in_of[oppu::kProjections] = {a.d, a.d, a.d, qd, a.d, a.d, a.f};
    const long out_of[oppu::kProjections] = {qd, kvd, kvd, a.d, a.f, a.f, a.d};
    for (int m = 0; m < oppu::kProjections; ++m) {
      const double* q = lp + kLayerParams + 4 * m;
      if (q[0] < 0) continue;
      const long r = long(q[2]);
      if (r <= 0 || r > 4096 || !ok(q[0], in_of[m] * r) || !ok(q[1], r * out_of[m]))
        return throw_error(env, "decodeStep: layer " + std::to_string(l) + " LoRA " + std::to_string(m) +
                                    " reaches outside the heap or has a bad rank");
      dl.lora[m] = {h + long(q[0]), h + long(q[1]), r, float(q[3])};
    }
  }
  oppu::decode_step(a, *instance(env)->pool);
  return nullptr;
}

// rowOp(op, heap: Float32Array, p: Float64Array): the element-wise/row kernels of ops.h, operands addressed
// by float offsets into heap. op / p layout:
//   0 rmsnorm_forward  [x, w, y, r, n, d, eps]      1 rmsnorm_backward [x, w, r, dy, dx, n, d]
//   2 swiglu_forward   [a, b, y, n]                 3 swiglu_backward  [a, b, dy, da, db, n]
//   4 rope             [x, cos, sin, y, rows, heads, hd, interleaved, inverse]
//   5 causal softmax forward [x, y, n, t, scale]    6 causal softmax backward [y, dy, dx, n, t, scale]
//   7 causal attention forward  [q, k, v, out, probs, b, t, h, kvh, hd, scale]
//   8 causal attention backward [q, k, v, probs, dout, dq, dk, dv, b, t, h, kvh, hd, scale]
napi_value RowOp(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t op = -1;
  void *heap_p, *p_p;
  size_t heap_n, p_n;
  if (argc != 3 || napi_get_value_int32(env, argv[0], &op) != napi_ok ||
      !typed_view(env, argv[1], napi_float32_array, &heap_p, &heap_n) ||
      !typed_view(env, argv[2], napi_float64_array, &p_p, &p_n))
    return throw_error(env, "rowOp(op, heap: Float32Array, params: Float64Array): bad arguments");
  float* h = static_cast<float*>(heap_p);
  const double* p = static_cast<const double*>(p_p);
  auto need = [&](size_t count) { return p_n >= count; };
  auto ok = [&](double off, double len) { return off >= 0 && len >= 0 && off + len <= double(heap_n); };
  oppu::ThreadPool& pool = *instance(env)->pool;
  switch (op) {
    case 0: {
      if (!need(7)) break;
      const long n = long(p[4]), d = long(p[5]);
      if (!ok(p[0], n * d) || !ok(p[1], d) || !ok(p[2], n * d) || !ok(p[3], n)) break;
      oppu::rmsnorm_forward(h + long(p[0]), h + long(p[1]), n, d, float(p[6]), h + long(p[2]), h + long(p[3]), pool);
      return nullptr;
    }
    case 1: {
      if (!need(7)) break;
      const long n = long(p[5]), d = long(p[6]);
      if (!ok(p[0], n * d) || !ok(p[1], d) || !ok(p[2], n) || !ok(p[3], n * d) || !ok(p[4], n * d)) break;
      oppu::rmsnorm_backward(h + long(p[0]), h + long(p[1]), h + long(p[2]), h + long(p[3]), n, d, h + long(p[4]),
                             pool);
      return nullptr;
    }
    case 2: {
      if (!need(4)) break;
      const long n = long(p[3]);
      if (!ok(p[0], n) || !ok(p[1], n) || !ok(p[2], n)) break;
      oppu::swiglu_forward(h + long(p[0]), h + long(p[1]), n, h + long(p[2]), pool);
      return nullptr;
    }
    case 3: {
      if (!need(6)) break;
      const long n = long(p[5]);
      if (!ok(p[0], n) || !ok(p[1], n) || !ok(p[2], n) || !ok(p[3], n) || !ok(p[4], n)) break;
      oppu::swiglu_backward(h + long(p[0]), h + long(p[1]), h + long(p[2]), n, h + long(p[3]), h + long(p[4]), pool);
      return nullptr;
    }
    case 4: {
      if (!need(9)) break;
      const long rows = long(p[4]), heads = long(p[5]), hd = long(p[6]);
      if (hd % 2 != 0 || !ok(p[0], rows * heads * hd) || !ok(p[1], rows * hd / 2) || !ok(p[2], rows * hd / 2) ||
          !ok(p[3], rows * heads * hd))
        break;
      oppu::rope(h + long(p[0]), h + long(p[1]), h + long(p[2]), rows, heads, hd, p[7] != 0, p[8] != 0, h + long(p[3]),
                 pool);
      return nullptr;
    }
    case 5: {
      if (!need(5)) break;
      const long n = long(p[2]), t = long(p[3]);
      if (t <= 0 || !ok(p[0], n * t * t) || !ok(p[1], n * t * t)) break;
      oppu::causal_softmax_forward(h + long(p[0]), n, t, float(p[4]), h + long(p[1]), pool);
      return nullptr;
    }
    case 6: {
      if (!need(6)) break;
      const long n = long(p[3]), t = long(p[4]);
      if (t <= 0 || !ok(p[0], n * t * t) || !ok(p[1], n * t * t) || !ok(p[2], n * t * t)) break;
      oppu::causal_softmax_backward(h + long(p[0]), h + long(p[1]), n, t, float(p[5]), h + long(p[2]), pool);
      return nullptr;
    }
    case 7:
    case 8: {
      const size_t base = op == 7 ? 5 : 8;
      if (!need(base + 6)) break;
      const long b = long(p[base]), t = long(p[base + 1]), hh = long(p[base + 2]), kvh = long(p[base + 3]),
                 hd = long(p[base + 4]);
      if (b < 0 || t <= 0 || hh <= 0 || kvh <= 0 || hd <= 0 || hh % kvh != 0) break;
      const double nq = double(b) * t * hh * hd, nkv = double(b) * t * kvh * hd, np = double(b) * hh * t * t;
      const float scale = float(p[base + 5]);
      if (op == 7) {
        if (!ok(p[0], nq) || !ok(p[1], nkv) || !ok(p[2], nkv) || !ok(p[3], nq) || !ok(p[4], np)) break;
        oppu::causal_attention_forward({h + long(p[0]), h + long(p[1]), h + long(p[2]), h + long(p[3]), h + long(p[4]),
                                        b, t, hh, kvh, hd, scale},
                                       pool);
      } else {
        if (!ok(p[0], nq) || !ok(p[1], nkv) || !ok(p[2], nkv) || !ok(p[3], np) || !ok(p[4], nq) || !ok(p[5], nq) ||
            !ok(p[6], nkv) || !ok(p[7], nkv))
          break;
        oppu::causal_attention_backward({h + long(p[0]), h + long(p[1]), h + long(p[2]), h + long(p[3]),
                                         h + long(p[4]), h + long(p[5]), h + long(p[6]), h + long(p[7]), b, t, hh, kvh,
                                         hd, scale},
                                        pool);
      }
      return nullptr;
    }
    default:
      return throw_error(env, "rowOp: unknown op " + std::to_string(op));
  }
  return throw_error(env, "rowOp " + std::to_string(op) + ": operands reach outside the heap or params are short");
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, isa, threads;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, oppu::gemm_isa(), NAPI_AUTO_LENGTH, &isa);
  napi_create_int32(env, instance(env)->pool->size(), &threads);
  napi_set_named_property(env, obj, "isa", isa);
  napi_set_named_property(env, obj, "threads", threads);
  return obj;
}

// setIsa(name): "avx512" | "avx2" | "generic" | "best"; returns whether the CPU can run it.
napi_value SetIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char name[32] = {0};
  size_t len = 0;
  if (argc != 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) != napi_ok)
    return throw_error(env, "setIsa(name): expected a string");
  napi_value ok;
  napi_get_boolean(env, oppu::gemm_set_isa(std::string(name, len)), &ok);
  return ok;
}

// setThreads(n): replaces the pool (n >= 1).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 0;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 256)
    return throw_error(env, "setThreads(n): expected an integer from 1 to 256");
  instance(env)->pool = std::make_unique<oppu::ThreadPool>(n);
  return nullptr;
}

void finalize_instance(napi_env, void* data, void*) { delete static_cast<Instance*>(data); }

napi_value Init(napi_env env, napi_value exports) {
  auto* inst = new Instance();
  inst->pool = std::make_unique<oppu::ThreadPool>(default_threads());
  napi_set_instance_data(env, inst, finalize_instance, nullptr);
  napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmaxXent", nullptr, SoftmaxXent, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rowOp", nullptr, RowOp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"decodeStep", nullptr, DecodeStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setIsa", nullptr, SetIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
