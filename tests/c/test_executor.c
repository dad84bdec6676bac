/* test_executor.c: executors in C: the tutorial MLP's forward against a plain
 * loop, its gradients against central differences, 'add'/'null' requests,
 * memory reuse, the monitor, and zero allocations over 1000 training steps. */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "mx.h"
#include "operator.h"

static mx_symbol *op(const char *opname, const char *name, mx_symbol *data, const char *k,
                     const char *v) {
  mx_symbol *s = NULL, *r = NULL;
  const char *keys[1] = {k}, *vals[1] = {v};
  if (mx_symbol_create_op(opname, name, keys, vals, k ? 1 : 0, &s) != MX_OK) return NULL;
  const char *dk[1] = {"data"};
  mx_symbol_compose(s, dk, &data, 1, &r);
  mx_symbol_release(s);
  return r;
}

/* data -> fc1(h1) -> relu -> fc2(h2) -> relu -> fc3(10) -> SoftmaxOutput */
static mx_symbol *mlp(const char *h1, const char *h2, const char *h3) {
  mx_symbol *data, *a, *b, *c, *d, *e, *f;
  mx_symbol_variable("data", &data);
  a = op("FullyConnected", "fc1", data, "num_hidden", h1);
  b = op("Activation", "relu1", a, "act_type", "relu");
  c = op("FullyConnected", "fc2", b, "num_hidden", h2);
  d = op("Activation", "relu2", c, "act_type", "relu");
  e = op("FullyConnected", "fc3", d, "num_hidden", h3);
  f = op("SoftmaxOutput", "softmax", e, NULL, NULL);
  mx_symbol *all[] = {data, a, b, c, d, e};
  for (int i = 0; i < 6; i++) mx_symbol_release(all[i]);
  return f;
}

static mx_executor *bind_mlp(mx_symbol *s, int batch, int in, const mx_grad_req *reqs) {
  const char *names[2] = {"data", "softmax_label"};
  int64_t shapes[2][MX_MAX_NDIM] = {{batch, in}, {batch}};
  int nd[2] = {2, 1};
  mx_executor *e = NULL;
  if (mx_executor_simple_bind(s, mx_cpu(0), names, (const int64_t(*)[MX_MAX_NDIM])shapes, nd, 2,
                              reqs, &e) != MX_OK)
    printf("# bind: %s\n", mx_last_error());
  return e;
}

static float *host(mx_ndarray *a) {
  float *d = malloc((size_t)mx_ndarray_size(a) * sizeof(float));
  mx_ndarray_to_host(a, d, mx_ndarray_size(a));
  return d;
}

static void fill_random(mx_ndarray *a, float scale) {
  int64_t n = mx_ndarray_size(a);
  float *d = malloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) d[i] = scale * ((float)rand() / (float)RAND_MAX * 2.0f - 1.0f);
  mx_ndarray_set_host(a, d, n);
  free(d);
}

/* The loss whose gradient SoftmaxOutput gives: sum over rows of -log p[label]. */
static double loss_of(mx_executor *e, const float *label, int batch, int k) {
  mx_executor_forward(e, 0);
  mx_ndarray *const *outs;
  mx_executor_outputs(e, &outs);
  float *p = host(outs[0]);
  double l = 0;
  for (int i = 0; i < batch; i++) l -= log((double)p[i * k + (int)label[i]]);
  free(p);
  return l;
}

