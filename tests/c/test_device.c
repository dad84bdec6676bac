/* test_device.c: errors, contexts and device checks, the pooled allocator
 * (reuse, statistics, trim), allocation failures, and GPU transfers where a
 * GPU is present. */
#include <pthread.h>

#include "ndtest.h"

/* The failure record's fields: what names no function; frames are appended outermost
 * last (the same one twice in a row kept once), never renamed; the node is context. */
TEST(error_records_fields) {
  mx_error_info e;
  CHECK(mx_error_at(MX_ERR_SHAPE, "mx_x", "shapes %s and %s", "(1,2)", "(3,)") == MX_ERR_SHAPE);
  CHECK(strcmp(mx_last_error(), "mx_x: shapes (1,2) and (3,)") == 0);
  CHECK(mx_error_node(MX_ERR_SHAPE, "node %d", 3) == MX_ERR_SHAPE);
  CHECK(MX_ERR_FRAME(MX_ERR_IO, "mx_outer") == MX_ERR_IO);
  CHECK(MX_ERR_FRAME(MX_ERR_IO, "mx_outer") == MX_ERR_IO);
  CHECK(mx_error_node(MX_ERR_IO, "fc1") == MX_ERR_IO);
  CHECK(strcmp(mx_last_error(), "mx_outer: mx_x: fc1: node 3: shapes (1,2) and (3,)") == 0);
  mx_last_error_info(&e);
  CHECK(e.status == MX_ERR_IO);
  CHECK(strcmp(e.where, "mx_outer") == 0 && strcmp(e.node, "fc1: node 3") == 0);
  CHECK(strcmp(e.what, "shapes (1,2) and (3,)") == 0);
  /* a new failure starts a new record; one recorded without a function gets its caller's */
  mx_error(MX_ERR_DEVICE, "gpu(0) is not available");
  mx_last_error_info(&e);
  CHECK(strcmp(e.where, "") == 0 && strcmp(e.node, "") == 0);
  MX_ERR_FRAME(MX_ERR_DEVICE, "mx_context_check");
  CHECK(strcmp(mx_last_error(), "mx_context_check: gpu(0) is not available") == 0);
}

TEST(context_strings) {
  char buf[32];
  CHECK(strcmp(mx_context_str(mx_cpu(0), buf, sizeof buf), "cpu(0)") == 0);
  CHECK(strcmp(mx_context_str(mx_gpu(3), buf, sizeof buf), "gpu(3)") == 0);
  mx_context c = mx_gpu(1);
  CHECK(c.dev_type == MX_DEV_GPU && c.dev_id == 1);
  CHECK(mx_cpu(0).dev_type == MX_DEV_CPU);
}

TEST(context_check_cpu) {
  CHECK_OK(mx_context_check(mx_cpu(0)));
  CHECK_OK(mx_context_sync(mx_cpu(0)));
  CHECK_ERR(mx_context_check(mx_cpu(-1)), MX_ERR_DEVICE, "mx_context_check: ", "cpu(-1)");
  mx_context bad = {7, 0};
  CHECK_ERR(mx_context_check(bad), MX_ERR_DEVICE, "mx_context_check: ", "unknown device type 7");
}

