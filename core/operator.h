/* operator.h: the operator descriptor (names, typed parameters, shape inference,
 * kernels per device, flags) and the registry. An operator is one mx_op in its own
 * file under core/ops/ plus one line in core/ops/registry.c; nothing else names it. */
#ifndef MX_OPERATOR_H
#define MX_OPERATOR_H

#include <stddef.h>
#include <string.h>

#include "internal.h"

#define MX_OP_MAX_PARAMS 16
#define MX_OP_PARAM_BYTES 1024 /* the largest parameter struct (see MX_OP_PARAMS) */
#define MX_OP_MAX_IO 64 /* inputs, outputs or aux states of one operator */

typedef enum mx_param_type {
  MX_PARAM_INT,    /* "128" */
  MX_PARAM_FLOAT,  /* "0.5" */
  MX_PARAM_BOOL,   /* "True"/"False"/"1"/"0"/"true"/"false" */
  MX_PARAM_ENUM,   /* one of `choices` ("relu|sigmoid|tanh|softrelu"); value = its index */
  MX_PARAM_STRING, /* kept as text */
  MX_PARAM_SHAPE   /* "(2,3)" or "[2,3]"; -1 and 0 allowed (Reshape) */
} mx_param_type;

typedef struct mx_param_desc {
  const char *name;
  mx_param_type type;
  const char *default_value; /* NULL: required */
  const char *choices;       /* MX_PARAM_ENUM: "a|b|c"; MX_PARAM_INT: its range "lo..hi" (default: int32's) */
  const char *doc;
  size_t offset; /* where the parsed value goes in the operator's parameter struct */
} mx_param_desc;

/* A shape during inference: ndim 0 means unknown. Also a SHAPE parameter's field. */
typedef struct mx_shape {
  int ndim;
  int64_t dim[MX_MAX_NDIM];
} mx_shape;

/* Typed parameters. An operator declares a struct whose fields are its parameters, by type:
 *   INT int64_t, FLOAT float, BOOL int (0/1), ENUM int (the choice's index),
 *   STRING const char * (the text), SHAPE mx_shape;
 * lists them with MX_PARAM (name = field) and names both in its descriptor with MX_OP_PARAMS:
 *   typedef struct { int act_type; float slope; } my_param;
 *   static const mx_param_desc params[] = {
 *       MX_PARAM(my_param, act_type, MX_PARAM_ENUM, "leaky", "elu|leaky", "the activation"), ...};
 *   const mx_op mx_op_my = {..., MX_OP_PARAMS(my_param, params), ...};
 * Parsing fills the struct; kernels read it with MX_PARAMS(my_param, c->attrs). */
#define MX_PARAM(T, field, type, def, choices, doc) {#field, type, def, choices, doc, offsetof(T, field)}
/* A parameter whose MXNet name is not a C name (or differs from the field's). */
#define MX_PARAM_AS(T, field, name, type, def, choices, doc) {name, type, def, choices, doc, offsetof(T, field)}
#define MX_OP_PARAMS(T, list)                                                                                      \
  .params = list, .nparams = (int)(sizeof list / sizeof list[0]), .param_size = sizeof(T)
#define MX_PARAMS(T, a) ((const T *)(const void *)(a)->param.bytes)

/* The parsed parameter struct's storage, aligned for any field. */
typedef union mx_param_block {
  int64_t align_int;
  double align_double;
  const void *align_ptr;
  unsigned char bytes[MX_OP_PARAM_BYTES];
} mx_param_block;

typedef struct mx_param_value {
  double num;      /* INT, FLOAT, BOOL (0/1), ENUM (index of the choice) */
  const char *str; /* the text (owned by the node's attributes) */
  int ndim;        /* SHAPE */
  int64_t shape[MX_MAX_NDIM];
} mx_param_value;

struct mx_op;

/* An operator's parsed parameters, with the raw attributes (every key/value the
 * node carries, user attributes `__x__` included) for generic ops such as Custom. */
typedef struct mx_op_attrs {
  const struct mx_op *op;
  const char *node_name;
  mx_param_value p[MX_OP_MAX_PARAMS]; /* in the order of op->params */
  mx_param_block param;               /* the typed struct (op->param_size bytes), see MX_PARAMS */
  int nattrs;
  char **keys, **values;
  /* What the operator listed when its node was parsed (mx_node_parse), kept so that
   * an operator whose lists come from callbacks (Custom) is asked once per node and
   * every later reader sees the same answer: mx_op_arguments & co. read these once
   * `listed` is set. */
  int listed;
  int nargs, naux, noutputs;
  const char *const *arg_names, *const *aux_names, *const *out_names;
  unsigned bwd_needs;
} mx_op_attrs;

