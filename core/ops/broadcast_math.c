/* broadcast_math.c: the binary functions with NumPy broadcasting as registry operators with
 * MXNet's names (broadcast_add, broadcast_sub, broadcast_mul, broadcast_div, broadcast_maximum,
 * broadcast_minimum, broadcast_power, broadcast_equal, ..., broadcast_lesser_equal), so mx.nd's
 * arithmetic and mx.sym's are one operator. Written over the kernel table: one forward and one
 * backward for the CPU and the GPU. A gradient is formed at the output's shape and summed over
 * the axes its input was broadcast along. The comparisons' gradients are zero, as MXNet's. */
#include "table_op.h"

typedef enum grad_kind {
  G_ADD,  /* dy, dy */
  G_SUB,  /* dy, -dy */
  G_MUL,  /* dy b, dy a */
  G_DIV,  /* dy / b, -dy y / b */
  G_PICK, /* dy (a == y), dy (a != y): maximum and minimum */
  G_POW,  /* dy b a^(b-1), dy y log(a) */
  G_ZERO  /* comparisons */
} grad_kind;

typedef struct binary_def {
  mx_binary_op fn;
  grad_kind grad;
} binary_def;

extern const mx_op mx_op_broadcast_math[];
static const binary_def defs[] = {
    {MX_BINARY_ADD, G_ADD},  {MX_BINARY_SUB, G_SUB},  {MX_BINARY_MUL, G_MUL},
    {MX_BINARY_DIV, G_DIV},  {MX_BINARY_MAX, G_PICK}, {MX_BINARY_MIN, G_PICK},
    {MX_BINARY_POW, G_POW}, {MX_BINARY_EQ, G_ZERO},  {MX_BINARY_NE, G_ZERO},
    {MX_BINARY_GT, G_ZERO},  {MX_BINARY_GE, G_ZERO},  {MX_BINARY_LT, G_ZERO},
    {MX_BINARY_LE, G_ZERO},
};

static const binary_def *def_of(const mx_op_attrs *a) {
  return &defs[a->op - mx_op_broadcast_math];
}

static mx_status infer(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                       mx_shape *aux, int naux) {
  if (in[0].ndim == 0 || in[1].ndim == 0) return MX_OK;
  mx_shape o;
  if (!mx_broadcast_shape(in[0].dim, in[0].ndim, in[1].dim, in[1].ndim, o.dim, &o.ndim)) {
    char b1[96], b2[96];
    mx_shape_fmt(&in[0], b1, sizeof b1);
    mx_shape_fmt(&in[1], b2, sizeof b2);
    return mx_op_error(a, MX_ERR_SHAPE, "shapes %s and %s cannot broadcast", b1, b2);
  }
  return mx_shape_fill(a, "output", &out[0], &o);
}

/* a op b for the call's arrays (a = in[0] or x, b = in[1] or z), into y at the output's shape. */
static void apply(const mx_kernels *k, mx_binary_op op, const mx_ndarray *x, const float *xd,
                  const mx_ndarray *z, const float *zd, float *y, const mx_ndarray *shape_of) {
  mx_binary_broadcast(k, op, xd, mx_ndarray_shape(x), mx_ndarray_ndim(x), zd, mx_ndarray_shape(z),
                      mx_ndarray_ndim(z), y, mx_ndarray_shape(shape_of), mx_ndarray_ndim(shape_of));
}

static mx_status forward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_forward_of(c, &k);
  if (st != MX_OK || !k || mx_op_size(c->out[0]) == 0) return st;
  apply(k, def_of(c->attrs)->fn, c->in[0], mx_op_data(c->in[0]), c->in[1], mx_op_data(c->in[1]),
        mx_op_data(c->out[0]), c->out[0]);
  return MX_OK;
}

/* Sums src (the output's shape) over the axes `to` was broadcast along, into dst (to's size);
 * p1 and p2 are scratch of the output's size. */
static void reduce_to(const mx_kernels *k, const float *src, const mx_ndarray *out,
                      const mx_ndarray *to, float *dst, float *p1, float *p2) {
  int n = mx_ndarray_ndim(out), tn = mx_ndarray_ndim(to);
  const int64_t *S = mx_ndarray_shape(out), *ts = mx_ndarray_shape(to);
  int64_t cur[MX_MAX_NDIM];
  int red[MX_MAX_NDIM], runs = 0;
  for (int d = 0; d < n; d++) {
    cur[d] = S[d];
    int64_t td = d < n - tn ? 1 : ts[d - (n - tn)];
    red[d] = td == 1 && S[d] != 1;
  }
  for (int d = 0; d < n; d++)
    if (red[d] && (d == 0 || !red[d - 1])) runs++;
  if (runs == 0) {
    k->unary(MX_UNARY_COPY, src, dst, mx_shape_size(S, n));
    return;
  }
  int pass = 0;
  for (int d = n - 1; d >= 0; d--) { /* each run of reduced axes, last first */
    if (!red[d]) continue;
    int lo = d;
    while (lo > 0 && red[lo - 1]) lo--;
    int64_t outer = mx_shape_size(cur, lo), len = mx_shape_size(cur + lo, d - lo + 1),
            inner = mx_shape_size(cur + d + 1, n - d - 1);
    float *into = pass == runs - 1 ? dst : (pass % 2 ? p2 : p1);
    k->reduce(MX_REDUCE_SUM, src, into, outer, len, inner);
    src = into;
    for (int j = lo; j <= d; j++) cur[j] = 1;
    pass++;
    d = lo;
  }
}

