/* test_cuda.c: the CUDA backend's wiring, checked on every build: every operator
 * and NDArray kernel has its GPU version in a CUDA build, CUDA
 * graph calls fail clearly without a device, the GPU random stream's words are
 * the CPU's; and, where a GPU is present, kernels, graphs and errors on it. */
#include "ndtest.h"
#include "operator.h"
#include "philox.h"

#include "kernels.h"
#include "optimizer.h"

#ifdef MX_HAVE_CUDA
mx_status mx_cuda_blas_load(void); /* blas_cuda.cu */
#endif

TEST(every_operator_has_gpu_kernels_in_a_cuda_build) {
  /* without CUDA no GPU array exists for a kernel to see */
  if (!mx_cuda_compiled()) SKIP("built without CUDA");
  for (int i = 0; i < mx_op_count(); i++) {
    const mx_op *op = mx_op_at(i);
    /* a GPU kernel wherever the CPU has one */
    int fwd = mx_op_kernel_for(op, MX_DEV_GPU, 0) != NULL || !mx_op_kernel_for(op, MX_DEV_CPU, 0),
        bwd = mx_op_kernel_for(op, MX_DEV_GPU, 1) != NULL || !mx_op_kernel_for(op, MX_DEV_CPU, 1);
    if (!fwd || !bwd) printf("# %s: GPU forward %d, backward %d\n", op->name, fwd, bwd);
    CHECK(fwd && bwd);
  }
}

/* One source per kernel: an operator names its GPU kernel in its descriptor (written once over
 * the kernel table) or the CUDA device supplies it (its own .cu code), never both; the CPU's is
 * always the descriptor's; and without a GPU device in the build no operator has a GPU kernel. */
TEST(operator_kernels_come_from_one_place) {
  const mx_device *gpu = mx_devices[MX_DEV_GPU];
  for (int i = 0; i < mx_op_count(); i++) {
    const mx_op *op = mx_op_at(i);
    CHECK(mx_op_kernel_for(op, MX_DEV_CPU, 0) == op->forward[MX_DEV_CPU]);
    CHECK(mx_op_kernel_for(op, MX_DEV_CPU, 1) == op->backward[MX_DEV_CPU]);
    CHECK(mx_op_kernel_for(op, 0, 0) == NULL && mx_op_kernel_for(op, MX_DEV_SLOTS, 0) == NULL);
    for (int b = 0; b < 2; b++) {
      mx_op_kernel own = b ? op->backward[MX_DEV_GPU] : op->forward[MX_DEV_GPU];
      mx_op_kernel supplied = gpu && gpu->op_kernel ? gpu->op_kernel(op, b) : NULL;
      if (own && supplied) printf("# %s: a GPU %s in its descriptor and in the CUDA device's table\n", op->name,
                                  b ? "backward" : "forward");
      CHECK(!(own && supplied));
      CHECK(mx_op_kernel_for(op, MX_DEV_GPU, b) == (gpu ? (own ? own : supplied) : NULL));
    }
  }
}

/* Every slot of each device built in is filled (devices.c registers the GPU's only in a CUDA build). */
TEST(every_device_fills_every_slot) {
#ifdef MX_HAVE_CUDA
  CHECK(mx_devices[MX_DEV_GPU] != NULL);
#else
  CHECK(mx_devices[MX_DEV_GPU] == NULL);
#endif
  CHECK(mx_devices[MX_DEV_CPU] == &mx_device_cpu);
  for (int t = MX_DEV_CPU; t <= MX_DEV_GPU; t++) {
    const mx_device *d = mx_devices[t];
    if (!d) continue;
    CHECK(d->name && d->count && d->check && d->raw_alloc && d->raw_free && d->memset_zero);
    CHECK(d->copy_from_host && d->copy_to_host && d->copy_on_device && d->sync);
    CHECK(d->gemm && d->random_uniform && d->random_normal && d->kernels && d->optim);
    const mx_kernels *k = d->kernels;
    if (!k) continue;
    CHECK(k->fill && k->arange && k->unary && k->clip && k->binary && k->binary_scalar);
    CHECK(k->binary_strided && k->copy_strided && k->copy2d && k->reduce && k->take && k->one_hot);
    CHECK(k->im2col && k->col2im);
    const mx_optim_kernels *o = d->optim;
    if (o) CHECK(o->sgd && o->adam && o->rmsprop && o->adagrad);
  }
}

/* cuBLAS is opened lazily (blas_cuda.cu); a CUDA build must find it and its
 * entry points, GPU or not, or every GPU GEMM would fail. */
TEST(cublas_opens_with_its_entry_points) {
#ifdef MX_HAVE_CUDA
  CHECK_OK(mx_cuda_blas_load());
  CHECK_OK(mx_cuda_blas_load()); /* once per process, then the same answer */
#else
  SKIP("built without CUDA");
#endif
}

