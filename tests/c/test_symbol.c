/* test_symbol.c: symbols in C: MXNet's automatic names, list_arguments/outputs,
 * composition, shape inference (complete, partial, inconsistent), JSON round trip. */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "mx.h"

static mx_symbol *op(const char *opname, const char *name, mx_symbol *data, const char *k,
                     const char *v) {
  mx_symbol *s = NULL, *r = NULL;
  const char *keys[1] = {k}, *vals[1] = {v};
  if (mx_symbol_create_op(opname, name, keys, vals, k ? 1 : 0, &s) != MX_OK) {
    printf("# %s\n", mx_last_error());
    return NULL;
  }
  const char *dk[1] = {"data"};
  if (mx_symbol_compose(s, dk, &data, data ? 1 : 0, &r) != MX_OK) printf("# %s\n", mx_last_error());
  mx_symbol_release(s);
  return r;
}

static mx_symbol *tutorial_mlp(void) {
  mx_symbol *data, *fc1, *act1, *fc2, *act2, *fc3, *sm;
  mx_symbol_variable("data", &data);
  fc1 = op("FullyConnected", "fc1", data, "num_hidden", "128");
  act1 = op("Activation", "relu1", fc1, "act_type", "relu");
  fc2 = op("FullyConnected", "fc2", act1, "num_hidden", "64");
  act2 = op("Activation", "relu2", fc2, "act_type", "relu");
  fc3 = op("FullyConnected", "fc3", act2, "num_hidden", "10");
  sm = op("SoftmaxOutput", "softmax", fc3, NULL, NULL);
  mx_symbol_release(data);
  mx_symbol_release(fc1);
  mx_symbol_release(act1);
  mx_symbol_release(fc2);
  mx_symbol_release(act2);
  mx_symbol_release(fc3);
  return sm;
}

static int same_list(const char *const *got, int n, const char *const *want) {
  int m = 0;
  while (want[m]) m++;
  if (n != m) return 0;
  for (int i = 0; i < n; i++)
    if (strcmp(got[i], want[i]) != 0) return 0;
  return 1;
}

TEST(tutorial_names) {
  mx_symbol *mlp = tutorial_mlp();
  const char *const *names;
  int n;
  CHECK(mx_symbol_list_arguments(mlp, &names, &n) == MX_OK);
  const char *want[] = {"data",       "fc1_weight", "fc1_bias",      "fc2_weight", "fc2_bias",
                        "fc3_weight", "fc3_bias",   "softmax_label", NULL};
  CHECK(same_list(names, n, want));
  CHECK(mx_symbol_list_outputs(mlp, &names, &n) == MX_OK);
  const char *wout[] = {"softmax_output", NULL};
  CHECK(same_list(names, n, wout));
  CHECK(mx_symbol_list_auxiliary_states(mlp, &names, &n) == MX_OK && n == 0);
  char *s = mx_symbol_str(mlp);
  CHECK(
      s &&
      strcmp(s, "[Symbol softmax: SoftmaxOutput <- fc3 <- relu2 <- fc2 <- relu1 <- fc1 <- data]") ==
          0);
  free(s);
  mx_symbol_release(mlp);
}

TEST(auto_names_count_per_operator) {
  mx_symbol *data;
  mx_symbol_variable("x", &data);
  mx_symbol *a = op("FullyConnected", NULL, data, "num_hidden", "3");
  mx_symbol *b = op("FullyConnected", NULL, a, "num_hidden", "3");
  mx_symbol *c = op("Activation", NULL, b, "act_type", "tanh");
  const char *na = mx_symbol_name(a), *nb = mx_symbol_name(b), *nc = mx_symbol_name(c);
  /* one counter per operator, over the process */
  CHECK(strncmp(na, "fullyconnected", 14) == 0 && strncmp(nc, "activation", 10) == 0);
  CHECK(atoi(nb + 14) == atoi(na + 14) + 1);
  const char *const *names;
  int n;
  mx_symbol_list_arguments(c, &names, &n);
  char w[64];
  snprintf(w, sizeof w, "%s_weight", na);
  CHECK(n == 5 && strcmp(names[1], w) == 0);
  mx_symbol_release(data);
  mx_symbol_release(a);
  mx_symbol_release(b);
  mx_symbol_release(c);
}

