/* checked.h: overflow-checked size arithmetic, the one place where element counts, byte sizes
 * and offsets are multiplied or added. Every result is also held under MX_SIZE_LIMIT, so a
 * count times sizeof(float) (or any small element size) still fits int64_t and size_t.
 * Usable from core and bindings (plain C, no dependency but mx.h). */
#ifndef MX_CHECKED_H
#define MX_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* The largest element count (or offset) any array, arena or buffer may have: 2^48. */
#define MX_SIZE_LIMIT ((int64_t)1 << 48)

/* *out = a * b; false when a or b is negative or the product passes MX_SIZE_LIMIT. */
static inline bool mx_size_mul(int64_t a, int64_t b, int64_t *out) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > MX_SIZE_LIMIT) return false;
  *out = r;
  return true;
}

/* *out = a + b; false when a or b is negative or the sum passes MX_SIZE_LIMIT. */
static inline bool mx_size_add(int64_t a, int64_t b, int64_t *out) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r) || r > MX_SIZE_LIMIT) return false;
  *out = r;
  return true;
}

/* *out = the product of shape[0..ndim); false on a negative dimension or a product past the
 * limit. A zero dimension makes the product 0 whatever the others are. */
static inline bool mx_size_of_shape(const int64_t *shape, int ndim, int64_t *out) {
  int64_t n = 1;
  bool big = false;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return false;
    if (shape[i] == 0) {
      *out = 0;
      return true;
    }
    if (!big && !mx_size_mul(n, shape[i], &n)) big = true;
  }
  if (big) return false;
  *out = n;
  return true;
}

#endif
