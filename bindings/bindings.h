/* bindings.h: what the binding files share: the NDArray/Context userdata
 * helpers, argument checking, and turning an mx_status into a Lua error. */
#ifndef MXB_BINDINGS_H
#define MXB_BINDINGS_H

#include <lauxlib.h>
#include <lua.h>

#include "mx.h"

#define MXB_NDARRAY_MT "mx.NDArray"
#define MXB_CONTEXT_MT "mx.Context"

/* Raises a Lua error "<where>: <node>: <what>" from the fields of the core's last
 * failure (mx_last_error_info; the core's function names are left out). Never
 * returns. Messages raised by these helpers start with the Lua function's name
 * (no "file:line: " position). Call only once no C temporary is left to free. */
int mxb_raise(lua_State *L, const char *where);
/* `if (st != MX_OK) mxb_raise(L, where)` in one call. */
void mxb_check(lua_State *L, mx_status st, const char *where);

/* NDArray userdata. push takes over the caller's reference. check raises a clear
 * error on a non-NDArray or an invalidated (borrowed, expired) one. */
void mxb_push_ndarray(lua_State *L, mx_ndarray *a);
mx_ndarray *mxb_check_ndarray(lua_State *L, int idx, const char *where);
mx_ndarray *mxb_test_ndarray(lua_State *L, int idx); /* NULL when not a live NDArray */
/* While a CUDA graph is being recorded (cuda_graph.c), the graph takes a reference
 * to every array and executor the checks below return, so that its replays never
 * run on freed memory. Nothing outside a recording. */
void mxb_graph_keep_ndarray(mx_ndarray *a);
void mxb_graph_keep_executor(mx_executor *e);
/* Borrowed arrays (custom operator callbacks): valid until mxb_invalidate_ndarray. */
void mxb_push_borrowed_ndarray(lua_State *L, mx_ndarray *a);
void mxb_invalidate_ndarray(lua_State *L, int idx);
/* Lending to a callback: begin pushes the table of what is lent (returns its index);
 * borrowed arrays pushed until end, and views made of them, are invalidated by end. */
int mxb_lend_begin(lua_State *L);
void mxb_lend_end(lua_State *L, int idx);
/* Pushes `view` (a reference taken) made from the NDArray at src: lent if src is. */
void mxb_push_view(lua_State *L, mx_ndarray *view, int src);

/* Contexts: a userdata with dev_type/dev_id, printed "cpu(0)". */
void mxb_push_context(lua_State *L, mx_context ctx);
mx_context mxb_check_context(lua_State *L, int idx, const char *where);
mx_context mxb_opt_context(lua_State *L, int idx, const char *where); /* nil/none -> cpu(0) */

/* A shape from a Lua sequence of positive integers ({2, 3}); returns ndim. */
int mxb_check_shape(lua_State *L, int idx, int64_t shape[MX_MAX_NDIM], const char *where);
/* refuses a key of the list at idx beyond its n entries (an option in a shape table) */
void mxb_check_list_only(lua_State *L, int idx, int n, const char *where);
void mxb_push_shape(lua_State *L, const int64_t *shape, int ndim);
/* A Lua sequence of integers (index data such as a permutation) as int64 values in a buffer
 * that Lua owns (pushed on the stack, so an error raised later frees it); *n gets the count. */
int64_t *mxb_check_int64_list(lua_State *L, int idx, const char *where, int64_t *n);

/* ---- argument checking (bindings_util.c) ----
 * Every message names the Lua function: "mx.nd.zeros: bad argument #1 (...)".
 * A `where` holding ':' ("NDArray:reshape") is a method: argument numbers
 * then count from the first argument after self, as Lua's own errors do. */