TEST(context_check_gpu) {
#ifdef MX_HAVE_CUDA
  CHECK(mx_cuda_compiled() == 1);
#else
  CHECK(mx_cuda_compiled() == 0);
#endif
  int n = mx_gpu_count();
  if (!mx_cuda_compiled()) {
    CHECK(n == 0);
    CHECK_ERR(mx_context_check(mx_gpu(0)), MX_ERR_DEVICE, "mx_context_check: gpu(0)", "built without CUDA");
  } else if (n == 0) {
    CHECK_ERR(mx_context_check(mx_gpu(0)), MX_ERR_DEVICE, "mx_context_check: gpu(0)",
              "no CUDA device present (cudaGetDeviceCount: ");
  } else {
    CHECK_OK(mx_context_check(mx_gpu(0)));
    char count[32];
    snprintf(count, sizeof count, "(%d CUDA device", n);
    CHECK_ERR(mx_context_check(mx_gpu(n)), MX_ERR_DEVICE, "out of range", count);
  }
  /* an unusable GPU never crashes array creation */
  if (n == 0) {
    mx_ndarray *a = (mx_ndarray *)1;
    CHECK_ERR(mx_ndarray_zeros((int64_t[]){2}, 1, mx_gpu(0), &a), MX_ERR_DEVICE, "mx_ndarray_zeros: gpu(0)");
    CHECK(a == NULL);
    mx_ndarray *c = ND(NULL, 2), *g = (mx_ndarray *)1;
    CHECK_ERR(mx_ndarray_copyto(c, mx_gpu(0), &g), MX_ERR_DEVICE, "mx_ndarray_copyto: gpu(0)");
    CHECK(g == NULL);
    CHECK_ERR(mx_random_permutation(3, mx_gpu(0), &g), MX_ERR_DEVICE, "mx_random_permutation: ", "gpu(0) is not");
    CHECK_ERR(mx_ndarray_arange(0, 3, 1, mx_gpu(0), &g), MX_ERR_DEVICE, "mx_ndarray_arange: gpu(0)");
    CHECK_ERR(mx_context_sync(mx_gpu(0)), MX_ERR_DEVICE, "mx_context_sync: gpu(0)");
    mx_ndarray_release(c);
  }
}

TEST(pool_reuses_released_blocks) {
  mx_alloc_stats s0, s1, s2, s3;
  mx_ndarray *a = ND(NULL, 1000, 10); /* 40000 bytes */
  mx_ndarray_release(a);
  mx_alloc_stats_get(&s0);
  a = ND(NULL, 1000, 10);
  mx_alloc_stats_get(&s1);
  CHECK(s1.requests == s0.requests + 1);
  CHECK(s1.system_allocs == s0.system_allocs); /* served from the pool */
  CHECK(s1.bytes_in_use >= s0.bytes_in_use + 40000);
  CHECK(s1.bytes_pooled + 40000 <= s0.bytes_pooled);
  /* a slightly smaller request falls in the same size class */
  mx_ndarray *b = ND(NULL, 9990);
  mx_alloc_stats_get(&s2);
  CHECK(s2.system_allocs == s1.system_allocs + 1); /* the only free block is taken by a */
  mx_ndarray_release(b);
  mx_ndarray *c = ND(NULL, 9995);
  mx_alloc_stats_get(&s3);
  CHECK(s3.system_allocs == s2.system_allocs);
  CHECK(s3.requests == s2.requests + 1);
  mx_ndarray_release(a);
  mx_ndarray_release(c);
}

TEST(pool_trim_and_counts) {
  mx_alloc_stats s0, s1, s2, s3;
  mx_alloc_trim();
  mx_alloc_stats_get(&s0);
  CHECK(s0.bytes_pooled == 0);
  mx_ndarray *a = ND(NULL, 300000);
  mx_alloc_stats_get(&s1);
  CHECK(s1.system_allocs == s0.system_allocs + 1);
  CHECK(s1.bytes_in_use >= s0.bytes_in_use + 1200000);
  CHECK(s1.bytes_in_use <= s0.bytes_in_use + 1200000 * 5 / 4); /* at most 25% rounding */
  mx_ndarray_release(a);
  mx_alloc_stats_get(&s2);
  CHECK(s2.bytes_in_use == s0.bytes_in_use);
  CHECK(s2.bytes_pooled == s1.bytes_in_use - s0.bytes_in_use);
  mx_alloc_trim();
  mx_alloc_stats_get(&s3);
  CHECK(s3.bytes_pooled == 0);
  a = ND(NULL, 300000);
  mx_alloc_stats_get(&s3);
  CHECK(s3.system_allocs == s2.system_allocs + 1); /* trimmed: a new system allocation */
  mx_ndarray_release(a);
}

