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

/* The free blocks of one size, a stack of block indices. */
typedef struct size_class {
  int64_t size;
  int *ids, n, cap;
} size_class;

/* A block to release at a step (a list per step; an entry whose block has since been given a
 * later last step is stale and skipped). */
typedef struct release {
  int block, next;
} release;

/* The blocks, and two indexes that keep planning linear in the graph's size: the free blocks by
 * size (classes sorted by size: best fit by binary search) and, per step, the blocks whose last
 * use it is. */
typedef struct pool {
  block *b;
  int n, cap;
  int64_t end, naive;
  size_class *cls;
  int ncls, cap_cls;
  int *head; /* per step: the first release entry, -1 none */
  int nsteps;
  release *rel;
  int nrel, cap_rel;
} pool;

/* Doubles *cap (from `first`) until it exceeds n, reallocating *p of `size`-byte items. */
static int grow(void **p, int *cap, int n, int first, size_t size) {
  if (n < *cap) return 1;
  int c = *cap ? *cap * 2 : first;
  void *q = realloc(*p, (size_t)c * size);
  if (!q) return 0;
  *p = q;
  *cap = c;
  return 1;
}

/* The first class of size >= size (ncls when none). */
static int class_at(const pool *p, int64_t size) {
  int lo = 0, hi = p->ncls;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (p->cls[mid].size < size) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Block i becomes free: onto its size's stack. 0: out of host memory. */
static int pool_release(pool *p, int i) {
  int c = class_at(p, p->b[i].size);
  if (c == p->ncls || p->cls[c].size != p->b[i].size) {
    if (!grow((void **)&p->cls, &p->cap_cls, p->ncls, 16, sizeof *p->cls)) return 0;
    memmove(&p->cls[c + 1], &p->cls[c], (size_t)(p->ncls - c) * sizeof *p->cls);
    p->cls[c] = (size_class){p->b[i].size, NULL, 0, 0};
    p->ncls++;
  }
  size_class *k = &p->cls[c];
  if (!grow((void **)&k->ids, &k->cap, k->n, 8, sizeof *k->ids)) return 0;
  k->ids[k->n++] = i;
  p->b[i].free = 1;
  return 1;
}

/* Block i is used until step `last`: listed for release then (steps past nsteps: never). */
static int pool_set_last(pool *p, int i, int last) {
  p->b[i].last = last;
  if (last < 0 || last >= p->nsteps) return 1;
  if (!grow((void **)&p->rel, &p->cap_rel, p->nrel, 64, sizeof *p->rel)) return 0;
  p->rel[p->nrel] = (release){i, p->head[last]};
  p->head[last] = p->nrel++;
  return 1;
}

/* Releases the blocks whose last use is step s. 0: out of host memory. */
static int pool_release_step(pool *p, int s) {
  for (int r = p->head[s]; r >= 0; r = p->rel[r].next) {
    int i = p->rel[r].block;
    if (!p->b[i].free && p->b[i].last == s && !pool_release(p, i)) return 0;
  }
  return 1;
}

/* A block for `need` floats used until step `last`: the smallest free one that fits, else a new
 * one. -1: out of host memory; -2: the arena would pass MX_SIZE_LIMIT. */
static int pool_take(pool *p, int64_t need, int last) {
  if (!mx_size_add(need, ALIGN_FLOATS - 1, &need)) return -2;
  need = need / ALIGN_FLOATS * ALIGN_FLOATS;
  if (need == 0) need = ALIGN_FLOATS;
  if (!mx_size_add(p->naive, need, &p->naive)) return -2;
  for (int c = class_at(p, need); c < p->ncls; c++) {
    size_class *k = &p->cls[c];
    if (k->n == 0) continue;
    int best = k->ids[--k->n];
    p->b[best].free = 0;
    return pool_set_last(p, best, last) ? best : -1;
  }
  if (!grow((void **)&p->b, &p->cap, p->n, 32, sizeof *p->b)) return -1;
  int64_t end;
  if (!mx_size_add(p->end, need, &end)) return -2;
  p->b[p->n] = (block){p->end, need, last, 0};
  p->end = end;
  int i = p->n++;
  return pool_set_last(p, i, last) ? i : -1;
}

/* The pool for a schedule of nsteps steps. 0: out of host memory. */
static int pool_init(pool *p, int nsteps) {
  memset(p, 0, sizeof *p);
  p->nsteps = nsteps;
  p->head = malloc((size_t)(nsteps + 1) * sizeof *p->head);
  if (!p->head) return 0;
  for (int s = 0; s < nsteps; s++) p->head[s] = -1;
  return 1;
}

static void pool_free(pool *p) {
  for (int c = 0; c < p->ncls; c++) free(p->cls[c].ids);
  free(p->cls);
  free(p->head);
  free(p->rel);
  free(p->b);
}

void mx_plan_free(mx_plan *p) {
  free(p->values);
  free(p->nodes);
  free(p->head_grad);
  free(p->bwd_req);
  memset(p, 0, sizeof *p);
}

static mx_status too_large(void) {
  return mx_error_at(MX_ERR_ARG, "mx_executor_bind",
                  "the arrays are too large (more than 2^48 floats in all)");
}

/* The error for a failed pool_take. */
static mx_status take_failed(int code) {
  if (code == -2) return too_large();
  return mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory while planning");
}

static int imax(int a, int b) {
  return a > b ? a : b;
}

/* What the planner follows of one value (a graph entry) besides its mx_plan_value: the steps
 * its data and gradient live over, and the pool blocks they get (-1: none yet, or external). */
typedef struct value_life {
  int data_last; /* last step that reads the data (INF: to the end) */
  int data_block;
  int grad_def, grad_last; /* first write of the gradient (INF: never), last use */
  int grad_block;
  unsigned char grad_written; /* some backward step already writes the gradient */
} value_life;

/* What the planner follows of one node: whether it needs a gradient, its workspace blocks. */
typedef struct node_life {
  unsigned char needs_grad;
  int ws_block[2];
} node_life;

/* One planning: the graph and what bind gave, the plan being made, the planner's own state. */
typedef struct planner {
  const mx_graph *g;
  const mx_shape *shapes;
  const mx_grad_req *arg_req;
  const unsigned char *external, *grad_external;
  mx_plan *p;
  value_life *life; /* per entry */
  node_life *nl;    /* per node */
  pool pl;
  int N, E, INF;
} planner;

static int64_t numel_of(const planner *pn, int e) {
  return mx_shape_numel(&pn->shapes[e]);
}

static int is_op_entry(const planner *pn, int e) {
  return pn->g->nodes[pn->g->entry_node[e]]->op != NULL;
}

/* Which nodes need a gradient: variables by request, operators when any input does; then each
 * value's starting state. */
static void mark_backward(planner *pn) {
  const mx_graph *g = pn->g;
  for (int a = 0; a < g->nargs; a++)
    pn->nl[g->arg_nodes[a]].needs_grad = pn->arg_req[a] != MX_GRAD_NULL;
  for (int i = 0; i < pn->N; i++) {
    if (!g->nodes[i]->op) continue;
    for (int k = g->in_off[i]; k < g->in_off[i + 1]; k++)
      pn->nl[i].needs_grad |= pn->nl[g->entry_node[g->in_entry[k]]].needs_grad;
    pn->p->nodes[i].runs_backward = pn->nl[i].needs_grad;
  }
  for (int e = 0; e < pn->E; e++) {
    int i = g->entry_node[e];
    const mx_node *n = g->nodes[i];
    mx_plan_value *v = &pn->p->values[e];
    v->has_grad = n->op ? (pn->p->nodes[i].runs_backward && e - g->entry_base[i] < n->nvisible)
                        : pn->nl[i].needs_grad;
    v->fwd_req = MX_REQ_WRITE;
    pn->life[e] = (value_life){.data_last = n->op ? i : pn->INF, /* variables live throughout */
                               .data_block = -1,
                               .grad_def = pn->INF,
                               .grad_last = -1,
                               .grad_block = -1};
  }
}

/* Backward requests, in backward order: the first writer of a gradient writes, later ones add. */
static void grad_requests(planner *pn) {
  const mx_graph *g = pn->g;
  mx_plan *p = pn->p;
  int N = pn->N;
  for (int h = 0; h < g->nheads; h++) {
    int e = g->head_entry[h], i = g->entry_node[e];
    if (p->values[e].has_grad && g->nodes[i]->op &&
        (mx_op_backward_needs(&g->nodes[i]->attrs) & MX_OP_BWD_OUT_GRAD)) {
      p->head_grad[h] = 1;
      pn->life[e].grad_written = 1;
      pn->life[e].grad_def = N;
      pn->life[e].grad_last = imax(pn->life[e].grad_last, N);
    }
  }
  for (int i = N - 1; i >= 0; i--) {
    if (!p->nodes[i].runs_backward) continue;
    const mx_node *n = g->nodes[i];
    int s = 2 * N - i;
    unsigned needs = mx_op_backward_needs(&n->attrs);
    for (int j = 0; j < n->nvisible && (needs & MX_OP_BWD_OUT_GRAD); j++) {
      value_life *l = &pn->life[g->entry_base[i] + j];
      if (!l->grad_written) {
        p->values[g->entry_base[i] + j].zero_grad = 1;
        l->grad_written = 1;
        l->grad_def = N;
      }
      l->grad_last = imax(l->grad_last, s);
    }
    for (int k = g->in_off[i]; k < g->in_off[i + 1]; k++) {
      int e = g->in_entry[k], src = g->entry_node[e];
      value_life *l = &pn->life[e];
      if (!p->values[e].has_grad || k - g->in_off[i] >= n->nargs) {
        p->bwd_req[k] = MX_REQ_NULL;
        continue;
      }
      int var_add = 0;
      if (!g->nodes[src]->op)
        for (int a = 0; a < g->nargs; a++)
          var_add |= g->arg_nodes[a] == src && pn->arg_req[a] == MX_GRAD_ADD;
      p->bwd_req[k] = (var_add || l->grad_written) ? MX_REQ_ADD : MX_REQ_WRITE;
      if (!l->grad_written) l->grad_def = s;
      l->grad_written = 1;
      l->grad_last = imax(l->grad_last, s);
    }
  }
}

/* Data lifetimes: forward consumers, backward readers, heads kept to the end. */
static void data_lifetimes(planner *pn) {
  const mx_graph *g = pn->g;
  int N = pn->N;
  for (int i = 0; i < N; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op) continue;
    unsigned needs = pn->p->nodes[i].runs_backward ? mx_op_backward_needs(&n->attrs) : 0u;
    for (int k = g->in_off[i]; k < g->in_off[i + 1]; k++) {
      value_life *l = &pn->life[g->in_entry[k]];
      l->data_last = imax(l->data_last, (needs & MX_OP_BWD_IN_DATA) ? 2 * N - i : i);
    }
    if (needs & MX_OP_BWD_OUT_DATA)
      for (int j = 0; j < n->noutputs; j++) {
        value_life *l = &pn->life[g->entry_base[i] + j];
        l->data_last = imax(l->data_last, 2 * N - i);
      }
  }
  for (int h = 0; h < g->nheads; h++) pn->life[g->head_entry[h]].data_last = pn->INF;
}

