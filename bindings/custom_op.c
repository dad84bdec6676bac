/* custom_op.c (bindings): the trampoline behind operators written in Lua. The
 * core's Custom operator calls these callbacks; each runs a method of a Lua
 * handler table under lua_pcall (with a traceback), hands it the executor's own
 * arrays as borrowed NDArrays (invalid after the call), and turns a Lua error
 * into an mx_status. No longjmp ever crosses core frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"

#define MAX_IO 64
#define MAX_NAME 128

/* One registered op_type: its handler table (methods list, infer_shape,
 * backward_needs, create_operator, forward, backward) and a thread of its own
 * to run them on, so that a callback never disturbs the caller's stack. */
typedef struct lua_custom {
  lua_State *T;
  int thread_ref, handler_ref;
  char op_type[MAX_NAME];
  char names[MAX_IO][MAX_NAME]; /* list results, read by the core right after the call */
} lua_custom;

/* Registered op_types, one per LuaOp class or register() name: a growing list. */
static lua_custom **registered;
static int nregistered, cap_registered;

/* An operator instance (what create_operator returned), kept in the registry. */
typedef struct lua_custom_op {
  lua_custom *type;
  int ref;
  char node[MAX_NAME]; /* for messages */
} lua_custom_op;

/* One call into Lua: what to push and what to read back. */
typedef struct call {
  lua_custom *c;
  const mx_custom_attrs *attrs;
  const char *node; /* the node's name, for messages */
  const char *method;
  int (*push_args)(lua_State *L, struct call *k, int lent); /* returns the argument count */
  void (*read_results)(lua_State *L, struct call *k, int nres);
  int nresults;
  /* payload */
  int which, *count;
  const char **names;
  int nin, nout, naux;
  mx_custom_shape *sin, *sout, *saux;
  const mx_custom_shape *cin;
  mx_context ctx;
  unsigned *needs;
  lua_custom_op *op;
  void **op_out;
  int is_train;
  const int *req;
  mx_ndarray *const *in, *const *out, *const *aux, *const *out_grad, *const *in_grad;
} call;

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = luaL_tolstring(L, 1, NULL);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static void push_attrs(lua_State *L, const mx_custom_attrs *a) {
  lua_createtable(L, 0, a->n);
  for (int i = 0; i < a->n; i++) {
    lua_pushstring(L, a->values[i]);
    lua_setfield(L, -2, a->keys[i]);
  }
}

static void push_shapes(lua_State *L, int n, const mx_custom_shape *s) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_createtable(L, s[i].ndim, 0);
    for (int d = 0; d < s[i].ndim; d++) {
      lua_pushinteger(L, s[i].dim[d]);
      lua_rawseti(L, -2, d + 1);
    }
    lua_rawseti(L, -2, i + 1);
  }
}

/* A list of borrowed arrays (NULL entries stay nil), lent to this call (mxb_lend_begin). */
static void push_arrays(lua_State *L, int n, mx_ndarray *const *arrays, int lent) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    if (!arrays || !arrays[i]) continue;
    mxb_push_borrowed_ndarray(L, arrays[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

static void push_reqs(lua_State *L, int n, const int *req) {
  static const char *const names[] = {"null", "write", "inplace", "add"};
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, req[i] >= 0 && req[i] <= 3 ? names[req[i]] : "null");
    lua_rawseti(L, -2, i + 1);
  }
}

/* The protected body: runs handler[method](args...) under a traceback, invalidates
 * every lent array whatever happened, then reads the results. */
static int body(lua_State *L) {
  call *k = lua_touserdata(L, 1);
  lua_settop(L, 0);
  lua_pushcfunction(L, traceback); /* 1 */
  mxb_lend_begin(L);               /* 2: arrays lent to this call, and views of them */
  lua_rawgeti(L, LUA_REGISTRYINDEX, k->c->handler_ref);
  if (lua_getfield(L, -1, k->method) != LUA_TFUNCTION)
    return luaL_error(L, "the handler has no method '%s'", k->method);
  lua_remove(L, 3);
  int nargs = k->push_args(L, k, 2);
  int st = lua_pcall(L, nargs, k->nresults, 1);
  mxb_lend_end(L, 2);
  if (st != LUA_OK) return lua_error(L); /* the message, with its traceback */
  if (k->read_results) k->read_results(L, k, lua_gettop(L) - 2);
  return 0;
}

