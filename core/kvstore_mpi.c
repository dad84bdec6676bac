/* kvstore_mpi.c: MPI between processes for kvstore 'mpi' (built with -DMX_HAVE_MPI
 * when the Makefile finds Open MPI): init, bucketed in-place all-reduce of arrays,
 * broadcast, barrier, and an exit hook that aborts every rank when one fails. */
#ifdef MX_HAVE_MPI
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static int g_init, g_rank, g_size;
static double g_allreduce_seconds;
static int64_t g_allreduce_calls;
static float *g_buf;
static int64_t g_buf_len;

int mx_dist_compiled(void) {
  return 1;
}

static mx_status mpi_fail(const char *where, int rc) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", rc);
  return mx_error(MX_ERR_DEVICE, "%s: MPI failed: %s", where, msg);
}

/* At exit: status 0 finalizes (every rank reached the end); any other status
 * aborts the whole job, so the other ranks do not wait forever in a collective
 * (a job of one process just finalizes). */
static void on_exit_hook(int status, void *arg) {
  (void)arg;
  int fin = 0;
  MPI_Finalized(&fin);
  if (fin) return;
  if (status != 0 && g_size > 1) {
    fprintf(stderr, "mxlua: rank %d of %d exits with status %d: aborting every rank\n", g_rank,
            g_size, status);
    MPI_Abort(MPI_COMM_WORLD, status);
  }
  MPI_Finalize();
}

mx_status mx_dist_init(int *rank, int *size) {
  if (!g_init) {
    /* Open MPI loads its components with dlopen and they need libmpi's symbols
     * global; a Lua C module (and its libmpi) is opened RTLD_LOCAL. */
    dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0, rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
      if (rc != MPI_SUCCESS)
        return mx_error(MX_ERR_DEVICE, "mx_dist_init: MPI_Init failed (error %d)", rc);
      /* The hook lives in this object: keep it mapped past dlclose (lua_close
       * unloads C modules before exit runs the hook). */
      Dl_info self;
      if (dladdr((void *)on_exit_hook, &self) && self.dli_fname)
        dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
      on_exit(on_exit_hook, NULL);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_init = 1;
  }
  if (rank) *rank = g_rank;
  if (size) *size = g_size;
  return MX_OK;
}

static mx_status need_init(const char *where) {
  if (!g_init)
    return mx_error(MX_ERR_STATE, "%s: MPI is not initialized (create the kvstore 'mpi' first)",
                    where);
  return MX_OK;
}

static mx_status reserve(int64_t n) {
  if (n <= g_buf_len) return MX_OK;
  float *b = realloc(g_buf, (size_t)n * sizeof(float));
  if (b == NULL)
    return mx_error(MX_ERR_NOMEM, "mx_dist_allreduce: cannot allocate a %lld-float bucket",
                    (long long)n);
  g_buf = b;
  g_buf_len = n;
  return MX_OK;
}

/* MPI_Allreduce that sleeps between progress polls instead of spinning: a rank that
 * waits for a slower peer gives the CPU back (on a machine with as many ranks as cores,
 * a spinning rank slows the peer it waits for). $MXLUA_MPI_POLL_US: the sleep in
 * microseconds (default 20; 0: plain blocking MPI_Allreduce). */
static int allreduce_sleeping(float *buf, int count) {
  static long poll_us = -1;
  if (poll_us < 0) {
    const char *env = getenv("MXLUA_MPI_POLL_US");
    poll_us = env && *env ? strtol(env, NULL, 10) : 20;
    if (poll_us < 0) poll_us = 0;
  }
  if (poll_us == 0)
    return MPI_Allreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Request req;
  int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) return rc;
  struct timespec ts = {0, poll_us * 1000L};
  for (int done = 0;;) {
    rc = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || done) return rc;
    nanosleep(&ts, NULL);
  }
}

