/* imperative.c: running one registry operator eagerly on NDArrays (MXNet's imperative
 * invoke, behind the generated mx.nd.<Op>). A prepared operator (its parsed node) is cached
 * per (operator, parameters); under it, a one-node plan (shapes, operator state, workspace
 * size) per (input shapes, context). A repeated call finds both and allocates only the arrays
 * it returns and, for the call's length, the workspace and hidden outputs (Dropout's mask) it
 * asks for, from the pools: a cached plan holds no array memory. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "operator.h"

#define PLANS 4      /* shape plans kept per prepared operator */
#define PREPARED 128 /* prepared operators kept */

typedef struct eager_plan {
  int used;
  mx_context ctx;
  int nin;
  mx_shape in[MX_OP_MAX_IO];  /* arguments then aux states */
  mx_shape out[MX_OP_MAX_IO]; /* every output, hidden ones included */
  void *state;
  int64_t workspace;  /* floats the forward asks for */
  unsigned long last; /* use stamp, to replace the oldest */
} eager_plan;

struct mx_eager {
  mx_node *node; /* parsed: attrs, input and output names */
  char *key;     /* "op\0k1\0v1\0..." */
  size_t keylen;
  int busy; /* runs in progress (a Custom operator may call back into eager mode) */
  unsigned long last;
  eager_plan plans[PLANS];
};

static mx_eager *cache[PREPARED];
static unsigned long stamp;

static void plan_clear(const mx_op *op, eager_plan *p) {
  if (p->state && op->free_state) op->free_state(p->state);
  memset(p, 0, sizeof *p);
}

static void eager_free(mx_eager *e) {
  if (!e) return;
  for (int i = 0; i < PLANS; i++) plan_clear(e->node->op, &e->plans[i]);
  mx_node_release(e->node);
  free(e->key);
  free(e);
}

/* The cache key of (op_name, parameters) into a malloc'd buffer, or its length only (buf NULL). */
static size_t key_of(const char *op_name, const char *const *keys, const char *const *values, int n,
                     char *buf) {
  size_t len = 0;
#define PUT(s)                                                                                     \
  do {                                                                                             \
    size_t l_ = strlen(s) + 1;                                                                     \
    if (buf) memcpy(buf + len, s, l_);                                                             \
    len += l_;                                                                                     \
  } while (0)
  PUT(op_name);
  for (int i = 0; i < n; i++) {
    PUT(keys[i]);
    PUT(values[i]);
  }
#undef PUT
  return len;
}

static int key_eq(const mx_eager *e, const char *op_name, const char *const *keys,
                  const char *const *values, int n) {
  const char *p = e->key, *end = e->key + e->keylen;
  size_t l = strlen(op_name) + 1;
  if (l > e->keylen || memcmp(p, op_name, l) != 0) return 0; /* never read past the key */
  p += l;
  for (int i = 0; i < n; i++)
    for (int w = 0; w < 2; w++) {
      const char *s = w ? values[i] : keys[i];
      l = strlen(s) + 1;
      if (p + l > end || memcmp(p, s, l) != 0) return 0;
      p += l;
    }
  return p == end;
}

