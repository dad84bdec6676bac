/* test_custom.c: the Custom operator from C: callbacks registered per op_type,
 * names, shape inference, forward/backward with the executor's arrays (checked
 * against central finite differences), failures, and instance lifetimes. */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "mx.h"

/* An operator out = data * scale + shift, shift a string parameter. */
static int live_instances, fail_forward;

typedef struct affine {
  float shift;
} affine;

static const char *attr(const mx_custom_attrs *a, const char *key) {
  for (int i = 0; i < a->n; i++)
    if (!strcmp(a->keys[i], key)) return a->values[i];
  return NULL;
}

static mx_status aff_list(void *self, const mx_custom_attrs *a, int which, int *count,
                          const char **names) {
  if (which == MX_CUSTOM_LIST_ARGUMENTS) {
    names[0] = "data", names[1] = "scale", *count = 2;
  } else if (which == MX_CUSTOM_LIST_OUTPUTS) {
    names[0] = "output", *count = 1;
  } else {
    *count = 0;
  }
  return MX_OK;
}

static mx_status aff_infer(void *self, const mx_custom_attrs *a, int nin, mx_custom_shape *in,
                           int nout, mx_custom_shape *out, int naux, mx_custom_shape *aux) {
  if (in[0].ndim == 0) return MX_OK;
  in[1] = in[0];
  out[0] = in[0];
  return MX_OK;
}

static mx_status aff_needs(void *self, const mx_custom_attrs *a, unsigned *needs) {
  *needs = MX_CUSTOM_NEEDS_IN_DATA | MX_CUSTOM_NEEDS_OUT_GRAD;
  return MX_OK;
}

static mx_status aff_create(void *self, const mx_custom_attrs *a, mx_context ctx, int nin,
                            const mx_custom_shape *in, void **op) {
  affine *f = malloc(sizeof *f);
  const char *s = attr(a, "shift");
  f->shift = s ? (float)atof(s) : 0.0f;
  live_instances++;
  *op = f;
  return MX_OK;
}

static void aff_free(void *self, void *op) {
  free(op);
  live_instances--;
}

static mx_status aff_forward(void *self, void *op, int is_train, const int *req, int nin,
                             mx_ndarray *const *in, int nout, mx_ndarray *const *out, int naux,
                             mx_ndarray *const *aux) {
  if (fail_forward) return mx_error(MX_ERR_CALLBACK, "affine: forward refused on purpose");
  affine *f = op;
  int64_t n = mx_ndarray_size(in[0]);
  float *x = malloc(n * sizeof *x), *s = malloc(n * sizeof *s);
  mx_ndarray_to_host(in[0], x, n);
  mx_ndarray_to_host(in[1], s, n);
  for (int64_t i = 0; i < n; i++) x[i] = x[i] * s[i] + f->shift;
  mx_status st = req[0] == 0 ? MX_OK : mx_ndarray_set_host(out[0], x, n);
  free(x), free(s);
  return st;
}

static mx_status aff_backward(void *self, void *op, const int *req, int nout,
                              mx_ndarray *const *out_grad, int nin, mx_ndarray *const *in,
                              mx_ndarray *const *out, mx_ndarray *const *in_grad, int naux,
                              mx_ndarray *const *aux) {
  int64_t n = mx_ndarray_size(in[0]);
  float *x = malloc(n * sizeof *x), *s = malloc(n * sizeof *s), *g = malloc(n * sizeof *g),
        *r = malloc(n * sizeof *r);
  mx_ndarray_to_host(in[0], x, n);
  mx_ndarray_to_host(in[1], s, n);
  mx_ndarray_to_host(out_grad[0], g, n);
  mx_status st = MX_OK;
  if (req[0]) {
    for (int64_t i = 0; i < n; i++) r[i] = g[i] * s[i];
    st = mx_ndarray_set_host(in_grad[0], r, n);
  }
  if (st == MX_OK && req[1]) {
    for (int64_t i = 0; i < n; i++) r[i] = g[i] * x[i];
    st = mx_ndarray_set_host(in_grad[1], r, n);
  }
  free(x), free(s), free(g), free(r);
  return st;
}

