/* test_errors.c: an operator's failure in its fields (mx_last_error_info) through each of its
 * callers: the operator records what happened and names itself and its node; the caller
 * (shape inference, an executor, an eager call, parsing) adds its own function, so an eager
 * call never reports a symbolic function, and a node is named once. */
#include <string.h>

#include "ndtest.h"

static int streq(const char *a, const char *b) {
  if (strcmp(a, b) == 0) return 1;
  printf("# got \"%s\", expected \"%s\"\n", a, b);
  return 0;
}

/* The fields of the last failure, CHECKed against where, node and what. */
#define CHECK_INFO(st_, status_, where_, node_, what_)                                            \
  do {                                                                                             \
    mx_error_info ei_;                                                                             \
    mx_last_error_info(&ei_);                                                                      \
    CHECK((st_) == (status_) && ei_.status == (status_));                                          \
    CHECK(streq(ei_.where, where_));                                                               \
    CHECK(streq(ei_.node, node_));                                                                 \
    CHECK(streq(ei_.what, what_));                                                                 \
  } while (0)

static const char *const conv_keys[2] = {"kernel", "num_filter"};
static const char *const conv_vals[2] = {"(5,5)", "2"};
#define ACTS "relu|sigmoid|tanh|softrelu|softsign|log_sigmoid|mish"
#define CONV_WHAT "kernel (dilated 5x5) larger than the padded data (1,1,3,3)"

/* data -> Convolution conv1 (5x5 kernel) */
static mx_symbol *conv1(void) {
  mx_symbol *data = NULL, *c = NULL, *r = NULL;
  CHECK_OK(mx_symbol_variable("data", &data));
  CHECK_OK(mx_symbol_create_op("Convolution", "conv1", conv_keys, conv_vals, 2, &c));
  const char *dk[1] = {"data"};
  CHECK_OK(mx_symbol_compose(c, dk, &data, 1, &r));
  mx_symbol_release(data);
  mx_symbol_release(c);
  return r;
}

TEST(symbolic_shape_error_names_infer_shape_operator_and_node) {
  mx_symbol *s = conv1();
  const char *names[1] = {"data"};
  int64_t shapes[1][MX_MAX_NDIM] = {{1, 1, 3, 3}};
  int nd[1] = {4}, complete = 0;
  mx_symbol_shapes r;
  mx_status st = mx_symbol_infer_shape(s, names, (const int64_t(*)[MX_MAX_NDIM])shapes, nd, 1, &r,
                                       &complete, NULL, 0);
  CHECK_INFO(st, MX_ERR_SHAPE, "mx_symbol_infer_shape", "Convolution conv1", CONV_WHAT);
  CHECK(streq(mx_last_error(), "mx_symbol_infer_shape: Convolution conv1: " CONV_WHAT));
  /* through simple_bind: the binder is the outermost function, inference inside it */
  mx_executor *e = NULL;
  st = mx_executor_simple_bind(s, mx_cpu(0), names, (const int64_t(*)[MX_MAX_NDIM])shapes, nd, 1,
                               NULL, &e);
  CHECK_INFO(st, MX_ERR_SHAPE, "mx_executor_simple_bind", "Convolution conv1", CONV_WHAT);
  CHECK(streq(mx_last_error(),
              "mx_executor_simple_bind: mx_symbol_infer_shape: Convolution conv1: " CONV_WHAT));
  mx_symbol_release(s);
}

TEST(eager_shape_error_names_the_eager_call_and_the_operator_only) {
  mx_eager *op = NULL;
  CHECK_OK(mx_eager_get("Convolution", conv_keys, conv_vals, 2, &op));
  mx_ndarray *in[3] = {ND(NULL, 1, 1, 3, 3), ND(NULL, 2, 1, 5, 5), ND(NULL, 2)};
  mx_ndarray *out[1] = {NULL};
  mx_status st = mx_eager_run(op, in, 3, 0, out);
  CHECK_INFO(st, MX_ERR_SHAPE, "mx_eager_run", "Convolution", CONV_WHAT);
  CHECK(streq(mx_last_error(), "mx_eager_run: Convolution: " CONV_WHAT));
  CHECK(strstr(mx_last_error(), "infer_shape") == NULL && out[0] == NULL);
  for (int i = 0; i < 3; i++) mx_ndarray_release(in[i]);
}

