/* custom.c: Custom, the generic operator behind operators written outside the
 * engine (Lua custom ops). Each op_type is a table of C callbacks with an opaque
 * pointer (mx_custom_op_register); the engine never sees Lua. */
#include <stdlib.h>
#include <string.h>

#include "operator.h"

/* The registered op_types: a growing list of pointers (states keep a pointer to their
 * type), so that there is no limit on the number of types. */
static struct custom_type {
  char *op_type;
  mx_custom_op_callbacks cb;
} **types;
static int ntypes, cap_types;

/* Names handed to the engine must outlive every symbol: they are interned once. */
typedef struct interned {
  struct interned *next;
  char s[];
} interned;
static interned *names_pool;

static const char *intern(const char *s) {
  for (interned *p = names_pool; p; p = p->next)
    if (!strcmp(p->s, s)) return p->s;
  size_t n = strlen(s);
  interned *p = malloc(sizeof *p + n + 1);
  if (!p) return NULL;
  memcpy(p->s, s, n + 1);
  p->next = names_pool;
  names_pool = p;
  return p->s;
}

static struct custom_type *find_type(const char *op_type) {
  for (int i = 0; op_type && i < ntypes; i++)
    if (!strcmp(types[i]->op_type, op_type)) return types[i];
  return NULL;
}

int mx_custom_op_registered(const char *op_type) {
  return find_type(op_type) != NULL;
}

mx_status mx_custom_op_register(const char *op_type, const mx_custom_op_callbacks *cb) {
  if (!op_type || !*op_type)
    return mx_error_at(MX_ERR_ARG, "mx_custom_op_register", "op_type must be a non-empty name");
  if (!cb || !cb->list || !cb->infer_shape || !cb->create_operator || !cb->forward || !cb->backward)
    return mx_error_at(MX_ERR_ARG,
                    "mx_custom_op_register", "'%s': list, infer_shape, create_operator, forward and "
                    "backward callbacks are required",
                    op_type);
  struct custom_type *t = find_type(op_type);
  if (!t) {
    if (ntypes == cap_types) {
      int cap = cap_types ? 2 * cap_types : 16;
      struct custom_type **grown = realloc(types, (size_t)cap * sizeof *grown);
      if (!grown) return mx_error_at(MX_ERR_NOMEM, "mx_custom_op_register", "out of memory");
      types = grown;
      cap_types = cap;
    }
    size_t len = strlen(op_type);
    t = calloc(1, sizeof *t);
    char *name = malloc(len + 1);
    if (!t || !name) {
      free(t);
      free(name);
      return mx_error_at(MX_ERR_NOMEM, "mx_custom_op_register", "out of memory");
    }
    memcpy(name, op_type, len + 1);
    t->op_type = name;
    types[ntypes++] = t;
  }
  t->cb = *cb; /* registering an op_type again replaces its callbacks */
  return MX_OK;
}

/* The op_type attribute of a Custom node, and its callbacks. */
static const char *op_type_of(const mx_op_attrs *a) {
  for (int i = 0; i < a->nattrs; i++)
    if (!strcmp(a->keys[i], "op_type")) return a->values[i];
  return NULL;
}

static mx_status lookup(const mx_op_attrs *a, struct custom_type **out) {
  const char *op_type = op_type_of(a);
  *out = find_type(op_type);
  if (!*out)
    return mx_op_error(a, MX_ERR_ARG,
                       "operator type '%s' is not registered (define or require it before loading)",
                       op_type ? op_type : "");
  return MX_OK;
}

static mx_custom_attrs user_attrs(const mx_op_attrs *a) {
  return (mx_custom_attrs){a->node_name, a->nattrs, (const char *const *)a->keys,
                           (const char *const *)a->values};
}

/* list_arguments / list_outputs / list_aux_states: the callback's answer, checked.
 * The engine asks once per node and keeps it (mx_op_attrs.listed); -1 on failure. */