/* Variables (arguments, aux states) and their gradients hold their values across calls
 * (weights; 'add' gradients), so their blocks are taken before the walk: a block an operator
 * output used and freed must never become one of theirs (with grad_req 'null', fc3_weight once
 * shared fc1's output block). */
static mx_status take_variables(planner *pn) {
  for (int e = 0; e < pn->E; e++) {
    if (is_op_entry(pn, e)) continue;
    value_life *l = &pn->life[e];
    int grad = pn->p->values[e].has_grad && !pn->grad_external[e];
    if (!pn->external[e]) l->data_block = pool_take(&pn->pl, numel_of(pn, e), pn->INF);
    if (grad) l->grad_block = pool_take(&pn->pl, numel_of(pn, e), pn->INF);
    if (!pn->external[e] && l->data_block < 0) return take_failed(l->data_block);
    if (grad && l->grad_block < 0) return take_failed(l->grad_block);
  }
  return MX_OK;
}

/* Workspaces: asked of the operator at the bound shapes, alive for one call. */
static mx_status workspace_sizes(planner *pn) {
  const mx_graph *g = pn->g;
  for (int i = 0; i < pn->N; i++) {
    const mx_node *n = g->nodes[i];
    if (!n->op || !n->op->workspace) continue;
    mx_shape in[MX_OP_MAX_IO], out[MX_OP_MAX_IO];
    int nin = g->in_off[i + 1] - g->in_off[i];
    for (int j = 0; j < nin; j++) in[j] = pn->shapes[g->in_entry[g->in_off[i] + j]];
    for (int j = 0; j < n->noutputs; j++) out[j] = pn->shapes[g->entry_base[i] + j];
    for (int b = 0; b < 1 + pn->p->nodes[i].runs_backward; b++) {
      int64_t w = n->op->workspace(&n->attrs, in, nin, out, n->noutputs, b);
      if (w < 0) return mx_op_error(&n->attrs, MX_ERR_ARG, "asked for a negative workspace");
      pn->p->nodes[i].ws_size[b] = w > 0 ? w : 0;
    }
  }
  return MX_OK;
}

