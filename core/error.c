/* error.c: the thread-local error message behind mx_status (mx_error,
 * mx_error_prefix, mx_last_error). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define MX_ERROR_LEN 1024
static _Thread_local char last_error[MX_ERROR_LEN];

const char *mx_last_error(void) { return last_error; }

mx_status mx_error(mx_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

mx_status mx_error_prefix(mx_status status, const char *where) {
  size_t w = strlen(where), m = strlen(last_error);
  if (w + 2 >= MX_ERROR_LEN) return status;
  if (w + 2 + m >= MX_ERROR_LEN) m = MX_ERROR_LEN - 1 - w - 2; /* cut the tail */
  memmove(last_error + w + 2, last_error, m);
  memcpy(last_error, where, w);
  last_error[w] = ':';
  last_error[w + 1] = ' ';
  last_error[w + 2 + m] = '\0';
  return status;
}