int mxb_argerror(lua_State *L, int arg, const char *where, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
int mxb_typeerror(lua_State *L, int arg, const char *where, const char *expected);
/* Raises a message formatted with full printf formats (%lld, %g...), as is:
 * write it as "<where>: <what>". */
int mxb_errorf(lua_State *L, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
lua_Number mxb_check_number(lua_State *L, int idx, const char *where);
lua_Number mxb_opt_number(lua_State *L, int idx, lua_Number def, const char *where);
lua_Integer mxb_check_integer(lua_State *L, int idx, const char *where);
lua_Integer mxb_opt_integer(lua_State *L, int idx, lua_Integer def, const char *where);
int mxb_opt_boolean(lua_State *L, int idx, int def, const char *where);
/* A 1-based Lua axis (negative counts from the end: -1 is the last) at idx,
 * checked against ndim; returns the 0-based C axis. */
int mxb_check_axis(lua_State *L, int idx, int ndim, const char *where);
/* A string argument without NUL bytes (a file name, a node name: C would cut it at the NUL). */
const char *mxb_check_cstring(lua_State *L, int idx, const char *where);
/* t[key] at idx without metamethods, pushed; returns its type. Bindings read argument tables
 * only raw (lua_rawlen, lua_rawgeti, this): no user code runs while C holds an engine pointer. */
int mxb_rawgetfield(lua_State *L, int idx, const char *key);
/* The userdata behind an NDArray value (ndarray.c needs it for __gc/__close). */
typedef struct mxb_ndarray_ud {
  mx_ndarray *a; /* NULL once closed or, for a borrowed array, invalidated */
  int borrowed;  /* 1: pushed by mxb_push_borrowed_ndarray */
} mxb_ndarray_ud;
/* An NDArray as text (ndarray_print.c): the __tostring of the NDArray metatable. */
int mxb_ndarray_tostring(lua_State *L);
/* A scratch buffer owned by the Lua GC (a userdata pushed on the stack), so an error raised
 * while it is in use leaks nothing. */
void *mxb_scratch(lua_State *L, size_t bytes);
/* The module's NDArray methods table (mx.core.NDArray_methods) is kept in the
 * registry under this key; __index falls back on it. */
#define MXB_NDARRAY_METHODS "mx.NDArray.methods"

/* Each binding file registers its functions into the module table at stack top. */
void mxb_open_ndarray(lua_State *L);
void mxb_open_random(lua_State *L);  /* random.c: mx.core.random; after mxb_open_ndarray */
void mxb_open_context(lua_State *L); /* context.c: mx.Context, device counts, pool statistics */
void mxb_open_symbol(lua_State *L);
void mxb_open_executor(lua_State *L);
void mxb_open_io(lua_State *L);
void mxb_open_optimizer(lua_State *L);
void mxb_open_custom_op(lua_State *L);
void mxb_open_image(lua_State *L);
void mxb_open_monitor(lua_State *L); /* monitor.c: regular expressions for mx.mon */
void mxb_open_kvstore(lua_State *L); /* kvstore.c: the reductions behind mx.kvstore */
void mxb_open_bytes(lua_State *L);   /* bytes.c: IDX images kept as bytes */
void mxb_open_features(lua_State *L); /* features.c: what this build has */
void mxb_open_gemm_plan(lua_State *L); /* gemm_plan.c: mx.core.gemm_plan() */
void mxb_open_cuda_graph(lua_State *L); /* cuda_graph.c: mx.core.cuda_graph */
/* Runs the registry operator `op` (parameters keys/values, one output) on `in` through the eager
 * cache (eager.c) and returns its output (a reference the caller pushes); raises "<where>: ..." on
 * error. */
mx_ndarray *mxb_eager(lua_State *L, const char *op, const char *const *keys, const char *const *values, int n,
                      mx_ndarray *const *in, int nin, const char *where);
/* A user attribute on the eager entries whose float parameters are set per call (mx_eager_set_float),
 * so that no call naming the parameter itself (mx.nd.clip{data = x, a_min = 0, a_max = 0}) shares
 * their cache entry and meets the last call's value. */
#define MXB_PER_CALL "__per_call__"
/* The general form: fixed parameters keys/values (n); float parameters `floats` set for this call
 * only (nf of them: one cache entry whatever their values, marked MXB_PER_CALL); the result new,
 * or written into `into` (NULL returned). */
mx_ndarray *mxb_eager_call(lua_State *L, const char *op, const char *const *keys, const char *const *values, int n,
                           const char *const *floats, const float *float_values, int nf, mx_ndarray *const *in,
                           int nin, mx_ndarray *into, const char *where);
/* The same for the arithmetic operators: with `scalar`, the operator's `scalar` parameter set for
 * this call (one cache entry per operator, whatever the value); with `into`, output 0 written into
 * that array (the in-place methods; NULL returned). */
mx_ndarray *mxb_eager_into(lua_State *L, const char *op, mx_ndarray *const *in, int nin, mx_ndarray *into,
                           const float *scalar, const char *where);
void mxb_open_eager(lua_State *L); /* eager.c: mx.core.nd_invoke, behind mx.nd.<Op> */
/* The executor behind an mx.Executor value at idx (executor.c); raises otherwise. */
mx_executor *mxb_check_executor(lua_State *L, int idx, const char *where);

#endif