/* The data blocks of node s's outputs at its forward step: the first output of an in-place
 * operator takes its first input's block when that input dies here with the same size. */
static mx_status take_outputs(planner *pn, int s) {
  const mx_graph *g = pn->g;
  pool *pl = &pn->pl;
  const mx_node *n = g->nodes[s];
  for (int j = 0; j < n->noutputs; j++) {
    int e = g->entry_base[s] + j;
    value_life *l = &pn->life[e];
    if (pn->external[e] || l->data_block >= 0) continue; /* variables: taken before */
    int64_t numel = numel_of(pn, e);
    if (n->op && j == 0 && (n->op->flags & MX_OP_INPLACE) && n->nargs > 0) {
      int in = g->in_entry[g->in_off[s]], b = pn->life[in].data_block;
      if (b >= 0 && is_op_entry(pn, in) && pl->b[b].last == s && numel_of(pn, in) == numel) {
        l->data_block = b;
        if (!pool_set_last(pl, b, l->data_last)) return take_failed(-1);
        pn->p->values[e].fwd_req = MX_REQ_INPLACE;
        if (!mx_size_add(pl->naive, numel, &pl->naive)) return too_large();
        continue;
      }
    }
    l->data_block = pool_take(pl, numel, l->data_last);
    if (l->data_block < 0) return take_failed(l->data_block);
  }
  return MX_OK;
}

