/* executor.c: bind (shapes, plan, one arena, every view and kernel call record
 * made once), forward, backward (head gradients, requests write/add/null) and
 * the monitor hook. Forward and backward allocate nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* an argument fed another array's memory: its own storage and offset, kept to give back. */
struct fed_arg {
  mx_storage *own;
  int64_t offset;
};

struct mx_executor {
  int refcount;
  mx_context ctx;
  mx_symbol *sym;
  mx_graph g;
  mx_plan plan;
  mx_shape *shapes;  /* per entry */
  mx_storage *arena; /* NULL when the plan needs no memory */
  mx_ndarray **data; /* per entry */
  mx_ndarray **grad; /* per entry, NULL when none */
  mx_ndarray **args, **arg_grads, **aux, **outputs;
  mx_grad_req *reqs; /* per argument */
  mx_op_call *calls; /* per node */
  mx_op_kernel (*kernels)[2]; /* per node: forward, backward on ctx (mx_op_kernel_for) */
  void **states;     /* per node */
  mx_ndarray **ptrs; /* storage of the calls' array lists */
  mx_req *fwd_reqs;  /* per entry, grouped by node */
  char **out_names;  /* per entry: "<node>_<output>" */
  char **grad_names; /* per node input: "<node>_backward_<arg>" */
  mx_monitor_fn monitor;
  void *monitor_data;
  int forwarded;
  struct fed_arg *fed; /* per argument, NULL until mx_executor_feed */
};

mx_executor *mx_executor_retain(mx_executor *e) {
  if (e) e->refcount++;
  return e;
}

void mx_executor_release(mx_executor *e) {
  if (!e || --e->refcount > 0) return;
  const mx_graph *g = &e->g;
  for (int a = 0; e->fed && a < g->nargs; a++) mx_executor_feed(e, a, NULL);
  free(e->fed);
  for (int i = 0; e->states && i < g->nnodes; i++)
    if (e->states[i] && g->nodes[i]->op->free_state) g->nodes[i]->op->free_state(e->states[i]);
  for (int k = 0; e->data && k < g->nentries; k++) {
    mx_ndarray_release(e->data[k]);
    mx_ndarray_release(e->grad[k]);
  }
  for (int k = 0; e->out_names && k < g->nentries; k++) free(e->out_names[k]);
  for (int k = 0; e->grad_names && k < g->in_off[g->nnodes]; k++) free(e->grad_names[k]);
  if (e->arena) mx_storage_release(e->arena);
  free(e->out_names);
  free(e->grad_names);
  free(e->shapes);
  free(e->data);
  free(e->grad);
  free(e->args);
  free(e->arg_grads);
  free(e->aux);
  free(e->outputs);
  free(e->reqs);
  free(e->calls);
  free(e->kernels);
  free(e->states);
  free(e->ptrs);
  free(e->fwd_reqs);
  mx_plan_free(&e->plan);
  mx_graph_free(&e->g);
  mx_symbol_release(e->sym);
  free(e);
}

static int var_entry(const mx_graph *g, int node) {
  return g->entry_base[node];
}

