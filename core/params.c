/* params.c: MXNet's NDArray list file (`.params`): writes V2 dense float32 records with
 * the array's device (as MXNet), reads legacy, V1, V2 and V3 dense records
 * (mxnet-semantics.md §1.15). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define LIST_MAGIC 0x112ULL
#define V1_MAGIC 0xF993FAC8u
#define V2_MAGIC 0xF993FAC9u
#define V3_MAGIC 0xF993FACAu

/* ---- writing: a growing byte buffer ---- */
typedef struct buf {
  unsigned char *p;
  size_t len, cap;
  int failed;
} buf;

static void put(buf *b, const void *src, size_t n) {
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *q = realloc(b->p, cap);
    if (!q) {
      b->failed = 1;
      return;
    }
    b->p = q, b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}
static void put_u64(buf *b, uint64_t v) {
  put(b, &v, 8);
} /* host order is little-endian here, as dmlc::Stream */
static void put_u32(buf *b, uint32_t v) {
  put(b, &v, 4);
}
static void put_i32(buf *b, int32_t v) {
  put(b, &v, 4);
}
static void put_i64(buf *b, int64_t v) {
  put(b, &v, 8);
}

/* Names must be unique: a second array of one name would silently win over the first. The
 * names are sorted in a copy (n log n), so a file of many arrays stays fast to check. */
static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}
static mx_status check_unique(const char *where, const char *path, const char *const *names, uint64_t n) {
  const char **sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
  if (!sorted) return mx_error_at(MX_ERR_NOMEM, where, "%s: out of memory", path);
  memcpy(sorted, names, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_name);
  mx_status st = MX_OK;
  for (uint64_t i = 1; i < n && st == MX_OK; i++)
    if (strcmp(sorted[i - 1], sorted[i]) == 0)
      st = mx_error_at(MX_ERR_FORMAT, where, "%s: the name '%s' is used twice", path, sorted[i]);
  free(sorted);
  return st;
}

mx_status mx_params_save(const char *path, mx_ndarray *const *arrays, const char *const *names,
                         int n) {
  if (n < 0) return mx_error_at(MX_ERR_ARG, "mx_params_save", "negative array count (got %d)", n);
  for (int i = 0; i < n; i++) {
    if (!arrays[i]) return mx_error_at(MX_ERR_ARG, "mx_params_save", "array %d is NULL", i);
    if (names && !names[i]) return mx_error_at(MX_ERR_ARG, "mx_params_save", "name %d is NULL", i);
  }
  if (names) {
    mx_status st = check_unique("mx_params_save", path, names, (uint64_t)n);
    if (st != MX_OK) return st;
  }
  buf b = {0};
  put_u64(&b, LIST_MAGIC);
  put_u64(&b, 0);
  put_u64(&b, (uint64_t)n);
  float *host = NULL;
  for (int i = 0; i < n && !b.failed; i++) {
    const mx_ndarray *a = arrays[i];
    int ndim = mx_ndarray_ndim(a);
    const int64_t *shape = mx_ndarray_shape(a);
    int64_t size = mx_ndarray_size(a);
    put_u32(&b, V2_MAGIC);
    put_i32(&b, 0); /* dense */
    put_u32(&b, (uint32_t)ndim);
    for (int d = 0; d < ndim; d++) put_i64(&b, shape[d]);
    mx_context ctx = mx_ndarray_context(a); /* MXNet records where the array lived */
    put_i32(&b, ctx.dev_type);
    put_i32(&b, ctx.dev_id);
    put_i32(&b, 0); /* float32 */
    float *h = realloc(host, (size_t)(size > 0 ? size : 1) * sizeof(float));
    if (!h) {
      b.failed = 1;
      break;
    }
    host = h;
    mx_status st = mx_ndarray_to_host(a, host, size);
    if (st != MX_OK) {
      free(host), free(b.p);
      return MX_ERR_FRAME(st, "mx_params_save");
    }
    put(&b, host, (size_t)size * sizeof(float));
  }
  free(host);
  put_u64(&b, names ? (uint64_t)n : 0);
  for (int i = 0; names && i < n; i++) {
    size_t len = strlen(names[i]);
    put_u64(&b, len);
    put(&b, names[i], len);
  }
  if (b.failed) {
    free(b.p);
    return mx_error_at(MX_ERR_NOMEM, "mx_params_save", "%s: out of memory", path);
  }
  mx_status st = mx_file_write_atomic(path, b.p, b.len);
  free(b.p);
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_params_save");
  return MX_OK;
}

