/* ndarray.c: NDArray creation, refcounting, accessors, host transfer, element
 * access, assignment and copies, and the views (reshape, slice, expand_dims,
 * squeeze). Shape functions that copy are in ndarray_shape.c, math in ndarray_math.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "kernels.h"

char *mx_shape_str(const int64_t *shape, int ndim, char *buf, size_t len) {
  size_t used = 0;
  if (len == 0) return buf;
  buf[0] = '\0';
  used += (size_t)snprintf(buf, len, "(");
  for (int i = 0; i < ndim && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, i ? ",%lld" : "%lld", (long long)shape[i]);
  if (ndim == 1 && used < len) used += (size_t)snprintf(buf + used, len - used, ",");
  if (used < len) snprintf(buf + used, len - used, ")");
  return buf;
}

const mx_kernels *mx_kernels_for(mx_context ctx) {
  const mx_device *dev = mx_device_for(ctx);
  if (!dev) return NULL;
  if (!dev->kernels) {
    char cs[32];
    mx_error(MX_ERR_DEVICE, "no kernels are available on %s yet", mx_context_str(ctx, cs, sizeof cs));
    return NULL;
  }
  return dev->kernels;
}

mx_status mx_kernel_missing(const char *where, mx_context ctx, const char *kernel) {
  char cs[32];
  return mx_error_at(MX_ERR_DEVICE, where, "the %s kernel is not available on %s", kernel,
                  mx_context_str(ctx, cs, sizeof cs));
}

/* Checks ndim and dims; the size (elements) into *size. */
static mx_status check_shape(const char *where, const int64_t *shape, int ndim, int64_t *size) {
  if (ndim < 1 || ndim > MX_MAX_NDIM)
    return mx_error_at(MX_ERR_ARG, where, "shape must have 1 to %d axes (got %d)", MX_MAX_NDIM, ndim);
  if (!shape) return mx_error_at(MX_ERR_ARG, where, "shape is NULL");
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0) {
      char b[128];
      return mx_error_at(MX_ERR_ARG, where, "negative dimension in shape %s (axis %d is %lld)",
                      mx_shape_str(shape, ndim, b, sizeof b), i, (long long)shape[i]);
    }
  int64_t n;
  if (!mx_size_of_shape(shape, ndim, &n)) {
    char b[128];
    return mx_error_at(MX_ERR_ARG, where, "shape %s is too large (more than 2^48 elements)",
                    mx_shape_str(shape, ndim, b, sizeof b));
  }
  *size = n;
  return MX_OK;
}

mx_status mx_ndarray_view(mx_storage *s, int64_t offset, const int64_t *shape, int ndim,
                          mx_ndarray **out) {
  int64_t size;
  *out = NULL;
  mx_status st = check_shape("mx_ndarray_view", shape, ndim, &size);
  if (st != MX_OK) return st;
  int64_t end;
  if (!mx_size_add(offset, size, &end) || (size_t)end * sizeof(float) > s->bytes)
    return mx_error_at(MX_ERR_ARG, "mx_ndarray_view", "%lld elements at offset %lld exceed the storage (%zu bytes)",
                    (long long)size, (long long)offset, s->bytes);
  mx_ndarray *a = malloc(sizeof *a);
  if (!a) return mx_error_at(MX_ERR_NOMEM, "mx_ndarray_view", "out of host memory");
  a->refcount = 1;
  a->storage = s;
  s->refcount++;
  a->offset = offset;
  a->ndim = ndim;
  memset(a->shape, 0, sizeof a->shape);
  memcpy(a->shape, shape, (size_t)ndim * sizeof *shape);
  a->size = size;
  *out = a;
  return MX_OK;
}