/* Makes the arena, the views and the call records. */
static mx_status build(mx_executor *e, mx_ndarray *const *args, mx_ndarray *const *arg_grads,
                       mx_ndarray *const *aux) {
  mx_graph *g = &e->g;
  mx_plan *p = &e->plan;
  int E = g->nentries, N = g->nnodes;
  if (p->arena_floats > 0) {
    mx_status st = mx_storage_create(e->ctx, (size_t)p->arena_floats * sizeof(float), &e->arena);
    if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_bind");
    const mx_device *dev = mx_device_for(e->ctx);
    if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_executor_bind");
    st = dev->memset_zero(e->ctx.dev_id, e->arena->data, e->arena->bytes);
    if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_bind");
  }
  for (int a = 0; a < g->nargs; a++) {
    int k = var_entry(g, g->arg_nodes[a]);
    if (args && args[a]) e->data[k] = mx_ndarray_retain(args[a]);
    if (arg_grads && arg_grads[a] && p->values[k].has_grad) e->grad[k] = mx_ndarray_retain(arg_grads[a]);
  }
  for (int a = 0; a < g->naux; a++)
    if (aux && aux[a]) e->data[var_entry(g, g->aux_nodes[a])] = mx_ndarray_retain(aux[a]);
  for (int k = 0; k < E; k++) {
    const mx_shape *s = &e->shapes[k];
    mx_status st = MX_OK;
    if (!e->data[k] && p->values[k].data_off >= 0)
      st = mx_ndarray_view(e->arena, p->values[k].data_off, s->dim, s->ndim, &e->data[k]);
    if (st == MX_OK && !e->grad[k] && p->values[k].grad_off >= 0)
      st = mx_ndarray_view(e->arena, p->values[k].grad_off, s->dim, s->ndim, &e->grad[k]);
    if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_bind");
    char buf[512];
    const mx_node *n = g->nodes[g->entry_node[k]];
    e->out_names[k] =
        strdup(mx_entry_name(n, k - g->entry_base[g->entry_node[k]], buf, sizeof buf));
    if (!e->out_names[k]) return mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory");
  }
  for (int a = 0; a < g->nargs; a++) {
    int k = var_entry(g, g->arg_nodes[a]);
    e->args[a] = e->data[k];
    e->arg_grads[a] = e->grad[k];
  }
  for (int a = 0; a < g->naux; a++) e->aux[a] = e->data[var_entry(g, g->aux_nodes[a])];
  for (int h = 0; h < g->nheads; h++) e->outputs[h] = e->data[g->head_entry[h]];

  /* call records: in | out | out_grad | in_grad per node, in one pointer pool */
  int64_t total = 0;
  for (int i = 0; i < N; i++)
    total += 2 * (g->in_off[i + 1] - g->in_off[i]) + 2 * g->nodes[i]->noutputs;
  e->ptrs = calloc((size_t)total + 1, sizeof *e->ptrs);
  if (!e->ptrs) return mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory");
  mx_ndarray **q = e->ptrs;
  for (int i = 0; i < N; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op) continue;
    int nin = g->in_off[i + 1] - g->in_off[i];
    mx_op_call *c = &e->calls[i];
    c->attrs = &n->attrs;
    c->ctx = e->ctx;
    c->state = e->states[i];
    mx_ndarray **in = q, **out = q + nin, **og = out + n->noutputs, **ig = og + n->noutputs;
    q = ig + nin;
    for (int j = 0; j < nin; j++) {
      int k = g->in_entry[g->in_off[i] + j];
      in[j] = e->data[k];
      ig[j] = e->grad[k];
      if (j < n->nargs) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s_backward_%s", n->name, n->in_names[j]);
        e->grad_names[g->in_off[i] + j] = strdup(buf);
        if (!e->grad_names[g->in_off[i] + j])
          return mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory");
      }
    }
    for (int j = 0; j < n->noutputs; j++) {
      out[j] = e->data[g->entry_base[i] + j];
      og[j] = e->grad[g->entry_base[i] + j];
      e->fwd_reqs[g->entry_base[i] + j] = p->values[g->entry_base[i] + j].fwd_req;
    }
    c->in = in;
    c->aux = in + n->nargs;
    c->out = out;
    c->out_grad = og;
    c->in_grad = ig;
  }
  return MX_OK;
}

