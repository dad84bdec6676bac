/* op_error.c: how an operator records a failure: what happened, and the operator and node
 * as the failure's context, never the function that called it (shape inference, an
 * executor or an eager call, which each add their own frame). */
#include <stdarg.h>

#include "operator.h"

mx_status mx_op_error_node(const mx_op_attrs *a, mx_status st) {
  const char *node = a->node_name ? a->node_name : "";
  return mx_error_node(st, "%s%s%s", a->op->name, node[0] ? " " : "", node);
}

mx_status mx_op_error(const mx_op_attrs *a, mx_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mx_error_v(st, fmt, ap);
  va_end(ap);
  return mx_op_error_node(a, st);
}
