/* activation.c: Activation (relu, sigmoid, tanh, softrelu, softsign, log_sigmoid),
 * element-wise; the backward pass reads only the output, so the output may overwrite
 * the input. mish (whose gradient needs the input) is refused. */
#include "activation.h"
#include "operator.h"
#include "simd.h"

static const mx_param_desc params[] = {
    MX_PARAM(activation_param, act_type, MX_PARAM_ENUM, NULL, "relu|sigmoid|tanh|softrelu|softsign|log_sigmoid|mish",
             "the activation function (mish is refused)"),
};
#define P(a) MX_PARAMS(activation_param, a)

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (P(a)->act_type == ACT_MISH)
    return mx_op_error(a, MX_ERR_ARG, "act_type mish is not supported");
  return mx_op_infer_same(a, in, nin, out, nout, aux, naux);
}

#define LOOP(expr)                                                                                 \
  do {                                                                                             \
    if (add)                                                                                       \
      for (int64_t i = 0; i < n; i++) y[i] += (expr);                                              \
    else                                                                                           \
      for (int64_t i = 0; i < n; i++) y[i] = (expr);                                               \
  } while (0)

/* A loop per type, so that each inlines its own body and vectorizes. */
#define FORWARD(t)                                                                                                 \
  case t: LOOP(activation_fwd(t, x[i])); break;
#define BACKWARD(t)                                                                                                \
  case t: LOOP(activation_bwd(t, o[i], dy[i])); break;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#include <immintrin.h>
/* ReLU's gradient 8 floats at a time, as activation_bwd computes it: (float)(o > 0) * dy (NaN
 * and -0 as there). The build's -O2 leaves that loop scalar, with a branch per element that
 * mispredicts on half of them: a tenth of an MLP training step (perf, Xeon family 6 model 167).
 * Returns the elements done; the caller finishes the rest. */
__attribute__((target("avx2"))) static int64_t relu_bwd_avx2(const float *o, const float *dy, float *y, int64_t n,
                                                             int add) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 mask = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(o + i), zero, _CMP_GT_OQ), one);
    __m256 g = _mm256_mul_ps(mask, _mm256_loadu_ps(dy + i));
    _mm256_storeu_ps(y + i, add ? _mm256_add_ps(_mm256_loadu_ps(y + i), g) : g);
  }
  _mm256_zeroupper();
  return i;
}
/* mx_ew_tanh 8 floats at a time, the same operations in the same order (no FMA, as the build
 * contracts none), so the same bits. GCC at -O2 keeps mx_ew_tanh's loop scalar: LeNet's tanh
 * forward was a tenth of a one-thread training step (perf, Xeon family 6 model 167). Returns the
 * elements done; the caller finishes the rest. x and y may be the same array. */
__attribute__((target("avx2"))) static int64_t tanh_fwd_avx2(const float *x, float *y, int64_t n, int add) {
  static const float p_coef[7] = {-2.76076847742355e-16f, 2.00018790482477e-13f, -8.60467152213735e-11f,
                                  5.12229709037114e-08f,  1.48572235717979e-05f, 6.37261928875436e-04f,
                                  4.89352455891786e-03f};
  static const float q_coef[4] = {1.19825839466702e-06f, 1.18534705686654e-04f, 2.26843463243900e-03f,
                                  4.89352518554385e-03f};
  const __m256 c = _mm256_set1_ps(7.90531110763549805f), minus_c = _mm256_set1_ps(-7.90531110763549805f);
  const __m256 sign = _mm256_set1_ps(-0.0f), zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f),
               minus_one = _mm256_set1_ps(-1.0f), big = _mm256_set1_ps(9.0f), small = _mm256_set1_ps(0.0004f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i), xi = v;
    v = _mm256_blendv_ps(v, minus_c, _mm256_cmp_ps(xi, minus_c, _CMP_LT_OQ));
    v = _mm256_blendv_ps(v, c, _mm256_cmp_ps(xi, c, _CMP_GT_OQ));
    __m256 v2 = _mm256_mul_ps(v, v), p = _mm256_set1_ps(p_coef[0]), q = _mm256_set1_ps(q_coef[0]);
    for (int k = 1; k < 7; k++) p = _mm256_add_ps(_mm256_mul_ps(p, v2), _mm256_set1_ps(p_coef[k]));
    for (int k = 1; k < 4; k++) q = _mm256_add_ps(_mm256_mul_ps(q, v2), _mm256_set1_ps(q_coef[k]));
    __m256 r = _mm256_div_ps(_mm256_mul_ps(v, p), q), ax = _mm256_andnot_ps(sign, xi);
    __m256 ends = _mm256_blendv_ps(minus_one, one, _mm256_cmp_ps(xi, zero, _CMP_GT_OQ));
    r = _mm256_blendv_ps(r, ends, _mm256_cmp_ps(ax, big, _CMP_GT_OQ));
    r = _mm256_blendv_ps(r, xi, _mm256_cmp_ps(ax, small, _CMP_LT_OQ));
    _mm256_storeu_ps(y + i, add ? _mm256_add_ps(_mm256_loadu_ps(y + i), r) : r);
  }
  _mm256_zeroupper();
  return i;
}
/* mx_ew_relu 8 floats at a time: x where x > 0 or x is NaN, else +0 (what the scalar select
 * gives). GCC at -O2 leaves that loop scalar (a tenth of the executor's one-thread MLP step). */
