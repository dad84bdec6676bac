/* random.c: the process-wide seedable generator (Philox4x32-10, counter
 * based: key = seed, one counter per 4 words) and uniform, normal (Box-Muller)
 * and permutation (Fisher-Yates) on top of it. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "kernels.h"

static uint64_t key = 0;     /* the seed */
static uint64_t counter = 0; /* blocks of 4 words used so far since seeding */
static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011) */
static void philox4x32(uint64_t ctr, uint64_t k, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)k, k1 = (uint32_t)(k >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

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
    philox4x32(s->ctr++, s->key, s->buf);
    s->pos = 0;
  }
  return s->buf[s->pos++];
}

void mx_random_seed(uint64_t seed) {
  pthread_mutex_lock(&rng_lock);
  key = seed;
  counter = 0;
  pthread_mutex_unlock(&rng_lock);
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
  if (st != MX_OK) return mx_error_rename(st, where);
  return MX_OK;
}

mx_status mx_random_uniform(float low, float high, mx_ndarray *out) {
  const char *where = "mx_random_uniform";
  if (!(low <= high)) return mx_error(MX_ERR_ARG, "%s: low %g is above high %g", where, low, high);
  int64_t n = mx_ndarray_size(out);
  if (n == 0) return MX_OK;
  float *y = host_buffer(out);
  if (!y) return mx_error(MX_ERR_NOMEM, "%s: out of host memory", where);
  stream s;
  stream_begin(&s);
  float span = high - low;
  for (int64_t i = 0; i < n; i++) {
    float u = (float)(next32(&s) >> 8) * (1.0f / 16777216.0f); /* [0, 1) in 24 bits */
    float v = low + span * u;
    y[i] = v < high || low == high ? v : nextafterf(high, low); /* keep [low, high) despite rounding */
  }
  stream_end(&s);
  return host_buffer_done(where, out, y);
}

mx_status mx_random_normal(float mean, float std, mx_ndarray *out) {
  const char *where = "mx_random_normal";
  if (!(std >= 0)) return mx_error(MX_ERR_ARG, "%s: std must be >= 0 (got %g)", where, std);
  int64_t n = mx_ndarray_size(out);
  if (n == 0) return MX_OK;
  float *y = host_buffer(out);
  if (!y) return mx_error(MX_ERR_NOMEM, "%s: out of host memory", where);
  stream s;
  stream_begin(&s);
  for (int64_t i = 0; i < n; i += 2) {
    double u1 = ((double)next32(&s) + 1.0) * (1.0 / 4294967296.0); /* (0, 1] */
    double u2 = (double)next32(&s) * (1.0 / 4294967296.0);         /* [0, 1) */
    double r = sqrt(-2.0 * log(u1)), t = 2.0 * M_PI * u2;
    y[i] = (float)(mean + std * r * cos(t));
    if (i + 1 < n) y[i + 1] = (float)(mean + std * r * sin(t));
  }
  stream_end(&s);
  return host_buffer_done(where, out, y);
}

mx_status mx_random_permutation(int64_t n, mx_context ctx, mx_ndarray **out) {
  const char *where = "mx_random_permutation";
  *out = NULL;
  if (n < 0) return mx_error(MX_ERR_ARG, "%s: n must be >= 0 (got %lld)", where, (long long)n);
  if (n > (1LL << 24))
    return mx_error(MX_ERR_ARG, "%s: n %lld is beyond 2^24, where float32 stops holding every integer", where,
                    (long long)n);
  mx_status st = mx_ndarray_create(&n, 1, ctx, out);
  if (st != MX_OK) return mx_error_rename(st, where);
  if (n == 0) return MX_OK;
  float *y = host_buffer(*out);
  if (!y) {
    mx_ndarray_release(*out);
    *out = NULL;
    return mx_error(MX_ERR_NOMEM, "%s: out of host memory", where);
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
