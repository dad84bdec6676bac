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

MX_SIMD_CLONES static mx_status forward_cpu(const mx_op_call *c) {
  if (c->req[0] == MX_REQ_NULL) return MX_OK;
  int add = c->req[0] == MX_REQ_ADD;
  int64_t n = mx_op_size(c->in[0]);
  const float *x = mx_op_data(c->in[0]);
  float *y = mx_op_data(c->out[0]);
  switch (P(c->attrs)->act_type) { ACTIVATION_TYPES(FORWARD) }
  return MX_OK;
}

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
static int64_t relu_bwd_wide(const float *o, const float *dy, float *y, int64_t n, int add) {
  static int avx2 = -1;
  if (avx2 < 0) avx2 = __builtin_cpu_supports("avx2");
  return avx2 ? relu_bwd_avx2(o, dy, y, n, add) : 0;
}
#else
static int64_t relu_bwd_wide(const float *o, const float *dy, float *y, int64_t n, int add) { return 0; }
#endif

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
