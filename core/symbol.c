/* symbol.c: the symbol graph: nodes, automatic naming (MXNet's rules),
 * composition, list_arguments/outputs/auxiliary_states, Group, get_internals,
 * attributes, printing; and the indexed graph (topological order) built from it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* ---- nodes ---- */

/* Frees one node whose count reached 0; its inputs whose counts reach 0 in turn are pushed on
 * *todo, so that a chain of any length is freed in a loop, not by recursion. */
static void node_free(mx_node *n, mx_node **todo) {
  for (int i = 0; i < n->nargs + n->naux; i++) {
    mx_node *c = n->inputs[i].node;
    if (c && --c->refcount == 0) {
      c->dead_next = *todo;
      *todo = c;
    }
  }
  for (int i = 0; i < n->nattrs; i++) {
    free(n->keys[i]);
    free(n->values[i]);
  }
  free(n->keys);
  free(n->values);
  free(n->inputs);
  free(n->name);
  free(n);
}

/* Releasing the last reference frees the node and releases its inputs. */
void mx_node_release(mx_node *n) {
  if (!n || --n->refcount > 0) return;
  n->dead_next = NULL;
  while (n) {
    mx_node *next = n->dead_next;
    node_free(n, &next);
    n = next;
  }
}

mx_node *mx_node_retain(mx_node *n) {
  n->refcount++;
  return n;
}

mx_node *mx_node_new(const mx_op *op, const char *name) {
  mx_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->refcount = 1;
  n->op = op;
  n->name = dupstr(name);
  if (!n->name) {
    free(n);
    return NULL;
  }
  n->noutputs = n->nvisible = 1;
  return n;
}

/* Sets key = value in the node's attributes (replacing an existing one). */
mx_status mx_node_set_attr(mx_node *n, const char *key, const char *value) {
  if (strcmp(key, "__shape__") == 0) { /* a declared shape is refused when bad, never cut or bent */
    int64_t d[MX_MAX_NDIM];
    int nd;
    int ok = mx_shape_parse(value, d, &nd) == MX_OK;
    for (int i = 0; ok && i < nd; i++) ok = d[i] >= 0;
    if (!ok)
      return mx_error_at(MX_ERR_ARG,
                      "mx_symbol_set_attr", "%s: bad shape '%s' (expected up to %d dimensions >= 0 (0: unknown), "
                      "such as (2,3))",
                      n->name, value, MX_MAX_NDIM);
  }
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->keys[i], key) == 0) {
      char *v = dupstr(value);
      if (!v) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_set_attr", "out of memory");
      free(n->values[i]);
      n->values[i] = v;
      return MX_OK;
    }
  char **k = realloc(n->keys, (size_t)(n->nattrs + 1) * sizeof *k);
  if (!k) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_set_attr", "out of memory");
  n->keys = k;
  char **v = realloc(n->values, (size_t)(n->nattrs + 1) * sizeof *v);
  if (!v) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_set_attr", "out of memory");
  n->values = v;
  k[n->nattrs] = dupstr(key);
  v[n->nattrs] = dupstr(value);
  if (!k[n->nattrs] || !v[n->nattrs]) {
    free(k[n->nattrs]);
    free(v[n->nattrs]);
    return mx_error_at(MX_ERR_NOMEM, "mx_symbol_set_attr", "out of memory");
  }
  n->nattrs++;
  return MX_OK;
}

const char *mx_node_attr(const mx_node *n, const char *key) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->keys[i], key) == 0) return n->values[i];
  return NULL;
}

mx_shape mx_node_declared_shape(const mx_node *n) {
  mx_shape s = {0, {0}};
  const char *v = mx_node_attr(n, "__shape__");
  if (!v) return s;
  if (mx_shape_parse(v, s.dim, &s.ndim) != MX_OK) s.ndim = 0; /* (checked when set) */
  for (int i = 0; i < s.ndim; i++)
    if (s.dim[i] <= 0) s.ndim = 0; /* a partial shape (0 = unknown) tells nothing here */
  return s;
}