TEST(pool_many_sizes) {
  /* blocks of many sizes come back and are reused with no new allocation */
  mx_ndarray *arr[40];
  for (int i = 0; i < 40; i++) arr[i] = ND(NULL, 1 + i * 977);
  for (int i = 0; i < 40; i++) mx_ndarray_release(arr[i]);
  mx_alloc_stats s0, s1;
  mx_alloc_stats_get(&s0);
  for (int i = 0; i < 40; i++) arr[i] = ND(NULL, 1 + i * 977);
  mx_alloc_stats_get(&s1);
  CHECK(s1.system_allocs == s0.system_allocs);
  CHECK(s1.requests == s0.requests + 40);
  for (int i = 0; i < 40; i++) {
    CHECK(mx_ndarray_size(arr[i]) == 1 + i * 977);
    mx_ndarray_fill(arr[i], (float)i); /* every block is writable over its whole size */
  }
  for (int i = 0; i < 40; i++) mx_ndarray_release(arr[i]);
}

static void *churn(void *arg) {
  int seed = *(int *)arg, fails = 0;
  for (int i = 0; i < 2000; i++) {
    int64_t n = 1 + (i * 7919 + seed) % 5000;
    mx_ndarray *a;
    if (mx_ndarray_full(&n, 1, mx_cpu(0), (float)seed, &a) != MX_OK) {
      fails++;
      continue;
    }
    float v;
    mx_ndarray_get_element(a, n - 1, &v);
    if (v != (float)seed) fails++; /* nobody else wrote into this block */
    mx_ndarray_release(a);
  }
  *(int *)arg = fails;
  return NULL;
}