TEST(param_errors) {
  mx_symbol *s = NULL;
  const char *k[1] = {"num_hiden"}, *v[1] = {"3"};
  CHECK(mx_symbol_create_op("FullyConnected", "f", k, v, 1, &s) == MX_ERR_ARG);
  CHECK(strstr(mx_last_error(), "num_hiden") &&
        strstr(mx_last_error(), "num_hidden, no_bias, flatten"));
  CHECK(mx_symbol_create_op("FullyConnected", "f", NULL, NULL, 0, &s) == MX_ERR_ARG);
  CHECK(strstr(mx_last_error(), "num_hidden") != NULL);
  const char *k2[1] = {"act_type"}, *v2[1] = {"relux"};
  CHECK(mx_symbol_create_op("Activation", "a", k2, v2, 1, &s) == MX_ERR_ARG);
  CHECK(strstr(mx_last_error(), "relu|sigmoid|tanh|softrelu") != NULL);
  CHECK(mx_symbol_create_op("NoSuchOp", "a", NULL, NULL, 0, &s) == MX_ERR_ARG);
}

TEST(infer_shape_mlp) {
  mx_symbol *mlp = tutorial_mlp();
  const char *names[1] = {"data"};
  int64_t shapes[1][MX_MAX_NDIM] = {{100, 784}};
  int nd[1] = {2}, complete = 0;
  mx_symbol_shapes r;
  char missing[256];
  CHECK(mx_symbol_infer_shape(mlp, names, (const int64_t(*)[MX_MAX_NDIM])shapes, nd, 1, &r,
                              &complete, missing, sizeof missing) == MX_OK);
  CHECK(complete && r.narg == 8 && r.nout == 1);
  int64_t want[8][2] = {{100, 784}, {128, 784}, {128, 0}, {64, 128},
                        {64, 0},    {10, 64},   {10, 0},  {100, 0}};
  for (int i = 0; i < 8; i++) {
    CHECK(r.arg_ndim[i] == (want[i][1] ? 2 : 1));
    CHECK(r.arg[i][0] == want[i][0]);
    if (want[i][1]) CHECK(r.arg[i][1] == want[i][1]);
  }
  CHECK(r.out_ndim[0] == 2 && r.out[0][0] == 100 && r.out[0][1] == 10);
  mx_symbol_shapes_free(&r);
  /* partial: nothing given */
  CHECK(mx_symbol_infer_shape(mlp, NULL, NULL, NULL, 0, &r, &complete, missing, sizeof missing) ==
        MX_OK);
  CHECK(!complete && strstr(missing, "data") != NULL);
  mx_symbol_shapes_free(&r);
  /* inconsistent: a weight that does not fit */
  const char *n2[2] = {"data", "fc1_weight"};
  int64_t s2[2][MX_MAX_NDIM] = {{100, 784}, {128, 700}};
  int nd2[2] = {2, 2};
  CHECK(mx_symbol_infer_shape(mlp, n2, (const int64_t(*)[MX_MAX_NDIM])s2, nd2, 2, &r, &complete,
                              missing, sizeof missing) == MX_ERR_SHAPE);
  CHECK(strstr(mx_last_error(), "fc1") && strstr(mx_last_error(), "(128,700)") &&
        strstr(mx_last_error(), "(128,784)"));
  mx_symbol_release(mlp);
}

TEST(compose_replaces_variables) {
  mx_symbol *mlp = tutorial_mlp(), *x, *y, *r;
  mx_symbol_variable("x", &x);
  y = op("Activation", "pre", x, "act_type", "tanh");
  const char *k[1] = {"data"};
  CHECK(mx_symbol_compose(mlp, k, &y, 1, &r) == MX_OK);
  const char *const *names;
  int n;
  mx_symbol_list_arguments(r, &names, &n);
  CHECK(n == 8 && strcmp(names[0], "x") == 0 && strcmp(names[1], "fc1_weight") == 0);
  mx_symbol_list_arguments(mlp, &names, &n); /* the original is unchanged */
  CHECK(n == 8 && strcmp(names[0], "data") == 0);
  mx_symbol_release(r);
  mx_symbol_release(y);
  mx_symbol_release(x);
  mx_symbol_release(mlp);
}

