/* test_ndarray.c: NDArray creation, refcounts and views (reshape, slice,
 * expand_dims, squeeze), transfer, elements, assign/copy, and slice_axis, take,
 * concat, transpose against hand-written loops, with their errors. */
#include "ndtest.h"

TEST(create_and_accessors) {
  mx_ndarray *a;
  CHECK_OK(mx_ndarray_create((int64_t[]){2, 3, 4}, 3, mx_cpu(0), &a));
  CHECK(mx_ndarray_ndim(a) == 3);
  CHECK(SHAPE_IS(a, 2, 3, 4));
  CHECK(mx_ndarray_size(a) == 24);
  CHECK(mx_ndarray_context(a).dev_type == MX_DEV_CPU && mx_ndarray_context(a).dev_id == 0);
  CHECK(mx_ndarray_data(a) != NULL);
  CHECK(((uintptr_t)mx_ndarray_data(a) & 63) == 0); /* 64-byte aligned */
  mx_ndarray_release(a);
  mx_ndarray_release(NULL);

  float zeros[6] = {0}, sevens[6] = {7, 7, 7, 7, 7, 7}, x[6] = {1, -2, 3.5f, 4, 5, 6};
  CHECK_OK(mx_ndarray_zeros((int64_t[]){2, 3}, 2, mx_cpu(0), &a));
  CHECK_VALUES(a, zeros, 6, 0);
  mx_ndarray_release(a);
  CHECK_OK(mx_ndarray_full((int64_t[]){6}, 1, mx_cpu(0), 7.0f, &a));
  CHECK_VALUES(a, sevens, 6, 0);
  mx_ndarray_release(a);
  CHECK_OK(mx_ndarray_from_host((int64_t[]){3, 2}, 2, mx_cpu(0), x, &a));
  CHECK_VALUES(a, x, 6, 0);
  CHECK(SHAPE_IS(a, 3, 2));
  mx_ndarray_release(a);
  a = (mx_ndarray *)1;
  CHECK_ERR(mx_ndarray_from_host((int64_t[]){3}, 1, mx_cpu(0), NULL, &a), MX_ERR_ARG, "mx_ndarray_from_host: ",
            "NULL");
  CHECK(a == NULL);
}

TEST(arange_values) {
  mx_ndarray *a;
  CHECK_OK(mx_ndarray_arange(0, 5, 1, mx_cpu(0), &a));
  float e1[5] = {0, 1, 2, 3, 4};
  CHECK(SHAPE_IS(a, 5));
  CHECK_VALUES(a, e1, 5, 0);
  mx_ndarray_release(a);
  CHECK_OK(mx_ndarray_arange(1, 2, 0.3, mx_cpu(0), &a)); /* 1, 1.3, 1.6, 1.9 */
  float e2[4] = {1, 1.3f, 1.6f, 1.9f};
  CHECK_VALUES(a, e2, 4, 1e-6);
  mx_ndarray_release(a);
  CHECK_OK(mx_ndarray_arange(3, 0, -1, mx_cpu(0), &a));
  float e3[3] = {3, 2, 1};
  CHECK_VALUES(a, e3, 3, 0);
  mx_ndarray_release(a);
  CHECK_OK(mx_ndarray_arange(3, 0, 1, mx_cpu(0), &a)); /* empty */
  CHECK(mx_ndarray_size(a) == 0);
  mx_ndarray_release(a);
  CHECK_ERR(mx_ndarray_arange(0, 1, 0, mx_cpu(0), &a), MX_ERR_ARG, "mx_ndarray_arange: ", "step");
}

