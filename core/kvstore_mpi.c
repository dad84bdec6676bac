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
  return mx_error_at(MX_ERR_DEVICE, where, "MPI failed: %s", msg);
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
        return mx_error_at(MX_ERR_DEVICE, "mx_dist_init", "MPI_Init failed (error %d)", rc);
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
    return mx_error_at(MX_ERR_STATE, where, "MPI is not initialized (create the kvstore 'mpi' first)");
  return MX_OK;
}

static mx_status reserve(int64_t n) {
  if (n <= g_buf_len) return MX_OK;
  float *b = realloc(g_buf, (size_t)n * sizeof(float));
  if (b == NULL)
    return mx_error_at(MX_ERR_NOMEM, "mx_dist_allreduce", "cannot allocate a %lld-float bucket",
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
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_dist_allreduce");
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
  return st == MX_OK ? MX_OK : MX_ERR_FRAME(st, "mx_dist_allreduce");
}

mx_status mx_dist_allreduce(mx_ndarray *const *arrays, int n, int64_t bucket_floats) {
  mx_status st = need_init("mx_dist_allreduce");
  if (st != MX_OK) return st;
  if (n < 0 || (n > 0 && arrays == NULL))
    return mx_error_at(MX_ERR_ARG, "mx_dist_allreduce", "bad array list (n %d)", n);
  for (int i = 0; i < n; i++)
    if (arrays[i] == NULL) return mx_error_at(MX_ERR_ARG, "mx_dist_allreduce", "array %d is NULL", i);
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
    return mx_error_at(MX_ERR_ARG, "mx_dist_broadcast", "root %d out of range (expected 0..%d)", root,
                    g_size - 1);
  for (int i = 0; i < n; i++) {
    int64_t k = mx_ndarray_size(arrays[i]);
    if ((st = reserve(k)) != MX_OK) return st;
    if (g_rank == root && (st = mx_ndarray_to_host(arrays[i], g_buf, k)) != MX_OK)
      return MX_ERR_FRAME(st, "mx_dist_broadcast");
    for (int64_t done = 0; done < k;) {
      int count = (int)(k - done > (1 << 30) ? (1 << 30) : k - done);
      int rc = MPI_Bcast(g_buf + done, count, MPI_FLOAT, root, MPI_COMM_WORLD);
      if (rc != MPI_SUCCESS) return mpi_fail("mx_dist_broadcast", rc);
      done += count;
    }
    if (g_rank != root && (st = mx_ndarray_set_host(arrays[i], g_buf, k)) != MX_OK)
      return MX_ERR_FRAME(st, "mx_dist_broadcast");
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

/* ---- the all-reduce overlapped with backward ---- */

typedef struct overlap_bucket {
  int lo, hi;  /* grads[order[lo..hi)] */
  int64_t len; /* floats */
  float *buf;
  int missing; /* gradient writes still to come in this pass */
  int started;
  MPI_Request req;
} overlap_bucket;

struct mx_dist_overlap {
  mx_executor *e;
  int n, nb, calibrated;
  mx_ndarray **grads;
  int64_t *offset; /* of grads[i] in its bucket */
  int *bucket;     /* of grads[i] */
  int *writes;     /* per pass (counted by the first pass) */
  int *seen;       /* this pass */
  int *order;      /* gradient indices in the order backward finishes them (from the first pass) */
  int64_t *last;   /* the first pass: when each gradient was last written */
  int64_t tick, bucket_floats;
  overlap_bucket *b;
  int failed; /* an MPI call in the hook failed: its code */
};

/* Starts bucket b's all-reduce; pack: copy its gradients in first (the hook has packed
 * them already when it starts a bucket). */
static int overlap_start(mx_dist_overlap *o, overlap_bucket *b, int pack) {
  for (int j = b->lo; j < b->hi; j++) {
    int i = o->order[j];
    if (!pack && o->writes[i] > 0) continue; /* the hook packed it */
    if (mx_ndarray_to_host(o->grads[i], b->buf + o->offset[i], mx_ndarray_size(o->grads[i])) !=
        MX_OK)
      return MPI_ERR_OTHER;
  }
  b->started = 1;
  if (b->len > (1 << 30)) return MPI_ERR_COUNT;
  return MPI_Iallreduce(MPI_IN_PLACE, b->buf, (int)b->len, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                        &b->req);
}

static mx_status overlap_hook(const char *name, mx_ndarray *a, void *ud) {
  (void)name;
  mx_dist_overlap *o = ud;
  const float *p = mx_ndarray_data(a);
  for (int i = 0; i < o->n; i++) {
    if (mx_ndarray_data(o->grads[i]) != p || mx_ndarray_size(a) != mx_ndarray_size(o->grads[i]))
      continue;
    o->seen[i]++;
    o->last[i] = ++o->tick;
    if (!o->calibrated || o->failed) return MX_OK;
    overlap_bucket *b = &o->b[o->bucket[i]];
    if (o->seen[i] == o->writes[i]) { /* final: pack it now, while later layers run */
      if (mx_ndarray_to_host(o->grads[i], b->buf + o->offset[i], mx_ndarray_size(a)) != MX_OK)
        return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_dist_overlap_backward");
      if (--b->missing == 0) {
        int rc = overlap_start(o, b, 0);
        if (rc != MPI_SUCCESS) o->failed = rc;
      }
    }
    break;
  }
  for (int k = 0; k < o->nb && !o->failed; k++) { /* let started reductions progress */
    int done = 0;
    if (o->b[k].started && o->b[k].req != MPI_REQUEST_NULL)
      MPI_Test(&o->b[k].req, &done, MPI_STATUS_IGNORE);
  }
  return MX_OK;
}

/* Buckets of at most bucket_floats floats over the gradients in o->order. */
static mx_status make_buckets(mx_dist_overlap *o) {
  for (int k = 0; k < o->nb; k++) free(o->b[k].buf);
  memset(o->b, 0, (size_t)o->n * sizeof *o->b);
  o->nb = 0;
  int lo = 0;
  int64_t total = 0;
  for (int j = 0; j <= o->n; j++) {
    int64_t k = j < o->n ? mx_ndarray_size(o->grads[o->order[j]]) : 0;
    if (j == o->n || (j > lo && total + k > o->bucket_floats)) {
      overlap_bucket *b = &o->b[o->nb];
      b->lo = lo, b->hi = j, b->len = total, b->req = MPI_REQUEST_NULL;
      b->buf = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
      if (!b->buf)
        return mx_error_at(MX_ERR_NOMEM, "mx_dist_overlap", "cannot allocate a %lld-float bucket",
                        (long long)total);
      o->nb++;
      lo = j;
      total = 0;
    }
    if (j < o->n) {
      o->bucket[o->order[j]] = o->nb;
      o->offset[o->order[j]] = total;
      total += k;
    }
  }
  return MX_OK;
}

mx_status mx_dist_overlap_create(mx_executor *e, mx_ndarray *const *grads, int n,
                                 int64_t bucket_floats, mx_dist_overlap **out) {
  *out = NULL;
  mx_status st = need_init("mx_dist_overlap_create");
  if (st != MX_OK) return st;
  if (e == NULL || n < 1 || grads == NULL)
    return mx_error_at(MX_ERR_ARG,
                    "mx_dist_overlap_create", "need an executor and at least one gradient (got %d)",
                    n);
  if (bucket_floats <= 0) bucket_floats = (int64_t)32 << 10; /* small: more of them overlap */
  mx_dist_overlap *o = calloc(1, sizeof *o);
  if (o) {
    o->grads = calloc((size_t)n, sizeof *o->grads);
    o->offset = calloc((size_t)n, sizeof *o->offset);
    o->bucket = calloc((size_t)n, sizeof *o->bucket);
    o->writes = calloc((size_t)n, sizeof *o->writes);
    o->seen = calloc((size_t)n, sizeof *o->seen);
    o->order = calloc((size_t)n, sizeof *o->order);
    o->last = calloc((size_t)n, sizeof *o->last);
    o->b = calloc((size_t)n, sizeof *o->b);
  }
  if (!o || !o->grads || !o->offset || !o->bucket || !o->writes || !o->seen || !o->order ||
      !o->last || !o->b) {
    mx_dist_overlap_release(o);
    return mx_error_at(MX_ERR_NOMEM, "mx_dist_overlap_create", "out of memory");
  }
  o->n = n;
  /* buckets in backward order: the last parameters' gradients come first */
  for (int i = n - 1; i >= 0; i--) {
    if (grads[i] == NULL) {
      mx_dist_overlap_release(o);
      return mx_error_at(MX_ERR_ARG, "mx_dist_overlap_create", "gradient %d is NULL", i);
    }
    o->grads[i] = mx_ndarray_retain(grads[i]);
  }
  for (int i = 0; i < n; i++) o->order[i] = i;
  o->bucket_floats = bucket_floats;
  if ((st = make_buckets(o)) != MX_OK) {
    mx_dist_overlap_release(o);
    return st;
  }
  o->e = mx_executor_retain(e);
  *out = o;
  return MX_OK;
}

mx_status mx_dist_overlap_backward(mx_dist_overlap *o) {
  if (o == NULL) return mx_error_at(MX_ERR_ARG, "mx_dist_overlap_backward", "NULL");
  for (int i = 0; i < o->n; i++) o->seen[i] = 0;
  for (int k = 0; k < o->nb; k++) {
    overlap_bucket *b = &o->b[k];
    b->started = 0;
    b->req = MPI_REQUEST_NULL;
    b->missing = 0;
    for (int j = b->lo; j < b->hi; j++) b->missing += o->writes[o->order[j]] > 0 ? 1 : 0;
  }
  o->failed = 0;
  mx_executor_set_monitor(o->e, overlap_hook, o);
  mx_status st = mx_executor_backward(o->e, NULL, 0);
  mx_executor_set_monitor(o->e, NULL, NULL);
  if (!o->calibrated) { /* the first pass: how many writes make each gradient final */
    for (int i = 0; i < o->n; i++) o->writes[i] = o->seen[i];
    for (int j = 1; j < o->n; j++) { /* insertion sort by last write; never written: at the end */
      int i = o->order[j], m = j;
      int64_t t = o->last[i] ? o->last[i] : INT64_MAX;
      for (; m > 0; m--) {
        int64_t tp = o->last[o->order[m - 1]] ? o->last[o->order[m - 1]] : INT64_MAX;
        if (tp <= t) break;
        o->order[m] = o->order[m - 1];
      }
      o->order[m] = i;
    }
    o->calibrated = 1;
    if (st == MX_OK) st = make_buckets(o); /* buckets in the order backward fills them */
  }
  /* every bucket not started yet (gradients the hook never saw: all of them on the first pass) */
  for (int k = 0; st == MX_OK && !o->failed && k < o->nb; k++)
    if (!o->b[k].started) {
      int rc = overlap_start(o, &o->b[k], 1);
      if (rc != MPI_SUCCESS) o->failed = rc;
    }
  /* wait for all (sleeping between polls), even after a failure, so no request is left behind */
  double t0 = MPI_Wtime();
  struct timespec ts = {0, 20000L};
  for (int k = 0; k < o->nb; k++) {
    for (int done = 0; o->b[k].started && o->b[k].req != MPI_REQUEST_NULL;) {
      int rc = MPI_Test(&o->b[k].req, &done, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        o->failed = rc;
        break;
      }
      if (done) break;
      nanosleep(&ts, NULL);
    }
  }
  g_allreduce_seconds += MPI_Wtime() - t0; /* the wait left after backward */
  g_allreduce_calls += o->nb;
  if (st != MX_OK) return st;
  if (o->failed) return mpi_fail("mx_dist_overlap_backward", o->failed);
  for (int i = 0; i < o->n; i++) {
    overlap_bucket *b = &o->b[o->bucket[i]];
    st = mx_ndarray_set_host(o->grads[i], b->buf + o->offset[i], mx_ndarray_size(o->grads[i]));
    if (st != MX_OK) return MX_ERR_FRAME(st, "mx_dist_overlap_backward");
  }
  return MX_OK;
}

void mx_dist_overlap_release(mx_dist_overlap *o) {
  if (o == NULL) return;
  for (int i = 0; o->grads && i < o->n; i++) mx_ndarray_release(o->grads[i]);
  for (int k = 0; o->b && k < o->nb; k++) free(o->b[k].buf);
  mx_executor_release(o->e);
  free(o->grads);
  free(o->offset);
  free(o->bucket);
  free(o->writes);
  free(o->seen);
  free(o->order);
  free(o->last);
  free(o->b);
  free(o);
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