/* A new uninitialised array; errors are prefixed with `where`. */
static mx_status create(const char *where, const int64_t *shape, int ndim, mx_context ctx,
                        mx_ndarray **out) {
  int64_t size;
  if (!out) return mx_error_at(MX_ERR_ARG, where, "out is NULL");
  *out = NULL;
  mx_status st = check_shape(where, shape, ndim, &size);
  if (st != MX_OK) return st;
  mx_storage *s;
  st = mx_storage_create(ctx, (size_t)size * sizeof(float), &s);
  if (st != MX_OK) {
    if (st != MX_ERR_NOMEM) return MX_ERR_FRAME(st, where);
    char b[128], msg[1024];
    mx_error_info e; /* the allocator's message (it names no function), with the shape added */
    mx_last_error_info(&e);
    snprintf(msg, sizeof msg, "%s", e.what);
    return mx_error_at(st, where, "%s (shape %s)", msg, mx_shape_str(shape, ndim, b, sizeof b));
  }
  st = mx_ndarray_view(s, 0, shape, ndim, out);
  mx_storage_release(s); /* the view holds it now */
  return st == MX_OK ? st : MX_ERR_FRAME(st, where);
}

mx_status mx_ndarray_create(const int64_t *shape, int ndim, mx_context ctx, mx_ndarray **out) {
  return create("mx_ndarray_create", shape, ndim, ctx, out);
}

mx_status mx_ndarray_zeros(const int64_t *shape, int ndim, mx_context ctx, mx_ndarray **out) {
  mx_status st = create("mx_ndarray_zeros", shape, ndim, ctx, out);
  if (st != MX_OK) return st;
  const mx_device *dev = mx_device_for(ctx);
  st = dev->memset_zero(ctx.dev_id, mx_ndarray_data(*out), (size_t)(*out)->size * sizeof(float));
  if (st != MX_OK) {
    mx_ndarray_release(*out);
    *out = NULL;
    return MX_ERR_FRAME(st, "mx_ndarray_zeros");
  }
  return MX_OK;
}

mx_status mx_ndarray_full(const int64_t *shape, int ndim, mx_context ctx, float value, mx_ndarray **out) {
  mx_status st = create("mx_ndarray_full", shape, ndim, ctx, out);
  if (st != MX_OK) return st;
  st = mx_ndarray_fill(*out, value);
  if (st != MX_OK) {
    mx_ndarray_release(*out);
    *out = NULL;
    return MX_ERR_FRAME(st, "mx_ndarray_full");
  }
  return MX_OK;
}

mx_status mx_ndarray_from_host(const int64_t *shape, int ndim, mx_context ctx, const float *data,
                               mx_ndarray **out) {
  mx_status st = create("mx_ndarray_from_host", shape, ndim, ctx, out);
  if (st != MX_OK) return st;
  if (!data && (*out)->size > 0) {
    mx_ndarray_release(*out);
    *out = NULL;
    return mx_error_at(MX_ERR_ARG, "mx_ndarray_from_host", "data is NULL");
  }
  const mx_device *dev = mx_device_for(ctx);
  st = dev->copy_from_host(ctx.dev_id, mx_ndarray_data(*out), data, (size_t)(*out)->size * sizeof(float));
  if (st != MX_OK) {
    mx_ndarray_release(*out);
    *out = NULL;
    return MX_ERR_FRAME(st, "mx_ndarray_from_host");
  }
  return MX_OK;
}

mx_status mx_ndarray_arange(double start, double stop, double step, mx_context ctx, mx_ndarray **out) {
  if (!out) return mx_error_at(MX_ERR_ARG, "mx_ndarray_arange", "out is NULL");
  *out = NULL;
  if (step == 0 || step != step || start != start || stop != stop)
    return mx_error_at(MX_ERR_ARG, "mx_ndarray_arange", "step must be a non-zero number (got %g)", step);
  double count = (stop - start) / step;
  if (count > 1e15)
    return mx_error_at(MX_ERR_ARG, "mx_ndarray_arange", "[%g, %g) by %g has too many elements", start, stop, step);
  int64_t n = count > 0 ? (int64_t)count : 0;
  if ((double)n < count) n++; /* ceil */
  const mx_kernels *k = mx_kernels_for(ctx);
  if (!k) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_ndarray_arange");
  if (!k->arange) return mx_kernel_missing("mx_ndarray_arange", ctx, "arange");
  mx_status st = create("mx_ndarray_arange", &n, 1, ctx, out);
  if (st != MX_OK) return st;
  k->arange(mx_ndarray_data(*out), n, start, step);
  return MX_OK;
}