TEST(refcount_and_views_share_storage) {
  float x[12];
  for (int i = 0; i < 12; i++) x[i] = (float)i;
  mx_ndarray *a = ND(x, 3, 4), *r, *s;
  CHECK_OK(mx_ndarray_reshape(a, (int64_t[]){2, -1}, 2, &r));
  CHECK(SHAPE_IS(r, 2, 6));
  CHECK(mx_ndarray_same_storage(a, r));
  CHECK_OK(mx_ndarray_slice(a, 1, 3, &s));
  CHECK(SHAPE_IS(s, 2, 4));
  CHECK(mx_ndarray_same_storage(a, s));
  CHECK_VALUES(s, (x + 4), 8, 0);
  /* writes through a view are seen by the base and other views */
  CHECK_OK(mx_ndarray_set_element(s, 0, 100.0f));
  float v;
  CHECK_OK(mx_ndarray_get_element(a, 4, &v));
  CHECK(v == 100.0f);
  CHECK_OK(mx_ndarray_get_element(r, 4, &v));
  CHECK(v == 100.0f);
  /* the storage outlives the base while a view holds it */
  mx_ndarray_release(a);
  mx_ndarray_release(r);
  CHECK_OK(mx_ndarray_get_element(s, 7, &v));
  CHECK(v == 11.0f);
  /* retain keeps an array alive through one more release */
  CHECK(mx_ndarray_retain(s) == s);
  mx_ndarray_release(s);
  CHECK(mx_ndarray_size(s) == 8);
  mx_ndarray_release(s);
  mx_ndarray *c = ND(x, 12), *d;
  CHECK_OK(mx_ndarray_copy(c, &d));
  CHECK(!mx_ndarray_same_storage(c, d));
  CHECK_VALUES(d, x, 12, 0);
  mx_ndarray_release(c);
  mx_ndarray_release(d);
}

TEST(reshape_forms_and_errors) {
  mx_ndarray *a = ND(NULL, 2, 3, 4), *r = NULL;
  CHECK_OK(mx_ndarray_reshape(a, (int64_t[]){-1}, 1, &r));
  CHECK(SHAPE_IS(r, 24));
  mx_ndarray_release(r);
  CHECK_OK(mx_ndarray_reshape(a, (int64_t[]){4, -1, 3}, 3, &r));
  CHECK(SHAPE_IS(r, 4, 2, 3));
  mx_ndarray_release(r);
  CHECK_OK(mx_ndarray_reshape(a, (int64_t[]){1, 1, 24, 1, 1, 1}, 6, &r));
  CHECK(SHAPE_IS(r, 1, 1, 24, 1, 1, 1));
  mx_ndarray_release(r);
  CHECK_ERR(mx_ndarray_reshape(a, (int64_t[]){5, 5}, 2, &r), MX_ERR_SHAPE, "mx_ndarray_reshape: ", "(2,3,4)",
            "(5,5)");
  CHECK(r == NULL);
  CHECK_ERR(mx_ndarray_reshape(a, (int64_t[]){-1, -1}, 2, &r), MX_ERR_ARG, "mx_ndarray_reshape: ", "more than one -1");
  CHECK_ERR(mx_ndarray_reshape(a, (int64_t[]){5, -1}, 2, &r), MX_ERR_SHAPE, "(2,3,4)", "(5,-1)");
  CHECK_ERR(mx_ndarray_reshape(a, (int64_t[]){-2, 12}, 2, &r), MX_ERR_ARG, "negative");
  mx_ndarray_release(a);
}

TEST(slice_errors_and_edges) {
  mx_ndarray *a = ND(NULL, 4, 2), *s = NULL;
  CHECK_OK(mx_ndarray_slice(a, 4, 4, &s)); /* empty */
  CHECK(SHAPE_IS(s, 0, 2));
  mx_ndarray_release(s);
  CHECK_ERR(mx_ndarray_slice(a, 3, 5, &s), MX_ERR_ARG, "mx_ndarray_slice: ", "[3, 5)", "(4,2)");
  CHECK_ERR(mx_ndarray_slice(a, 2, 1, &s), MX_ERR_ARG, "[2, 1)");
  CHECK_ERR(mx_ndarray_slice(a, -1, 1, &s), MX_ERR_ARG, "[-1, 1)");
  CHECK(s == NULL);
  mx_ndarray_release(a);
}