/* Plain-loop reference of the MLP forward: returns probabilities (batch, k). */
static void reference_forward(mx_ndarray *const *args, int batch, int in, int h1, int h2, int k,
                              float *probs) {
  float *x = host(args[0]), *w1 = host(args[1]), *b1 = host(args[2]), *w2 = host(args[3]),
        *b2 = host(args[4]), *w3 = host(args[5]), *b3 = host(args[6]);
  float *a1 = calloc((size_t)batch * h1, 4), *a2 = calloc((size_t)batch * h2, 4);
  for (int i = 0; i < batch; i++) {
    for (int j = 0; j < h1; j++) {
      double s = b1[j];
      for (int t = 0; t < in; t++) s += x[i * in + t] * w1[j * in + t];
      a1[i * h1 + j] = s > 0 ? (float)s : 0.0f;
    }
    for (int j = 0; j < h2; j++) {
      double s = b2[j];
      for (int t = 0; t < h1; t++) s += a1[i * h1 + t] * w2[j * h1 + t];
      a2[i * h2 + j] = s > 0 ? (float)s : 0.0f;
    }
    double z[64], mx = -1e30, sum = 0;
    for (int j = 0; j < k; j++) {
      z[j] = b3[j];
      for (int t = 0; t < h2; t++) z[j] += a2[i * h2 + t] * w3[j * h2 + t];
      if (z[j] > mx) mx = z[j];
    }
    for (int j = 0; j < k; j++) sum += exp(z[j] - mx);
    for (int j = 0; j < k; j++) probs[i * k + j] = (float)(exp(z[j] - mx) / sum);
  }
  free(x), free(w1), free(b1), free(w2), free(b2), free(w3), free(b3), free(a1), free(a2);
}

TEST(mlp_forward_matches_loops) {
  int batch = 5, in = 7, h1 = 6, h2 = 4, k = 3;
  mx_symbol *s = mlp("6", "4", "3");
  mx_executor *e = bind_mlp(s, batch, in, NULL);
  CHECK(e != NULL);
  if (!e) return;
  mx_ndarray *const *args;
  int n = mx_executor_arg_arrays(e, &args);
  CHECK(n == 8);
  srand(1);
  for (int i = 0; i < 7; i++) fill_random(args[i], 1.0f);
  float labels[5] = {0, 2, 1, 1, 0};
  mx_ndarray_set_host(args[7], labels, 5);
  CHECK(mx_executor_forward(e, 1) == MX_OK);
  float want[15];
  reference_forward(args, batch, in, h1, h2, k, want);
  mx_ndarray *const *outs;
  mx_executor_outputs(e, &outs);
  float *got = host(outs[0]);
  for (int i = 0; i < 15; i++) CHECK_NEAR(got[i], want[i], 1e-5);
  free(got);
  mx_executor_release(e);
  mx_symbol_release(s);
}

TEST(mlp_gradients_match_finite_differences) {
  int batch = 3, in = 5, k = 3;
  mx_symbol *s = mlp("4", "3", "3");
  mx_executor *e = bind_mlp(s, batch, in, NULL);
  if (!e) return;
  mx_ndarray *const *args, *const *grads;
  mx_executor_arg_arrays(e, &args);
  mx_executor_grad_arrays(e, &grads);
  CHECK(grads[0] == NULL && grads[7] == NULL); /* data and label: no gradient by default */
  srand(2);
  for (int i = 0; i < 7; i++) fill_random(args[i], 1.0f);
  float labels[3] = {2, 0, 1};
  mx_ndarray_set_host(args[7], labels, 3);
  CHECK(mx_executor_forward(e, 1) == MX_OK);
  CHECK(mx_executor_backward(e, NULL, 0) == MX_OK);
  for (int a = 1; a < 7; a++) {
    float *g = host(grads[a]);
    int64_t n = mx_ndarray_size(args[a]);
    for (int64_t i = 0; i < n; i++) {
      float v;
      const float eps = 1e-3f;
      mx_ndarray_get_element(args[a], i, &v);
      mx_ndarray_set_element(args[a], i, v + eps);
      double lp = loss_of(e, labels, batch, k);
      mx_ndarray_set_element(args[a], i, v - eps);
      double lm = loss_of(e, labels, batch, k);
      mx_ndarray_set_element(args[a], i, v);
      CHECK_NEAR(g[i], (lp - lm) / (2 * eps), 2e-3);
    }
    free(g);
  }
  mx_executor_release(e);
  mx_symbol_release(s);
}

