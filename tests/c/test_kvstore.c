/* test_kvstore.c: mx_kvstore_reduce_sum against sums worked out by a plain loop
 * (several sources, the destination among them, another context), its argument
 * errors, and the MPI/NCCL entry points before init or in a build without them. */
#include <string.h>

#include "ctest.h"
#include "mx.h"

static mx_ndarray *filled(int64_t n, mx_context ctx, float base) {
  float v[64];
  for (int64_t i = 0; i < n; i++) v[i] = base + 0.5f * (float)i;
  mx_ndarray *a = NULL;
  int64_t shape[] = {n};
  mx_ndarray_from_host(shape, 1, ctx, v, &a);
  return a;
}

TEST(reduce_sum_by_loop) {
  mx_ndarray *s[3] = {filled(7, mx_cpu(0), 1), filled(7, mx_cpu(1), -2), filled(7, mx_cpu(0), 10)};
  mx_ndarray *dst = filled(7, mx_cpu(0), 99);
  CHECK(mx_kvstore_reduce_sum(dst, s, 3) == MX_OK);
  float got[7];
  mx_ndarray_to_host(dst, got, 7);
  for (int i = 0; i < 7; i++) {
    double want = 0;
    for (int k = 0; k < 3; k++) want += (k == 0 ? 1 : k == 1 ? -2 : 10) + 0.5 * i;
    CHECK_NEAR(got[i], want, 1e-5);
  }
  /* the destination as one of the sources: s0 = s0 + s1 + s2 (read before written) */
  CHECK(mx_kvstore_reduce_sum(s[0], s, 3) == MX_OK);
  mx_ndarray_to_host(s[0], got, 7);
  for (int i = 0; i < 7; i++) CHECK_NEAR(got[i], 9 + 1.5 * i, 1e-5);
  for (int k = 0; k < 3; k++) mx_ndarray_release(s[k]);
  mx_ndarray_release(dst);
}

TEST(reduce_sum_errors) {
  mx_ndarray *a = filled(4, mx_cpu(0), 0), *b = filled(5, mx_cpu(0), 0);
  mx_ndarray *srcs[2] = {a, b};
  CHECK(mx_kvstore_reduce_sum(a, srcs, 2) == MX_ERR_SHAPE);
  CHECK(strcmp(mx_last_error(), "mx_kvstore_reduce_sum: array 1 has shape (5,) (expected (4,))") ==
        0);
  CHECK(mx_kvstore_reduce_sum(a, srcs, 0) == MX_ERR_ARG);
  CHECK(mx_kvstore_reduce_sum(NULL, srcs, 1) == MX_ERR_ARG);
  mx_ndarray_release(a);
  mx_ndarray_release(b);
}

TEST(dist_before_init_or_without_mpi) {
  mx_ndarray *a = filled(3, mx_cpu(0), 1);
  CHECK(mx_dist_allreduce(&a, 1, 0) == MX_ERR_STATE);
  CHECK(strstr(mx_last_error(), "mx_dist_allreduce: ") == mx_last_error());
  CHECK(mx_dist_barrier() == MX_ERR_STATE);
  CHECK(mx_dist_broadcast(&a, 1, 0) == MX_ERR_STATE);
  mx_dist_overlap *o = (mx_dist_overlap *)&a; /* must come back NULL */
  CHECK(mx_dist_overlap_create(NULL, &a, 1, 0, &o) == MX_ERR_STATE && o == NULL);
  mx_dist_overlap_release(NULL);
  double s = -1;
  int64_t calls = -1;
  mx_dist_stats(&s, &calls);
  CHECK(s == 0 && calls == 0);
  if (!mx_nccl_compiled()) {
    CHECK(mx_nccl_allreduce(&a, 1) == MX_ERR_STATE);
    CHECK(strstr(mx_last_error(), "not available in this build") != NULL);
  } else {
    CHECK(mx_nccl_allreduce(&a, 1) == MX_ERR_ARG); /* a CPU array */
    CHECK(strstr(mx_last_error(), "is not on a GPU") != NULL);
  }
  mx_ndarray_release(a);
}

int main(void) {
  RUN(reduce_sum_by_loop);
  RUN(reduce_sum_errors);
  RUN(dist_before_init_or_without_mpi);
  return ctest_summary();
}