mx_status mx_eager_get(const char *op_name, const char *const *keys, const char *const *values,
                       int n, mx_eager **out) {
  const char *where = "mx_eager_get";
  *out = NULL;
  for (int i = 0; i < PREPARED; i++)
    if (cache[i] && key_eq(cache[i], op_name, keys, values, n)) {
      cache[i]->last = ++stamp;
      *out = cache[i];
      return MX_OK;
    }
  const mx_op *op = mx_op_find(op_name);
  if (!op) return mx_error_at(MX_ERR_ARG, where, "unknown operator '%s'", op_name);
  mx_eager *e = calloc(1, sizeof *e);
  if (!e) return mx_error_at(MX_ERR_NOMEM, where, "out of memory");
  e->keylen = key_of(op_name, keys, values, n, NULL);
  e->key = malloc(e->keylen);
  e->node = mx_node_new(op, ""); /* unnamed: messages name the operator only */
  mx_status st = e->key && e->node ? MX_OK : mx_error_at(MX_ERR_NOMEM, where, "out of memory");
  if (st == MX_OK) key_of(op_name, keys, values, n, e->key);
  for (int i = 0; st == MX_OK && i < n; i++) st = mx_node_set_attr(e->node, keys[i], values[i]);
  if (st == MX_OK) st = mx_node_parse(e->node);
  if (st != MX_OK) {
    eager_free(e);
    return MX_ERR_FRAME(st, where);
  }
  /* a free slot, else the least recently used one not running */
  int slot = -1;
  for (int i = 0; i < PREPARED && slot < 0; i++)
    if (!cache[i]) slot = i;
  for (int i = 0; i < PREPARED && slot < 0; i++)
    if (!cache[i]->busy && (slot < 0 || cache[i]->last < cache[slot]->last)) slot = i;
  if (slot < 0) {
    eager_free(e);
    return mx_error_at(MX_ERR_STATE, where, "%d nested eager calls in progress", PREPARED);
  }
  eager_free(cache[slot]);
  cache[slot] = e;
  e->last = ++stamp;
  *out = e;
  return MX_OK;
}

int mx_eager_inputs(const mx_eager *e, const char *const **names) {
  if (names) *names = e->node->in_names;
  return e->node->nargs + e->node->naux;
}

int mx_eager_num_arguments(const mx_eager *e) {
  return e->node->nargs;
}

int mx_eager_num_outputs(const mx_eager *e) {
  return e->node->nvisible;
}

/* Shapes, state and workspace size of a new plan for these inputs (a failure names no
 * function: mx_eager_run adds itself and the operator). */
static mx_status plan_make(mx_eager *e, mx_ndarray *const *in, int nin, mx_context ctx,
                           eager_plan *p) {
  const mx_node *n = e->node;
  const mx_op *op = n->op;
  p->ctx = ctx;
  p->nin = nin;
  mx_shape ins[MX_OP_MAX_IO];
  for (int i = 0; i < nin; i++) {
    p->in[i].ndim = mx_ndarray_ndim(in[i]);
    memcpy(p->in[i].dim, mx_ndarray_shape(in[i]), (size_t)p->in[i].ndim * sizeof(int64_t));
    ins[i] = p->in[i];
  }
  mx_status st = op->infer_shape ? op->infer_shape(&n->attrs, ins, n->nargs, p->out, n->noutputs,
                                                   ins + n->nargs, n->naux)
                                 : mx_op_error(&n->attrs, MX_ERR_ARG, "infers no shapes");
  if (st != MX_OK) return st;
  char b1[96], b2[96];
  for (int i = 0; i < nin; i++)
    if (!mx_shape_eq(&ins[i], &p->in[i]))
      return mx_op_error(&n->attrs, MX_ERR_SHAPE, "input '%s' has shape %s, expected %s",
                         n->in_names[i], mx_shape_fmt(&p->in[i], b1, sizeof b1),
                         mx_shape_fmt(&ins[i], b2, sizeof b2));
  for (int i = 0; i < n->noutputs; i++)
    if (p->out[i].ndim == 0)
      return mx_op_error(&n->attrs, MX_ERR_SHAPE, "cannot infer the shape of output '%s'",
                         n->out_names[i]);
  if (op->create_state) {
    st = op->create_state(&n->attrs, ctx, p->in, nin, &p->state);
    if (st != MX_OK) return st;
  }
  if (op->workspace) {
    int64_t w = op->workspace(&n->attrs, p->in, nin, p->out, n->noutputs, 0);
    if (w < 0) return mx_op_error(&n->attrs, MX_ERR_ARG, "asked for a negative workspace");
    p->workspace = w;
  }
  p->used = 1;
  return MX_OK;
}