TEST(expand_dims_and_squeeze_views) {
  mx_ndarray *a = ND(NULL, 3, 4), *e, *q;
  CHECK_OK(mx_ndarray_expand_dims(a, 0, &e));
  CHECK(SHAPE_IS(e, 1, 3, 4) && mx_ndarray_same_storage(a, e));
  mx_ndarray_release(e);
  CHECK_OK(mx_ndarray_expand_dims(a, 1, &e));
  CHECK(SHAPE_IS(e, 3, 1, 4));
  mx_ndarray_release(e);
  CHECK_OK(mx_ndarray_expand_dims(a, 2, &e));
  CHECK(SHAPE_IS(e, 3, 4, 1));
  CHECK_OK(mx_ndarray_squeeze(e, 2, &q));
  CHECK(SHAPE_IS(q, 3, 4) && mx_ndarray_same_storage(a, q));
  mx_ndarray_release(q);
  CHECK_ERR(mx_ndarray_squeeze(e, 0, &q), MX_ERR_SHAPE, "mx_ndarray_squeeze: ", "axis 0", "(3,4,1)");
  CHECK_ERR(mx_ndarray_squeeze(e, 3, &q), MX_ERR_ARG, "mx_ndarray_squeeze: ", "axis 3", "(3,4,1)");
  mx_ndarray *e2 = NULL;
  CHECK_ERR(mx_ndarray_expand_dims(a, 3, &e2), MX_ERR_ARG, "mx_ndarray_expand_dims: ", "axis 3", "(3,4)");
  mx_ndarray *b = ND(NULL, 1, 3, 1, 2, 1);
  CHECK_OK(mx_ndarray_squeeze(b, -1, &q));
  CHECK(SHAPE_IS(q, 3, 2));
  mx_ndarray_release(q);
  mx_ndarray *one = ND(NULL, 1, 1);
  CHECK_OK(mx_ndarray_squeeze(one, -1, &q));
  CHECK(SHAPE_IS(q, 1)); /* arrays keep one axis */
  mx_ndarray_release(q);
  mx_ndarray *six = ND(NULL, 1, 1, 1, 1, 1, 1);
  CHECK_ERR(mx_ndarray_expand_dims(six, 0, &q), MX_ERR_ARG, "at most 6 axes");
  mx_ndarray_release(six);
  mx_ndarray_release(one);
  mx_ndarray_release(b);
  mx_ndarray_release(e);
  mx_ndarray_release(a);
}

TEST(host_transfer_and_elements) {
  float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
  mx_ndarray *a = ND(NULL, 2, 3);
  CHECK_OK(mx_ndarray_set_host(a, x, 6));
  CHECK_OK(mx_ndarray_to_host(a, y, 6));
  for (int i = 0; i < 6; i++) CHECK(y[i] == x[i]);
  CHECK_ERR(mx_ndarray_to_host(a, y, 5), MX_ERR_SHAPE, "mx_ndarray_to_host: ", "5", "(2,3)");
  CHECK_ERR(mx_ndarray_set_host(a, x, 7), MX_ERR_SHAPE, "mx_ndarray_set_host: ", "7", "(2,3)");
  float v = -1;
  CHECK_OK(mx_ndarray_get_element(a, 5, &v));
  CHECK(v == 6);
  CHECK_OK(mx_ndarray_set_element(a, 0, -9));
  CHECK_OK(mx_ndarray_get_element(a, 0, &v));
  CHECK(v == -9);
  CHECK_ERR(mx_ndarray_get_element(a, 6, &v), MX_ERR_ARG, "mx_ndarray_get_element: ", "6", "(2,3)");
  CHECK_ERR(mx_ndarray_set_element(a, -1, 0), MX_ERR_ARG, "mx_ndarray_set_element: ", "-1", "(2,3)");
  mx_ndarray_release(a);
}