/* Walk the schedule: take blocks when arrays are born, return them after their last use. */
static mx_status walk(planner *pn) {
  int N = pn->N, E = pn->E;
  pool *pl = &pn->pl;
  /* Gradient entries grouped by the step that first writes them (a counting sort), so the walk
   * visits each once: a scan of all entries at every step was quadratic in the graph's size. */
  int *by_def = malloc((size_t)(E + 1) * sizeof(int)), *start = calloc((size_t)(2 * N + 3), sizeof(int));
  if (!by_def || !start) {
    free(by_def), free(start);
    return mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory while planning");
  }
  for (int e = 0; e < E; e++)
    if (pn->life[e].grad_def <= 2 * N && is_op_entry(pn, e)) start[pn->life[e].grad_def + 2]++;
  for (int s = 0; s <= 2 * N; s++) start[s + 2] += start[s + 1];
  for (int e = 0; e < E; e++)
    if (pn->life[e].grad_def <= 2 * N && is_op_entry(pn, e)) by_def[start[pn->life[e].grad_def + 1]++] = e;
  mx_status st = MX_OK;
  for (int s = 0; s <= 2 * N && st == MX_OK; s++) {
    st = s < N ? take_outputs(pn, s) : MX_OK;
    if (st == MX_OK && s != N) { /* the workspace of the call at step s: node s forward, or node 2N - s backward */
      int i = s < N ? s : 2 * N - s, b = s > N;
      if (pn->p->nodes[i].ws_size[b] > 0) {
        int k = pool_take(pl, pn->p->nodes[i].ws_size[b], s);
        if (k < 0) st = take_failed(k);
        else pn->nl[i].ws_block[b] = k;
      }
    }
    for (int k = start[s]; k < start[s + 1] && st == MX_OK; k++) {
      value_life *l = &pn->life[by_def[k]];
      l->grad_block = pool_take(pl, numel_of(pn, by_def[k]), l->grad_last);
      if (l->grad_block < 0) st = take_failed(l->grad_block);
    }
    if (st == MX_OK && !pool_release_step(pl, s)) st = take_failed(-1);
  }
  free(by_def);
  free(start);
  return st;
}