/* Reduces arrays[lo..hi) packed into g_buf (total floats). */
static mx_status reduce_bucket(mx_ndarray *const *arrays, int lo, int hi, int64_t total) {
  mx_status st = reserve(total);
  int64_t off = 0;
  for (int i = lo; st == MX_OK && i < hi; i++) {
    int64_t k = mx_ndarray_size(arrays[i]);
    st = mx_ndarray_to_host(arrays[i], g_buf + off, k);
    off += k;
  }
  if (st != MX_OK) return mx_error_prefix(st, "mx_dist_allreduce");
  double t0 = MPI_Wtime();
  for (int64_t done = 0; done < total;) { /* MPI counts are ints */
    int count = (int)(total - done > (1 << 30) ? (1 << 30) : total - done);
    int rc = allreduce_sleeping(g_buf + done, count);
    if (rc != MPI_SUCCESS) return mpi_fail("mx_dist_allreduce", rc);
    done += count;
  }
  g_allreduce_seconds += MPI_Wtime() - t0;
  g_allreduce_calls++;
  off = 0;
  for (int i = lo; st == MX_OK && i < hi; i++) {
    int64_t k = mx_ndarray_size(arrays[i]);
    st = mx_ndarray_set_host(arrays[i], g_buf + off, k);
    off += k;
  }
  return st == MX_OK ? MX_OK : mx_error_prefix(st, "mx_dist_allreduce");
}

mx_status mx_dist_allreduce(mx_ndarray *const *arrays, int n, int64_t bucket_floats) {
  mx_status st = need_init("mx_dist_allreduce");
  if (st != MX_OK) return st;
  if (n < 0 || (n > 0 && arrays == NULL))
    return mx_error(MX_ERR_ARG, "mx_dist_allreduce: bad array list (n %d)", n);
  for (int i = 0; i < n; i++)
    if (arrays[i] == NULL) return mx_error(MX_ERR_ARG, "mx_dist_allreduce: array %d is NULL", i);
  if (bucket_floats <= 0) bucket_floats = (int64_t)4 << 20;
  int lo = 0;
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    int64_t k = mx_ndarray_size(arrays[i]);
    if (i > lo && total + k > bucket_floats) {
      if ((st = reduce_bucket(arrays, lo, i, total)) != MX_OK) return st;
      lo = i;
      total = 0;
    }
    total += k;
  }
  if (n > lo) st = reduce_bucket(arrays, lo, n, total);
  return st;
}

mx_status mx_dist_broadcast(mx_ndarray *const *arrays, int n, int root) {
  mx_status st = need_init("mx_dist_broadcast");
  if (st != MX_OK) return st;
  if (root < 0 || root >= g_size)
    return mx_error(MX_ERR_ARG, "mx_dist_broadcast: root %d out of range (expected 0..%d)", root,
                    g_size - 1);
  for (int i = 0; i < n; i++) {
    int64_t k = mx_ndarray_size(arrays[i]);
    if ((st = reserve(k)) != MX_OK) return st;
    if (g_rank == root && (st = mx_ndarray_to_host(arrays[i], g_buf, k)) != MX_OK)
      return mx_error_prefix(st, "mx_dist_broadcast");
    for (int64_t done = 0; done < k;) {
      int count = (int)(k - done > (1 << 30) ? (1 << 30) : k - done);
      int rc = MPI_Bcast(g_buf + done, count, MPI_FLOAT, root, MPI_COMM_WORLD);
      if (rc != MPI_SUCCESS) return mpi_fail("mx_dist_broadcast", rc);
      done += count;
    }
    if (g_rank != root && (st = mx_ndarray_set_host(arrays[i], g_buf, k)) != MX_OK)
      return mx_error_prefix(st, "mx_dist_broadcast");
  }
  return MX_OK;
}

mx_status mx_dist_barrier(void) {
  mx_status st = need_init("mx_dist_barrier");
  if (st != MX_OK) return st;
  int rc = MPI_Barrier(MPI_COMM_WORLD);
  return rc == MPI_SUCCESS ? MX_OK : mpi_fail("mx_dist_barrier", rc);
}

void mx_dist_stats(double *allreduce_seconds, int64_t *allreduce_calls) {
  if (allreduce_seconds) *allreduce_seconds = g_allreduce_seconds;
  if (allreduce_calls) *allreduce_calls = g_allreduce_calls;
}

mx_status mx_dist_abort(int code) {
  mx_status st = need_init("mx_dist_abort");
  if (st != MX_OK) return st;
  MPI_Abort(MPI_COMM_WORLD, code);
  return MX_OK;
}
#else
typedef int mx_kvstore_mpi_unused; /* ISO C: a translation unit is not empty */
#endif