TEST(add_and_null_requests) {
  int batch = 4, in = 3;
  mx_symbol *s = mlp("5", "4", "2");
  mx_grad_req write[8] = {0, 1, 1, 1, 1, 1, 1, 0}, reqs[8] = {0, 3, 0, 1, 1, 1, 1, 0};
  mx_executor *w = bind_mlp(s, batch, in, write), *e = bind_mlp(s, batch, in, reqs);
  if (!w || !e) return;
  mx_ndarray *const *wa, *const *ea, *const *wg, *const *eg;
  mx_executor_arg_arrays(w, &wa);
  mx_executor_arg_arrays(e, &ea);
  mx_executor_grad_arrays(w, &wg);
  mx_executor_grad_arrays(e, &eg);
  CHECK(eg[2] == NULL && eg[1] != NULL);
  srand(3);
  for (int i = 0; i < 7; i++) {
    fill_random(wa[i], 1.0f);
    mx_ndarray_assign(ea[i], wa[i]);
  }
  float labels[4] = {0, 1, 1, 0};
  mx_ndarray_set_host(wa[7], labels, 4);
  mx_ndarray_set_host(ea[7], labels, 4);
  mx_ndarray_fill(eg[1], 1.0f); /* 'add' accumulates onto what is there */
  for (int step = 0; step < 2; step++) {
    mx_executor_forward(w, 1);
    mx_executor_backward(w, NULL, 0);
    mx_executor_forward(e, 1);
    mx_executor_backward(e, NULL, 0);
  }
  float *gw = host(wg[1]), *ge = host(eg[1]);
  for (int64_t i = 0; i < mx_ndarray_size(wg[1]); i++) CHECK_NEAR(ge[i], 1.0f + 2.0f * gw[i], 1e-5);
  free(gw);
  free(ge);
  gw = host(wg[3]), ge = host(eg[3]); /* 'write' overwrites: the same after two steps */
  for (int64_t i = 0; i < mx_ndarray_size(wg[3]); i++) CHECK_NEAR(ge[i], gw[i], 1e-6);
  free(gw);
  free(ge);
  mx_executor_release(w);
  mx_executor_release(e);
  mx_symbol_release(s);
}

TEST(planner_reuses_memory) {
  mx_symbol *s = mlp("128", "64", "10");
  mx_grad_req none[8] = {0};
  mx_executor *train = bind_mlp(s, 100, 784, NULL), *infer = bind_mlp(s, 100, 784, none);
  if (!train || !infer) return;
  size_t arena, naive, arena_i, naive_i;
  mx_executor_memory(train, &arena, &naive);
  mx_executor_memory(infer, &arena_i, &naive_i);
  CHECK(arena < naive);
  CHECK(arena_i < arena); /* null gradients free what only they needed */
  printf("# MLP batch 100: arena %zu bytes (no reuse: %zu); inference arena %zu bytes\n", arena,
         naive, arena_i);
  mx_executor_release(train);
  mx_executor_release(infer);
  mx_symbol_release(s);
}

static int monitor_calls;
static char monitor_seen[1024];
static mx_status monitor(const char *name, mx_ndarray *a, void *ud) {
  monitor_calls++;
  strncat(monitor_seen, name, sizeof monitor_seen - strlen(monitor_seen) - 2);
  strcat(monitor_seen, " ");
  return MX_OK;
}

TEST(monitor_sees_outputs_and_gradients) {
  mx_symbol *s = mlp("4", "3", "2");
  mx_executor *e = bind_mlp(s, 2, 3, NULL);
  if (!e) return;
  mx_executor_set_monitor(e, monitor, NULL);
  mx_executor_forward(e, 1);
  mx_executor_backward(e, NULL, 0);
  CHECK(strstr(monitor_seen, "fc1_output ") && strstr(monitor_seen, "softmax_output "));
  CHECK(strstr(monitor_seen, "fc1_backward_weight ") && strstr(monitor_seen, "fc3_backward_bias "));
  CHECK(strstr(monitor_seen, "fc1_backward_data ") == NULL); /* no gradient requested for data */
  int calls = monitor_calls;
  mx_executor_set_monitor(e, NULL, NULL);
  mx_executor_forward(e, 1);
  CHECK(monitor_calls == calls);
  mx_executor_release(e);
  mx_symbol_release(s);
}