/* Copies a list answer, checking that it fits. */
static mx_status check_list(const mx_node *n, const char *what, int count, const char *const *names,
                           const char **into, int room) {
  if (count < 0) return MX_ERR_ARG; /* the operator's list failed; its message is recorded */
  if (count > room)
    return mx_op_error(&n->attrs, MX_ERR_ARG, "too many %s (%d, max %d)", what, count, room);
  for (int i = 0; i < count; i++) into[i] = names[i];
  return MX_OK;
}

/* (Re)parses an op node's parameters and asks its operator for its input and output
 * names, once: the answers are kept in the node (n->attrs.listed) and every later
 * reader gets them. `like`, a node with the same operator and attributes (the
 * original of a copy), gives its kept answers instead of asking again, so that a
 * copy never disagrees with the node it copies. */
mx_status mx_node_parse_like(mx_node *n, const mx_node *like) {
  mx_status st = mx_op_parse_params(n->op, n->name, n->nattrs, n->keys, n->values, &n->attrs);
  if (st != MX_OK) return st;
  const char *args[MX_OP_MAX_IO], *aux[MX_OP_MAX_IO], *outs[MX_OP_MAX_IO];
  const mx_op_attrs *src = like && like->op == n->op && like->attrs.listed ? &like->attrs : NULL;
  int nargs = mx_op_arguments(src ? src : &n->attrs, args);
  st = check_list(n, "arguments", nargs, args, args, MX_OP_MAX_IO);
  int naux = st == MX_OK ? mx_op_aux_states(src ? src : &n->attrs, aux) : 0;
  if (st == MX_OK) st = check_list(n, "inputs", naux, aux, aux, MX_OP_MAX_IO - nargs);
  int nout = st == MX_OK ? mx_op_outputs_all(src ? src : &n->attrs, outs) : 0;
  if (st == MX_OK) st = check_list(n, "outputs", nout, outs, outs, MX_OP_MAX_IO);
  if (st != MX_OK) return st;
  if (nout == 0) return mx_op_error(&n->attrs, MX_ERR_ARG, "lists no outputs");
  if (n->inputs && (nargs + naux != n->nargs + n->naux || nout != n->noutputs))
    return mx_op_error(&n->attrs, MX_ERR_STATE, "the change alters the inputs or outputs");
  for (int i = 0; i < nargs; i++) n->in_names[i] = args[i];
  for (int i = 0; i < naux; i++) n->in_names[nargs + i] = aux[i];
  for (int i = 0; i < nout; i++) n->out_names[i] = outs[i];
  n->nargs = nargs;
  n->naux = naux;
  n->noutputs = nout;
  n->attrs.nargs = nargs;
  n->attrs.naux = naux;
  n->attrs.noutputs = nout;
  n->attrs.arg_names = n->in_names;
  n->attrs.aux_names = n->in_names + nargs;
  n->attrs.out_names = n->out_names;
  n->attrs.bwd_needs = src                     ? src->bwd_needs
                       : n->op->backward_needs ? n->op->backward_needs(&n->attrs)
                                               : n->op->flags;
  n->attrs.listed = 1;
  n->nvisible = n->op->num_visible_outputs ? n->op->num_visible_outputs(&n->attrs)
                                           : n->noutputs - n->op->hidden_outputs;
  if (n->nvisible <= 0 || n->nvisible > n->noutputs)
    return mx_op_error(&n->attrs, MX_ERR_INTERNAL, "%d visible outputs of %d", n->nvisible,
                       n->noutputs);
  if (!n->inputs) {
    n->inputs = calloc((size_t)(nargs + naux) + 1, sizeof *n->inputs);
    if (!n->inputs) return mx_error(MX_ERR_NOMEM, "out of memory");
  }
  return MX_OK;
}

mx_status mx_node_parse(mx_node *n) {
  return mx_node_parse_like(n, NULL);
}

const char *mx_entry_name(const mx_node *n, int index, char *buf, size_t len) {
  if (!n->op) return n->name;
  snprintf(buf, len, "%s_%s", n->name, n->out_names[index]);
  return buf;
}

/* ---- automatic names: one process-wide counter per lower-cased operator name ---- */

typedef struct name_counter {
  char hint[64];
  int count;
} name_counter;
static name_counter counters[256];
static int ncounters;