static int list_names(const mx_op_attrs *a, int which, const char **names) {
  static const char *const what[] = {"list_arguments", "list_outputs", "list_auxiliary_states"};
  struct custom_type *t;
  if (lookup(a, &t) != MX_OK) return -1;
  mx_custom_attrs ua = user_attrs(a);
  const char *tmp[MX_OP_MAX_IO];
  int n = 0;
  if (t->cb.list(t->cb.self, &ua, which, &n, tmp) != MX_OK) return -1;
  if (n < 0 || n > MX_OP_MAX_IO) {
    mx_op_error(a, MX_ERR_CALLBACK, "'%s': %s gave %d names (expected 0 to %d)", t->op_type,
                what[which], n, MX_OP_MAX_IO);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    if (!tmp[i] || !*tmp[i]) {
      mx_op_error(a, MX_ERR_CALLBACK, "'%s': %s: name %d is empty", t->op_type, what[which], i + 1);
      return -1;
    }
    for (int j = 0; j < i; j++)
      if (!strcmp(tmp[i], tmp[j])) {
        mx_op_error(a, MX_ERR_CALLBACK, "'%s': %s names '%s' twice", t->op_type, what[which],
                    tmp[i]);
        return -1;
      }
    names[i] = intern(tmp[i]);
    if (!names[i]) {
      mx_op_error(a, MX_ERR_NOMEM, "out of memory");
      return -1;
    }
  }
  return n;
}
static int list_arguments(const mx_op_attrs *a, const char **names) {
  return list_names(a, MX_CUSTOM_LIST_ARGUMENTS, names);
}
static int list_outputs(const mx_op_attrs *a, const char **names) {
  return list_names(a, MX_CUSTOM_LIST_OUTPUTS, names);
}
static int list_aux(const mx_op_attrs *a, const char **names) {
  return list_names(a, MX_CUSTOM_LIST_AUX, names);
}

static void to_custom(const mx_shape *s, int n, mx_custom_shape *c) {
  for (int i = 0; i < n; i++) {
    c[i].ndim = s[i].ndim;
    memcpy(c[i].dim, s[i].dim, sizeof c[i].dim);
  }
}

static mx_status infer_shape(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                             mx_shape *aux, int naux) {
  struct custom_type *t;
  mx_status st = lookup(a, &t);
  if (st != MX_OK) return st;
  mx_custom_shape cin[MX_OP_MAX_IO], cout[MX_OP_MAX_IO], caux[MX_OP_MAX_IO];
  to_custom(in, nin, cin);
  to_custom(out, nout, cout);
  to_custom(aux, naux, caux);
  mx_custom_attrs ua = user_attrs(a);
  st = t->cb.infer_shape(t->cb.self, &ua, nin, cin, nout, cout, naux, caux);
  if (st != MX_OK) return st;
  const char *names[MX_OP_MAX_IO];
  struct {
    mx_shape *s;
    mx_custom_shape *c;
    int n;
    int (*list)(const mx_op_attrs *, const char **);
  } groups[3] = {{in, cin, nin, mx_op_arguments},
                 {out, cout, nout, mx_op_outputs_all},
                 {aux, caux, naux, mx_op_aux_states}};
  for (int g = 0; g < 3; g++) {
    int nn = groups[g].list(a, names); /* the node's kept names */
    for (int i = 0; i < groups[g].n; i++) {
      if (groups[g].c[i].ndim <= 0) continue; /* still unknown */
      if (groups[g].c[i].ndim > MX_MAX_NDIM)
        return mx_op_error(a, MX_ERR_SHAPE, "infer_shape gave %d axes (max %d)",
                           groups[g].c[i].ndim, MX_MAX_NDIM);
      mx_shape want = {.ndim = groups[g].c[i].ndim};
      memcpy(want.dim, groups[g].c[i].dim, sizeof want.dim);
      st = mx_shape_fill(a, i < nn ? names[i] : "?", &groups[g].s[i], &want);
      if (st != MX_OK) return st;
    }
  }
  return MX_OK;
}