TEST(thousand_steps_allocate_nothing) {
  mx_symbol *s = mlp("128", "64", "10");
  mx_executor *e = bind_mlp(s, 100, 784, NULL);
  if (!e) return;
  mx_ndarray *const *args;
  mx_executor_arg_arrays(e, &args);
  for (int i = 0; i < 7; i++) fill_random(args[i], 0.05f);
  mx_alloc_stats before, after;
  mx_alloc_stats_get(&before);
  int ok = 1;
  /* 20 steps under valgrind (make test-valgrind sets MXLUA_VALGRIND): 1000 take an hour */
  int steps = getenv("MXLUA_VALGRIND") ? 20 : 1000;
  for (int step = 0; step < steps && ok; step++)
    ok = mx_executor_forward(e, 1) == MX_OK && mx_executor_backward(e, NULL, 0) == MX_OK;
  mx_alloc_stats_get(&after);
  CHECK(ok);
  CHECK(after.requests == before.requests);
  CHECK(after.system_allocs == before.system_allocs);
  mx_executor_release(e);
  mx_symbol_release(s);
}

TEST(bind_errors) {
  mx_symbol *s = mlp("4", "3", "2");
  mx_executor *e = NULL;
  const char *names[1] = {"softmax_label"};
  int64_t shapes[1][MX_MAX_NDIM] = {{2}};
  int nd[1] = {1};
  CHECK(mx_executor_simple_bind(s, mx_cpu(0), names, (const int64_t(*)[MX_MAX_NDIM])shapes, nd, 1,
                                NULL, &e) == MX_ERR_SHAPE);
  CHECK(strstr(mx_last_error(), "data") != NULL);
  /* a non-loss head needs its gradient */
  mx_symbol *v, *fc;
  mx_symbol_variable("data", &v);
  fc = op("FullyConnected", "fc", v, "num_hidden", "2");
  const char *n2[1] = {"data"};
  int64_t s2[1][MX_MAX_NDIM] = {{3, 4}};
  int nd2[1] = {2};
  CHECK(mx_executor_simple_bind(fc, mx_cpu(0), n2, (const int64_t(*)[MX_MAX_NDIM])s2, nd2, 1, NULL,
                                &e) == MX_OK);
  mx_executor_forward(e, 1);
  CHECK(mx_executor_backward(e, NULL, 0) == MX_ERR_ARG);
  CHECK(strstr(mx_last_error(), "fc_output") != NULL);
  mx_executor_release(e);
  mx_symbol_release(fc);
  mx_symbol_release(v);
  mx_symbol_release(s);
}

static float *seen_fc1, *seen_relu1, *seen_fc2;
static mx_status remember(const char *name, mx_ndarray *a, void *ud) {
  if (strcmp(name, "fc1_output") == 0) seen_fc1 = mx_ndarray_data(a);
  if (strcmp(name, "relu1_output") == 0) seen_relu1 = mx_ndarray_data(a);
  if (strcmp(name, "fc2_output") == 0) seen_fc2 = mx_ndarray_data(a);
  return MX_OK;
}

TEST(relu_runs_in_place) {
  mx_symbol *s = mlp("6", "5", "3");
  mx_executor *e = bind_mlp(s, 4, 7, NULL);
  if (!e) return;
  mx_executor_set_monitor(e, remember, NULL);
  CHECK(mx_executor_forward(e, 1) == MX_OK);
  /* fc1's output is needed by nobody after relu1 (FullyConnected's backward reads its
   * input, not its output; relu's reads its own output), so relu1 writes over it */
  CHECK(seen_fc1 != NULL && seen_fc1 == seen_relu1);
  CHECK(seen_fc2 != seen_fc1);
  mx_executor_release(e);
  mx_symbol_release(s);
}

TEST(json_round_trip) {
  mx_symbol *s = mlp("6", "5", "3"), *r;
  char *json, *again;
  CHECK(mx_symbol_to_json(s, &json) == MX_OK);
  CHECK(strstr(json, "\"num_hidden\": \"6\"") != NULL);
  CHECK(mx_symbol_from_json(json, &r) == MX_OK);
  CHECK(mx_symbol_to_json(r, &again) == MX_OK);
  CHECK(strcmp(json, again) == 0);
  free(json);
  free(again);
  mx_symbol_release(r);
  mx_symbol_release(s);
}