static mx_status bind_common(mx_symbol *sym, mx_context ctx, mx_ndarray *const *args,
                             mx_ndarray *const *arg_grads, const mx_grad_req *grad_reqs,
                             mx_ndarray *const *aux, int default_reqs, const mx_shape *given,
                             mx_executor **out) {
  *out = NULL;
  mx_status st = mx_context_check(ctx);
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_bind");
  mx_executor *e = calloc(1, sizeof *e);
  if (!e) return mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory");
  e->refcount = 1;
  e->ctx = ctx;
  e->sym = mx_symbol_retain(sym);
  st = mx_graph_build(sym, &e->g);
  if (st != MX_OK) {
    mx_executor_release(e);
    return st;
  }
  mx_graph *g = &e->g;
  int E = g->nentries, N = g->nnodes, NIN = g->in_off[N];
  e->shapes = calloc((size_t)E + 1, sizeof *e->shapes);
  e->data = calloc((size_t)E + 1, sizeof *e->data);
  e->grad = calloc((size_t)E + 1, sizeof *e->grad);
  e->args = calloc((size_t)g->nargs + 1, sizeof *e->args);
  e->arg_grads = calloc((size_t)g->nargs + 1, sizeof *e->arg_grads);
  e->aux = calloc((size_t)g->naux + 1, sizeof *e->aux);
  e->outputs = calloc((size_t)g->nheads + 1, sizeof *e->outputs);
  e->reqs = calloc((size_t)g->nargs + 1, sizeof *e->reqs);
  e->calls = calloc((size_t)N + 1, sizeof *e->calls);
  e->kernels = calloc((size_t)N + 1, sizeof *e->kernels);
  e->states = calloc((size_t)N + 1, sizeof *e->states);
  e->fwd_reqs = calloc((size_t)E + 1, sizeof *e->fwd_reqs);
  e->out_names = calloc((size_t)E + 1, sizeof *e->out_names);
  e->grad_names = calloc((size_t)NIN + 1, sizeof *e->grad_names);
  unsigned char *external = calloc((size_t)E + 1, 1), *gext = calloc((size_t)E + 1, 1);
  if (!e->shapes || !e->data || !e->grad || !e->args || !e->arg_grads || !e->aux || !e->outputs ||
      !e->reqs || !e->calls || !e->kernels || !e->states || !e->fwd_reqs || !e->out_names || !e->grad_names ||
      !external || !gext) {
    st = mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory");
    goto fail;
  }
  char cs[32];
  mx_context_str(ctx, cs, sizeof cs);
  for (int a = 0; a < g->nargs + g->naux; a++) /* arrays are found by name: names must be unique */
    for (int b = 0; b < a; b++) {
      int na = a < g->nargs ? g->arg_nodes[a] : g->aux_nodes[a - g->nargs];
      int nb = b < g->nargs ? g->arg_nodes[b] : g->aux_nodes[b - g->nargs];
      if (strcmp(g->nodes[na]->name, g->nodes[nb]->name) == 0) {
        st = mx_error_at(
            MX_ERR_ARG,
            "mx_executor_bind", "two different variables are named '%s' (names must be unique)",
            g->nodes[na]->name);
        goto fail;
      }
    }
  /* requests and shapes of what is given */
  for (int a = 0; a < g->nargs; a++) {
    const mx_node *v = g->nodes[g->arg_nodes[a]];
    int k = var_entry(g, g->arg_nodes[a]);
    if (grad_reqs) {
      e->reqs[a] = grad_reqs[a];
    } else if (default_reqs) { /* MXNet 2016: no gradient for inputs named *data / *label */
      size_t l = strlen(v->name);
      int skip = (l >= 4 && strcmp(v->name + l - 4, "data") == 0) ||
                 (l >= 5 && strcmp(v->name + l - 5, "label") == 0);
      e->reqs[a] = skip ? MX_GRAD_NULL : MX_GRAD_WRITE;
    } else {
      e->reqs[a] = arg_grads && !arg_grads[a] ? MX_GRAD_NULL : MX_GRAD_WRITE;
    }
    if (e->reqs[a] != MX_GRAD_NULL && e->reqs[a] != MX_GRAD_WRITE && e->reqs[a] != MX_GRAD_ADD) {
      st = mx_error_at(
          MX_ERR_ARG,
          "mx_executor_bind", "bad gradient request %d for '%s' (expected 0 null, 1 write or 3 add)",
          (int)e->reqs[a], v->name);
      goto fail;
    }
    if (e->reqs[a] == MX_GRAD_ADD && !(arg_grads && arg_grads[a]) && !default_reqs) {
      st = mx_error_at(MX_ERR_ARG,
                    "mx_executor_bind", "gradient request 'add' for '%s' needs a gradient array",
                    v->name);
      goto fail;
    }
    mx_ndarray *arr = args ? args[a] : NULL;
    if (given) e->shapes[k] = given[a];
    if (arr) {
      e->shapes[k].ndim = mx_ndarray_ndim(arr);
      memcpy(e->shapes[k].dim, mx_ndarray_shape(arr), (size_t)e->shapes[k].ndim * sizeof(int64_t));
      external[k] = 1;
    }
    if (arg_grads && arg_grads[a] && e->reqs[a] != MX_GRAD_NULL) gext[k] = 1;
  }
  for (int a = 0; aux && a < g->naux; a++)
    if (aux[a]) {
      int k = var_entry(g, g->aux_nodes[a]);
      e->shapes[k].ndim = mx_ndarray_ndim(aux[a]);
      memcpy(e->shapes[k].dim, mx_ndarray_shape(aux[a]),
             (size_t)e->shapes[k].ndim * sizeof(int64_t));
      external[k] = 1;
    }
  int complete;
  char missing[512];
  st = mx_graph_infer_shapes(g, e->shapes, &complete, missing, sizeof missing);
  if (st != MX_OK) {
    MX_ERR_FRAME(st, "mx_executor_bind");
    goto fail;
  }
  if (!complete) {
    st = mx_error_at(MX_ERR_SHAPE, "mx_executor_bind", "cannot infer the shapes of %s",
                  missing[0] ? missing : "some outputs");
    goto fail;
  }
  /* given arrays: right shape (already checked by inference for args), right context */
  for (int a = 0; a < g->nargs; a++) {
    int k = var_entry(g, g->arg_nodes[a]);
    mx_ndarray *arrs[2] = {args ? args[a] : NULL, gext[k] ? arg_grads[a] : NULL};
    for (int w = 0; w < 2; w++) {
      if (!arrs[w]) continue;
      mx_context c = mx_ndarray_context(arrs[w]);
      char b1[96], b2[96], cs2[32];
      if (c.dev_type != ctx.dev_type || c.dev_id != ctx.dev_id) {
        st = mx_error_at(MX_ERR_ARG, "mx_executor_bind", "%s of '%s' is on %s, the executor on %s",
                      w ? "gradient" : "array", g->nodes[g->arg_nodes[a]]->name,
                      mx_context_str(c, cs2, sizeof cs2), cs);
        goto fail;
      }
      mx_shape s = {mx_ndarray_ndim(arrs[w]), {0}};
      memcpy(s.dim, mx_ndarray_shape(arrs[w]), (size_t)s.ndim * sizeof(int64_t));
      if (!mx_shape_eq(&s, &e->shapes[k])) {
        st = mx_error_at(MX_ERR_SHAPE, "mx_executor_bind", "%s of '%s' has shape %s, expected %s",
                      w ? "gradient" : "array", g->nodes[g->arg_nodes[a]]->name,
                      mx_shape_fmt(&s, b1, sizeof b1), mx_shape_fmt(&e->shapes[k], b2, sizeof b2));
        goto fail;
      }
    }
  }
  st = mx_plan_build(g, e->shapes, e->reqs, external, gext, &e->plan);
  if (st != MX_OK) {
    MX_ERR_FRAME(st, "mx_executor_bind");
    goto fail;
  }
  /* every kernel this executor will call exists for its device */
  for (int i = 0; i < N; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op) continue;
    mx_op_kernel fwd = mx_op_kernel_for(n->op, ctx.dev_type, 0), bwd = mx_op_kernel_for(n->op, ctx.dev_type, 1);
    e->kernels[i][0] = fwd, e->kernels[i][1] = bwd;
    if (!fwd || (e->plan.nodes[i].runs_backward && !bwd)) {
      st = mx_error_at(MX_ERR_DEVICE, "mx_executor_bind", "%s %s has no %s kernel for %s", n->op->name,
                    n->name, fwd ? "backward" : "forward", cs);
      goto fail;
    }
    if (n->op->create_state) {
      mx_shape ins[MX_OP_MAX_IO];
      int nin = g->in_off[i + 1] - g->in_off[i];
      for (int j = 0; j < nin; j++) ins[j] = e->shapes[g->in_entry[g->in_off[i] + j]];
      st = n->op->create_state(&n->attrs, ctx, ins, nin, &e->states[i]);
      if (st != MX_OK) {
        mx_op_error_node(&n->attrs, st);
        MX_ERR_FRAME(st, "mx_executor_bind");
        goto fail;
      }
    }
  }
  st = build(e, args, arg_grads, aux);
  if (st != MX_OK) goto fail;
  free(external);
  free(gext);
  *out = e;
  return MX_OK;