#define MX_PINT(a, i) ((int64_t)(a)->p[i].num)
#define MX_PFLOAT(a, i) ((float)(a)->p[i].num)
#define MX_PBOOL(a, i) ((a)->p[i].num != 0)

/* What to do with an output (MXNet's OpReqType). */
typedef enum mx_req {
  MX_REQ_NULL = 0,
  MX_REQ_WRITE = 1,
  MX_REQ_INPLACE = 2,
  MX_REQ_ADD = 3
} mx_req;

/* What a kernel receives. Arrays are the executor's views; an array the
 * operator did not ask for (see flags/backward_needs) is NULL. */
typedef struct mx_op_call {
  const mx_op_attrs *attrs;
  mx_context ctx;
  int is_train;
  void *state;                 /* from op->create_state, or NULL */
  mx_ndarray *const *in;       /* inputs (arguments), op order */
  mx_ndarray *const *out;      /* outputs (hidden ones included) */
  mx_ndarray *const *aux;      /* auxiliary states */
  mx_ndarray *const *out_grad; /* backward: gradients of the visible outputs */
  mx_ndarray *const *in_grad;  /* backward: gradients of the inputs */
  const mx_req *req;           /* forward: per output; backward: per input gradient */
  float *workspace;            /* op->workspace floats of scratch (device memory), planned by
                                * the executor for this call only; NULL when none was asked */
  int64_t workspace_size;      /* in floats */
} mx_op_call;

/* (mx_op_kernel, an operator's forward or backward on one device: internal.h) */

/* flags */
#define MX_OP_BWD_IN_DATA 1u  /* backward reads the inputs */
#define MX_OP_BWD_OUT_DATA 2u /* backward reads the outputs */
#define MX_OP_BWD_OUT_GRAD 4u /* backward reads the gradients of the outputs */
#define MX_OP_INPLACE 8u      /* output 0 may share input 0's memory */
#define MX_OP_LOSS 16u        /* a loss layer: as a head, needs no gradient from above */
#define MX_OP_ANY_PARAMS 32u  /* keeps unknown parameters as raw attributes (Custom) */

typedef struct mx_op {
  const char *name; /* "FullyConnected" */
  const char *doc;
  const mx_param_desc *params;
  int nparams;
  size_t param_size; /* the typed parameter struct's size (MX_OP_PARAMS); 0: none */
  /* Fixed names (NULL-terminated lists) or, when the function is set, names that
   * depend on the parameters; functions write up to MX_OP_MAX_IO names and return
   * the count, or -1 with an error recorded (names stay valid while the operator is
   * registered). They are asked once per node (see mx_op_attrs.listed). */
  const char *const *arguments;
  const char *const *outputs;
  const char *const *aux_states;
  int (*list_arguments)(const mx_op_attrs *a, const char **names);
  int (*list_outputs)(const mx_op_attrs *a, const char **names);
  int (*list_aux_states)(const mx_op_attrs *a, const char **names);
  int hidden_outputs; /* trailing outputs that are not visible (Dropout's mask) */
  int (*num_visible_outputs)(
      const mx_op_attrs *a); /* overrides hidden_outputs when set (BatchNorm's output_mean_var) */
  /* Fills what it can: unknown outputs from inputs, unknown inputs (weights) from
   * parameters. Fails only on shapes that contradict each other. */
  mx_status (*infer_shape)(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                           mx_shape *aux, int naux);
  /* The kernels per device type. An operator written once over the device kernel table
   * (table_op.h) gives the same function to both slots; one with CUDA code of its own (a .cu
   * file) leaves the GPU's empty, and the CUDA device supplies it (core/ops/cuda_ops.cu).
   * Callers ask mx_op_kernel_for, never these slots. */
  mx_op_kernel forward[MX_DEV_SLOTS];
  mx_op_kernel backward[MX_DEV_SLOTS];
  unsigned flags;
  unsigned (*backward_needs)(const mx_op_attrs *a); /* overrides the MX_OP_BWD_* flags when set */
  /* Optional per-executor state (Custom ops create their instance here). */
  mx_status (*create_state)(const mx_op_attrs *a, mx_context ctx, const mx_shape *in, int nin,
                            void **state);
  void (*free_state)(void *state);
  /* Optional scratch memory, in floats, for the forward (backward = 0) or backward
   * (backward = 1) kernel at these shapes (e.g. Convolution's im2col buffer). The
   * planner gives it a block of the arena that lives only during that call, so
   * kernels never allocate. */
  int64_t (*workspace)(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out,
                       int nout, int backward);
} mx_op;

