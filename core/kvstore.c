/* kvstore.c: the reductions behind mx.kvstore that need no library: the sum of
 * one parameter's arrays over the contexts of a process ('local', 'device'), and
 * the MPI / NCCL entry points of a build without them (they fail clearly). */
#include "internal.h"

mx_status mx_kvstore_reduce_sum(mx_ndarray *dst, mx_ndarray *const *srcs, int n) {
  if (dst == NULL || srcs == NULL || n < 1)
    return mx_error_at(MX_ERR_ARG,
                    "mx_kvstore_reduce_sum", "need a destination and at least one array (got %d)", n);
  const int64_t *ds = mx_ndarray_shape(dst);
  int nd = mx_ndarray_ndim(dst);
  for (int i = 0; i < n; i++) {
    if (srcs[i] == NULL) return mx_error_at(MX_ERR_ARG, "mx_kvstore_reduce_sum", "array %d is NULL", i);
    int same = mx_ndarray_ndim(srcs[i]) == nd;
    for (int d = 0; same && d < nd; d++) same = mx_ndarray_shape(srcs[i])[d] == ds[d];
    if (!same) {
      char want[96], got[96];
      mx_shape_str(ds, nd, want, sizeof want);
      mx_shape_str(mx_ndarray_shape(srcs[i]), mx_ndarray_ndim(srcs[i]), got, sizeof got);
      return mx_error_at(MX_ERR_SHAPE, "mx_kvstore_reduce_sum", "array %d has shape %s (expected %s)", i,
                      got, want);
    }
  }
  /* Sum into a temporary on dst's context when dst is one of the sources. */
  int aliased = 0;
  for (int i = 1; i < n; i++) aliased |= mx_ndarray_same_storage(dst, srcs[i]);
  mx_context ctx = mx_ndarray_context(dst);
  mx_ndarray *acc = NULL, *tmp = NULL;
  mx_status st = MX_OK;
  if (aliased)
    st = mx_ndarray_create(ds, nd, ctx, &acc);
  else
    acc = mx_ndarray_retain(dst);
  if (st == MX_OK) st = mx_ndarray_assign(acc, srcs[0]);
  for (int i = 1; st == MX_OK && i < n; i++) {
    mx_context c = mx_ndarray_context(srcs[i]);
    const mx_ndarray *term = srcs[i];
    if (c.dev_type != ctx.dev_type || c.dev_id != ctx.dev_id) { /* bring it over first */
      if (tmp == NULL) st = mx_ndarray_create(ds, nd, ctx, &tmp);
      if (st == MX_OK) st = mx_ndarray_assign(tmp, srcs[i]);
      term = tmp;
    }
    if (st == MX_OK) st = mx_ndarray_binary_inplace(MX_BINARY_ADD, acc, term);
  }
  if (st == MX_OK && aliased) st = mx_ndarray_assign(dst, acc);
  mx_ndarray_release(tmp);
  mx_ndarray_release(acc);
  return st == MX_OK ? MX_OK : MX_ERR_FRAME(st, "mx_kvstore_reduce_sum");
}

#ifndef MX_HAVE_NCCL
int mx_nccl_compiled(void) {
  return 0;
}
mx_status mx_nccl_allreduce(mx_ndarray *const *arrays, int n) {
  (void)arrays, (void)n;
  return mx_error_at(MX_ERR_STATE, "mx_nccl_allreduce", "kvstore 'nccl' is not available in this build "
                                "(built without CUDA or without NCCL beside it)");
}
#endif

#ifndef MX_HAVE_MPI
#define NO_MPI(fn)                                                                                 \
  mx_error(MX_ERR_STATE,                                                                           \
           fn ": kvstore 'mpi' is not available in this build (Open MPI was not found: "           \
              "install libopenmpi-dev and openmpi-bin with `make deps`, then rebuild)")
int mx_dist_compiled(void) {
  return 0;
}
mx_status mx_dist_init(int *rank, int *size) {
  if (rank) *rank = 0;
  if (size) *size = 1;
  return NO_MPI("mx_dist_init");
}
mx_status mx_dist_allreduce(mx_ndarray *const *arrays, int n, int64_t bucket_floats) {
  (void)arrays, (void)n, (void)bucket_floats;
  return NO_MPI("mx_dist_allreduce");
}
mx_status mx_dist_broadcast(mx_ndarray *const *arrays, int n, int root) {
  (void)arrays, (void)n, (void)root;
  return NO_MPI("mx_dist_broadcast");
}
mx_status mx_dist_barrier(void) {
  return NO_MPI("mx_dist_barrier");
}
void mx_dist_stats(double *allreduce_seconds, int64_t *allreduce_calls) {
  if (allreduce_seconds) *allreduce_seconds = 0;
  if (allreduce_calls) *allreduce_calls = 0;
}
mx_status mx_dist_abort(int code) {
  (void)code;
  return NO_MPI("mx_dist_abort");
}
mx_status mx_dist_overlap_create(mx_executor *e, mx_ndarray *const *grads, int n,
                                 int64_t bucket_floats, mx_dist_overlap **out) {
  (void)e, (void)grads, (void)n, (void)bucket_floats;
  *out = NULL;
  return NO_MPI("mx_dist_overlap_create");
}
mx_status mx_dist_overlap_backward(mx_dist_overlap *o) {
  (void)o;
  return NO_MPI("mx_dist_overlap_backward");
}
void mx_dist_overlap_release(mx_dist_overlap *o) {
  (void)o;
}
#endif