__attribute__((target("avx2"))) static int64_t relu_fwd_avx2(const float *x, float *y, int64_t n, int add) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 keep = _mm256_or_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    __m256 r = _mm256_and_ps(v, keep);
    _mm256_storeu_ps(y + i, add ? _mm256_add_ps(_mm256_loadu_ps(y + i), r) : r);
  }
  _mm256_zeroupper();
  return i;
}
/* The elements the AVX2 loops did (none without AVX2, or for another act_type); the caller
 * finishes the rest. */
static int64_t fwd_wide(int act, const float *x, float *y, int64_t n, int add) {
  if (!__builtin_cpu_supports("avx2")) return 0;
  return act == ACT_TANH ? tanh_fwd_avx2(x, y, n, add) : act == ACT_RELU ? relu_fwd_avx2(x, y, n, add) : 0;
}
static int64_t relu_bwd_wide(const float *o, const float *dy, float *y, int64_t n, int add) {
  return __builtin_cpu_supports("avx2") ? relu_bwd_avx2(o, dy, y, n, add) : 0;
}
#else
static int64_t fwd_wide(int act, const float *x, float *y, int64_t n, int add) { return 0; }
static int64_t relu_bwd_wide(const float *o, const float *dy, float *y, int64_t n, int add) { return 0; }
#endif

MX_SIMD_CLONES static mx_status forward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int add = c->req[0] == MX_REQ_ADD;
  int64_t n = mx_op_size(c->in[0]);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]);
  int64_t done = fwd_wide(P(c->attrs)->act_type, x, y, n, add); /* then the rest below */
  x += done, y += done, n -= done;
  switch (P(c->attrs)->act_type) { ACTIVATION_TYPES(FORWARD) }
  return MX_OK;
}

/* Gradients never share memory with the outputs they are computed from, hence restrict. */
MX_SIMD_CLONES static mx_status backward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int add = c->req[0] == MX_REQ_ADD;
  int64_t n = mx_op_size(c->out[0]);
  const float *restrict o = mx_op_data(c->out[0]), *restrict dy = mx_op_data(c->out_grad[0]);
  float *restrict y = mx_op_data(c->in_grad[0]);
  if (P(c->attrs)->act_type == ACT_RELU) { /* the wide part, then the rest below */
    int64_t done = relu_bwd_wide(o, dy, y, n, add);
    o += done, dy += done, y += done, n -= done;
  }
  switch (P(c->attrs)->act_type) { ACTIVATION_TYPES(BACKWARD) }
  return MX_OK;
}

const mx_op mx_op_activation = {
    .name = "Activation",
    .doc = "Element-wise activation: relu max(0,x), sigmoid, tanh, softrelu log(1+e^x), softsign "
           "x/(1+|x|), log_sigmoid.",
    MX_OP_PARAMS(activation_param, params),
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = infer,
    .forward = {[MX_DEV_CPU] = forward_cpu},
    .backward = {[MX_DEV_CPU] = backward_cpu},
    .flags = MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_INPLACE,
};