/* A Ctrl-C in the mxlua host hooks the main thread (as lua.c: call, return and count 1);
 * an operator runs on a thread of its own, so this count hook passes that hook on to it:
 * an endless loop in a Lua operator is interrupted like any other. */
static void pass_interrupt(lua_State *L, lua_Debug *ar) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  lua_State *main_thread = lua_tothread(L, -1);
  lua_pop(L, 1);
  if (!main_thread || main_thread == L) return;
  lua_Hook h = lua_gethook(main_thread);
  if (h && h != pass_interrupt && lua_gethookcount(main_thread) == 1 &&
      lua_gethookmask(main_thread) == (LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT))
    h(L, ar);
}

static mx_status run(call *k) {
  lua_State *T = k->c->T;
  int top = lua_gettop(T);
  lua_sethook(T, pass_interrupt, LUA_MASKCOUNT, 1000); /* again each call: the interrupt clears it */
  lua_pushcfunction(T, body);
  lua_pushlightuserdata(T, k);
  mx_status result = MX_OK;
  if (lua_pcall(T, 1, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(T, -1);
    const char *node =
        k->node ? k->node : (k->attrs && k->attrs->node_name ? k->attrs->node_name : "?");
    result = mx_error(MX_ERR_CALLBACK, "Custom operator '%s' (node %s): %s: %s", k->c->op_type,
                      node, k->method, msg ? msg : "(error object is not a string)");
  }
  lua_settop(T, top);
  return result;
}

/* ---- list ---- */
static int list_push(lua_State *L, call *k, int lent) {
  static const char *const which[] = {"arguments", "outputs", "auxiliary_states"};
  push_attrs(L, k->attrs);
  lua_pushstring(L, which[k->which]);
  return 2;
}
static void list_read(lua_State *L, call *k, int nres) {
  int t = lua_gettop(L);
  if (!lua_istable(L, t)) luaL_error(L, "expected a list of names (got %s)", luaL_typename(L, t));
  lua_Integer n = (lua_Integer)lua_rawlen(L, t);
  if (n > MAX_IO) luaL_error(L, "too many names (%d, max %d)", (int)n, MAX_IO);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, t, i);
    const char *s = lua_tostring(L, -1);
    if (!s) luaL_error(L, "name %d is not a string", (int)i);
    strncpy(k->c->names[i - 1], s, MAX_NAME - 1);
    k->c->names[i - 1][MAX_NAME - 1] = 0;
    k->names[i - 1] = k->c->names[i - 1];
    lua_pop(L, 1);
  }
  *k->count = (int)n;
}
static mx_status cb_list(void *self, const mx_custom_attrs *a, int which, int *count,
                         const char **names) {
  call k = {.c = self,
            .attrs = a,
            .method = "list",
            .push_args = list_push,
            .read_results = list_read,
            .nresults = 1,
            .which = which,
            .count = count,
            .names = names};
  *count = 0;
  return run(&k);
}

/* ---- infer_shape ---- */
static int infer_push(lua_State *L, call *k, int lent) {
  push_attrs(L, k->attrs);
  push_shapes(L, k->nin, k->sin);
  lua_pushinteger(L, k->nout); /* how many output and aux shapes the answer must hold */
  lua_pushinteger(L, k->naux);
  return 4;
}
static void read_shapes(lua_State *L, int t, int n, mx_custom_shape *s, const char *what) {
  if (lua_isnoneornil(L, t)) return;
  if (!lua_istable(L, t)) luaL_error(L, "infer_shape: %s shapes must be a list of shapes", what);
  for (int i = 0; i < n; i++) {
    if (lua_rawgeti(L, t, i + 1) == LUA_TTABLE) {
      int nd = (int)lua_rawlen(L, -1);
      if (nd > MX_MAX_NDIM)
        luaL_error(L, "infer_shape: %s shape %d has %d axes (max %d)", what, i + 1, nd,
                   MX_MAX_NDIM);
      for (int d = 0; d < nd; d++) {
        lua_rawgeti(L, -1, d + 1);
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 0)
          luaL_error(L, "infer_shape: %s shape %d: axis %d is not a size", what, i + 1, d + 1);
        s[i].dim[d] = v;
        lua_pop(L, 1);
      }
      if (nd > 0) s[i].ndim = nd;
    }
    lua_pop(L, 1);
  }
}
static void infer_read(lua_State *L, call *k, int nres) {
  int base = lua_gettop(L) - nres;
  read_shapes(L, base + 1, k->nin, k->sin, "input");
  if (nres >= 2) read_shapes(L, base + 2, k->nout, k->sout, "output");
  if (nres >= 3) read_shapes(L, base + 3, k->naux, k->saux, "auxiliary");
}
static mx_status cb_infer_shape(void *self, const mx_custom_attrs *a, int nin, mx_custom_shape *in,
                                int nout, mx_custom_shape *out, int naux, mx_custom_shape *aux) {
  call k = {.c = self,
            .attrs = a,
            .method = "infer_shape",
            .push_args = infer_push,
            .read_results = infer_read,
            .nresults = 3,
            .nin = nin,
            .nout = nout,
            .naux = naux,
            .sin = in,
            .sout = out,
            .saux = aux};
  return run(&k);
}