fail:
  free(external);
  free(gext);
  mx_executor_release(e);
  return st;
}

mx_status mx_executor_bind(mx_symbol *sym, mx_context ctx, mx_ndarray *const *args,
                           mx_ndarray *const *arg_grads, const mx_grad_req *grad_reqs,
                           mx_ndarray *const *aux, mx_executor **out) {
  return bind_common(sym, ctx, args, arg_grads, grad_reqs, aux, 0, NULL, out);
}

mx_status mx_executor_simple_bind(mx_symbol *sym, mx_context ctx, const char *const *names,
                                  const int64_t (*shapes)[MX_MAX_NDIM], const int *ndims, int n,
                                  const mx_grad_req *grad_reqs, mx_executor **out) {
  *out = NULL;
  mx_symbol_shapes r;
  int complete;
  char missing[512];
  mx_status st =
      mx_symbol_infer_shape(sym, names, shapes, ndims, n, &r, &complete, missing, sizeof missing);
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_simple_bind");
  if (!complete) {
    mx_symbol_shapes_free(&r);
    return mx_error_at(MX_ERR_SHAPE,
                    "mx_executor_simple_bind", "cannot infer the shapes of %s (give their shapes)",
                    missing[0] ? missing : "some outputs");
  }
  mx_shape *given = calloc((size_t)r.narg + 1, sizeof *given);
  if (!given) {
    mx_symbol_shapes_free(&r);
    return mx_error_at(MX_ERR_NOMEM, "mx_executor_simple_bind", "out of memory");
  }
  for (int a = 0; a < r.narg; a++) {
    given[a].ndim = r.arg_ndim[a];
    memcpy(given[a].dim, r.arg[a], sizeof given[a].dim);
  }
  mx_symbol_shapes_free(&r);
  st = bind_common(sym, ctx, NULL, NULL, grad_reqs, NULL, 1, given, out);
  free(given);
  return st;
}