/* Arguments and 'add' gradients live in the arena across calls: no operator
 * output may share their blocks (a 'null' executor once overwrote fc3_weight). */
TEST(arena_arguments_and_add_gradients_persist) {
  mx_symbol *s = mlp("6", "5", "3");
  mx_grad_req none[8] = {0}, add[8] = {0, 3, 3, 3, 3, 3, 3, 0}, write[8] = {0, 1, 1, 1, 1, 1, 1, 0};
  mx_executor *n = bind_mlp(s, 4, 7, none), *a = bind_mlp(s, 4, 7, add),
              *w = bind_mlp(s, 4, 7, write);
  if (!n || !a || !w) return;
  mx_ndarray *const *na, *const *aa, *const *wa, *const *ag, *const *wg;
  mx_executor_arg_arrays(n, &na);
  mx_executor_arg_arrays(a, &aa);
  mx_executor_arg_arrays(w, &wa);
  mx_executor_grad_arrays(a, &ag);
  mx_executor_grad_arrays(w, &wg);
  srand(5);
  for (int i = 0; i < 8; i++) {
    fill_random(na[i], 1.0f);
    if (i == 7) {
      float l[4] = {0, 1, 2, 1};
      mx_ndarray_set_host(na[i], l, 4);
    }
    mx_ndarray_assign(aa[i], na[i]);
    mx_ndarray_assign(wa[i], na[i]);
  }
  float *before[8];
  for (int i = 0; i < 8; i++) before[i] = host(na[i]);
  for (int k = 0; k < 3; k++) CHECK(mx_executor_forward(n, 0) == MX_OK);
  for (int i = 0; i < 8; i++) {
    float *now = host(na[i]);
    CHECK(memcmp(now, before[i], (size_t)mx_ndarray_size(na[i]) * sizeof(float)) == 0);
    free(now);
    free(before[i]);
  }
  for (int k = 0; k < 3; k++) {
    mx_executor_forward(a, 1);
    mx_executor_backward(a, NULL, 0);
  }
  mx_executor_forward(w, 1);
  mx_executor_backward(w, NULL, 0);
  for (int i = 1; i < 7; i++) {
    float *ga = host(ag[i]), *gw = host(wg[i]);
    for (int64_t j = 0; j < mx_ndarray_size(ag[i]); j++) CHECK_NEAR(ga[j], 3.0f * gw[j], 1e-5);
    free(ga);
    free(gw);
  }
  mx_executor_release(n);
  mx_executor_release(a);
  mx_executor_release(w);
  mx_symbol_release(s);
}

/* A test operator, y = 2x, that does its work through the planned workspace and
 * checks it got exactly what it asked for, apart from its own arrays. */
static int workspace_calls, workspace_bad;
static int64_t test_ws(const mx_op_attrs *a, const mx_shape *in, int nin, const mx_shape *out,
                       int nout, int bwd) {
  return mx_shape_numel(&in[0]) * (bwd ? 3 : 2);
}
static int overlaps(const float *p, int64_t n, mx_ndarray *a) {
  const float *q = mx_ndarray_data(a);
  return p < q + mx_ndarray_size(a) && q < p + n;
}
static mx_status test_ws_forward(const mx_op_call *c) {
  int64_t n = mx_ndarray_size(c->in[0]);
  float *w = c->workspace, *x = mx_ndarray_data(c->in[0]), *y = mx_ndarray_data(c->out[0]);
  workspace_calls++;
  if (!w || c->workspace_size != 2 * n || overlaps(w, 2 * n, c->in[0]) ||
      overlaps(w, 2 * n, c->out[0]))
    workspace_bad++;
  for (int64_t i = 0; i < n; i++) w[n + i] = 2.0f * x[i];
  for (int64_t i = 0; i < n; i++) y[i] = w[n + i];
  return MX_OK;
}
static mx_status test_ws_backward(const mx_op_call *c) {
  int64_t n = mx_ndarray_size(c->in[0]);
  float *w = c->workspace, *dy = mx_ndarray_data(c->out_grad[0]),
        *dx = mx_ndarray_data(c->in_grad[0]);
  workspace_calls++;
  if (!w || c->workspace_size != 3 * n || overlaps(w, 3 * n, c->out_grad[0]) ||
      overlaps(w, 3 * n, c->in_grad[0]))
    workspace_bad++;
  for (int64_t i = 0; i < n; i++) w[2 * n + i] = 2.0f * dy[i];
  for (int64_t i = 0; i < n; i++) mx_req_store(c->req[0], &dx[i], w[2 * n + i]);
  return MX_OK;
}
static const mx_op test_ws_op = {
    .name = "TestWorkspace",
    .arguments = (const char *const[]){"data", NULL},
    .outputs = (const char *const[]){"output", NULL},
    .infer_shape = mx_op_infer_same,
    .forward = {[MX_DEV_CPU] = test_ws_forward},
    .backward = {[MX_DEV_CPU] = test_ws_backward},
    .flags = MX_OP_BWD_OUT_GRAD,
    .workspace = test_ws,
};