static void register_affine(void) {
  mx_custom_op_callbacks cb = {.self = NULL,
                               .list = aff_list,
                               .infer_shape = aff_infer,
                               .backward_needs = aff_needs,
                               .create_operator = aff_create,
                               .forward = aff_forward,
                               .backward = aff_backward,
                               .free_operator = aff_free};
  mx_status st = mx_custom_op_register("affine", &cb);
  if (st != MX_OK) printf("# %s\n", mx_last_error());
}

static mx_symbol *affine_symbol(const char *op_type) {
  mx_symbol *data = NULL, *op = NULL, *out = NULL;
  const char *keys[] = {"op_type", "shift"}, *vals[] = {op_type, "0.5"};
  mx_symbol_variable("data", &data);
  if (mx_symbol_create_op("Custom", "aff", keys, vals, 2, &op) != MX_OK)
    printf("# %s\n", mx_last_error());
  const char *dk[] = {"data"};
  if (op && mx_symbol_compose(op, dk, &data, 1, &out) != MX_OK) printf("# %s\n", mx_last_error());
  mx_symbol_release(data);
  mx_symbol_release(op);
  return out;
}

TEST(names_and_shapes) {
  register_affine();
  CHECK(mx_custom_op_registered("affine"));
  CHECK(!mx_custom_op_registered("nothing_here"));
  mx_symbol *s = affine_symbol("affine");
  CHECK(s != NULL);
  if (!s) return;
  const char *const *names;
  int n;
  CHECK(mx_symbol_list_arguments(s, &names, &n) == MX_OK);
  CHECK(n == 2 && !strcmp(names[0], "data") && !strcmp(names[1], "aff_scale"));
  CHECK(mx_symbol_list_outputs(s, &names, &n) == MX_OK);
  CHECK(n == 1 && !strcmp(names[0], "aff_output"));
  const char *in_names[] = {"data"};
  const int64_t shapes[1][MX_MAX_NDIM] = {{2, 3}};
  const int ndims[] = {2};
  mx_symbol_shapes r;
  int complete = 0;
  CHECK(mx_symbol_infer_shape(s, in_names, shapes, ndims, 1, &r, &complete, NULL, 0) == MX_OK);
  CHECK(complete);
  CHECK(r.arg_ndim[1] == 2 && r.arg[1][0] == 2 && r.arg[1][1] == 3);
  CHECK(r.out_ndim[0] == 2 && r.out[0][0] == 2 && r.out[0][1] == 3);
  mx_symbol_shapes_free(&r);
  mx_symbol_release(s);
}

static mx_executor *bind_affine(mx_symbol *s) {
  const char *in_names[] = {"data", "aff_scale"};
  const int64_t shapes[2][MX_MAX_NDIM] = {{2, 3}, {2, 3}};
  const int ndims[] = {2, 2};
  const mx_grad_req reqs[] = {MX_GRAD_WRITE, MX_GRAD_WRITE}; /* data too: it is checked */
  mx_executor *e = NULL;
  if (mx_executor_simple_bind(s, mx_cpu(0), in_names, shapes, ndims, 2, reqs, &e) != MX_OK)
    printf("# %s\n", mx_last_error());
  return e;
}

static float loss(mx_executor *e, const float *g) {
  mx_ndarray *const *outs;
  mx_executor_forward(e, 1);
  mx_executor_outputs(e, &outs);
  float y[6];
  mx_ndarray_to_host(outs[0], y, 6);
  float l = 0;
  for (int i = 0; i < 6; i++) l += g[i] * y[i];
  return l;
}