TEST(graph_calls_fail_clearly_without_a_device) {
  if (mx_gpu_count() > 0) SKIP("a GPU is present (this checks the no-device errors)");
  mx_cuda_graph *g = (mx_cuda_graph *)1;
  CHECK_ERR(mx_cuda_graph_begin(mx_gpu(0)), MX_ERR_DEVICE, "mx_cuda_graph_begin: ");
  CHECK(strstr(mx_last_error(), mx_cuda_compiled() ? "no CUDA device" : "built without CUDA") != NULL);
  CHECK(mx_cuda_graph_end(mx_gpu(0), &g) != MX_OK);
  CHECK(g == NULL);
  CHECK(mx_cuda_graph_launch(NULL) != MX_OK);
  mx_cuda_graph_release(NULL);
}

/* mx_random_uniform/normal on the CPU against the words of philox.h's generator
 * read here from block 0 of the seed's key (the stream the GPU kernels use). */
TEST(random_streams_are_philox_blocks) {
  mx_random_seed(99);
  mx_ndarray *u = ND(NULL, 10), *z = ND(NULL, 5);
  CHECK_OK(mx_random_uniform(-1.0f, 2.0f, u));
  CHECK_OK(mx_random_normal(0.5f, 2.0f, z)); /* starts at block 3: uniform used 10 words of 3 blocks */
  float *hu = nd_host(u), *hz = nd_host(z);
  uint32_t w[4];
  for (int i = 0; i < 10; i++) {
    mx_philox4x32((uint64_t)(i / 4), 99, w);
    float want = -1.0f + 3.0f * ((float)(w[i % 4] >> 8) / 16777216.0f);
    CHECK(hu[i] == want);
  }
  for (int i = 0; i < 5; i += 2) {
    mx_philox4x32(3 + (uint64_t)(i / 4), 99, w);
    double u1 = ((double)w[i % 4] + 1.0) / 4294967296.0, u2 = (double)w[i % 4 + 1] / 4294967296.0;
    double r = sqrt(-2.0 * log(u1)), t = 2.0 * 3.14159265358979323846 * u2;
    CHECK(hz[i] == (float)(0.5 + 2.0 * r * cos(t)));
    if (i + 1 < 5) CHECK(hz[i + 1] == (float)(0.5 + 2.0 * r * sin(t)));
  }
  free(hu);
  free(hz);
  mx_ndarray_release(u);
  mx_ndarray_release(z);
}

/* ---- with a GPU ---- */


TEST(gpu_exp_matches_the_cpu) {
  if (mx_gpu_count() == 0) SKIP("no GPU");
  float x[6] = {-2, -0.5f, 0, 0.25f, 1, 3};
  mx_ndarray *c = ND(x, 2, 3), *g = NULL, *ge = NULL;
  CHECK_OK(mx_ndarray_copyto(c, mx_gpu(0), &g));
  CHECK_OK(mx_ndarray_unary(MX_UNARY_EXP, g, &ge));
  float *h = nd_host(ge);
  for (int i = 0; i < 6; i++) CHECK_NEAR(h[i], expf(x[i]), 1e-6 * expf(x[i]));
  free(h);
  mx_ndarray_release(c);
  mx_ndarray_release(g);
  mx_ndarray_release(ge);
}

TEST(gpu_graph_replays_and_refuses_allocations) {
  if (mx_gpu_count() == 0) SKIP("no GPU");
  int64_t shape[1] = {4};
  mx_ndarray *a = NULL, *tmp = NULL;
  CHECK_OK(mx_ndarray_zeros(shape, 1, mx_gpu(0), &a));
  mx_cuda_graph *g = NULL;
  CHECK_OK(mx_cuda_graph_begin(mx_gpu(0)));
  CHECK_OK(mx_ndarray_binary_scalar_inplace(MX_BINARY_ADD, a, 1.5f));
  CHECK_OK(mx_cuda_graph_end(mx_gpu(0), &g));
  for (int i = 0; i < 4; i++) CHECK_OK(mx_cuda_graph_launch(g));
  float *h = nd_host(a);
  for (int i = 0; i < 4; i++) CHECK(h[i] == 6.0f); /* recorded once (not run), launched 4 times */
  free(h);
  mx_cuda_graph_release(g);
  CHECK_OK(mx_ndarray_zeros(shape, 1, mx_gpu(0), &tmp)); /* a block the pool then hands out again */
  mx_ndarray_release(tmp);
  CHECK_OK(mx_cuda_graph_begin(mx_gpu(0)));
  mx_ndarray_zeros(shape, 1, mx_gpu(0), &tmp);
  CHECK_ERR(mx_cuda_graph_end(mx_gpu(0), &g), MX_ERR_STATE, "allocated while recording");
  CHECK(g == NULL);
  mx_ndarray_release(tmp);
  mx_ndarray_release(a);
}

int main(void) {
  RUN(every_operator_has_gpu_kernels_in_a_cuda_build);
  RUN(operator_kernels_come_from_one_place);
  RUN(every_device_fills_every_slot);
  RUN(cublas_opens_with_its_entry_points);
  RUN(graph_calls_fail_clearly_without_a_device);
  RUN(random_streams_are_philox_blocks);
  RUN(gpu_exp_matches_the_cpu);
  RUN(gpu_graph_replays_and_refuses_allocations);
  return ctest_summary();
}