static mx_status run_monitor(mx_executor *e, const char *name, mx_ndarray *a) {
  if (!e->monitor || !a) return MX_OK;
  mx_status st = e->monitor(name, a, e->monitor_data);
  return st == MX_OK ? st : mx_error_node(st, "monitor callback");
}

/* The planned scratch block of call `slot` (2 * node + backward). */
static void set_workspace(const mx_executor *e, mx_op_call *c, int slot) {
  const mx_plan_node *pn = &e->plan.nodes[slot / 2];
  int64_t off = pn->ws_off[slot % 2];
  c->workspace = off >= 0 ? e->arena->data + off : NULL;
  c->workspace_size = off >= 0 ? pn->ws_size[slot % 2] : 0;
}

mx_status mx_executor_forward(mx_executor *e, int is_train) {
  const mx_graph *g = &e->g;
  for (int i = 0; i < g->nnodes; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op) continue;
    mx_op_call *c = &e->calls[i];
    c->is_train = is_train;
    c->req = e->fwd_reqs + g->entry_base[i];
    mx_op_call fc = *c;
    fc.out_grad = fc.in_grad = NULL;
    set_workspace(e, &fc, 2 * i);
    mx_status st = e->kernels[i][0](&fc);
    if (st != MX_OK) {
      mx_op_error_node(&n->attrs, st);
      return MX_ERR_FRAME(st, "mx_executor_forward");
    }
    for (int j = 0; e->monitor && j < n->nvisible; j++) {
      st = run_monitor(e, e->out_names[g->entry_base[i] + j], e->data[g->entry_base[i] + j]);
      if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_forward");
    }
  }
  e->forwarded = 1;
  return MX_OK;
}

mx_status mx_executor_backward(mx_executor *e, mx_ndarray *const *head_grads, int n) {
  const mx_graph *g = &e->g;
  const mx_plan *p = &e->plan;
  if (!e->forwarded) return mx_error_at(MX_ERR_STATE, "mx_executor_backward", "call forward first");
  if (n > g->nheads)
    return mx_error_at(MX_ERR_ARG,
                    "mx_executor_backward", "%d head gradients given, the symbol has %d outputs", n,
                    g->nheads);
  for (int h = 0; h < g->nheads; h++) {
    if (!p->head_grad[h]) continue;
    int k = g->head_entry[h];
    mx_ndarray *hg = h < n ? head_grads[h] : NULL;
    if (!hg)
      return mx_error_at(
          MX_ERR_ARG,
          "mx_executor_backward", "output %d (%s) is not a loss and needs a gradient (out_grads)",
          h + 1, e->out_names[k]);
    if (mx_ndarray_size(hg) != mx_ndarray_size(e->grad[k])) {
      char b1[96], b2[96];
      return mx_error_at(
          MX_ERR_SHAPE, "mx_executor_backward", "gradient of %s has shape %s, expected %s",
          e->out_names[k], mx_shape_str(mx_ndarray_shape(hg), mx_ndarray_ndim(hg), b1, sizeof b1),
          mx_shape_fmt(&e->shapes[k], b2, sizeof b2));
    }
    mx_status st = mx_ndarray_assign(e->grad[k], hg);
    if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_backward");
  }
  for (int k = 0; k < g->nentries; k++)
    if (p->values[k].zero_grad && e->grad[k]) {
      mx_status st = mx_ndarray_fill(e->grad[k], 0.0f);
      if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_backward");
    }
  for (int i = g->nnodes - 1; i >= 0; i--) {
    if (!p->nodes[i].runs_backward) continue;
    const mx_node *nd = g->nodes[i];
    mx_op_call *c = &e->calls[i];
    c->req = p->bwd_req + g->in_off[i];
    set_workspace(e, c, 2 * i + 1);
    mx_status st = e->kernels[i][1](c);
    if (st != MX_OK) {
      mx_op_error_node(&nd->attrs, st);
      return MX_ERR_FRAME(st, "mx_executor_backward");
    }
    for (int j = 0; e->monitor && j < nd->nargs; j++)
      if (c->req[j] != MX_REQ_NULL) {
        st = run_monitor(e, e->grad_names[g->in_off[i] + j], c->in_grad[j]);
        if (st != MX_OK) return MX_ERR_FRAME(st, "mx_executor_backward");
      }
  }
  return MX_OK;
}

