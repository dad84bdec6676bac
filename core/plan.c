/* plan.c: plans an executor's memory once: which nodes run backward, the request
 * of every gradient (write/add/null), the lifetime of every array (liveness over
 * the forward+backward schedule), in-place reuse, and offsets into one arena. */
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "graph.h"

#define ALIGN_FLOATS 16 /* 64-byte aligned blocks */

typedef struct block {
  int64_t off, size;
  int last; /* last step that uses it */
  int free;
} block;

typedef struct pool {
  block *b;
  int n, cap;
  int64_t end, naive;
} pool;

/* A block for `need` floats used until step `last`: the smallest free one that fits, else a new
 * one. -1: out of host memory; -2: the arena would pass MX_SIZE_LIMIT. */
static int pool_take(pool *p, int64_t need, int last) {
  if (!mx_size_add(need, ALIGN_FLOATS - 1, &need)) return -2;
  need = need / ALIGN_FLOATS * ALIGN_FLOATS;
  if (need == 0) need = ALIGN_FLOATS;
  if (!mx_size_add(p->naive, need, &p->naive)) return -2;
  int best = -1;
  for (int i = 0; i < p->n; i++)
    if (p->b[i].free && p->b[i].size >= need && (best < 0 || p->b[i].size < p->b[best].size))
      best = i;
  if (best >= 0) {
    p->b[best].free = 0;
    p->b[best].last = last;
    return best;
  }
  if (p->n == p->cap) {
    int cap = p->cap ? p->cap * 2 : 32;
    block *nb = realloc(p->b, (size_t)cap * sizeof *nb);
    if (!nb) return -1;
    p->b = nb;
    p->cap = cap;
  }
  int64_t end;
  if (!mx_size_add(p->end, need, &end)) return -2;
  p->b[p->n] = (block){p->end, need, last, 0};
  p->end = end;
  return p->n++;
}

void mx_plan_free(mx_plan *p) {
  free(p->runs_backward);
  free(p->data_off);
  free(p->grad_off);
  free(p->has_grad);
  free(p->zero_grad);
  free(p->head_grad);
  free(p->fwd_req);
  free(p->bwd_req);
  free(p->ws_off);
  free(p->ws_size);
  memset(p, 0, sizeof *p);
}

static mx_status too_large(void) {
  return mx_error(MX_ERR_ARG, "mx_executor_bind: the arrays are too large (more than 2^48 floats in all)");
}

/* The error for a failed pool_take. */
static mx_status take_failed(int code) {
  if (code == -2) return too_large();
  return mx_error(MX_ERR_NOMEM, "mx_executor_bind: out of memory while planning");
}

static int imax(int a, int b) {
  return a > b ? a : b;
}