/* The forward (backward = 0) or backward kernel of `op` on device type dev_type: the
 * descriptor's own, else the one that device supplies (mx_device.op_kernel); NULL when this
 * build has no such device or the operator no such kernel on it (devices.c). */
mx_op_kernel mx_op_kernel_for(const mx_op *op, int dev_type, int backward);

/* ---- registry (core/ops/registry.c) ---- */
const mx_op *mx_op_find(const char *name); /* exact name, NULL when unknown */
int mx_op_count(void);
const mx_op *mx_op_at(int i);
/* Registers an operator at run time (Custom variants); the descriptor must outlive use. */
mx_status mx_op_register(const mx_op *op);

/* ---- helpers for operator files (ops/registry.c, op_params.c, op_shapes.c, op_error.c) ---- */
/* An operator's failure (op_error.c): records `what` (printf-style) with no function frame,
 * since an operator does not know who called it (its caller adds itself with MX_ERR_FRAME),
 * and the operator and node as the failure's node context, "<Op> <node>" ("<Op>" for an
 * unnamed node, as in eager calls): `return mx_op_error(a, MX_ERR_SHAPE, "data %s ...", b)`. */
mx_status mx_op_error(const mx_op_attrs *a, mx_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Adds "<Op> <node>" as above to a failure of (or under) that operator and returns st; the
 * callers of operators (inference, executor, eager runs) name the node with it, kept once when
 * the operator named it already. */
mx_status mx_op_error_node(const mx_op_attrs *a, mx_status st);
int mx_op_arguments(const mx_op_attrs *a, const char **names);
int mx_op_outputs_all(const mx_op_attrs *a, const char **names); /* hidden included */
int mx_op_aux_states(const mx_op_attrs *a, const char **names);
unsigned mx_op_backward_needs(const mx_op_attrs *a);
/* Parses keys/values against op->params into `a` (which keeps pointers to the strings). */
mx_status mx_op_parse_params(const mx_op *op, const char *node_name, int n, char **keys,
                             char **values, mx_op_attrs *a);
/* The text a parameter was given (or its default), by name; NULL when the operator has none such. */
const char *mx_op_param_text(const mx_op_attrs *a, const char *name);
/* Parses a shape's text strictly: "(2,3)", "[2, 3]", "(2,)", "()", a bare "3" (Python 2 "2L" too);
 * anything else (no closing bracket, a stray character, more than MX_MAX_NDIM axes, a dimension
 * past int64) is MX_ERR_ARG, no message recorded. Dimensions are not range-checked here. */
mx_status mx_shape_parse(const char *text, int64_t *dims, int *ndim);
/* Sets *s to `want` when unknown; fails naming the operator, node, slot and both
 * shapes when it is known and different. */
mx_status mx_shape_fill(const mx_op_attrs *a, const char *slot, mx_shape *s, const mx_shape *want);
/* infer_shape of operators whose inputs and outputs all have one shape
 * (Activation, element-wise, Dropout, BlockGrad, ...). */
mx_status mx_op_infer_same(const mx_op_attrs *a, mx_shape *in, int nin, mx_shape *out, int nout,
                           mx_shape *aux, int naux);
char *mx_shape_fmt(const mx_shape *s, char *buf, size_t len);
static inline int64_t mx_shape_numel(const mx_shape *s) {
  return mx_shape_size(s->dim, s->ndim);
}
static inline int mx_shape_eq(const mx_shape *a, const mx_shape *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->dim[i] != b->dim[i]) return 0;
  return 1;
}
/* Raw data and sizes of the views a kernel receives (host pointers for CPU kernels). */
static inline float *mx_op_data(mx_ndarray *a) {
  return mx_ndarray_data(a);
}
static inline int64_t mx_op_size(const mx_ndarray *a) {
  return mx_ndarray_size(a);
}
/* dst = src (write/inplace) or dst += src (add); nothing for null. CPU only. */
static inline void mx_req_copy(mx_req r, float *dst, const float *src, int64_t n) {
  if (r == MX_REQ_NULL) return;
  if (r == MX_REQ_ADD) {
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
  } else if (dst != src) {
    memcpy(dst, src, (size_t)n * sizeof(float));
  }
}
/* Accumulating or writing a value by request. */
static inline void mx_req_store(mx_req r, float *dst, float v) {
  if (r == MX_REQ_ADD)
    *dst += v;
  else if (r != MX_REQ_NULL)
    *dst = v;
}

#endif