int mx_executor_outputs(mx_executor *e, mx_ndarray *const **out) {
  *out = e->outputs;
  return e->g.nheads;
}
int mx_executor_arg_arrays(mx_executor *e, mx_ndarray *const **out) {
  *out = e->args;
  return e->g.nargs;
}
int mx_executor_grad_arrays(mx_executor *e, mx_ndarray *const **out) {
  *out = e->arg_grads;
  return e->g.nargs;
}
int mx_executor_aux_arrays(mx_executor *e, mx_ndarray *const **out) {
  *out = e->aux;
  return e->g.naux;
}
mx_grad_req mx_executor_grad_req(mx_executor *e, int arg_index) {
  return arg_index >= 0 && arg_index < e->g.nargs ? e->reqs[arg_index] : MX_GRAD_NULL;
}

void mx_executor_set_monitor(mx_executor *e, mx_monitor_fn fn, void *userdata) {
  e->monitor = fn;
  e->monitor_data = userdata;
}

void mx_executor_memory(const mx_executor *e, size_t *arena_bytes, size_t *naive_bytes) {
  if (arena_bytes) *arena_bytes = (size_t)e->plan.arena_floats * sizeof(float);
  if (naive_bytes) *naive_bytes = (size_t)e->plan.naive_floats * sizeof(float);
}

/* ---- inputs read in place ---- */

mx_status mx_executor_feed(mx_executor *e, int arg, mx_ndarray *src) {
  const char *where = "mx_executor_feed";
  if (!e) return mx_error_at(MX_ERR_ARG, where, "no executor");
  if (arg < 0 || arg >= e->g.nargs)
    return mx_error_at(MX_ERR_ARG, where, "argument %d out of range (expected 0..%d)", arg,
                    e->g.nargs - 1);
  mx_ndarray *a = e->args[arg];
  if (!a) return mx_error_at(MX_ERR_ARG, where, "argument %d has no array", arg);
  if (!src) { /* give back its own memory */
    if (e->fed && e->fed[arg].own) {
      mx_storage *cur = a->storage;
      a->storage = e->fed[arg].own;
      a->offset = e->fed[arg].offset;
      e->fed[arg].own = NULL;
      mx_storage_release(cur);
    }
    return MX_OK;
  }
  char sa[64], sb[64];
  if (mx_ndarray_ndim(src) != a->ndim ||
      memcmp(mx_ndarray_shape(src), a->shape, (size_t)a->ndim * sizeof(int64_t)) != 0)
    return mx_error_at(MX_ERR_SHAPE, where, "array of shape %s fed to an argument of shape %s",
                    mx_shape_str(mx_ndarray_shape(src), mx_ndarray_ndim(src), sa, sizeof sa),
                    mx_shape_str(a->shape, a->ndim, sb, sizeof sb));
  mx_context c = mx_ndarray_context(src);
  if (c.dev_type != MX_DEV_CPU || e->ctx.dev_type != MX_DEV_CPU || c.dev_id != e->ctx.dev_id)
    return mx_error_at(MX_ERR_DEVICE, where, "only CPU arrays on the executor's context can be fed");
  if (!e->fed) {
    e->fed = calloc((size_t)e->g.nargs, sizeof *e->fed);
    if (!e->fed) return mx_error_at(MX_ERR_NOMEM, where, "out of memory");
  }
  src->storage->refcount++;
  if (e->fed[arg].own) {
    mx_storage_release(a->storage);
  } else {
    e->fed[arg].own = a->storage;
    e->fed[arg].offset = a->offset;
  }
  a->storage = src->storage;
  a->offset = src->offset;
  return MX_OK;
}