static int plan_fits(const eager_plan *p, mx_ndarray *const *in, int nin, mx_context ctx) {
  if (!p->used || p->nin != nin || p->ctx.dev_type != ctx.dev_type || p->ctx.dev_id != ctx.dev_id)
    return 0;
  for (int i = 0; i < nin; i++) {
    int nd = mx_ndarray_ndim(in[i]);
    if (nd != p->in[i].ndim ||
        memcmp(mx_ndarray_shape(in[i]), p->in[i].dim, (size_t)nd * sizeof(int64_t)) != 0)
      return 0;
  }
  return 1;
}

/* The plan for these inputs: found, or made in the oldest slot. */
static mx_status plan_for(mx_eager *e, mx_ndarray *const *in, int nin, mx_context ctx,
                          eager_plan **out) {
  eager_plan *old = &e->plans[0];
  for (int i = 0; i < PLANS; i++) {
    eager_plan *p = &e->plans[i];
    if (plan_fits(p, in, nin, ctx)) {
      p->last = ++stamp;
      *out = p;
      return MX_OK;
    }
    if (!p->used || (old->used && p->last < old->last)) old = p;
  }
  plan_clear(e->node->op, old);
  mx_status st = plan_make(e, in, nin, ctx, old);
  if (st != MX_OK) {
    plan_clear(e->node->op, old);
    return st;
  }
  old->last = ++stamp;
  *out = old;
  return MX_OK;
}

/* Runs e on in: its visible outputs into `outputs` (new arrays), or, with `into` set, output 0
 * written into that array (the operator's one visible output; in place when it is in[0]). */