static void auto_name(const char *op_name, char *buf, size_t len) {
  char hint[64];
  size_t i = 0;
  for (; i < sizeof hint - 1 && op_name[i]; i++) hint[i] = (char)tolower((unsigned char)op_name[i]);
  hint[i] = 0;
  int k = 0;
  while (k < ncounters && strcmp(counters[k].hint, hint) != 0) k++;
  if (k == ncounters && ncounters < 256) {
    snprintf(counters[k].hint, sizeof counters[k].hint, "%s", hint);
    counters[k].count = 0;
    ncounters++;
  }
  snprintf(buf, len, "%s%d", hint, k < 256 ? counters[k].count++ : 0);
}

/* ---- symbols ---- */

mx_symbol *mx_symbol_new(int nheads) {
  mx_symbol *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->refcount = 1;
  s->nheads = nheads;
  s->heads = calloc((size_t)nheads + 1, sizeof *s->heads);
  if (!s->heads) {
    free(s);
    return NULL;
  }
  return s;
}

mx_symbol *mx_symbol_retain(mx_symbol *s) {
  if (s) s->refcount++;
  return s;
}

static void clear_cache(mx_symbol *s) {
  for (int i = 0; i < s->ncache; i++) free(s->cache[i]);
  free(s->cache);
  free(s->list);
  s->cache = NULL;
  s->list = NULL;
  s->ncache = 0;
}

void mx_symbol_release(mx_symbol *s) {
  if (!s || --s->refcount > 0) return;
  for (int i = 0; i < s->nheads; i++) mx_node_release(s->heads[i].node);
  clear_cache(s);
  free(s->heads);
  free(s);
}

mx_status mx_symbol_variable(const char *name, mx_symbol **out) {
  if (!name || !*name) return mx_error_at(MX_ERR_ARG, "mx_symbol_variable", "a variable needs a name");
  mx_symbol *s = mx_symbol_new(1);
  mx_node *n = s ? mx_node_new(NULL, name) : NULL;
  if (!n) {
    mx_symbol_release(s);
    return mx_error_at(MX_ERR_NOMEM, "mx_symbol_variable", "out of memory");
  }
  s->heads[0] = (mx_entry){n, 0};
  *out = s;
  return MX_OK;
}

mx_status mx_symbol_create_op(const char *op_name, const char *name, const char *const *keys,
                              const char *const *values, int n, mx_symbol **out) {
  const mx_op *op = mx_op_find(op_name);
  if (!op)
    return mx_error_at(MX_ERR_ARG, "mx_symbol_create_op", "unknown operator '%s'",
                    op_name ? op_name : "(null)");
  char autoname[96];
  if (!name || !*name) {
    auto_name(op->name, autoname, sizeof autoname);
    name = autoname;
  }
  mx_node *node = mx_node_new(op, name);
  if (!node) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_create_op", "out of memory");
  mx_status st = MX_OK;
  for (int i = 0; i < n && st == MX_OK; i++) st = mx_node_set_attr(node, keys[i], values[i]);
  if (st == MX_OK) st = mx_node_parse(node);
  if (st != MX_OK) {
    mx_node_release(node);
    return MX_ERR_FRAME(st, "mx_symbol_create_op");
  }
  mx_symbol *s = mx_symbol_new(node->nvisible);
  if (!s) {
    mx_node_release(node);
    return mx_error_at(MX_ERR_NOMEM, "mx_symbol_create_op", "out of memory");
  }
  for (int i = 0; i < node->nvisible; i++)
    s->heads[i] = (mx_entry){i ? mx_node_retain(node) : node, i};
  *out = s;
  return MX_OK;
}

int mx_symbol_num_outputs(const mx_symbol *s) {
  return s->nheads;
}

const char *mx_symbol_name(const mx_symbol *s) {
  if (s->nheads == 0) return NULL;
  for (int i = 1; i < s->nheads; i++)
    if (s->heads[i].node != s->heads[0].node) return NULL;
  return s->heads[0].node->name;
}

const char *mx_symbol_op_name(const mx_symbol *s) {
  if (!mx_symbol_name(s) || !s->heads[0].node->op) return NULL;
  return s->heads[0].node->op->name;
}

/* ---- depth-first traversal ---- */