mx_ndarray *mx_ndarray_retain(mx_ndarray *a) {
  if (a) a->refcount++;
  return a;
}

void mx_ndarray_release(mx_ndarray *a) {
  if (!a || --a->refcount > 0) return;
  mx_storage_release(a->storage);
  free(a);
}

int mx_ndarray_ndim(const mx_ndarray *a) { return a->ndim; }
const int64_t *mx_ndarray_shape(const mx_ndarray *a) { return a->shape; }
int64_t mx_ndarray_size(const mx_ndarray *a) { return a->size; }
mx_context mx_ndarray_context(const mx_ndarray *a) { return a->storage->ctx; }
float *mx_ndarray_data(mx_ndarray *a) { return a->storage->data ? a->storage->data + a->offset : NULL; }
int mx_ndarray_same_storage(const mx_ndarray *a, const mx_ndarray *b) {
  return a && b && a->storage == b->storage;
}

static float *data_of(const mx_ndarray *a) { return mx_ndarray_data((mx_ndarray *)a); }

/* ---- host transfer and element access ---- */

mx_status mx_ndarray_to_host(const mx_ndarray *a, float *dst, int64_t n) {
  char b[128];
  if (n != a->size)
    return mx_error_at(MX_ERR_SHAPE, "mx_ndarray_to_host", "buffer of %lld floats for an array of shape %s (expected %lld)",
                    (long long)n, mx_shape_str(a->shape, a->ndim, b, sizeof b), (long long)a->size);
  if (n == 0) return MX_OK;
  if (!dst) return mx_error_at(MX_ERR_ARG, "mx_ndarray_to_host", "dst is NULL");
  const mx_device *dev = mx_device_for(a->storage->ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_ndarray_to_host");
  mx_status st = dev->copy_to_host(a->storage->ctx.dev_id, dst, data_of(a), (size_t)n * sizeof(float));
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_ndarray_to_host");
}

mx_status mx_ndarray_set_host(mx_ndarray *a, const float *src, int64_t n) {
  char b[128];
  if (n != a->size)
    return mx_error_at(MX_ERR_SHAPE, "mx_ndarray_set_host", "buffer of %lld floats for an array of shape %s (expected %lld)",
                    (long long)n, mx_shape_str(a->shape, a->ndim, b, sizeof b), (long long)a->size);
  if (n == 0) return MX_OK;
  if (!src) return mx_error_at(MX_ERR_ARG, "mx_ndarray_set_host", "src is NULL");
  const mx_device *dev = mx_device_for(a->storage->ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_ndarray_set_host");
  mx_status st = dev->copy_from_host(a->storage->ctx.dev_id, mx_ndarray_data(a), src, (size_t)n * sizeof(float));
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_ndarray_set_host");
}

static mx_status check_index(const char *where, const mx_ndarray *a, int64_t i) {
  char b[128];
  if (i < 0 || i >= a->size)
    return mx_error_at(MX_ERR_ARG, where, "flat index %lld out of range for shape %s (expected 0..%lld)",
                    (long long)i, mx_shape_str(a->shape, a->ndim, b, sizeof b), (long long)a->size - 1);
  return MX_OK;
}

mx_status mx_ndarray_get_element(const mx_ndarray *a, int64_t flat_index, float *out) {
  mx_status st = check_index("mx_ndarray_get_element", a, flat_index);
  if (st != MX_OK) return st;
  const mx_device *dev = mx_device_for(a->storage->ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_ndarray_get_element");
  st = dev->copy_to_host(a->storage->ctx.dev_id, out, data_of(a) + flat_index, sizeof(float));
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_ndarray_get_element");
}

mx_status mx_ndarray_set_element(mx_ndarray *a, int64_t flat_index, float v) {
  mx_status st = check_index("mx_ndarray_set_element", a, flat_index);
  if (st != MX_OK) return st;
  const mx_device *dev = mx_device_for(a->storage->ctx);
  if (!dev) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_ndarray_set_element");
  st = dev->copy_from_host(a->storage->ctx.dev_id, mx_ndarray_data(a) + flat_index, &v, sizeof(float));
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_ndarray_set_element");
}

/* ---- assignment and copies ---- */

static int same_ctx(mx_context a, mx_context b) {
  return a.dev_type == b.dev_type && (a.dev_type == MX_DEV_CPU || a.dev_id == b.dev_id);
}

/* Copies n floats between arrays on any contexts (through the host when
 * neither side is the CPU or the GPUs differ). Message without prefix. */
static mx_status copy_between(mx_ndarray *dst, const mx_ndarray *src) {
  mx_context dc = dst->storage->ctx, sc = src->storage->ctx;
  size_t bytes = (size_t)src->size * sizeof(float);
  if (bytes == 0) return MX_OK;
  const mx_device *dd = mx_device_for(dc), *sd = mx_device_for(sc);
  if (!dd || !sd) return MX_ERR_DEVICE;
  if (same_ctx(dc, sc)) return dd->copy_on_device(dc.dev_id, mx_ndarray_data(dst), data_of(src), bytes);
  if (sc.dev_type == MX_DEV_CPU) return dd->copy_from_host(dc.dev_id, mx_ndarray_data(dst), data_of(src), bytes);
  if (dc.dev_type == MX_DEV_CPU) return sd->copy_to_host(sc.dev_id, mx_ndarray_data(dst), data_of(src), bytes);
  float *tmp = malloc(bytes);
  if (!tmp) return mx_error(MX_ERR_NOMEM, "out of host memory staging %zu bytes", bytes);
  mx_status st = sd->copy_to_host(sc.dev_id, tmp, data_of(src), bytes);
  if (st == MX_OK) st = dd->copy_from_host(dc.dev_id, mx_ndarray_data(dst), tmp, bytes);
  free(tmp);
  return st;
}

/* Do the element ranges of a and b overlap (same storage)? */
static int overlaps(const mx_ndarray *a, const mx_ndarray *b) {
  if (a->storage != b->storage) return 0;
  return a->offset < b->offset + b->size && b->offset < a->offset + a->size;
}

mx_status mx_ndarray_assign(mx_ndarray *dst, const mx_ndarray *src) {
  const char *where = "mx_ndarray_assign";
  int64_t bshape[MX_MAX_NDIM];
  int bn;
  char b1[128], b2[128];
  if (!mx_broadcast_shape(dst->shape, dst->ndim, src->shape, src->ndim, bshape, &bn) || bn != dst->ndim ||
      memcmp(bshape, dst->shape, (size_t)bn * sizeof *bshape) != 0)
    return mx_error_at(MX_ERR_SHAPE, where, "cannot assign shape %s to shape %s",
                    mx_shape_str(src->shape, src->ndim, b1, sizeof b1),
                    mx_shape_str(dst->shape, dst->ndim, b2, sizeof b2));
  if (dst->size == 0) return MX_OK;
  mx_context dc = dst->storage->ctx;
  if (src->size == dst->size) { /* same elements, maybe a different shape of 1s */
    if (src->storage == dst->storage && src->offset == dst->offset) return MX_OK;
    mx_status st;
    if (overlaps(dst, src) && dc.dev_type != MX_DEV_CPU) { /* cudaMemcpy forbids overlap */
      mx_ndarray *tmp;
      st = mx_ndarray_copy(src, &tmp);
      if (st != MX_OK) return st;
      st = copy_between(dst, tmp);
      mx_ndarray_release(tmp);
    } else {
      st = copy_between(dst, src);
    }
    return st == MX_OK ? st : MX_ERR_FRAME(st, where);
  }
  /* broadcasting: bring src to dst's context, without overlap, then a strided copy */
  mx_ndarray *s2 = NULL;
  if (!same_ctx(dc, src->storage->ctx) || overlaps(dst, src)) {
    mx_status st = mx_ndarray_copyto(src, dc, &s2);
    if (st != MX_OK) return MX_ERR_FRAME(st, where);
    src = s2;
  }
  const mx_kernels *k = mx_kernels_for(dc);
  mx_status st = MX_OK;
  if (!k) st = MX_ERR_FRAME(MX_ERR_DEVICE, where);
  else if (!k->copy_strided) st = mx_kernel_missing(where, dc, "copy_strided");
  else {
    int64_t shape[MX_MAX_NDIM], sx[MX_MAX_NDIM];
    int n = dst->ndim;
    memcpy(shape, dst->shape, sizeof shape);
    mx_broadcast_strides(src->shape, src->ndim, dst->shape, n, sx);
    int64_t *sets[1] = {sx};
    mx_collapse_axes(shape, &n, sets, 1);
    k->copy_strided(data_of(src), sx, mx_ndarray_data(dst), shape, n);
  }
  mx_ndarray_release(s2);
  return st;
}

mx_status mx_ndarray_fill(mx_ndarray *dst, float value) {
  mx_context c = dst->storage->ctx;
  if (dst->size == 0) return MX_OK;
  const mx_kernels *k = mx_kernels_for(c);
  if (!k) return MX_ERR_FRAME(MX_ERR_DEVICE, "mx_ndarray_fill");
  if (!k->fill) return mx_kernel_missing("mx_ndarray_fill", c, "fill");
  k->fill(mx_ndarray_data(dst), dst->size, value);
  return MX_OK;
}

mx_status mx_ndarray_copy(const mx_ndarray *a, mx_ndarray **out) {
  mx_status st = create("mx_ndarray_copy", a->shape, a->ndim, a->storage->ctx, out);
  if (st != MX_OK) return st;
  st = copy_between(*out, a);
  if (st != MX_OK) {
    mx_ndarray_release(*out);
    *out = NULL;
    return MX_ERR_FRAME(st, "mx_ndarray_copy");
  }
  return MX_OK;
}

mx_status mx_ndarray_copyto(const mx_ndarray *a, mx_context ctx, mx_ndarray **out) {
  mx_status st = create("mx_ndarray_copyto", a->shape, a->ndim, ctx, out);
  if (st != MX_OK) return st;
  st = copy_between(*out, a);
  if (st != MX_OK) {
    mx_ndarray_release(*out);
    *out = NULL;
    return MX_ERR_FRAME(st, "mx_ndarray_copyto");
  }
  return MX_OK;
}

/* ---- views ---- */

mx_status mx_ndarray_reshape(mx_ndarray *a, const int64_t *shape, int ndim, mx_ndarray **out) {
  const char *where = "mx_ndarray_reshape";
  char b1[128], b2[128];
  int64_t s[MX_MAX_NDIM];
  *out = NULL;
  if (ndim < 1 || ndim > MX_MAX_NDIM || !shape)
    return mx_error_at(MX_ERR_ARG, where, "shape must have 1 to %d axes (got %d)", MX_MAX_NDIM, ndim);
  int unknown = -1;
  int64_t known = 1;
  for (int i = 0; i < ndim; i++) {
    s[i] = shape[i];
    if (shape[i] == -1) {
      if (unknown >= 0)
        return mx_error_at(MX_ERR_ARG, where, "shape %s has more than one -1", mx_shape_str(shape, ndim, b1, sizeof b1));
      unknown = i;
    } else if (shape[i] < 0) {
      return mx_error_at(MX_ERR_ARG, where, "negative dimension in shape %s", mx_shape_str(shape, ndim, b1, sizeof b1));
    } else {
      if (shape[i] != 0 && known > INT64_MAX / shape[i])
        return mx_error_at(MX_ERR_SHAPE, where, "cannot reshape %s to %s (size overflows)",
                        mx_shape_str(a->shape, a->ndim, b1, sizeof b1), mx_shape_str(shape, ndim, b2, sizeof b2));
      known *= shape[i];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || a->size % known != 0)
      return mx_error_at(MX_ERR_SHAPE, where, "cannot reshape %s (size %lld) to %s",
                      mx_shape_str(a->shape, a->ndim, b1, sizeof b1), (long long)a->size,
                      mx_shape_str(shape, ndim, b2, sizeof b2));
    s[unknown] = a->size / known;
    known = a->size;
  }
  if (known != a->size)
    return mx_error_at(MX_ERR_SHAPE, where, "cannot reshape %s (size %lld) to %s (size %lld)",
                    mx_shape_str(a->shape, a->ndim, b1, sizeof b1), (long long)a->size,
                    mx_shape_str(shape, ndim, b2, sizeof b2), (long long)known);
  mx_status st = mx_ndarray_view(a->storage, a->offset, s, ndim, out);
  return st == MX_OK ? st : MX_ERR_FRAME(st, where);
}

mx_status mx_ndarray_slice(mx_ndarray *a, int64_t begin, int64_t end, mx_ndarray **out) {
  char b[128];
  *out = NULL;
  if (begin < 0 || end < begin || end > a->shape[0])
    return mx_error_at(MX_ERR_ARG, "mx_ndarray_slice", "[%lld, %lld) out of range for axis 0 of shape %s", (long long)begin,
                    (long long)end, mx_shape_str(a->shape, a->ndim, b, sizeof b));
  int64_t s[MX_MAX_NDIM];
  memcpy(s, a->shape, sizeof s);
  int64_t row = a->shape[0] ? a->size / a->shape[0] : 0;
  s[0] = end - begin;
  mx_status st = mx_ndarray_view(a->storage, a->offset + begin * row, s, a->ndim, out);
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_ndarray_slice");
}

mx_status mx_ndarray_expand_dims(mx_ndarray *a, int axis, mx_ndarray **out) {
  char b[128];
  *out = NULL;
  if (axis < 0 || axis > a->ndim || a->ndim >= MX_MAX_NDIM)
    return mx_error_at(MX_ERR_ARG, "mx_ndarray_expand_dims", "axis %d out of range for shape %s (expected 0..%d, at most %d axes)",
                    axis, mx_shape_str(a->shape, a->ndim, b, sizeof b), a->ndim, MX_MAX_NDIM);
  int64_t s[MX_MAX_NDIM];
  for (int i = 0, j = 0; i <= a->ndim; i++) s[i] = i == axis ? 1 : a->shape[j++];
  mx_status st = mx_ndarray_view(a->storage, a->offset, s, a->ndim + 1, out);
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_ndarray_expand_dims");
}

mx_status mx_ndarray_squeeze(mx_ndarray *a, int axis, mx_ndarray **out) {
  char b[128];
  *out = NULL;
  if (axis < -1 || axis >= a->ndim)
    return mx_error_at(MX_ERR_ARG, "mx_ndarray_squeeze", "axis %d out of range for shape %s (expected -1..%d)", axis,
                    mx_shape_str(a->shape, a->ndim, b, sizeof b), a->ndim - 1);
  if (axis >= 0 && a->shape[axis] != 1)
    return mx_error_at(MX_ERR_SHAPE, "mx_ndarray_squeeze", "axis %d of shape %s has size %lld (expected 1)", axis,
                    mx_shape_str(a->shape, a->ndim, b, sizeof b), (long long)a->shape[axis]);
  int64_t s[MX_MAX_NDIM];
  int n = 0;
  for (int i = 0; i < a->ndim; i++)
    if (!(i == axis || (axis == -1 && a->shape[i] == 1))) s[n++] = a->shape[i];
  if (n == 0) s[n++] = 1; /* arrays keep at least one axis */
  mx_status st = mx_ndarray_view(a->storage, a->offset, s, n, out);
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_ndarray_squeeze");
}