/* ---- reading: a bounds-checked cursor over the whole file ---- */
typedef struct cursor {
  const unsigned char *p;
  size_t len, pos;
} cursor;

static int get(cursor *c, void *dst, size_t n) {
  if (c->len - c->pos < n) return 0;
  memcpy(dst, c->p + c->pos, n);
  c->pos += n;
  return 1;
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0)
      bits = sign;
    else { /* subnormal: normalise */
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) man <<= 1, exp--;
      bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31)
    bits = sign | 0x7f800000u | (man << 13);
  else
    bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static const int type_size[] = {4, 8, 2, 1, 4, 1, 8};

static void convert(int type, const unsigned char *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++, src += type_size[type]) {
    switch (type) {
    case 0: {
      float v;
      memcpy(&v, src, 4);
      dst[i] = v;
    } break;
    case 1: {
      double v;
      memcpy(&v, src, 8);
      dst[i] = (float)v;
    } break;
    case 2: {
      uint16_t v;
      memcpy(&v, src, 2);
      dst[i] = half_to_float(v);
    } break;
    case 3:
      dst[i] = (float)src[0];
      break;
    case 4: {
      int32_t v;
      memcpy(&v, src, 4);
      dst[i] = (float)v;
    } break;
    case 5:
      dst[i] = (float)(int8_t)src[0];
      break;
    default: {
      int64_t v;
      memcpy(&v, src, 8);
      dst[i] = (float)v;
    } break;
    }
  }
}

/* One NDArray record at the cursor into *out. */
static mx_status read_array(cursor *c, const char *path, int index, mx_context ctx,
                            mx_ndarray **out) {
  uint32_t first;
  int64_t shape[MX_MAX_NDIM];
  uint32_t ndim;
  int wide = 1; /* int64 dims */
  if (!get(c, &first, 4)) goto truncated;
  if (first == V2_MAGIC || first == V3_MAGIC) {
    int32_t stype;
    if (!get(c, &stype, 4)) goto truncated;
    if (stype != 0)
      return mx_error_at(MX_ERR_FORMAT,
                      "mx_params_load", "%s: array %d is sparse (storage type %d); only dense arrays "
                      "are supported",
                      path, index, stype);
    if (!get(c, &ndim, 4)) goto truncated;
  } else if (first == V1_MAGIC) {
    if (!get(c, &ndim, 4)) goto truncated;
  } else {
    ndim = first; /* legacy: the u32 was the shape's ndim */
    wide = 0;
  }
  if (ndim == 0)
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_params_load", "%s: array %d is a none (empty) array, which is not supported",
                    path, index);
  if (ndim > MX_MAX_NDIM)
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_params_load", "%s: array %d has %u axes (got %u, expected at most %d)", path,
                    index, ndim, ndim, MX_MAX_NDIM);
  for (uint32_t d = 0; d < ndim; d++) {
    if (wide) {
      if (!get(c, &shape[d], 8)) goto truncated;
    } else {
      uint32_t v;
      if (!get(c, &v, 4)) goto truncated;
      shape[d] = v;
    }
    if (shape[d] < 0)
      return mx_error_at(MX_ERR_FORMAT, "mx_params_load", "%s: array %d has a negative dimension", path,
                      index);
  }
  int32_t dev[2], type;
  if (!get(c, dev, 8) || !get(c, &type, 4)) goto truncated;
  if (type < 0 || type > 6)
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_params_load", "%s: array %d has an unknown type flag (got %d, expected 0..6)",
                    path, index, type);
  /* the data must fit in what is left of the file (checked without overflow) */
  int64_t size = 1, room = (int64_t)((c->len - c->pos) / (size_t)type_size[type]);
  for (uint32_t d = 0; d < ndim; d++) {
    if (shape[d] != 0 && size > room / shape[d]) goto truncated;
    size *= shape[d];
  }
  size_t bytes = (size_t)size * (size_t)type_size[type];
  float *vals = malloc((size_t)(size > 0 ? size : 1) * sizeof(float));
  if (!vals) return mx_error_at(MX_ERR_NOMEM, "mx_params_load", "%s: out of memory", path);
  convert(type, c->p + c->pos, vals, size);
  c->pos += bytes;
  mx_status st = mx_ndarray_from_host(shape, (int)ndim, ctx, vals, out);
  free(vals);
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_params_load");
  return MX_OK;