static mx_status run(mx_eager *e, mx_ndarray *const *in, int nin, int is_train, mx_ndarray **outputs,
                     mx_ndarray *into) {
  const char *where = "mx_eager_run";
  const mx_node *n = e->node;
  const mx_op *op = n->op;
  char c1[32], c2[32];
  for (int i = 0; outputs && i < n->nvisible; i++) outputs[i] = NULL;
  if (nin != n->nargs + n->naux)
    return mx_error_at(MX_ERR_ARG, where, "%s takes %d inputs, got %d", op->name,
                    n->nargs + n->naux, nin);
  if (nin == 0)
    return mx_error_at(MX_ERR_ARG, where, "%s takes no inputs: nothing gives it a context",
                    op->name);
  for (int i = 0; i < nin; i++)
    if (!in[i])
      return mx_error_at(MX_ERR_ARG, where, "%s: input '%s' is missing", op->name, n->in_names[i]);
  mx_context ctx = mx_ndarray_context(in[0]);
  for (int i = 1; i < nin; i++) {
    mx_context c = mx_ndarray_context(in[i]);
    if (c.dev_type != ctx.dev_type || c.dev_id != ctx.dev_id)
      return mx_error_at(MX_ERR_ARG, where,
                      "arrays on %s and %s (expected one context; inputs '%s' and '%s' of %s)", mx_context_str(ctx, c1, sizeof c1), mx_context_str(c, c2, sizeof c2),
                      n->in_names[0], n->in_names[i], op->name);
  }
  mx_op_kernel forward = mx_op_kernel_for(op, ctx.dev_type, 0);
  if (!forward)
    return mx_error_at(MX_ERR_DEVICE, where, "%s has no forward kernel for %s", op->name,
                    mx_context_str(ctx, c1, sizeof c1));
  if (into && n->noutputs != 1)
    return mx_error_at(MX_ERR_ARG, where, "%s has %d outputs: it cannot write into one array", op->name,
                    n->noutputs);
  eager_plan *p;
  e->busy++;
  mx_status st = plan_for(e, in, nin, ctx, &p);
  mx_ndarray *outs[MX_OP_MAX_IO] = {NULL}, *ws = NULL;
  mx_req req[MX_OP_MAX_IO];
  if (st == MX_OK && into) {
    char s1[96], s2[96];
    mx_context ic = mx_ndarray_context(into);
    mx_shape have = {mx_ndarray_ndim(into), {0}};
    memcpy(have.dim, mx_ndarray_shape(into), (size_t)have.ndim * sizeof(int64_t));
    if (ic.dev_type != ctx.dev_type || ic.dev_id != ctx.dev_id)
      st = mx_error_at(MX_ERR_ARG, where, "the output is on %s, the inputs on %s",
                    mx_context_str(ic, c1, sizeof c1), mx_context_str(ctx, c2, sizeof c2));
    else if (!mx_shape_eq(&have, &p->out[0]))
      st = mx_error_at(MX_ERR_SHAPE, where, "the result has shape %s, the output array %s",
                    mx_shape_fmt(&p->out[0], s1, sizeof s1), mx_shape_fmt(&have, s2, sizeof s2));
    req[0] = MX_REQ_WRITE;
    outs[0] = mx_ndarray_retain(into);
  }
  for (int i = 0; st == MX_OK && !into && i < n->noutputs; i++) {
    req[i] = MX_REQ_WRITE;
    st = mx_ndarray_create(p->out[i].dim, p->out[i].ndim, ctx, &outs[i]);
  }
  if (st == MX_OK && p->workspace > 0) st = mx_ndarray_create(&p->workspace, 1, ctx, &ws);
  if (st == MX_OK) {
    mx_op_call c = {.attrs = &n->attrs,
                    .ctx = ctx,
                    .is_train = is_train,
                    .state = p->state,
                    .in = in,
                    .aux = in + n->nargs,
                    .out = outs,
                    .req = req,
                    .workspace = ws ? mx_ndarray_data(ws) : NULL,
                    .workspace_size = ws ? mx_ndarray_size(ws) : 0};
    st = forward(&c);
  }
  mx_ndarray_release(ws);
  for (int i = 0; i < n->noutputs; i++) {
    if (st == MX_OK && outputs && i < n->nvisible)
      outputs[i] = outs[i];
    else
      mx_ndarray_release(outs[i]);
  }
  e->busy--;
  if (st != MX_OK) mx_op_error_node(&n->attrs, st); /* the operator, kept once if it said so */
  return st == MX_OK ? st : MX_ERR_FRAME(st, where);
}

mx_status mx_eager_run(mx_eager *e, mx_ndarray *const *in, int nin, int is_train,
                       mx_ndarray **outputs) {
  return run(e, in, nin, is_train, outputs, NULL);
}

mx_status mx_eager_run_into(mx_eager *e, mx_ndarray *const *in, int nin, mx_ndarray *out) {
  if (!out) return mx_error_at(MX_ERR_ARG, "mx_eager_run_into", "no output array given");
  return run(e, in, nin, 0, NULL, out);
}

mx_status mx_eager_set_float(mx_eager *e, const char *name, float value) {
  mx_op_attrs *a = &e->node->attrs;
  for (int i = 0; i < a->op->nparams; i++) {
    const mx_param_desc *d = &a->op->params[i];
    if (strcmp(d->name, name) != 0) continue;
    if (d->type != MX_PARAM_FLOAT)
      return mx_error_at(MX_ERR_ARG, "mx_eager_set_float", "%s: parameter '%s' is not a float", a->op->name,
                      name);
    a->p[i].num = value;
    memcpy((char *)&a->param + d->offset, &value, sizeof value);
    return MX_OK;
  }
  return mx_error_at(MX_ERR_ARG, "mx_eager_set_float", "%s has no parameter '%s'", a->op->name, name);
}

void mx_eager_clear(void) {
  for (int i = 0; i < PREPARED; i++)
    if (cache[i] && !cache[i]->busy) {
      eager_free(cache[i]);
      cache[i] = NULL;
    }
}