/* ---- backward_needs ---- */
static int needs_push(lua_State *L, call *k, int lent) {
  push_attrs(L, k->attrs);
  return 1;
}
static void needs_read(lua_State *L, call *k, int nres) {
  int t = lua_gettop(L);
  if (!lua_istable(L, t)) return; /* everything */
  unsigned needs = 0;
  if (lua_getfield(L, t, "in_data") != LUA_TNIL && lua_toboolean(L, -1))
    needs |= MX_CUSTOM_NEEDS_IN_DATA;
  if (lua_getfield(L, t, "out_data") != LUA_TNIL && lua_toboolean(L, -1))
    needs |= MX_CUSTOM_NEEDS_OUT_DATA;
  if (lua_getfield(L, t, "out_grad") != LUA_TNIL && lua_toboolean(L, -1))
    needs |= MX_CUSTOM_NEEDS_OUT_GRAD;
  *k->needs = needs;
}
static mx_status cb_backward_needs(void *self, const mx_custom_attrs *a, unsigned *needs) {
  call k = {.c = self,
            .attrs = a,
            .method = "backward_needs",
            .push_args = needs_push,
            .read_results = needs_read,
            .nresults = 1,
            .needs = needs};
  return run(&k);
}

/* ---- create_operator / free ---- */
static int create_push(lua_State *L, call *k, int lent) {
  push_attrs(L, k->attrs);
  mxb_push_context(L, k->ctx);
  push_shapes(L, k->nin, k->cin);
  return 3;
}
static void create_read(lua_State *L, call *k, int nres) {
  lua_custom_op *op = malloc(sizeof *op);
  if (!op) luaL_error(L, "out of memory");
  op->type = k->c;
  op->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the instance (pops it) */
  const char *node = k->attrs && k->attrs->node_name ? k->attrs->node_name : "?";
  strncpy(op->node, node, MAX_NAME - 1);
  op->node[MAX_NAME - 1] = 0;
  *k->op_out = op;
}
static mx_status cb_create_operator(void *self, const mx_custom_attrs *a, mx_context ctx, int nin,
                                    const mx_custom_shape *in, void **op) {
  *op = NULL;
  call k = {.c = self,
            .attrs = a,
            .method = "create_operator",
            .push_args = create_push,
            .read_results = create_read,
            .nresults = 1,
            .ctx = ctx,
            .nin = nin,
            .cin = in,
            .op_out = op};
  return run(&k);
}
static void cb_free_operator(void *self, void *op) {
  lua_custom_op *o = op;
  if (!o) return;
  luaL_unref(o->type->T, LUA_REGISTRYINDEX, o->ref);
  free(o);
}

/* ---- forward / backward ---- */
static int forward_push(lua_State *L, call *k, int lent) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, k->op->ref);
  lua_pushboolean(L, k->is_train);
  push_reqs(L, k->nout, k->req);
  push_arrays(L, k->nin, k->in, lent);
  push_arrays(L, k->nout, k->out, lent);
  push_arrays(L, k->naux, k->aux, lent);
  return 6;
}
static mx_status cb_forward(void *self, void *op, int is_train, const int *req, int nin,
                            mx_ndarray *const *in, int nout, mx_ndarray *const *out, int naux,
                            mx_ndarray *const *aux) {
  call k = {.c = self,
            .node = ((lua_custom_op *)op)->node,
            .method = "forward",
            .push_args = forward_push,
            .nresults = 0,
            .op = op,
            .is_train = is_train,
            .req = req,
            .nin = nin,
            .in = in,
            .nout = nout,
            .out = out,
            .naux = naux,
            .aux = aux};
  return run(&k);
}
static int backward_push(lua_State *L, call *k, int lent) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, k->op->ref);
  push_reqs(L, k->nin, k->req);
  push_arrays(L, k->nout, k->out_grad, lent);
  push_arrays(L, k->nin, k->in, lent);
  push_arrays(L, k->nout, k->out, lent);
  push_arrays(L, k->nin, k->in_grad, lent);
  push_arrays(L, k->naux, k->aux, lent);
  return 7;
}
static mx_status cb_backward(void *self, void *op, const int *req, int nout,
                             mx_ndarray *const *out_grad, int nin, mx_ndarray *const *in,
                             mx_ndarray *const *out, mx_ndarray *const *in_grad, int naux,
                             mx_ndarray *const *aux) {
  call k = {.c = self,
            .node = ((lua_custom_op *)op)->node,
            .method = "backward",
            .push_args = backward_push,
            .nresults = 0,
            .op = op,
            .req = req,
            .nin = nin,
            .nout = nout,
            .naux = naux,
            .out_grad = out_grad,
            .in = in,
            .out = out,
            .in_grad = in_grad,
            .aux = aux};
  return run(&k);
}