mx_status mx_plan_build(const mx_graph *g, const mx_shape *shapes, const mx_grad_req *arg_req,
                        const unsigned char *external, const unsigned char *grad_external,
                        mx_plan *p) {
  memset(p, 0, sizeof *p);
  int N = g->nnodes, E = g->nentries, NIN = g->in_off[N], INF = 2 * N + 1;
  unsigned char *need = calloc((size_t)N + 1, 1);
  int *def_g = malloc((size_t)(E + 1) * sizeof(int)),
      *last_g = malloc((size_t)(E + 1) * sizeof(int));
  int *last_d = malloc((size_t)(E + 1) * sizeof(int));
  int *dblock = malloc((size_t)(E + 1) * sizeof(int)),
      *gblock = malloc((size_t)(E + 1) * sizeof(int));
  unsigned char *written = calloc((size_t)E + 1, 1);
  p->runs_backward = calloc((size_t)N + 1, 1);
  p->data_off = malloc((size_t)(E + 1) * sizeof(int64_t));
  p->grad_off = malloc((size_t)(E + 1) * sizeof(int64_t));
  p->has_grad = calloc((size_t)E + 1, 1);
  p->zero_grad = calloc((size_t)E + 1, 1);
  p->head_grad = calloc((size_t)g->nheads + 1, 1);
  p->fwd_req = calloc((size_t)E + 1, sizeof(mx_req));
  p->bwd_req = calloc((size_t)NIN + 1, sizeof(mx_req));
  p->ws_off = malloc((size_t)(2 * N + 1) * sizeof(int64_t));
  p->ws_size = calloc((size_t)(2 * N + 1), sizeof(int64_t));
  int *wblock = malloc((size_t)(2 * N + 1) * sizeof(int));
  pool pl = {0};
  int *by_def = NULL, *def_start = NULL;
  mx_status st = MX_OK;
  if (!need || !def_g || !last_g || !last_d || !dblock || !gblock || !written ||
      !p->runs_backward || !p->data_off || !p->grad_off || !p->has_grad || !p->zero_grad ||
      !p->head_grad || !p->fwd_req || !p->bwd_req || !p->ws_off || !p->ws_size || !wblock) {
    st = mx_error(MX_ERR_NOMEM, "mx_executor_bind: out of memory while planning");
    goto done;
  }

  /* Which nodes need a gradient: variables by request, operators when any input does. */
  for (int a = 0; a < g->nargs; a++) need[g->arg_nodes[a]] = arg_req[a] != MX_GRAD_NULL;
  for (int i = 0; i < N; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op) continue;
    for (int k = g->in_off[i]; k < g->in_off[i + 1]; k++)
      need[i] |= need[g->entry_node[g->in_entry[k]]];
    p->runs_backward[i] = need[i];
  }
  for (int e = 0; e < E; e++) {
    const mx_node *n = g->nodes[g->entry_node[e]];
    int idx = e - g->entry_base[g->entry_node[e]];
    p->has_grad[e] =
        n->op ? (p->runs_backward[g->entry_node[e]] && idx < n->nvisible) : need[g->entry_node[e]];
    def_g[e] = INF;
    last_g[e] = -1;
    last_d[e] = n->op ? g->entry_node[e] : INF; /* variables live throughout */
    dblock[e] = gblock[e] = -1;
    p->fwd_req[e] = MX_REQ_WRITE;
  }

  /* Backward requests, in backward order: the first writer of a gradient writes, later ones add. */
  for (int h = 0; h < g->nheads; h++) {
    int e = g->head_entry[h], i = g->entry_node[e];
    if (p->has_grad[e] && g->nodes[i]->op &&
        (mx_op_backward_needs(&g->nodes[i]->attrs) & MX_OP_BWD_OUT_GRAD)) {
      p->head_grad[h] = 1;
      written[e] = 1;
      def_g[e] = N;
      last_g[e] = imax(last_g[e], N);
    }
  }
  for (int i = N - 1; i >= 0; i--) {
    if (!p->runs_backward[i]) continue;
    const mx_node *n = g->nodes[i];
    int s = 2 * N - i;
    unsigned needs = mx_op_backward_needs(&n->attrs);
    for (int j = 0; j < n->nvisible; j++) {
      int e = g->entry_base[i] + j;
      if (!(needs & MX_OP_BWD_OUT_GRAD)) continue;
      if (!written[e]) {
        p->zero_grad[e] = 1;
        written[e] = 1;
        def_g[e] = N;
      }
      last_g[e] = imax(last_g[e], s);
    }
    for (int k = g->in_off[i]; k < g->in_off[i + 1]; k++) {
      int e = g->in_entry[k], src = g->entry_node[e];
      if (!p->has_grad[e] || k - g->in_off[i] >= n->nargs) {
        p->bwd_req[k] = MX_REQ_NULL;
        continue;
      }
      int var_add = 0;
      if (!g->nodes[src]->op)
        for (int a = 0; a < g->nargs; a++)
          var_add |= g->arg_nodes[a] == src && arg_req[a] == MX_GRAD_ADD;
      p->bwd_req[k] = (var_add || written[e]) ? MX_REQ_ADD : MX_REQ_WRITE;
      if (!written[e]) def_g[e] = s;
      written[e] = 1;
      last_g[e] = imax(last_g[e], s);
    }
  }

  /* Data lifetimes: forward consumers, backward readers, heads kept to the end. */
  for (int i = 0; i < N; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op) continue;
    unsigned needs = p->runs_backward[i] ? mx_op_backward_needs(&n->attrs) : 0u;
    for (int k = g->in_off[i]; k < g->in_off[i + 1]; k++) {
      int e = g->in_entry[k];
      last_d[e] = imax(last_d[e], (needs & MX_OP_BWD_IN_DATA) ? 2 * N - i : i);
    }
    if (needs & MX_OP_BWD_OUT_DATA)
      for (int j = 0; j < n->noutputs; j++)
        last_d[g->entry_base[i] + j] = imax(last_d[g->entry_base[i] + j], 2 * N - i);
  }
  for (int h = 0; h < g->nheads; h++) last_d[g->head_entry[h]] = INF;

  /* Variables (arguments, aux states) and their gradients hold their values
   * across calls (weights; 'add' gradients), so their blocks are taken before
   * the walk: a block an operator output used and freed must never become one
   * of theirs (with grad_req 'null', fc3_weight once shared fc1's output block). */
  for (int e = 0; e < E && st == MX_OK; e++) {
    if (g->nodes[g->entry_node[e]]->op) continue;
    if (!external[e]) dblock[e] = pool_take(&pl, mx_shape_numel(&shapes[e]), INF);
    if (p->has_grad[e] && !grad_external[e])
      gblock[e] = pool_take(&pl, mx_shape_numel(&shapes[e]), INF);
    if (!external[e] && dblock[e] < 0) st = take_failed(dblock[e]);
    else if (p->has_grad[e] && !grad_external[e] && gblock[e] < 0) st = take_failed(gblock[e]);
  }

  /* Workspaces: asked of the operator at the bound shapes, alive for one call. */
  for (int i = 0; i < 2 * N; i++) wblock[i] = -1;
  for (int i = 0; i < N && st == MX_OK; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op || !n->op->workspace) continue;
    mx_shape in[MX_OP_MAX_IO], out[MX_OP_MAX_IO];
    int nin = g->in_off[i + 1] - g->in_off[i];
    for (int j = 0; j < nin; j++) in[j] = shapes[g->in_entry[g->in_off[i] + j]];
    for (int j = 0; j < n->noutputs; j++) out[j] = shapes[g->entry_base[i] + j];
    for (int b = 0; b < 1 + p->runs_backward[i]; b++) {
      int64_t w = n->op->workspace(&n->attrs, in, nin, out, n->noutputs, b);
      if (w < 0)
        st = mx_error(MX_ERR_ARG, "mx_executor_bind: %s %s asked for a negative workspace",
                      n->op->name, n->name);
      p->ws_size[2 * i + b] = w > 0 ? w : 0;
    }
  }

  /* Gradient entries grouped by the step that first writes them (a counting sort), so the walk
   * visits each once: a scan of all entries at every step was quadratic in the graph's size. */
  by_def = malloc((size_t)(E + 1) * sizeof(int));
  def_start = calloc((size_t)(2 * N + 3), sizeof(int));
  if (!by_def || !def_start) {
    st = mx_error(MX_ERR_NOMEM, "mx_executor_bind: out of memory while planning");
    goto done;
  }
  for (int e = 0; e < E; e++)
    if (def_g[e] <= 2 * N && g->nodes[g->entry_node[e]]->op) def_start[def_g[e] + 2]++;
  for (int s = 0; s <= 2 * N; s++) def_start[s + 2] += def_start[s + 1];
  for (int e = 0; e < E; e++)
    if (def_g[e] <= 2 * N && g->nodes[g->entry_node[e]]->op) by_def[def_start[def_g[e] + 1]++] = e;

  /* Walk the schedule: take blocks when arrays are born, return them after their last use. */
  for (int s = 0; s <= 2 * N && st == MX_OK; s++) {
    if (s < N) {
      const mx_node *n = g->nodes[s];
      for (int j = 0; j < n->noutputs && st == MX_OK; j++) {
        int e = g->entry_base[s] + j;
        if (external[e] || dblock[e] >= 0) continue; /* variables: taken above */
        int64_t numel = mx_shape_numel(&shapes[e]);
        if (n->op && j == 0 && (n->op->flags & MX_OP_INPLACE) && n->nargs > 0) {
          int in = g->in_entry[g->in_off[s]], b = dblock[in];
          if (b >= 0 && g->nodes[g->entry_node[in]]->op && pl.b[b].last == s &&
              mx_shape_numel(&shapes[in]) == numel) {
            dblock[e] = b;
            pl.b[b].last = last_d[e];
            p->fwd_req[e] = MX_REQ_INPLACE;
            if (!mx_size_add(pl.naive, numel, &pl.naive)) st = too_large();
            continue;
          }
        }
        dblock[e] = pool_take(&pl, numel, last_d[e]);
        if (dblock[e] < 0) st = take_failed(dblock[e]);
      }
    }
    int wi = s < N ? 2 * s : (s > N ? 2 * (2 * N - s) + 1 : -1); /* whose call runs at step s */
    if (wi >= 0 && p->ws_size[wi] > 0 && st == MX_OK) {
      wblock[wi] = pool_take(&pl, p->ws_size[wi], s);
      if (wblock[wi] < 0) st = take_failed(wblock[wi]);
    }
    for (int k = def_start[s]; k < def_start[s + 1] && st == MX_OK; k++) {
      int e = by_def[k];
      gblock[e] = pool_take(&pl, mx_shape_numel(&shapes[e]), last_g[e]);
      if (gblock[e] < 0) st = take_failed(gblock[e]);
    }
    for (int b = 0; b < pl.n; b++)
      if (!pl.b[b].free && pl.b[b].last == s) pl.b[b].free = 1;
  }
  for (int e = 0; e < E; e++) {
    p->data_off[e] = dblock[e] >= 0 ? pl.b[dblock[e]].off : -1;
    p->grad_off[e] = gblock[e] >= 0 ? pl.b[gblock[e]].off : -1;
  }
  for (int i = 0; i < 2 * N; i++) p->ws_off[i] = wblock[i] >= 0 ? pl.b[wblock[i]].off : -1;
  p->arena_floats = pl.end;
  p->naive_floats = pl.naive;
done:
  free(pl.b);
  free(need);
  free(def_g);
  free(last_g);
  free(last_d);
  free(dblock);
  free(gblock);
  free(written);
  free(wblock);
  free(by_def);
  free(def_start);
  if (st != MX_OK) mx_plan_free(p);
  return st;
}
