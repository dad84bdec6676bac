/* infer.c: shape inference over a graph: known shapes (given, or declared by a
 * variable's __shape__) flow through each operator's infer_shape, which also
 * fills unknown inputs such as weights, until nothing changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "graph.h"

/* A shape whose element count passes MX_SIZE_LIMIT (or overflows) is refused where it appears. */
static mx_status check_size(const mx_shape *s, const char *op, const char *node, const char *what) {
  int64_t n;
  if (mx_size_of_shape(s->dim, s->ndim, &n)) return MX_OK;
  char b[128];
  return mx_error_at(MX_ERR_ARG, "mx_symbol_infer_shape", "%s%s%s: %s shape %s is too large (more than 2^48 elements)",
                  op, *op ? " " : "", node, what, mx_shape_fmt(s, b, sizeof b));
}

mx_status mx_graph_infer_shapes(const mx_graph *g, mx_shape *shapes, int *complete, char *missing,
                                size_t missing_len) {
  for (int i = 0; i < g->nnodes; i++) {
    const mx_node *n = g->nodes[i];
    if (n->op || shapes[g->entry_base[i]].ndim) continue;
    shapes[g->entry_base[i]] = mx_node_declared_shape(n);
  }
  for (int i = 0; i < g->nnodes; i++) {
    mx_status st = MX_OK;
    if (!g->nodes[i]->op) st = check_size(&shapes[g->entry_base[i]], "", g->nodes[i]->name, "the");
    if (st != MX_OK) return st;
  }
  mx_shape in[MX_OP_MAX_IO], out[MX_OP_MAX_IO];
  for (int pass = 0, changed = 1; changed && pass <= g->nnodes + 1; pass++) {
    changed = 0;
    for (int i = 0; i < g->nnodes; i++) {
      const mx_node *n = g->nodes[i];
      if (!n->op) continue;
      int nin = n->nargs + n->naux;
      const int *ie = g->in_entry + g->in_off[i];
      for (int j = 0; j < nin; j++) in[j] = shapes[ie[j]];
      for (int j = 0; j < n->noutputs; j++) out[j] = shapes[g->entry_base[i] + j];
      mx_status st =
          n->op->infer_shape(&n->attrs, in, n->nargs, out, n->noutputs, in + n->nargs, n->naux);
      if (st != MX_OK) { /* the operator names itself and its node; kept once */
        mx_op_error_node(&n->attrs, st);
        return MX_ERR_FRAME(st, "mx_symbol_infer_shape");
      }
      for (int j = 0; j < nin; j++) {
        mx_shape *have = &shapes[ie[j]];
        if (in[j].ndim && !mx_shape_eq(have, &in[j])) {
          if (have->ndim) { /* another consumer fixed it differently */
            char b1[96], b2[96];
            mx_op_error(&n->attrs, MX_ERR_SHAPE, "%s has shape %s, expected %s", n->in_names[j],
                        mx_shape_fmt(have, b1, sizeof b1), mx_shape_fmt(&in[j], b2, sizeof b2));
            return MX_ERR_FRAME(MX_ERR_SHAPE, "mx_symbol_infer_shape");
          }
          st = check_size(&in[j], n->op->name, n->name, n->in_names[j]);
          if (st != MX_OK) return st;
          *have = in[j];
          changed = 1;
        }
      }
      for (int j = 0; j < n->noutputs; j++) {
        mx_shape *have = &shapes[g->entry_base[i] + j];
        if (out[j].ndim && !mx_shape_eq(have, &out[j])) {
          st = check_size(&out[j], n->op->name, n->name, "output");
          if (st != MX_OK) return st;
          *have = out[j];
          changed = 1;
        }
      }
    }
  }
  *complete = 1;
  size_t len = 0;
  if (missing && missing_len) missing[0] = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const mx_node *n = g->nodes[i];
    for (int j = 0; j < n->noutputs; j++)
      if (shapes[g->entry_base[i] + j].ndim == 0) {
        *complete = 0;
        if (!n->op && missing && len < missing_len)
          len +=
              (size_t)snprintf(missing + len, missing_len - len, "%s%s", len ? ", " : "", n->name);
      }
  }
  return MX_OK;
}

void mx_symbol_shapes_free(mx_symbol_shapes *r) {
  if (!r) return;
  free(r->arg_ndim);
  free(r->out_ndim);
  free(r->aux_ndim);
  free(r->arg);
  free(r->out);
  free(r->aux);
  memset(r, 0, sizeof *r);
}