typedef struct visit {
  mx_node **nodes;
  int n, cap;
  unsigned walk; /* this walk's number (mx_node.walk) */
} visit;

static unsigned walks; /* walks so far: each walk marks the nodes it reaches with its number */

static int visited(const visit *v, const mx_node *n) {
  return n->walk == v->walk && n->walk_state == 2;
}

/* Post-order DFS from the heads, each node once (iterative, so deep nets do not
 * exhaust the C stack; marks on the nodes, so linear in their number). Inputs are
 * visited left to right. Each node reached gets its position (walk_index) and whether
 * an aux-state slot uses it (walk_aux). */
static mx_status topo_order(const mx_symbol *s, visit *v) {
  v->n = 0;
  v->cap = 16;
  v->walk = ++walks;
  if (v->walk == 0) v->walk = ++walks; /* 0 is every new node's mark */
  v->nodes = malloc((size_t)v->cap * sizeof *v->nodes);
  int scap = 16, sn = 0;
  struct frame {
    mx_node *node;
    int next;
  } *stack = malloc((size_t)scap * sizeof *stack);
  if (!v->nodes || !stack) goto nomem;
  for (int h = 0; h < s->nheads; h++) {
    if (visited(v, s->heads[h].node)) continue;
    s->heads[h].node->walk = v->walk;
    s->heads[h].node->walk_state = 1;
    stack[sn++] = (struct frame){s->heads[h].node, 0};
    while (sn > 0) {
      struct frame *f = &stack[sn - 1];
      int nin = f->node->nargs + f->node->naux;
      if (f->next < nin) {
        mx_node *c = f->node->inputs[f->next++].node;
        if (!c || c->walk == v->walk) continue; /* done, or on the stack */
        if (sn == scap) {
          scap *= 2;
          void *p = realloc(stack, (size_t)scap * sizeof *stack);
          if (!p) goto nomem;
          stack = p;
        }
        c->walk = v->walk;
        c->walk_state = 1;
        stack[sn++] = (struct frame){c, 0};
      } else {
        if (v->n == v->cap) {
          v->cap *= 2;
          void *p = realloc(v->nodes, (size_t)v->cap * sizeof *v->nodes);
          if (!p) goto nomem;
          v->nodes = p;
        }
        f->node->walk_state = 2;
        f->node->walk_index = v->n;
        v->nodes[v->n++] = f->node;
        sn--;
      }
    }
  }
  for (int i = 0; i < v->n; i++) {
    const mx_node *n = v->nodes[i];
    for (int j = n->nargs; j < n->nargs + n->naux; j++)
      if (n->inputs[j].node) n->inputs[j].node->walk_aux = v->walk;
  }
  free(stack);
  return MX_OK;
nomem:
  free(stack);
  free(v->nodes);
  v->nodes = NULL;
  return mx_error_at(MX_ERR_NOMEM, "mx_symbol", "out of memory while walking the graph");
}

/* Is variable node `n` used in an aux-state slot? */
static int is_aux_var(const visit *v, const mx_node *var) {
  return var->walk_aux == v->walk;
}

/* Hands out a list of names owned by the symbol's cache. */
static mx_status keep_list(mx_symbol *s, char **names, int n, const char *const **out, int *nout) {
  clear_cache(s);
  s->cache = names;
  s->ncache = n;
  s->list = malloc((size_t)(n + 1) * sizeof *s->list);
  if (!s->list) return mx_error_at(MX_ERR_NOMEM, "mx_symbol", "out of memory");
  for (int i = 0; i < n; i++) s->list[i] = names[i];
  s->list[n] = NULL;
  *out = s->list;
  *nout = n;
  return MX_OK;
}

static mx_status list_vars(mx_symbol *s, int want_aux, const char *const **names, int *n) {
  visit v;
  mx_status st = topo_order(s, &v);
  if (st != MX_OK) return st;
  char **list = calloc((size_t)v.n + 1, sizeof *list);
  int k = 0;
  for (int i = 0; list && i < v.n; i++)
    if (!v.nodes[i]->op && is_aux_var(&v, v.nodes[i]) == want_aux)
      list[k++] = dupstr(v.nodes[i]->name);
  free(v.nodes);
  if (!list) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_list_arguments", "out of memory");
  return keep_list(s, list, k, names, n);
}

