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
  char old[MX_ERROR_LEN];
  memcpy(old, last_error, sizeof old);
  snprintf(last_error, sizeof last_error, "%s: %s", where, old);
  return status;
}
