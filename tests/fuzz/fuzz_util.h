/* fuzz_util.h: shared by the libFuzzer targets (tests/fuzz/fuzz_*.c) and their replay test
 * (tests/c/test_fuzz_regressions.c): writing an input to a scratch file for the path-based readers. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* A scratch file name unique to this process, ending in `suffix`. */
static const char *fuzz_path(const char *suffix) {
  static char path[256];
  const char *dir = getenv("TMPDIR");
  snprintf(path, sizeof path, "%s/mxfuzz-%ld%s", dir && *dir ? dir : "/tmp", (long)getpid(), suffix);
  return path;
}

/* Writes data to path as is (gz == 0) or gzip-compressed (gz == 1); 0 on success. */
static int fuzz_write(const char *path, const uint8_t *data, size_t size, int gz) {
  if (gz) {
    gzFile g = gzopen(path, "wb1");
    if (!g) return -1;
    int ok = size == 0 || gzwrite(g, data, (unsigned)size) == (int)size;
    return gzclose(g) == Z_OK && ok ? 0 : -1;
  }
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t put = size ? fwrite(data, 1, size, f) : 0;
  return fclose(f) == 0 && put == size ? 0 : -1;
}

#endif
