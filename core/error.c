/* error.c: the thread-local failure record behind mx_status: status, the function
 * frames (innermost first), the operator or node, and what happened (mx_error,
 * mx_error_v, mx_error_at, mx_error_frame, mx_error_node); mx_last_error joins them
 * in one line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define WHAT_LEN 1024
#define NODE_LEN 256
#define FRAMES 8
#define FRAME_LEN 64

static _Thread_local struct {
  mx_status status;
  int nframes;                   /* frames[0] innermost; more than FRAMES: the outermost kept last */
  char frames[FRAMES][FRAME_LEN];
  char node[NODE_LEN];
  char what[WHAT_LEN];
  char line[FRAMES * FRAME_LEN + NODE_LEN + WHAT_LEN]; /* mx_last_error's */
} err;

static void record(mx_status status, const char *where, const char *fmt, va_list ap) {
  err.status = status;
  err.nframes = 0;
  err.node[0] = '\0';
  vsnprintf(err.what, sizeof err.what, fmt, ap);
  if (where && where[0]) mx_error_frame(status, where);
}

mx_status mx_error(mx_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record(status, NULL, fmt, ap);
  va_end(ap);
  return status;
}

mx_status mx_error_v(mx_status status, const char *fmt, va_list ap) {
  record(status, NULL, fmt, ap);
  return status;
}

mx_status mx_error_at(mx_status status, const char *where, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  record(status, where, fmt, ap);
  va_end(ap);
  return status;
}

mx_status mx_error_frame(mx_status status, const char *where) {
  err.status = status;
  if (!where || !where[0]) return status;
  if (err.nframes > 0 && strcmp(err.frames[err.nframes - 1], where) == 0) return status;
  int i = err.nframes < FRAMES ? err.nframes++ : FRAMES - 1; /* full: the new outermost replaces the last */
  snprintf(err.frames[i], FRAME_LEN, "%s", where);
  return status;
}

mx_status mx_error_node(mx_status status, const char *fmt, ...) {
  char joined[2 * NODE_LEN + 2];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(joined, NODE_LEN, fmt, ap); /* the new, outer context first */
  va_end(ap);
  size_t used = n < 0 ? 0 : (size_t)n < NODE_LEN ? (size_t)n : NODE_LEN - 1;
  err.status = status;
  size_t old = strlen(err.node); /* none, or the same context twice in a row: kept once */
  if (used == 0 || (used <= old && strncmp(err.node, joined, used) == 0 &&
                    (err.node[used] == '\0' || strncmp(err.node + used, ": ", 2) == 0)))
    return status;
  if (err.node[0]) {
    memcpy(joined + used, ": ", 2);
    memcpy(joined + used + 2, err.node, strlen(err.node) + 1);
  }
  size_t len = strlen(joined);
  if (len >= NODE_LEN) len = NODE_LEN - 1;
  memcpy(err.node, joined, len);
  err.node[len] = '\0';
  return status;
}

void mx_last_error_info(mx_error_info *out) {
  out->status = err.status;
  out->where = err.nframes ? err.frames[err.nframes - 1] : "";
  out->node = err.node;
  out->what = err.what;
}

const char *mx_last_error(void) {
  size_t n = 0, cap = sizeof err.line;
  err.line[0] = '\0';
  for (int i = err.nframes - 1; i >= 0 && n < cap; i--)
    n += (size_t)snprintf(err.line + n, cap - n, "%s: ", err.frames[i]);
  if (err.node[0] && n < cap) n += (size_t)snprintf(err.line + n, cap - n, "%s: ", err.node);
  if (n < cap) snprintf(err.line + n, cap - n, "%s", err.what);
  return err.line;
}
