/* random.c: the process-wide seedable generator (Philox4x32-10, counter
 * based: key = seed, one counter per 4 words) and uniform, normal (Box-Muller)
 * and permutation (Fisher-Yates) on top of it. Uniform and normal fills take
 * their counter blocks here and run on the array's device (its random slots;
 * the CPU's are below). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "kernels.h"
#include "philox.h"

static uint64_t key = 0;     /* the seed */
static uint64_t counter = 0; /* blocks of 4 words used so far since seeding */
static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;

/* A stream of 32-bit words from the global counter; `stream_end` advances it. */
typedef struct stream {
  uint64_t key, ctr;
  uint32_t buf[4];
  int pos;
} stream;

static void stream_begin(stream *s) {
  pthread_mutex_lock(&rng_lock);
  s->key = key;
  s->ctr = counter;
  s->pos = 4;
}

static void stream_end(stream *s) {
  counter = s->ctr;
  pthread_mutex_unlock(&rng_lock);
}

static uint32_t next32(stream *s) {
  if (s->pos == 4) {
    mx_philox4x32(s->ctr++, s->key, s->buf);
    s->pos = 0;
  }
  return s->buf[s->pos++];
}

/* Takes the next `blocks` counter blocks of the stream for a device fill. */
static void reserve(uint64_t blocks, uint64_t *k, uint64_t *ctr) {
  pthread_mutex_lock(&rng_lock);
  *k = key;
  *ctr = counter;
  counter += blocks;
  pthread_mutex_unlock(&rng_lock);
}

void mx_random_seed(uint64_t seed) {
  pthread_mutex_lock(&rng_lock);
  key = seed;
  counter = 0;
  pthread_mutex_unlock(&rng_lock);
}

/* The CPU device's random slots: the per-block bodies of philox.h, as the GPU kernels run them. */
mx_status mx_random_uniform_cpu(int dev_id, float *y, int64_t n, float low, float high, uint64_t k, uint64_t ctr) {
  (void)dev_id;
  for (int64_t b = 0; b < (n + 3) / 4; b++) mx_philox_uniform_block(y, n, b, low, high, k, ctr);
  return MX_OK;
}

mx_status mx_random_normal_cpu(int dev_id, float *y, int64_t n, float mean, float std, uint64_t k, uint64_t ctr) {
  (void)dev_id;
  for (int64_t b = 0; b < (n + 3) / 4; b++) mx_philox_normal_block(y, n, b, mean, std, k, ctr);
  return MX_OK;
}

/* A device's random slot (uniform: p1, p2 = low, high; normal: mean, std). */
typedef mx_status (*fill_fn)(int dev_id, float *y, int64_t n, float p1, float p2, uint64_t k, uint64_t ctr);

/* Fills out on its device from the next counter blocks of the stream. */
static mx_status device_fill(const char *where, mx_ndarray *out, int normal, float p1, float p2) {
  int64_t n = mx_ndarray_size(out);
  if (n == 0) return MX_OK;
  mx_context ctx = mx_ndarray_context(out);
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, where);
  fill_fn fill = normal ? dev->random_normal : dev->random_uniform;
  /* uniform: one word per number; normal: two per pair of numbers */
  uint64_t words = normal ? ((uint64_t)n + 1) / 2 * 2 : (uint64_t)n, k, ctr;
  reserve((words + 3) / 4, &k, &ctr);
  mx_status st = fill(ctx.dev_id, mx_ndarray_data(out), n, p1, p2, k, ctr);
  return st == MX_OK ? st : MX_ERR_FRAME(st, where);
}

mx_status mx_random_uniform(float low, float high, mx_ndarray *out) {
  const char *where = "mx_random_uniform";
  if (!(low <= high)) return mx_error_at(MX_ERR_ARG, where, "low %g is above high %g", low, high);
  return device_fill(where, out, 0, low, high);
}

mx_status mx_random_normal(float mean, float std, mx_ndarray *out) {
  const char *where = "mx_random_normal";
  if (!(std >= 0)) return mx_error_at(MX_ERR_ARG, where, "std must be >= 0 (got %g)", std);
  return device_fill(where, out, 1, mean, std);
}

/* A host buffer for out's values: out's own memory on the CPU, else malloc. */
static float *host_buffer(mx_ndarray *out) {
  if (mx_ndarray_context(out).dev_type == MX_DEV_CPU) return mx_ndarray_data(out);
  return malloc((size_t)mx_ndarray_size(out) * sizeof(float));
}

static mx_status host_buffer_done(const char *where, mx_ndarray *out, float *buf) {
  if (buf == mx_ndarray_data(out)) return MX_OK;
  mx_status st = mx_ndarray_set_host(out, buf, mx_ndarray_size(out));
  free(buf);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  return MX_OK;
}

mx_status mx_random_permutation(int64_t n, mx_context ctx, mx_ndarray **out) {
  const char *where = "mx_random_permutation";
  *out = NULL;
  if (n < 0) return mx_error_at(MX_ERR_ARG, where, "n must be >= 0 (got %lld)", (long long)n);
  if (n > (1LL << 24))
    return mx_error_at(MX_ERR_ARG, where, "n %lld is beyond 2^24, where float32 stops holding every integer",
                    (long long)n);
  mx_status st = mx_ndarray_create(&n, 1, ctx, out);
  if (st != MX_OK) return MX_ERR_FRAME(st, where);
  if (n == 0) return MX_OK;
  float *y = host_buffer(*out);
  if (!y) {
    mx_ndarray_release(*out);
    *out = NULL;
    return mx_error_at(MX_ERR_NOMEM, where, "out of host memory");
  }
  for (int64_t i = 0; i < n; i++) y[i] = (float)i;
  stream s;
  stream_begin(&s);
  for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
    uint64_t hi = next32(&s), r = (hi << 32) | next32(&s);
    int64_t j = (int64_t)(r % (uint64_t)(i + 1));
    float t = y[i];
    y[i] = y[j];
    y[j] = t;
  }
  stream_end(&s);
  st = host_buffer_done(where, *out, y);
  if (st != MX_OK) {
    mx_ndarray_release(*out);
    *out = NULL;
  }
  return st;
}