TEST(kernels_get_their_planned_workspace) {
  CHECK(mx_op_register(&test_ws_op) == MX_OK);
  mx_symbol *v, *fc, *t1, *t2, *sm;
  mx_symbol_variable("data", &v);
  fc = op("FullyConnected", "fc", v, "num_hidden", "4");
  t1 = op("TestWorkspace", "t1", fc, NULL, NULL);
  t2 = op("TestWorkspace", "t2", t1, NULL, NULL);
  sm = op("SoftmaxOutput", "softmax", t2, NULL, NULL);
  mx_executor *e = bind_mlp(sm, 3, 5, NULL);
  if (!e) return;
  mx_ndarray *const *args, *const *outs;
  mx_executor_arg_arrays(e, &args);
  for (int i = 0; i < 3; i++) fill_random(args[i], 1.0f);
  mx_executor_forward(e, 1);
  mx_executor_backward(e, NULL, 0);
  CHECK(workspace_calls == 4 && workspace_bad == 0);
  /* t2(t1(fc)) = 4 fc: the softmax of 4 z */
  mx_executor_outputs(e, &outs);
  float *p = host(outs[0]), *x = host(args[0]), *w = host(args[1]), *b = host(args[2]);
  for (int r = 0; r < 3; r++) {
    double z[4], m = -1e30, s = 0;
    for (int j = 0; j < 4; j++) {
      z[j] = b[j];
      for (int k = 0; k < 5; k++) z[j] += x[r * 5 + k] * w[j * 5 + k];
      z[j] *= 4;
      m = z[j] > m ? z[j] : m;
    }
    for (int j = 0; j < 4; j++) s += exp(z[j] - m);
    for (int j = 0; j < 4; j++) CHECK_NEAR(p[r * 4 + j], exp(z[j] - m) / s, 1e-5);
  }
  free(p), free(x), free(w), free(b);
  mx_alloc_stats before, after;
  mx_alloc_stats_get(&before);
  for (int k = 0; k < 10; k++) {
    mx_executor_forward(e, 1);
    mx_executor_backward(e, NULL, 0);
  }
  mx_alloc_stats_get(&after);
  CHECK(after.requests == before.requests && workspace_bad == 0);
  mx_executor_release(e);
  mx_symbol *all[] = {v, fc, t1, t2, sm};
  for (int i = 0; i < 5; i++) mx_symbol_release(all[i]);
}

int main(void) {
  RUN(mlp_forward_matches_loops);
  RUN(mlp_gradients_match_finite_differences);
  RUN(add_and_null_requests);
  RUN(planner_reuses_memory);
  RUN(monitor_sees_outputs_and_gradients);
  RUN(thousand_steps_allocate_nothing);
  RUN(bind_errors);
  RUN(relu_runs_in_place);
  RUN(json_round_trip);
  RUN(arena_arguments_and_add_gradients_persist);
  RUN(kernels_get_their_planned_workspace);
  return ctest_summary();
}