static void put(const mx_shape *s, int *ndim, int64_t (*dst)[MX_MAX_NDIM]) {
  *ndim = s->ndim;
  for (int i = 0; i < s->ndim; i++) (*dst)[i] = s->dim[i];
}

mx_status mx_symbol_infer_shape(mx_symbol *s, const char *const *names,
                                const int64_t (*shapes)[MX_MAX_NDIM], const int *ndims, int n,
                                mx_symbol_shapes *out, int *complete, char *missing,
                                size_t missing_len) {
  memset(out, 0, sizeof *out);
  mx_graph g;
  mx_status st = mx_graph_build(s, &g);
  if (st != MX_OK) return st;
  mx_shape *sh = calloc((size_t)g.nentries + 1, sizeof *sh);
  if (!sh) {
    mx_graph_free(&g);
    return mx_error_at(MX_ERR_NOMEM, "mx_symbol_infer_shape", "out of memory");
  }
  for (int i = 0; i < n && st == MX_OK; i++) {
    int node = -1;
    if (names) {
      for (int a = 0; a < g.nargs && node < 0; a++)
        if (strcmp(g.nodes[g.arg_nodes[a]]->name, names[i]) == 0) node = g.arg_nodes[a];
      for (int a = 0; a < g.naux && node < 0; a++)
        if (strcmp(g.nodes[g.aux_nodes[a]]->name, names[i]) == 0) node = g.aux_nodes[a];
      if (node < 0)
        st = mx_error_at(MX_ERR_ARG, "mx_symbol_infer_shape", "the symbol has no argument named '%s'",
                      names[i]);
    } else if (i < g.nargs) {
      node = g.arg_nodes[i];
    } else {
      st = mx_error_at(MX_ERR_ARG,
                    "mx_symbol_infer_shape", "%d shapes given, the symbol has %d arguments", n,
                    g.nargs);
    }
    if (st != MX_OK) break;
    if (ndims[i] < 1 || ndims[i] > MX_MAX_NDIM) {
      st = mx_error_at(MX_ERR_ARG,
                    "mx_symbol_infer_shape", "shape of '%s' has %d axes (expected 1 to %d)",
                    g.nodes[node]->name, ndims[i], MX_MAX_NDIM);
      break;
    }
    mx_shape *e = &sh[g.entry_base[node]];
    e->ndim = ndims[i];
    for (int d = 0; d < ndims[i]; d++) e->dim[d] = shapes[i][d];
    mx_shape declared = mx_node_declared_shape(g.nodes[node]);
    if (declared.ndim && !mx_shape_eq(&declared, e)) { /* refused, not overridden */
      char b1[96], b2[96];
      st = mx_error_at(MX_ERR_SHAPE, "mx_symbol_infer_shape", "'%s' is given shape %s but declares %s", g.nodes[node]->name,
                    mx_shape_fmt(e, b1, sizeof b1), mx_shape_fmt(&declared, b2, sizeof b2));
      break;
    }
  }
  if (st == MX_OK) st = mx_graph_infer_shapes(&g, sh, complete, missing, missing_len);
  if (st == MX_OK) {
    out->narg = g.nargs;
    out->naux = g.naux;
    out->nout = g.nheads;
    out->arg_ndim = calloc((size_t)g.nargs + 1, sizeof(int));
    out->aux_ndim = calloc((size_t)g.naux + 1, sizeof(int));
    out->out_ndim = calloc((size_t)g.nheads + 1, sizeof(int));
    out->arg = calloc((size_t)g.nargs + 1, sizeof *out->arg);
    out->aux = calloc((size_t)g.naux + 1, sizeof *out->aux);
    out->out = calloc((size_t)g.nheads + 1, sizeof *out->out);
    if (!out->arg_ndim || !out->aux_ndim || !out->out_ndim || !out->arg || !out->aux || !out->out) {
      mx_symbol_shapes_free(out);
      st = mx_error_at(MX_ERR_NOMEM, "mx_symbol_infer_shape", "out of memory");
    } else {
      for (int i = 0; i < g.nargs; i++)
        put(&sh[g.entry_base[g.arg_nodes[i]]], &out->arg_ndim[i], &out->arg[i]);
      for (int i = 0; i < g.naux; i++)
        put(&sh[g.entry_base[g.aux_nodes[i]]], &out->aux_ndim[i], &out->aux[i]);
      for (int i = 0; i < g.nheads; i++) put(&sh[g.head_entry[i]], &out->out_ndim[i], &out->out[i]);
    }
  }
  free(sh);
  mx_graph_free(&g);
  return st;
}