/* custom_op_register(op_type, handler): handler is a table of the methods above. */
static int l_custom_op_register(lua_State *L) {
  const char *where = "mx.operator.register";
  const char *op_type = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (strlen(op_type) >= MAX_NAME)
    return luaL_error(L, "%s: op_type '%s' is too long", where, op_type);
  lua_custom *c = NULL;
  for (int i = 0; i < nregistered; i++)
    if (!strcmp(registered[i]->op_type, op_type)) c = registered[i];
  if (!c) {
    if (nregistered == cap_registered) {
      int cap = cap_registered ? 2 * cap_registered : 16;
      lua_custom **grown = realloc(registered, (size_t)cap * sizeof *grown);
      if (!grown) return luaL_error(L, "%s: out of memory", where);
      registered = grown;
      cap_registered = cap;
    }
    c = calloc(1, sizeof *c);
    if (!c) return luaL_error(L, "%s: out of memory", where);
    strcpy(c->op_type, op_type);
    c->T = lua_newthread(L);
    c->thread_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    c->handler_ref = LUA_NOREF;
    registered[nregistered++] = c;
  }
  lua_pushvalue(L, 2);
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_unref(L, LUA_REGISTRYINDEX, c->handler_ref);
  c->handler_ref = ref;
  mx_custom_op_callbacks cb = {.self = c,
                               .list = cb_list,
                               .infer_shape = cb_infer_shape,
                               .backward_needs = cb_backward_needs,
                               .create_operator = cb_create_operator,
                               .forward = cb_forward,
                               .backward = cb_backward,
                               .free_operator = cb_free_operator};
  mxb_check(L, mx_custom_op_register(op_type, &cb), where);
  return 0;
}

/* Debug mode (mx.operator.debug): the arrays a method must write are filled with a NaN
 * of our own bits first; custom_op_unwritten counts the elements still holding it. */
#define UNWRITTEN_BITS 0x7fd1ee7du
static float unwritten_marker(void) {
  uint32_t bits = UNWRITTEN_BITS;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}
static int l_custom_op_poison(lua_State *L) {
  const char *where = "mx.operator (debug)";
  mxb_check(L, mx_ndarray_fill(mxb_check_ndarray(L, 1, where), unwritten_marker()), where);
  return 0;
}
static int l_custom_op_unwritten(lua_State *L) {
  const char *where = "mx.operator (debug)";
  mx_ndarray *a = mxb_check_ndarray(L, 1, where);
  int64_t n = mx_ndarray_size(a), left = 0;
  float *host = malloc((size_t)(n > 0 ? n : 1) * sizeof *host);
  if (!host) return luaL_error(L, "%s: out of memory", where);
  mx_status st = mx_ndarray_to_host(a, host, n);
  for (int64_t i = 0; st == MX_OK && i < n; i++) {
    uint32_t bits;
    memcpy(&bits, &host[i], sizeof bits);
    left += bits == UNWRITTEN_BITS;
  }
  free(host);
  mxb_check(L, st, where);
  lua_pushinteger(L, (lua_Integer)left);
  return 1;
}

static int l_custom_op_registered(lua_State *L) {
  lua_pushboolean(L, mx_custom_op_registered(luaL_checkstring(L, 1)));
  return 1;
}

void mxb_open_custom_op(lua_State *L) {
  static const luaL_Reg fns[] = {{"custom_op_register", l_custom_op_register},
                                 {"custom_op_registered", l_custom_op_registered},
                                 {"custom_op_poison", l_custom_op_poison},
                                 {"custom_op_unwritten", l_custom_op_unwritten},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