mx_status mx_symbol_list_arguments(mx_symbol *s, const char *const **names, int *n) {
  return list_vars(s, 0, names, n);
}

mx_status mx_symbol_list_auxiliary_states(mx_symbol *s, const char *const **names, int *n) {
  return list_vars(s, 1, names, n);
}

mx_status mx_symbol_list_outputs(mx_symbol *s, const char *const **names, int *n) {
  char **list = calloc((size_t)s->nheads + 1, sizeof *list);
  if (!list) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_list_outputs", "out of memory");
  for (int i = 0; i < s->nheads; i++) {
    char buf[256];
    list[i] = dupstr(mx_entry_name(s->heads[i].node, s->heads[i].index, buf, sizeof buf));
  }
  return keep_list(s, list, s->nheads, names, n);
}

mx_status mx_symbol_group(mx_symbol *const *syms, int n, mx_symbol **out) {
  int total = 0;
  for (int i = 0; i < n; i++) total += syms[i]->nheads;
  mx_symbol *s = mx_symbol_new(total);
  if (!s) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_group", "out of memory");
  int k = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < syms[i]->nheads; j++) {
      s->heads[k] = syms[i]->heads[j];
      mx_node_retain(s->heads[k++].node);
    }
  *out = s;
  return MX_OK;
}

mx_status mx_symbol_get_output(mx_symbol *s, int index, mx_symbol **out) {
  if (index < 0 || index >= s->nheads)
    return mx_error_at(MX_ERR_ARG,
                    "mx_symbol_get_output", "index %d out of range (the symbol has %d outputs)",
                    index, s->nheads);
  mx_symbol *r = mx_symbol_new(1);
  if (!r) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_get_output", "out of memory");
  r->heads[0] = s->heads[index];
  mx_node_retain(r->heads[0].node);
  *out = r;
  return MX_OK;
}

mx_status mx_symbol_get_internals(mx_symbol *s, mx_symbol **out) {
  visit v;
  mx_status st = topo_order(s, &v);
  if (st != MX_OK) return st;
  int total = 0;
  for (int i = 0; i < v.n; i++) total += v.nodes[i]->nvisible;
  mx_symbol *r = mx_symbol_new(total);
  if (!r) {
    free(v.nodes);
    return mx_error_at(MX_ERR_NOMEM, "mx_symbol_get_internals", "out of memory");
  }
  int k = 0;
  for (int i = 0; i < v.n; i++)
    for (int j = 0; j < v.nodes[i]->nvisible; j++)
      r->heads[k++] = (mx_entry){mx_node_retain(v.nodes[i]), j};
  free(v.nodes);
  *out = r;
  return MX_OK;
}

/* ---- composition ---- */

mx_status mx_node_make_missing_vars(mx_node *n) {
  for (int i = 0; i < n->nargs + n->naux; i++) {
    if (n->inputs[i].node) continue;
    char name[256];
    snprintf(name, sizeof name, "%s_%s", n->name, n->in_names[i]);
    mx_node *v = mx_node_new(NULL, name);
    if (!v) return mx_error_at(MX_ERR_NOMEM, "mx_symbol_compose", "out of memory");
    n->inputs[i] = (mx_entry){v, 0};
  }
  return MX_OK;
}

static mx_status one_output(mx_symbol *arg, const char *what, mx_entry *e) {
  if (arg->nheads != 1)
    return mx_error_at(MX_ERR_ARG, "mx_symbol_compose", "input %s has %d outputs (expected 1)", what,
                    arg->nheads);
  *e = arg->heads[0];
  return MX_OK;
}