TEST(internals_and_group) {
  mx_symbol *mlp = tutorial_mlp(), *in, *fc1, *g;
  CHECK(mx_symbol_get_internals(mlp, &in) == MX_OK);
  const char *const *names;
  int n;
  mx_symbol_list_outputs(in, &names, &n);
  CHECK(n == 14 && strcmp(names[0], "data") == 0 && strcmp(names[3], "fc1_output") == 0 &&
        strcmp(names[13], "softmax_output") == 0);
  CHECK(mx_symbol_get_output(in, 3, &fc1) == MX_OK);
  mx_symbol *both[2] = {fc1, mlp};
  CHECK(mx_symbol_group(both, 2, &g) == MX_OK);
  mx_symbol_list_outputs(g, &names, &n);
  CHECK(n == 2 && strcmp(names[0], "fc1_output") == 0 && strcmp(names[1], "softmax_output") == 0);
  mx_symbol_list_arguments(g, &names, &n);
  CHECK(n == 8);
  mx_symbol_release(g);
  mx_symbol_release(fc1);
  mx_symbol_release(in);
  mx_symbol_release(mlp);
}

/* Every prefix of a valid file, and every single-byte corruption of it, is
 * either read or refused with a message: never a crash (run under valgrind). */
TEST(json_prefixes_and_corruptions_are_refused_cleanly) {
  mx_symbol *mlp = tutorial_mlp(), *r;
  char *json;
  CHECK(mx_symbol_to_json(mlp, &json) == MX_OK);
  size_t n = strlen(json);
  int refused = 0, read = 0;
  char *buf = malloc(n + 1);
  for (size_t len = 0; len < n; len += 7) {
    memcpy(buf, json, len);
    buf[len] = 0;
    if (mx_symbol_from_json(buf, &r) == MX_OK) {
      read++;
      mx_symbol_release(r);
    } else {
      refused++;
      CHECK(strlen(mx_last_error()) > 0);
    }
  }
  CHECK(read == 0 && refused > 0);
  const char junk[] = "]}[{\"0-x,:";
  for (size_t i = 0; i < n; i += 5) {
    memcpy(buf, json, n + 1);
    buf[i] = junk[i % (sizeof junk - 1)];
    if (mx_symbol_from_json(buf, &r) == MX_OK) mx_symbol_release(r);
  }
  free(buf);
  free(json);
  mx_symbol_release(mlp);
}

TEST(json_legacy_08) {
  const char *text =
      "{\"nodes\": [{\"op\": \"null\", \"param\": {}, \"name\": \"data\", \"inputs\": []},"
      "{\"op\": \"FullyConnected\", \"param\": {\"num_hidden\": \"4\", \"no_bias\": \"False\"},"
      "\"name\": \"fc\", \"inputs\": [[0, 0]]}], \"arg_nodes\": [0], \"heads\": [[1, 0]]}";
  mx_symbol *s;
  CHECK(mx_symbol_from_json(text, &s) == MX_OK);
  const char *const *names;
  int n;
  mx_symbol_list_arguments(s, &names, &n);
  CHECK(n == 3 && strcmp(names[1], "fc_weight") == 0 && strcmp(names[2], "fc_bias") == 0);
  mx_symbol_release(s);
}

/* The writer (jansson) refuses bytes that are not UTF-8, which the reader would refuse,
 * naming the node, and leaves nothing allocated (run under valgrind). */
TEST(json_writer_refuses_non_utf8) {
  mx_symbol *mlp = tutorial_mlp(), *bad;
  char *json = (char *)1;
  CHECK(mx_symbol_variable("a\xff", &bad) == MX_OK);
  CHECK(mx_symbol_to_json(bad, &json) == MX_ERR_ARG && json == NULL);
  CHECK(strstr(mx_last_error(), "node 0") && strstr(mx_last_error(), "name is not UTF-8"));
  CHECK(mx_symbol_set_attr(mlp, "__note__", "\xc3(") == MX_OK); /* a broken two-byte sequence */
  CHECK(mx_symbol_to_json(mlp, &json) == MX_ERR_ARG && json == NULL);
  CHECK(strstr(mx_last_error(), "(softmax): its attribute value is not UTF-8"));
  mx_symbol_release(bad);
  mx_symbol_release(mlp);
}

int main(void) {
  RUN(tutorial_names);
  RUN(auto_names_count_per_operator);
  RUN(param_errors);
  RUN(infer_shape_mlp);
  RUN(compose_replaces_variables);
  RUN(internals_and_group);
  RUN(json_prefixes_and_corruptions_are_refused_cleanly);
  RUN(json_legacy_08);
  RUN(json_writer_refuses_non_utf8);
  return ctest_summary();
}