TEST(assign_broadcasts) {
  float row[3] = {1, 2, 3}, col[2] = {10, 20}, one = 5;
  mx_ndarray *d = ND(NULL, 2, 3), *r = ND(row, 3), *c = ND(col, 2, 1), *s = ND(&one, 1);
  float e[6];
  CHECK_OK(mx_ndarray_assign(d, r));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) e[i * 3 + j] = row[j];
  CHECK_VALUES(d, e, 6, 0);
  CHECK_OK(mx_ndarray_assign(d, c));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) e[i * 3 + j] = col[i];
  CHECK_VALUES(d, e, 6, 0);
  CHECK_OK(mx_ndarray_assign(d, s));
  for (int i = 0; i < 6; i++) e[i] = 5;
  CHECK_VALUES(d, e, 6, 0);
  mx_ndarray *big = ND(NULL, 4, 3);
  CHECK_ERR(mx_ndarray_assign(d, big), MX_ERR_SHAPE, "mx_ndarray_assign: ", "(4,3)", "(2,3)");
  mx_ndarray *flat = ND(NULL, 6);
  CHECK_ERR(mx_ndarray_assign(d, flat), MX_ERR_SHAPE, "(6,)", "(2,3)");
  CHECK_OK(mx_ndarray_fill(d, 2.5f));
  for (int i = 0; i < 6; i++) e[i] = 2.5f;
  CHECK_VALUES(d, e, 6, 0);
  /* assignment between overlapping views of one array behaves like a copy first */
  float x[5] = {0, 1, 2, 3, 4};
  mx_ndarray *a = ND(x, 5), *lo, *hi;
  CHECK_OK(mx_ndarray_slice(a, 0, 4, &lo));
  CHECK_OK(mx_ndarray_slice(a, 1, 5, &hi));
  CHECK_OK(mx_ndarray_assign(lo, hi));
  float e2[5] = {1, 2, 3, 4, 4};
  CHECK_VALUES(a, e2, 5, 0);
  /* broadcasting from a view of dst itself */
  mx_ndarray *m = ND(x, 5), *first, *mm;
  CHECK_OK(mx_ndarray_slice(m, 2, 3, &first));
  CHECK_OK(mx_ndarray_reshape(m, (int64_t[]){5}, 1, &mm));
  CHECK_OK(mx_ndarray_assign(mm, first));
  float e3[5] = {2, 2, 2, 2, 2};
  CHECK_VALUES(m, e3, 5, 0);
  mx_ndarray *cp;
  CHECK_OK(mx_ndarray_copyto(r, mx_cpu(0), &cp));
  CHECK(!mx_ndarray_same_storage(cp, r));
  CHECK_VALUES(cp, row, 3, 0);
  mx_ndarray *arr[] = {d, r, c, s, big, flat, a, lo, hi, m, first, mm, cp};
  for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++) mx_ndarray_release(arr[i]);
}

TEST(assign_broadcast_large_matches_loop) {
  /* (4,1,5) into (3,4,6,5) */
  float src[20], e[360];
  nd_fill_lcg(src, 20, 7);
  mx_ndarray *s = ND(src, 4, 1, 5), *d = ND(NULL, 3, 4, 6, 5);
  CHECK_OK(mx_ndarray_assign(d, s));
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      for (int k = 0; k < 6; k++)
        for (int l = 0; l < 5; l++) e[((i * 4 + j) * 6 + k) * 5 + l] = src[j * 5 + l];
  CHECK_VALUES(d, e, 360, 0);
  mx_ndarray_release(s);
  mx_ndarray_release(d);
}

TEST(slice_axis_matches_loop) {
  float x[2 * 3 * 4];
  nd_fill_lcg(x, 24, 1);
  mx_ndarray *a = ND(x, 2, 3, 4), *s;
  int64_t dims[3] = {2, 3, 4};
  for (int axis = 0; axis < 3; axis++) {
    int64_t b = dims[axis] > 2 ? 1 : 0, e = dims[axis];
    CHECK_OK(mx_ndarray_slice_axis(a, axis, b, e, &s));
    CHECK(!mx_ndarray_same_storage(a, s));
    float want[24];
    int n = 0;
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++)
        for (int k = 0; k < 4; k++) {
          int idx[3] = {i, j, k};
          if (idx[axis] >= b && idx[axis] < e) want[n++] = x[(i * 3 + j) * 4 + k];
        }
    CHECK_VALUES(s, want, n, 0);
    CHECK(mx_ndarray_shape(s)[axis] == e - b);
    mx_ndarray_release(s);
  }
  CHECK_ERR(mx_ndarray_slice_axis(a, 3, 0, 1, &s), MX_ERR_ARG, "mx_ndarray_slice_axis: ", "axis 3", "(2,3,4)");
  CHECK_ERR(mx_ndarray_slice_axis(a, 1, 2, 4, &s), MX_ERR_ARG, "mx_ndarray_slice_axis: ", "[2, 4)", "(2,3,4)");
  mx_ndarray_release(a);
}