static mx_status compose_atomic(mx_node *n, const char *const *keys, mx_symbol *const *args,
                                int nargs) {
  mx_entry given[MX_OP_MAX_IO] = {{0}};
  int npos = 0;
  for (int i = 0; i < nargs; i++) {
    int slot = -1;
    if (!keys || !keys[i]) {
      slot = npos++;
      if (slot >= n->nargs + n->naux)
        return mx_error_at(MX_ERR_ARG,
                        "mx_symbol_compose", "%s %s: too many inputs (got %d, expected at most %d)",
                        n->op->name, n->name, slot + 1, n->nargs + n->naux);
    } else {
      for (int j = 0; j < n->nargs + n->naux && slot < 0; j++)
        if (strcmp(n->in_names[j], keys[i]) == 0) slot = j;
      if (slot < 0) {
        char valid[512] = "";
        size_t len = 0;
        for (int j = 0; j < n->nargs + n->naux && len < sizeof valid; j++)
          len += (size_t)snprintf(valid + len, sizeof valid - len, "%s%s", j ? ", " : "",
                                  n->in_names[j]);
        return mx_error_at(MX_ERR_ARG, "mx_symbol_compose", "%s %s: no input named '%s' (inputs: %s)",
                        n->op->name, n->name, keys[i], valid);
      }
    }
    if (given[slot].node)
      return mx_error_at(MX_ERR_ARG, "mx_symbol_compose", "%s %s: input '%s' given twice", n->op->name,
                      n->name, n->in_names[slot]);
    mx_status st = one_output(args[i], n->in_names[slot], &given[slot]);
    if (st != MX_OK) return st;
  }
  for (int j = 0; j < n->nargs + n->naux; j++)
    if (given[j].node) n->inputs[j] = (mx_entry){mx_node_retain(given[j].node), given[j].index};
  n->composed = 1;
  return mx_node_make_missing_vars(n);
}

/* A copy of the graph above `s` where variables named in `names` become `repl`. */
typedef struct copy_map {
  mx_node **from, **to;
  int n;
} copy_map;

static mx_status copy_graph(mx_symbol *s, const char **names, const mx_entry *repl, int nrepl,
                            int *used, mx_symbol **out) {
  visit v;
  mx_status st = topo_order(s, &v);
  if (st != MX_OK) return st;
  mx_node **to = calloc((size_t)v.n + 1, sizeof *to);
  mx_entry *vrepl = calloc((size_t)v.n + 1, sizeof *vrepl);
  if (!to || !vrepl) st = mx_error_at(MX_ERR_NOMEM, "mx_symbol_compose", "out of memory");
  for (int i = 0; st == MX_OK && i < v.n; i++) {
    mx_node *n = v.nodes[i];
    if (!n->op) {
      for (int r = 0; r < nrepl; r++)
        if (strcmp(names[r], n->name) == 0) {
          vrepl[i] = repl[r];
          used[r] = 1;
        }
      if (vrepl[i].node) continue;
    }
    mx_node *c = mx_node_new(n->op, n->name);
    if (!c) {
      st = mx_error_at(MX_ERR_NOMEM, "mx_symbol_compose", "out of memory");
      break;
    }
    to[i] = c;
    for (int a = 0; st == MX_OK && a < n->nattrs; a++)
      st = mx_node_set_attr(c, n->keys[a], n->values[a]);
    if (st == MX_OK && n->op) st = mx_node_parse_like(c, n);
    if (st != MX_OK) {
      MX_ERR_FRAME(st, "mx_symbol_compose");
      break;
    }
    c->composed = 1;
    for (int j = 0; j < n->nargs + n->naux; j++) {
      mx_node *src = n->inputs[j].node;
      int k = src->walk_index;
      mx_entry e = vrepl[k].node ? vrepl[k] : (mx_entry){to[k], n->inputs[j].index};
      c->inputs[j] = (mx_entry){mx_node_retain(e.node), e.index};
    }
  }
  mx_symbol *r = st == MX_OK ? mx_symbol_new(s->nheads) : NULL;
  if (st == MX_OK && !r) st = mx_error_at(MX_ERR_NOMEM, "mx_symbol_compose", "out of memory");
  for (int h = 0; r && h < s->nheads; h++) {
    int k = s->heads[h].node->walk_index;
    mx_entry e = vrepl[k].node ? vrepl[k] : (mx_entry){to[k], s->heads[h].index};
    r->heads[h] = (mx_entry){mx_node_retain(e.node), e.index};
  }
  for (int i = 0; to && i < v.n; i++)
    if (to[i]) mx_node_release(to[i]);
  free(to);
  free(vrepl);
  free(v.nodes);
  if (st == MX_OK) *out = r;
  return st;
}