TEST(pool_is_thread_safe) {
  mx_alloc_stats s0, s1;
  mx_alloc_stats_get(&s0);
  pthread_t t[2];
  int arg[2] = {1, 2};
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, churn, &arg[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  CHECK(arg[0] == 0 && arg[1] == 0);
  mx_alloc_stats_get(&s1);
  CHECK(s1.requests == s0.requests + 4000);
  CHECK(s1.bytes_in_use == s0.bytes_in_use);
}

TEST(huge_and_bad_shapes_fail_cleanly) {
  mx_ndarray *a = NULL;
  CHECK_ERR(mx_ndarray_zeros((int64_t[]){1000000000000LL}, 1, mx_cpu(0), &a), MX_ERR_NOMEM,
            "mx_ndarray_zeros: ", "(1000000000000,)");
  CHECK(a == NULL);
  CHECK_ERR(mx_ndarray_create((int64_t[]){10000000000LL, 10000000000LL}, 2, mx_cpu(0), &a), MX_ERR_ARG,
            "mx_ndarray_create: ", "(10000000000,10000000000)", "too large");
  CHECK_ERR(mx_ndarray_full((int64_t[]){2, -3}, 2, mx_cpu(0), 1.0f, &a), MX_ERR_ARG, "mx_ndarray_full: ",
            "negative", "(2,-3)");
  CHECK_ERR(mx_ndarray_create((int64_t[]){1, 1, 1, 1, 1, 1, 1}, 7, mx_cpu(0), &a), MX_ERR_ARG,
            "mx_ndarray_create: ", "1 to 6 axes", "got 7");
  CHECK_ERR(mx_ndarray_create((int64_t[]){1}, 0, mx_cpu(0), &a), MX_ERR_ARG, "got 0");
  CHECK(a == NULL);
  /* the process is still fine afterwards */
  a = ND(NULL, 3);
  CHECK(mx_ndarray_size(a) == 3);
  mx_ndarray_release(a);
}

TEST(zero_size_arrays) {
  mx_ndarray *a = ND(NULL, 0, 5), *b = NULL;
  CHECK(mx_ndarray_size(a) == 0);
  CHECK(SHAPE_IS(a, 0, 5));
  CHECK_OK(mx_ndarray_to_host(a, NULL, 0));
  CHECK_OK(mx_ndarray_unary(MX_UNARY_EXP, a, &b));
  CHECK(SHAPE_IS(b, 0, 5));
  mx_ndarray_release(b);
  CHECK_OK(mx_ndarray_reduce(MX_REDUCE_SUM, a, 0, 0, &b));
  CHECK(SHAPE_IS(b, 5));
  float z[5] = {0};
  CHECK_VALUES(b, z, 5, 0);
  mx_ndarray_release(b);
  CHECK_ERR(mx_ndarray_reduce(MX_REDUCE_MAX, a, 0, 0, &b), MX_ERR_SHAPE, "mx_ndarray_reduce: ", "empty", "(0,5)");
  mx_ndarray_release(a);
}

TEST(gpu_round_trip) {
  if (mx_gpu_count() == 0) SKIP("no GPU");
  float x[6] = {1, 2, 3, 4, 5, 6}, back[6];
  mx_ndarray *g, *c, *z;
  CHECK_OK(mx_ndarray_from_host((int64_t[]){2, 3}, 2, mx_gpu(0), x, &g));
  CHECK_OK(mx_ndarray_to_host(g, back, 6));
  for (int i = 0; i < 6; i++) CHECK(back[i] == x[i]);
  CHECK_OK(mx_ndarray_copyto(g, mx_cpu(0), &c));
  CHECK_VALUES(c, x, 6, 0);
  CHECK_OK(mx_ndarray_zeros((int64_t[]){2, 3}, 2, mx_gpu(0), &z));
  CHECK_OK(mx_ndarray_assign(z, c)); /* cpu -> gpu */
  CHECK_VALUES(z, x, 6, 0);
  float v;
  CHECK_OK(mx_ndarray_set_element(z, 4, 9.0f));
  CHECK_OK(mx_ndarray_get_element(z, 4, &v));
  CHECK(v == 9.0f);
  CHECK_OK(mx_context_sync(mx_gpu(0)));
  mx_ndarray *d;
  CHECK_OK(mx_ndarray_dot(g, g, 0, 1, &d)); /* (2,3) x (2,3)^T through cuBLAS */
  float expect[4] = {14, 32, 32, 77};
  CHECK_VALUES(d, expect, 4, 1e-4);
  mx_ndarray_release(d);
  mx_ndarray_release(g);
  mx_ndarray_release(c);
  mx_ndarray_release(z);
}

/* cuBLAS is opened on the first GPU GEMM, never by a CPU run: only mapping
 * libcublasLt costs 150 MiB of resident memory. */
TEST(cpu_work_does_not_load_cublas) {
  float a[4] = {1, 2, 3, 4}, c[4] = {0};
  CHECK_OK(mx_gemm(mx_cpu(0), 0, 0, 2, 2, 2, 1.0f, a, 2, a, 2, 0.0f, c, 2));
  CHECK(c[0] == 7 && c[3] == 22);
  (void)mx_gpu_count();
  FILE *maps = fopen("/proc/self/maps", "r");
  CHECK(maps != NULL);
  if (!maps) return;
  char line[1024];
  int cublas_mapped = 0;
  while (fgets(line, sizeof line, maps))
    if (strstr(line, "libcublas")) cublas_mapped = 1;
  fclose(maps);
  CHECK(!cublas_mapped);
}

int main(void) {
  RUN(error_records_fields);
  RUN(context_strings);
  RUN(context_check_cpu);
  RUN(context_check_gpu);
  RUN(pool_reuses_released_blocks);
  RUN(pool_trim_and_counts);
  RUN(pool_many_sizes);
  RUN(pool_is_thread_safe);
  RUN(huge_and_bad_shapes_fail_cleanly);
  RUN(zero_size_arrays);
  RUN(gpu_round_trip);
  RUN(cpu_work_does_not_load_cublas);
  return ctest_summary();
}