TEST(take_rows) {
  float x[8] = {0, 1, 10, 11, 20, 21, 30, 31}, idx[4] = {3, 0, 0, 2};
  mx_ndarray *a = ND(x, 4, 2), *i = ND(idx, 2, 2), *t;
  CHECK_OK(mx_ndarray_take(a, i, &t));
  CHECK(SHAPE_IS(t, 2, 2, 2));
  float want[8];
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < 2; c++) want[k * 2 + c] = x[(int)idx[k] * 2 + c];
  CHECK_VALUES(t, want, 8, 0);
  mx_ndarray_release(t);
  float bad[2] = {1, 4}, frac[1] = {1.5f};
  mx_ndarray *ib = ND(bad, 2), *iff = ND(frac, 1);
  CHECK_ERR(mx_ndarray_take(a, ib, &t), MX_ERR_ARG, "mx_ndarray_take: ", "index 4", "(4,2)");
  CHECK(t == NULL);
  CHECK_ERR(mx_ndarray_take(a, iff, &t), MX_ERR_ARG, "index 1.5");
  mx_ndarray_release(ib);
  mx_ndarray_release(iff);
  mx_ndarray_release(a);
  mx_ndarray_release(i);
}

TEST(concat_matches_loop) {
  float x[2 * 3 * 2], y[2 * 1 * 2], z[2 * 2 * 2];
  nd_fill_lcg(x, 12, 2);
  nd_fill_lcg(y, 4, 3);
  nd_fill_lcg(z, 8, 4);
  mx_ndarray *a = ND(x, 2, 3, 2), *b = ND(y, 2, 1, 2), *c = ND(z, 2, 2, 2), *o;
  mx_ndarray *arr[3] = {a, b, c};
  CHECK_OK(mx_ndarray_concat(arr, 3, 1, &o));
  CHECK(SHAPE_IS(o, 2, 6, 2));
  float want[24];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 6; j++)
      for (int k = 0; k < 2; k++)
        want[(i * 6 + j) * 2 + k] = j < 3 ? x[(i * 3 + j) * 2 + k]
                                    : j < 4 ? y[(i * 1 + (j - 3)) * 2 + k]
                                            : z[(i * 2 + (j - 4)) * 2 + k];
  CHECK_VALUES(o, want, 24, 0);
  mx_ndarray_release(o);
  mx_ndarray *same[2] = {a, a};
  CHECK_OK(mx_ndarray_concat(same, 2, 0, &o));
  CHECK(SHAPE_IS(o, 4, 3, 2));
  float want0[24];
  for (int i = 0; i < 24; i++) want0[i] = x[i % 12];
  CHECK_VALUES(o, want0, 24, 0);
  mx_ndarray_release(o);
  CHECK_OK(mx_ndarray_concat(same, 2, 2, &o));
  CHECK(SHAPE_IS(o, 2, 3, 4));
  float want2[24];
  for (int r = 0; r < 6; r++)
    for (int k = 0; k < 4; k++) want2[r * 4 + k] = x[r * 2 + k % 2];
  CHECK_VALUES(o, want2, 24, 0);
  mx_ndarray_release(o);
  CHECK_ERR(mx_ndarray_concat(arr, 3, 0, &o), MX_ERR_SHAPE, "mx_ndarray_concat: ", "(2,3,2)", "(2,1,2)");
  CHECK_ERR(mx_ndarray_concat(arr, 0, 0, &o), MX_ERR_ARG, "mx_ndarray_concat: ", "at least one");
  CHECK_ERR(mx_ndarray_concat(arr, 1, 3, &o), MX_ERR_ARG, "axis 3");
  mx_ndarray_release(a);
  mx_ndarray_release(b);
  mx_ndarray_release(c);
}