static unsigned backward_needs(const mx_op_attrs *a) {
  struct custom_type *t;
  unsigned all = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD;
  if (lookup(a, &t) != MX_OK || !t->cb.backward_needs) return all;
  mx_custom_attrs ua = user_attrs(a);
  unsigned needs = all;
  if (t->cb.backward_needs(t->cb.self, &ua, &needs) != MX_OK) return all;
  return needs & all;
}

/* Per-executor state: the callbacks' type and the operator instance they created. */
typedef struct custom_state {
  struct custom_type *type;
  void *op;
  int nin, nout, naux;
} custom_state;

static mx_status create_state(const mx_op_attrs *a, mx_context ctx, const mx_shape *in, int nin,
                              void **state) {
  *state = NULL;
  struct custom_type *t;
  mx_status st = lookup(a, &t);
  if (st != MX_OK) return st;
  custom_state *s = calloc(1, sizeof *s);
  if (!s) return mx_op_error(a, MX_ERR_NOMEM, "out of memory");
  s->type = t;
  s->nin = nin; /* the node's counts, as the executor sized its arrays: never asked again */
  s->nout = a->noutputs;
  s->naux = a->naux;
  mx_custom_shape cin[MX_OP_MAX_IO];
  to_custom(in, nin, cin);
  mx_custom_attrs ua = user_attrs(a);
  st = t->cb.create_operator(t->cb.self, &ua, ctx, nin, cin, &s->op);
  if (st != MX_OK) {
    free(s);
    return st;
  }
  *state = s;
  return MX_OK;
}

static void free_state(void *state) {
  custom_state *s = state;
  if (!s) return;
  if (s->type->cb.free_operator) s->type->cb.free_operator(s->type->cb.self, s->op);
  free(s);
}

static mx_status forward(const mx_op_call *c) {
  custom_state *s = c->state;
  if (!s)
    return mx_op_error(c->attrs, MX_ERR_STATE,
                       "no operator instance (create_operator was not run)");
  int req[MX_OP_MAX_IO];
  for (int i = 0; i < s->nout; i++) req[i] = (int)c->req[i];
  return s->type->cb.forward(s->type->cb.self, s->op, c->is_train, req, s->nin, c->in, s->nout,
                             c->out, s->naux, c->aux);
}

static mx_status backward(const mx_op_call *c) {
  custom_state *s = c->state;
  if (!s)
    return mx_op_error(c->attrs, MX_ERR_STATE,
                       "no operator instance (create_operator was not run)");
  int req[MX_OP_MAX_IO];
  for (int i = 0; i < s->nin; i++) req[i] = (int)c->req[i];
  return s->type->cb.backward(s->type->cb.self, s->op, req, s->nout, c->out_grad, s->nin, c->in,
                              c->out, c->in_grad, s->naux, c->aux);
}

typedef struct custom_param {
  const char *op_type;
} custom_param;
static const mx_param_desc params[] = {
    MX_PARAM(custom_param, op_type, MX_PARAM_STRING, NULL, NULL, "the name the operator was registered under"),
};
#define P(a) MX_PARAMS(custom_param, a)

const mx_op mx_op_custom = {
    .name = "Custom",
    .doc = "An operator written outside the engine (in Lua): mx.operator.register(op_type, Prop), "
           "then "
           "mx.symbol.Custom{op_type = ..., ...}; the other parameters go to the Prop as strings.",
    MX_OP_PARAMS(custom_param, params),
    .list_arguments = list_arguments,
    .list_outputs = list_outputs,
    .list_aux_states = list_aux,
    .infer_shape = infer_shape,
    .forward = {[MX_DEV_CPU] = forward, [MX_DEV_GPU] = forward},
    .backward = {[MX_DEV_CPU] = backward, [MX_DEV_GPU] = backward},
    .flags = MX_OP_BWD_IN_DATA | MX_OP_BWD_OUT_DATA | MX_OP_BWD_OUT_GRAD | MX_OP_ANY_PARAMS,
    .backward_needs = backward_needs,
    .create_state = create_state,
    .free_state = free_state,
};