/* The blocks' offsets into the plan. */
static void set_offsets(planner *pn) {
  const block *b = pn->pl.b;
  for (int e = 0; e < pn->E; e++) {
    const value_life *l = &pn->life[e];
    pn->p->values[e].data_off = l->data_block >= 0 ? b[l->data_block].off : -1;
    pn->p->values[e].grad_off = l->grad_block >= 0 ? b[l->grad_block].off : -1;
  }
  for (int i = 0; i < pn->N; i++)
    for (int k = 0; k < 2; k++)
      pn->p->nodes[i].ws_off[k] = pn->nl[i].ws_block[k] >= 0 ? b[pn->nl[i].ws_block[k]].off : -1;
  pn->p->arena_floats = pn->pl.end;
  pn->p->naive_floats = pn->pl.naive;
}

mx_status mx_plan_build(const mx_graph *g, const mx_shape *shapes, const mx_grad_req *arg_req,
                        const unsigned char *external, const unsigned char *grad_external,
                        mx_plan *p) {
  memset(p, 0, sizeof *p);
  int N = g->nnodes, E = g->nentries;
  planner pn = {g, shapes, arg_req, external, grad_external, p, NULL, NULL, {0}, N, E, 2 * N + 1};
  pn.life = calloc((size_t)E + 1, sizeof *pn.life);
  pn.nl = calloc((size_t)N + 1, sizeof *pn.nl);
  p->values = calloc((size_t)E + 1, sizeof *p->values);
  p->nodes = calloc((size_t)N + 1, sizeof *p->nodes);
  p->head_grad = calloc((size_t)g->nheads + 1, 1);
  p->bwd_req = calloc((size_t)g->in_off[N] + 1, sizeof(mx_req));
  int pool_ok = pool_init(&pn.pl, 2 * N + 1); /* steps 0..2N */
  mx_status st = MX_OK;
  if (!pool_ok || !pn.life || !pn.nl || !p->values || !p->nodes || !p->head_grad || !p->bwd_req) {
    st = mx_error_at(MX_ERR_NOMEM, "mx_executor_bind", "out of memory while planning");
  } else {
    for (int i = 0; i < N; i++) pn.nl[i].ws_block[0] = pn.nl[i].ws_block[1] = -1;
    mark_backward(&pn);
    grad_requests(&pn);
    data_lifetimes(&pn);
    st = take_variables(&pn);
    if (st == MX_OK) st = workspace_sizes(&pn);
    if (st == MX_OK) st = walk(&pn);
    if (st == MX_OK) set_offsets(&pn);
  }
  pool_free(&pn.pl);
  free(pn.life);
  free(pn.nl);
  if (st != MX_OK) mx_plan_free(p);
  return st;
}
