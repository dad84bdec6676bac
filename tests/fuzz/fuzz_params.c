/* fuzz_params.c: libFuzzer target for the .params reader (mx_params_load). A bad file must fail
 * with a message; a good one must hold no more elements than the file has bytes (the smallest
 * type, uint8/int8, takes one byte an element; they load as float32, so not size*4). (No save round trip: the
 * atomic writer's fsync would bring it down to a few runs a second.) */
#include "fuzz_util.h"
#include "mx.h"

/* Returns 0 when the reader behaved (loaded or failed cleanly). */
static int fuzz_params_one(const uint8_t *data, size_t size) {
  const char *path = fuzz_path("-x.params");
  if (fuzz_write(path, data, size, 0) != 0) return 0;
  mx_ndarray **arrays = NULL;
  char **names = NULL;
  int n = -1, bad = 0;
  mx_status st = mx_params_load(path, mx_cpu(0), &arrays, &names, &n);
  if (st != MX_OK) {
    bad = arrays != NULL || names != NULL || n != 0 || mx_last_error()[0] == '\0';
  } else {
    int64_t elements = 0;
    for (int i = 0; i < n; i++) elements += mx_ndarray_size(arrays[i]);
    if (n < 0 || elements > (int64_t)size) bad = 1; /* more elements than the file has bytes */
    mx_params_free(arrays, names, n);
  }
  unlink(path);
  return bad;
}

#ifndef FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fuzz_params_one(data, size) != 0) abort();
  return 0;
}
#endif