/* workspace (floats of the output's size each): the full-shape gradient, two reduction buffers,
 * then the 'add' target */
static mx_status backward(const mx_op_call *c) {
  const mx_kernels *k;
  mx_status st = mx_table_of(c, &k);
  if (st != MX_OK) return st;
  const mx_ndarray *a = c->in[0], *b = c->in[1], *out = c->out_grad[0];
  int64_t N = mx_op_size(out);
  const float *dy = mx_op_data(c->out_grad[0]), *ad = mx_op_data(c->in[0]),
              *bd = mx_op_data(c->in[1]);
  const float *y = c->out[0] ? mx_op_data(c->out[0]) : NULL;
  float *full = c->workspace, *p1 = full + N, *p2 = p1 + N;
  grad_kind g = def_of(c->attrs)->grad;
  for (int side = 0; side < 2; side++) {
    mx_req r = c->req[side];
    if (r == MX_REQ_NULL) continue;
    const mx_ndarray *to = side ? b : a;
    int64_t n = mx_op_size(to);
    float *dx = mx_op_data(c->in_grad[side]), *t = r == MX_REQ_ADD ? p2 + N : dx;
    if (n == 0) continue;
    const float *src = full;
    switch (g) {
    case G_ADD:
      src = dy;
      break;
    case G_SUB:
      if (side)
        k->binary_scalar(MX_BINARY_MUL, dy, -1.0f, full, N);
      else
        src = dy;
      break;
    case G_MUL:
      apply(k, MX_BINARY_MUL, out, dy, side ? a : b, side ? ad : bd, full, out);
      break;
    case G_DIV:
      apply(k, MX_BINARY_DIV, out, dy, b, bd, full, out);
      if (side) {
        k->binary(MX_BINARY_MUL, full, y, full, N);
        k->binary_scalar(MX_BINARY_MUL, full, -1.0f, full, N);
      }
      break;
    case G_PICK:
      apply(k, side ? MX_BINARY_NE : MX_BINARY_EQ, a, ad, out, y, full, out);
      k->binary(MX_BINARY_MUL, full, dy, full, N);
      break;
    case G_POW: /* p1 holds an input-sized operand, p2 a product (both free until reduce_to) */
      if (!side) {
        k->binary_scalar(MX_BINARY_SUB, bd, 1.0f, p1, mx_op_size(b));
        apply(k, MX_BINARY_POW, a, ad, b, p1, full, out); /* a^(b-1) */
        apply(k, MX_BINARY_MUL, out, full, b, bd, p2, out);
      } else {
        k->unary(MX_UNARY_LOG, ad, p1, mx_op_size(a));
        apply(k, MX_BINARY_MUL, out, y, a, p1, p2, out); /* y log(a) */
      }
      k->binary(MX_BINARY_MUL, p2, dy, full, N);
      break;
    case G_ZERO:
      k->fill(full, N, 0.0f);
      break;
    }
    if (N > 0)
      reduce_to(k, src, out, to, t, p1, p2);
    else
      k->fill(t, n, 0.0f);
    mx_table_finish(k, r, dx, t, n);
  }
  return MX_OK;
}

static int64_t workspace(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out,
                         int nout, int backward_call) {
  int64_t n = mx_shape_numel(&out[0]);
  return backward_call ? 4 * n : 0; /* forward requests are write or in place (plan.c) */
}

#define BINARY(NAME, DOC, BACKWARD)                                                                \
  {                                                                                                \
    .name = NAME, .doc = DOC, .arguments = (const char *const[]){"lhs", "rhs", NULL},              \
    .outputs = (const char *const[]){"output", NULL}, .infer_shape = infer,                        \
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},                           \
    .backward = {[MX_DEV_CPU] = BACKWARD, [MX_DEV_GPU] = BACKWARD},                        \
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD, .workspace = workspace   \
  }

/* In the order of defs. */
const mx_op mx_op_broadcast_math[] = {
    BINARY("broadcast_add", "lhs + rhs, broadcast (NumPy rules).", backward),
    BINARY("broadcast_sub", "lhs - rhs, broadcast.", backward),
    BINARY("broadcast_mul", "lhs * rhs, broadcast.", backward),
    BINARY("broadcast_div", "lhs / rhs, broadcast.", backward),
    BINARY("broadcast_maximum", "max(lhs, rhs), broadcast (NaN kept).", backward),
    BINARY("broadcast_minimum", "min(lhs, rhs), broadcast (NaN kept).", backward),
    BINARY("broadcast_power", "lhs ^ rhs, broadcast.", backward),
    BINARY("broadcast_equal", "1 where lhs == rhs, else 0, broadcast.", backward),
    BINARY("broadcast_not_equal", "1 where lhs != rhs, else 0, broadcast.", backward),
    BINARY("broadcast_greater", "1 where lhs > rhs, else 0, broadcast.", backward),
    BINARY("broadcast_greater_equal", "1 where lhs >= rhs, else 0, broadcast.", backward),
    BINARY("broadcast_lesser", "1 where lhs < rhs, else 0, broadcast.", backward),
    BINARY("broadcast_lesser_equal", "1 where lhs <= rhs, else 0, broadcast.", backward),
};
_Static_assert(sizeof mx_op_broadcast_math / sizeof mx_op_broadcast_math[0] ==
                   sizeof defs / sizeof defs[0],
               "one definition per operator");