truncated:
  return mx_error_at(MX_ERR_FORMAT, "mx_params_load", "%s: truncated file (array %d ends early)", path,
                  index);
}

void mx_params_free(mx_ndarray **arrays, char **names, int n) {
  if (!arrays && !names) return; /* (a header's garbage count with nothing allocated: no loop) */
  for (int i = 0; i < n; i++) {
    if (arrays) mx_ndarray_release(arrays[i]);
    if (names) free(names[i]);
  }
  free(arrays);
  free(names);
}

mx_status mx_params_load(const char *path, mx_context ctx, mx_ndarray ***arrays_out,
                         char ***names_out, int *n_out) {
  *arrays_out = NULL, *names_out = NULL, *n_out = 0;
  if (!path) return mx_error_at(MX_ERR_ARG, "mx_params_load", "no file name given");
  char *text;
  size_t len;
  mx_status rst = mx_file_read_all(path, "mx_params_load", &text, &len);
  if (rst != MX_OK) return rst;
  unsigned char *data = (unsigned char *)text;
  cursor c = {data, len, 0};
  uint64_t magic = 0, reserved = 0, n = 0;
  mx_status st = MX_OK;
  mx_ndarray **arrays = NULL;
  char **names = NULL;
  if (!get(&c, &magic, 8) || magic != LIST_MAGIC) {
    st = mx_error_at(MX_ERR_FORMAT,
                  "mx_params_load", "%s: not an NDArray list file (got magic 0x%llx, expected 0x112)",
                  path, (unsigned long long)magic);
    goto done;
  }
  if (!get(&c, &reserved, 8) || !get(&c, &n, 8)) {
    st = mx_error_at(MX_ERR_FORMAT, "mx_params_load", "%s: truncated file (header ends early)", path);
    goto done;
  }
  if (n > (uint64_t)len || n > INT_MAX) { /* each record takes bytes: a count this big is garbage */
    st = mx_error_at(MX_ERR_FORMAT, "mx_params_load", "%s: truncated file (claims %llu arrays)", path,
                  (unsigned long long)n);
    goto done;
  }
  arrays = calloc(n ? n : 1, sizeof *arrays);
  if (!arrays) {
    st = mx_error_at(MX_ERR_NOMEM, "mx_params_load", "%s: out of memory", path);
    goto done;
  }
  for (uint64_t i = 0; i < n; i++) {
    st = read_array(&c, path, (int)i, ctx, &arrays[i]);
    if (st != MX_OK) goto done;
  }
  uint64_t n_names = 0;
  if (c.pos < c.len && !get(&c, &n_names, 8)) {
    st =
        mx_error_at(MX_ERR_FORMAT, "mx_params_load", "%s: truncated file (name count ends early)", path);
    goto done;
  }
  if (n_names != 0 && n_names != n) {
    st = mx_error_at(
        MX_ERR_FORMAT,
        "mx_params_load", "%s: names and arrays differ in number (got %llu names, expected %llu)",
        path, (unsigned long long)n_names, (unsigned long long)n);
    goto done;
  }
  if (n_names) {
    names = calloc(n, sizeof *names);
    if (!names) {
      st = mx_error_at(MX_ERR_NOMEM, "mx_params_load", "%s: out of memory", path);
      goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
      uint64_t l;
      if (!get(&c, &l, 8) || c.len - c.pos < l) {
        st = mx_error_at(MX_ERR_FORMAT, "mx_params_load", "%s: truncated file (name %llu ends early)",
                      path, (unsigned long long)i);
        goto done;
      }
      if (memchr(c.p + c.pos, 0, l)) {
        st = mx_error_at(MX_ERR_FORMAT, "mx_params_load", "%s: name %llu holds a NUL byte", path, (unsigned long long)i);
        goto done;
      }
      names[i] = malloc(l + 1);
      if (!names[i]) {
        st = mx_error_at(MX_ERR_NOMEM, "mx_params_load", "%s: out of memory", path);
        goto done;
      }
      memcpy(names[i], c.p + c.pos, l);
      names[i][l] = 0;
      c.pos += l;
    }
    st = check_unique("mx_params_load", path, (const char *const *)names, n);
  }
done:
  free(data);
  if (st != MX_OK) {
    mx_params_free(arrays, names, (int)n);
    return st;
  }
  *arrays_out = arrays, *names_out = names, *n_out = (int)n;
  return MX_OK;
}