mx_status mx_symbol_compose(mx_symbol *sym, const char *const *keys, mx_symbol *const *args, int n,
                            mx_symbol **out) {
  mx_node *head = sym->nheads ? sym->heads[0].node : NULL;
  if (head && head->op && !head->composed && mx_symbol_name(sym)) {
    mx_status st = compose_atomic(head, keys, args, n);
    if (st != MX_OK) return st;
    *out = mx_symbol_retain(sym);
    return MX_OK;
  }
  const char *names[MX_OP_MAX_IO];
  mx_entry repl[MX_OP_MAX_IO];
  int used[MX_OP_MAX_IO] = {0};
  if (n > MX_OP_MAX_IO) return mx_error_at(MX_ERR_ARG, "mx_symbol_compose", "too many inputs (%d)", n);
  const char *const *argnames = NULL;
  int nargnames = 0;
  int positional = 0;
  for (int i = 0; i < n; i++) positional |= !keys || !keys[i];
  if (positional) {
    mx_status st = mx_symbol_list_arguments(sym, &argnames, &nargnames);
    if (st != MX_OK) return st;
  }
  /* argnames live in sym's cache, which copy_graph does not touch */
  for (int i = 0, pos = 0; i < n; i++) {
    if (!keys || !keys[i]) {
      if (pos >= nargnames)
        return mx_error_at(
            MX_ERR_ARG,
            "mx_symbol_compose", "too many positional inputs (got %d, the symbol has %d arguments)",
            pos + 1, nargnames);
      names[i] = argnames[pos++];
    } else {
      names[i] = keys[i];
    }
    mx_status st = one_output(args[i], names[i], &repl[i]);
    if (st != MX_OK) return st;
  }
  mx_status st = copy_graph(sym, names, repl, n, used, out);
  if (st != MX_OK) return st;
  for (int i = 0; i < n; i++)
    if (!used[i]) {
      mx_symbol_release(*out);
      *out = NULL;
      return mx_error_at(MX_ERR_ARG, "mx_symbol_compose", "the symbol has no argument named '%s'",
                      names[i]);
    }
  return MX_OK;
}

/* ---- attributes ---- */

const char *mx_symbol_get_attr(const mx_symbol *s, const char *key) {
  if (!mx_symbol_name(s)) return NULL;
  const mx_node *n = s->heads[0].node;
  const char *v = mx_node_attr(n, key);
  if (v) return v;
  char wrapped[256];
  snprintf(wrapped, sizeof wrapped, "__%s__", key);
  return mx_node_attr(n, wrapped);
}

mx_status mx_symbol_set_attr(mx_symbol *s, const char *key, const char *value) {
  if (!mx_symbol_name(s))
    return mx_error_at(MX_ERR_ARG, "mx_symbol_set_attr", "a group has no attributes of its own");
  mx_node *n = s->heads[0].node;
  mx_status st = mx_node_set_attr(n, key, value);
  if (st == MX_OK && n->op) st = mx_node_parse(n);
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_symbol_set_attr");
}

int mx_symbol_list_attr(const mx_symbol *s, const char *const **keys, const char *const **values) {
  if (!mx_symbol_name(s)) {
    *keys = *values = NULL;
    return 0;
  }
  const mx_node *n = s->heads[0].node;
  *keys = (const char *const *)n->keys;
  *values = (const char *const *)n->values;
  return n->nattrs;
}