TEST(parameter_errors_name_the_parsing_caller) {
  const char *k[1] = {"act_type"}, *v[1] = {"relux"};
  mx_symbol *s = NULL;
  mx_status st = mx_symbol_create_op("Activation", "act1", k, v, 1, &s);
  CHECK_INFO(st, MX_ERR_ARG, "mx_symbol_create_op", "Activation act1",
             "parameter act_type: bad value 'relux' (expected one of " ACTS ")");
  mx_eager *op = NULL;
  st = mx_eager_get("Activation", k, v, 1, &op);
  CHECK_INFO(st, MX_ERR_ARG, "mx_eager_get", "Activation",
             "parameter act_type: bad value 'relux' (expected one of " ACTS ")");
}

/* A kernel's failure: the executor names the node once, though the operator named it too. */
TEST(kernel_error_names_the_node_once) {
  mx_symbol *data = NULL, *sm = NULL, *r = NULL;
  CHECK_OK(mx_symbol_variable("data", &data));
  CHECK_OK(mx_symbol_create_op("SoftmaxOutput", "sm", NULL, NULL, 0, &sm));
  const char *dk[1] = {"data"};
  CHECK_OK(mx_symbol_compose(sm, dk, &data, 1, &r));
  const char *names[2] = {"data", "sm_label"};
  int64_t shapes[2][MX_MAX_NDIM] = {{2, 3}, {2}};
  int nd[2] = {2, 1};
  const mx_grad_req reqs[2] = {MX_GRAD_WRITE, MX_GRAD_NULL}; /* a gradient for data */
  mx_executor *e = NULL;
  CHECK_OK(mx_executor_simple_bind(r, mx_cpu(0), names, (const int64_t(*)[MX_MAX_NDIM])shapes, nd,
                                   2, reqs, &e));
  if (!e) return;
  mx_ndarray *const *args;
  CHECK(mx_executor_arg_arrays(e, &args) == 2);
  const float label[2] = {5, 1};
  CHECK_OK(mx_ndarray_set_host(args[1], label, 2));
  CHECK_OK(mx_executor_forward(e, 1));
  mx_status st = mx_executor_backward(e, NULL, 0);
  CHECK_INFO(st, MX_ERR_ARG, "mx_executor_backward", "SoftmaxOutput sm",
             "label 5 (at position 0) out of range for 3 classes (expected an integer in 0..2)");
  mx_executor_release(e);
  mx_symbol_release(r);
  mx_symbol_release(sm);
  mx_symbol_release(data);
}

/* The rule behind it: the same node context twice in a row is kept once; another is prepended. */
TEST(node_context_kept_once) {
  mx_error(MX_ERR_SHAPE, "bad");
  mx_error_node(MX_ERR_SHAPE, "Convolution conv1");
  mx_error_node(MX_ERR_SHAPE, "Convolution conv1");
  mx_error_node(MX_ERR_SHAPE, "%s", "");
  mx_error_info ei;
  mx_last_error_info(&ei);
  CHECK(streq(ei.node, "Convolution conv1"));
  mx_error_node(MX_ERR_SHAPE, "node 3");
  mx_error_node(MX_ERR_SHAPE, "node 3");
  mx_last_error_info(&ei);
  CHECK(streq(ei.node, "node 3: Convolution conv1"));
  mx_error_node(MX_ERR_SHAPE, "Convolution");
  mx_last_error_info(&ei);
  CHECK(streq(ei.node, "Convolution: node 3: Convolution conv1")); /* a prefix is not the same */
}

int main(void) {
  RUN(symbolic_shape_error_names_infer_shape_operator_and_node);
  RUN(eager_shape_error_names_the_eager_call_and_the_operator_only);
  RUN(parameter_errors_name_the_parsing_caller);
  RUN(kernel_error_names_the_node_once);
  RUN(node_context_kept_once);
  mx_eager_clear();
  return ctest_summary();
}