TEST(transpose_matches_loop) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  mx_ndarray *a = ND(x, 2, 3), *t;
  CHECK_OK(mx_ndarray_transpose(a, NULL, &t));
  CHECK(SHAPE_IS(t, 3, 2));
  float want[6] = {1, 4, 2, 5, 3, 6};
  CHECK_VALUES(t, want, 6, 0);
  mx_ndarray_release(t);
  float y[2 * 3 * 4 * 5];
  nd_fill_lcg(y, 120, 5);
  mx_ndarray *b = ND(y, 2, 3, 4, 5);
  int perm[4] = {2, 0, 3, 1};
  CHECK_OK(mx_ndarray_transpose(b, perm, &t));
  CHECK(SHAPE_IS(t, 4, 2, 5, 3));
  float w[120];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < 5; l++) w[((k * 2 + i) * 5 + l) * 3 + j] = y[((i * 3 + j) * 4 + k) * 5 + l];
  CHECK_VALUES(t, w, 120, 0);
  mx_ndarray_release(t);
  CHECK_OK(mx_ndarray_transpose(b, NULL, &t)); /* reversed: (5,4,3,2) */
  CHECK(SHAPE_IS(t, 5, 4, 3, 2));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < 5; l++) w[((l * 4 + k) * 3 + j) * 2 + i] = y[((i * 3 + j) * 4 + k) * 5 + l];
  CHECK_VALUES(t, w, 120, 0);
  mx_ndarray_release(t);
  /* a large 2-D transpose (tiled, with ragged tile edges), and back */
  int R = 100, C = 70;
  float *big = malloc(R * C * sizeof *big), *bt = malloc(R * C * sizeof *bt);
  nd_fill_lcg(big, R * C, 6);
  for (int i = 0; i < R; i++)
    for (int j = 0; j < C; j++) bt[j * R + i] = big[i * C + j];
  mx_ndarray *m = ND(big, 100, 70), *mt, *mtt;
  CHECK_OK(mx_ndarray_transpose(m, NULL, &mt));
  CHECK(SHAPE_IS(mt, 70, 100));
  CHECK_VALUES(mt, bt, R * C, 0);
  CHECK_OK(mx_ndarray_transpose(mt, (int[]){1, 0}, &mtt));
  CHECK_VALUES(mtt, big, R * C, 0);
  mx_ndarray_release(m);
  mx_ndarray_release(mt);
  mx_ndarray_release(mtt);
  free(big);
  free(bt);
  int bad[4] = {0, 1, 1, 2};
  CHECK_ERR(mx_ndarray_transpose(b, bad, &t), MX_ERR_ARG, "mx_ndarray_transpose: ", "(0,1,1,2)", "(2,3,4,5)");
  mx_ndarray_release(a);
  mx_ndarray_release(b);
}

/* The arithmetic's eager path: one prepared `_mul_scalar` serves every scalar (set per call), and
 * a run into a given array writes there (in place when it is the input) or refuses a shape that
 * is not the result's. Expected values computed here, not by the library. */
TEST(eager_scalar_per_call_and_run_into) {
  mx_ndarray *x = ND(((float[]){1, -2, 3, 0.5f}), 4), *y = NULL, *z = NULL;
  mx_eager *e, *again;
  const char *keys[] = {"scalar"}, *values[] = {"0"};
  CHECK_OK(mx_eager_get("_mul_scalar", keys, values, 1, &e));
  CHECK_OK(mx_eager_set_float(e, "scalar", 3.0f));
  CHECK_OK(mx_eager_run(e, &x, 1, 0, &y));
  CHECK_VALUES(y, ((float[]){3, -6, 9, 1.5f}), 4, 0);
  CHECK_OK(mx_eager_get("_mul_scalar", keys, values, 1, &again));
  CHECK(again == e); /* the same entry: a new scalar prepares nothing */
  CHECK_OK(mx_eager_set_float(e, "scalar", -0.5f));
  CHECK_OK(mx_eager_run_into(e, &x, 1, x)); /* in place */
  CHECK_VALUES(x, ((float[]){-0.5f, 1, -1.5f, -0.25f}), 4, 0);
  CHECK_ERR(mx_eager_set_float(e, "nope", 1.0f), MX_ERR_ARG, "_MulScalar has no parameter 'nope'");
  z = ND(((float[]){0, 0}), 2);
  CHECK_ERR(mx_eager_run_into(e, &x, 1, z), MX_ERR_SHAPE, "the result has shape (4,), the output array (2,)");
  CHECK_VALUES(z, ((float[]){0, 0}), 2, 0); /* untouched */
  mx_ndarray_release(x);
  mx_ndarray_release(y);
  mx_ndarray_release(z);
}

int main(void) {
  RUN(create_and_accessors);
  RUN(arange_values);
  RUN(refcount_and_views_share_storage);
  RUN(reshape_forms_and_errors);
  RUN(slice_errors_and_edges);
  RUN(expand_dims_and_squeeze_views);
  RUN(host_transfer_and_elements);
  RUN(assign_broadcasts);
  RUN(assign_broadcast_large_matches_loop);
  RUN(slice_axis_matches_loop);
  RUN(take_rows);
  RUN(concat_matches_loop);
  RUN(transpose_matches_loop);
  RUN(eager_scalar_per_call_and_run_into);
  return ctest_summary();
}