char *mx_symbol_str(const mx_symbol *s) {
  size_t cap = 256, len = 0;
  char *buf = malloc(cap);
  if (!buf) return NULL;
#define APPEND(...)                                                                                \
  do {                                                                                             \
    int need = snprintf(buf + len, cap - len, __VA_ARGS__);                                        \
    if (need < 0) break;                                                                           \
    if ((size_t)need >= cap - len) {                                                               \
      cap = (cap + (size_t)need) * 2;                                                              \
      char *p = realloc(buf, cap);                                                                 \
      if (!p) {                                                                                    \
        free(buf);                                                                                 \
        return NULL;                                                                               \
      }                                                                                            \
      buf = p;                                                                                     \
      snprintf(buf + len, cap - len, __VA_ARGS__);                                                 \
    }                                                                                              \
    len += (size_t)need;                                                                           \
  } while (0)
  if (!mx_symbol_name(s)) {
    APPEND("[Symbol group:");
    for (int i = 0; i < s->nheads; i++) {
      char nb[256];
      APPEND("%s %s", i ? "," : "",
             mx_entry_name(s->heads[i].node, s->heads[i].index, nb, sizeof nb));
    }
    APPEND("]");
    return buf;
  }
  const mx_node *n = s->heads[0].node;
  if (!n->op) {
    APPEND("[Symbol %s]", n->name);
    return buf;
  }
  APPEND("[Symbol %s: %s", n->name, n->op->name);
  for (n = n->nargs ? n->inputs[0].node : NULL; n; n = n->op && n->nargs ? n->inputs[0].node : NULL)
    APPEND(" <- %s", n->name);
  APPEND("]");
#undef APPEND
  return buf;
}

/* ---- the indexed graph ---- */

void mx_graph_free(mx_graph *g) {
  free(g->nodes);
  free(g->entry_base);
  free(g->in_off);
  free(g->in_entry);
  free(g->arg_nodes);
  free(g->aux_nodes);
  free(g->head_entry);
  free(g->entry_node);
  memset(g, 0, sizeof *g);
}

/* n's position in the graph (set by the walk that built it). */
static int node_index(const mx_graph *g, const mx_node *n) {
  (void)g;
  return n->walk_index;
}

mx_status mx_graph_build(const mx_symbol *s, mx_graph *g) {
  memset(g, 0, sizeof *g);
  visit v;
  mx_status st = topo_order(s, &v);
  if (st != MX_OK) return st;
  g->nodes = v.nodes;
  g->nnodes = v.n;
  int nin = 0;
  for (int i = 0; i < v.n; i++) {
    if (v.nodes[i]->op && !v.nodes[i]->composed)
      return mx_graph_free(g), mx_error_at(MX_ERR_STATE, "mx_symbol", "%s %s was never given its inputs",
                                        v.nodes[i]->op->name, v.nodes[i]->name);
    g->nentries += v.nodes[i]->noutputs;
    nin += v.nodes[i]->nargs + v.nodes[i]->naux;
  }
  g->entry_base = malloc((size_t)(v.n + 1) * sizeof(int));
  g->in_off = malloc((size_t)(v.n + 1) * sizeof(int));
  g->in_entry = malloc((size_t)(nin + 1) * sizeof(int));
  g->arg_nodes = malloc((size_t)(v.n + 1) * sizeof(int));
  g->aux_nodes = malloc((size_t)(v.n + 1) * sizeof(int));
  g->head_entry = malloc((size_t)(s->nheads + 1) * sizeof(int));
  g->entry_node = malloc((size_t)(g->nentries + 1) * sizeof(int));
  if (!g->entry_base || !g->in_off || !g->in_entry || !g->arg_nodes || !g->aux_nodes ||
      !g->head_entry || !g->entry_node) {
    mx_graph_free(g);
    return mx_error_at(MX_ERR_NOMEM, "mx_symbol", "out of memory while indexing the graph");
  }
  int e = 0, k = 0;
  for (int i = 0; i < v.n; i++) {
    g->entry_base[i] = e;
    for (int j = 0; j < v.nodes[i]->noutputs; j++) g->entry_node[e++] = i;
    g->in_off[i] = k;
    for (int j = 0; j < v.nodes[i]->nargs + v.nodes[i]->naux; j++) {
      const mx_entry *in = &v.nodes[i]->inputs[j];
      g->in_entry[k++] = g->entry_base[node_index(g, in->node)] + in->index;
    }
    if (!v.nodes[i]->op) {
      if (is_aux_var(&v, v.nodes[i]))
        g->aux_nodes[g->naux++] = i;
      else
        g->arg_nodes[g->nargs++] = i;
    }
  }
  g->in_off[v.n] = k;
  g->nheads = s->nheads;
  for (int h = 0; h < s->nheads; h++)
    g->head_entry[h] = g->entry_base[node_index(g, s->heads[h].node)] + s->heads[h].index;
  return MX_OK;
}
