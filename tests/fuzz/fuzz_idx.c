/* fuzz_idx.c: libFuzzer target for the IDX reader (mx_idx_load), fed the input as a plain file
 * (FUZZ_GZ undefined) or gzip-compressed into a .gz file (FUZZ_GZ defined: the fuzz_idx_gz target).
 * A bad file must fail with a message; a good one must give an array of the header's size. */
#include "fuzz_util.h"
#include "mx.h"

#ifdef FUZZ_GZ
#define FUZZ_IDX_GZ 1
#else
#define FUZZ_IDX_GZ 0
#endif

/* Returns 0 when the reader behaved (loaded or failed cleanly). */
static int fuzz_idx_one(const uint8_t *data, size_t size, int gz) {
  const char *path = fuzz_path(gz ? "-idx.gz" : "-idx");
  if (fuzz_write(path, data, size, gz) != 0) return 0;
  for (int want = 0; want <= 3; want += 3) { /* any IDX file, then images */
    mx_ndarray *a = NULL;
    mx_status st = mx_idx_load(path, want, 1.0f / 255, mx_cpu(0), &a);
    if (st == MX_OK) {
      int64_t n = mx_ndarray_size(a);
      if (a == NULL || n < 0 || (size_t)n > size) return 1; /* more values than input bytes */
      mx_ndarray_release(a);
    } else if (a != NULL || mx_last_error()[0] == '\0') {
      return 1; /* an error leaves no array and always says something */
    }
  }
  unlink(path);
  return 0;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fuzz_idx_one(data, size, FUZZ_IDX_GZ) != 0) abort();
  return 0;
}
#endif