TEST(forward_backward_against_finite_differences) {
  register_affine();
  mx_symbol *s = affine_symbol("affine");
  mx_executor *e = s ? bind_affine(s) : NULL;
  CHECK(e != NULL);
  if (!e) {
    mx_symbol_release(s);
    return;
  }
  CHECK(live_instances == 1);
  mx_ndarray *const *args;
  mx_executor_arg_arrays(e, &args);
  float x[6] = {1, -2, 3, 0.5f, 4, -1}, sc[6] = {2, 3, -1, 0.25f, 1, 5};
  mx_ndarray_set_host(args[0], x, 6);
  mx_ndarray_set_host(args[1], sc, 6);
  CHECK(mx_executor_forward(e, 1) == MX_OK);
  mx_ndarray *const *outs;
  mx_executor_outputs(e, &outs);
  float y[6];
  mx_ndarray_to_host(outs[0], y, 6);
  for (int i = 0; i < 6; i++) CHECK_NEAR(y[i], x[i] * sc[i] + 0.5f, 1e-6);

  /* backward with a head gradient g, against central differences of sum(g * out) */
  float g[6] = {0.3f, -1, 2, 0.7f, -0.2f, 1.5f};
  int64_t gs[2] = {2, 3};
  mx_ndarray *head = NULL;
  mx_ndarray_from_host(gs, 2, mx_cpu(0), g, &head);
  CHECK(mx_executor_forward(e, 1) == MX_OK);
  CHECK(mx_executor_backward(e, &head, 1) == MX_OK);
  mx_ndarray *const *grads;
  mx_executor_grad_arrays(e, &grads);
  float gx[6], gsc[6];
  mx_ndarray_to_host(grads[0], gx, 6);
  mx_ndarray_to_host(grads[1], gsc, 6);
  const float h = 1e-2f;
  for (int a = 0; a < 2; a++) {
    float *v = a == 0 ? x : sc, *got = a == 0 ? gx : gsc;
    for (int i = 0; i < 6; i++) {
      float keep = v[i];
      v[i] = keep + h;
      mx_ndarray_set_host(args[a], v, 6);
      float lp = loss(e, g);
      v[i] = keep - h;
      mx_ndarray_set_host(args[a], v, 6);
      float lm = loss(e, g);
      v[i] = keep;
      mx_ndarray_set_host(args[a], v, 6);
      CHECK_NEAR(got[i], (lp - lm) / (2 * h), 1e-3);
    }
  }
  mx_ndarray_release(head);
  mx_executor_release(e);
  CHECK(live_instances == 0);
  mx_symbol_release(s);
}

TEST(a_failing_callback_stops_the_pass_and_the_executor_goes_on) {
  register_affine();
  mx_symbol *s = affine_symbol("affine");
  mx_executor *e = s ? bind_affine(s) : NULL;
  CHECK(e != NULL);
  if (!e) return;
  fail_forward = 1;
  CHECK(mx_executor_forward(e, 0) == MX_ERR_CALLBACK);
  CHECK(strstr(mx_last_error(), "forward refused on purpose") != NULL);
  fail_forward = 0;
  CHECK(mx_executor_forward(e, 0) == MX_OK);
  mx_executor_release(e);
  mx_symbol_release(s);
}

TEST(an_unregistered_op_type_is_a_clear_error) {
  mx_symbol *s = affine_symbol("no_such_type");
  if (s) {
    const char *in_names[] = {"data"};
    const int64_t shapes[1][MX_MAX_NDIM] = {{2, 3}};
    const int ndims[] = {2};
    mx_executor *e = NULL;
    CHECK(mx_executor_simple_bind(s, mx_cpu(0), in_names, shapes, ndims, 1, NULL, &e) != MX_OK);
    CHECK(strstr(mx_last_error(), "op_type 'no_such_type' is not registered") != NULL);
    mx_symbol_release(s);
  } /* else: composing fails already, as the operator lists no arguments */
  mx_custom_op_callbacks empty = {0};
  CHECK(mx_custom_op_register("broken", &empty) == MX_ERR_ARG);
  CHECK(mx_custom_op_register("", &empty) == MX_ERR_ARG);
}

int main(void) {
  RUN(names_and_shapes);
  RUN(forward_backward_against_finite_differences);
  RUN(a_failing_callback_stops_the_pass_and_the_executor_goes_on);
  RUN(an_unregistered_op_type_is_a_clear_error);
  return ctest_summary();
}
