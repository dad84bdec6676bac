/* op_params.c: operator parameters from a node's text attributes: each checked against its
 * descriptor (type, range, choices, required), kept as text and value (mx_op_attrs.p) and
 * stored in the operator's typed struct (MX_PARAMS); also the strict shape-text parser. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator.h"

static int is_user_attr(const char *k) {
  size_t n = strlen(k);
  return n > 4 && k[0] == '_' && k[1] == '_' && k[n - 1] == '_' && k[n - 2] == '_';
}

static mx_status bad_value(const mx_op_attrs *a, const mx_param_desc *d, const char *v,
                           const char *what) {
  return mx_op_error(a, MX_ERR_ARG, "parameter %s: bad value '%s' (expected %s)", d->name, v, what);
}

static const char *skip_space(const char *p) {
  while (isspace((unsigned char)*p)) p++;
  return p;
}

/* One integer at *p (an optional '-', digits, Python 2's 'L'); advances *p. */
static int parse_dim(const char **p, int64_t *out) {
  const char *s = *p;
  if (!isdigit((unsigned char)s[*s == '-'])) return 0;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno == ERANGE) return 0;
  *out = x;
  *p = end + (*end == 'L');
  return 1;
}

mx_status mx_shape_parse(const char *text, int64_t *dims, int *ndim) {
  *ndim = 0;
  const char *p = skip_space(text);
  char close = *p == '(' ? ')' : (*p == '[' ? ']' : 0);
  if (!close) { /* a bare integer: a 1-D shape, as MXNet's parameters read "3" */
    if (!parse_dim(&p, &dims[0])) return MX_ERR_ARG;
    *ndim = 1;
    return *skip_space(p) ? MX_ERR_ARG : MX_OK;
  }
  p = skip_space(p + 1);
  while (*p != close) {
    if (*ndim == MX_MAX_NDIM || !parse_dim(&p, &dims[*ndim])) return MX_ERR_ARG;
    (*ndim)++;
    p = skip_space(p);
    if (*p == ',')
      p = skip_space(p + 1);
    else if (*p != close)
      return MX_ERR_ARG;
  }
  return *skip_space(p + 1) ? MX_ERR_ARG : MX_OK;
}

static mx_status parse_shape(const char *v, mx_param_value *out) {
  return mx_shape_parse(v, out->shape, &out->ndim);
}

static mx_status parse_value(const mx_op_attrs *a, const mx_param_desc *d, const char *v,
                             mx_param_value *out) {
  char *end;
  out->str = v;
  switch (d->type) {
  case MX_PARAM_INT: { /* in its range: never bent to fit (an int cast, a clamp) later */
    long long lo = INT32_MIN, hi = INT32_MAX, x;
    if (d->choices) sscanf(d->choices, "%lld..%lld", &lo, &hi);
    errno = 0;
    x = strtoll(v, &end, 10);
    if (end == v || *end || errno == ERANGE || x < lo || x > hi) {
      char what[96];
      snprintf(what, sizeof what, "an integer in %lld..%lld", lo, hi);
      return bad_value(a, d, v, what);
    }
    out->num = (double)x;
    return MX_OK;
  }
  case MX_PARAM_FLOAT:
    out->num = strtod(v, &end);
    if (end == v || *end) return bad_value(a, d, v, "a number");
    return MX_OK;
  case MX_PARAM_BOOL:
    if (!strcmp(v, "True") || !strcmp(v, "true") || !strcmp(v, "1"))
      out->num = 1;
    else if (!strcmp(v, "False") || !strcmp(v, "false") || !strcmp(v, "0"))
      out->num = 0;
    else
      return bad_value(a, d, v, "True or False");
    return MX_OK;
  case MX_PARAM_ENUM: {
    const char *c = d->choices;
    size_t n = strlen(v);
    for (int idx = 0; c && *c; idx++) {
      const char *bar = strchr(c, '|');
      size_t len = bar ? (size_t)(bar - c) : strlen(c);
      if (len == n && strncmp(c, v, n) == 0) {
        out->num = idx;
        return MX_OK;
      }
      c = bar ? bar + 1 : c + len;
    }
    char what[160];
    snprintf(what, sizeof what, "one of %s", d->choices);
    return bad_value(a, d, v, what);
  }
  case MX_PARAM_STRING: return MX_OK;
  case MX_PARAM_SHAPE:
    if (parse_shape(v, out) != MX_OK) return bad_value(a, d, v, "a shape such as (2,3)");
    return MX_OK;
  }
  return MX_OK;
}

/* The parsed value into the operator's typed struct (see MX_PARAMS in operator.h). */
static void store_typed(const mx_param_desc *d, const mx_param_value *v, mx_param_block *b) {
  unsigned char *f = b->bytes + d->offset;
  switch (d->type) {
  case MX_PARAM_INT: {
    int64_t x = (int64_t)v->num;
    memcpy(f, &x, sizeof x);
    return;
  }
  case MX_PARAM_FLOAT: {
    float x = (float)v->num;
    memcpy(f, &x, sizeof x);
    return;
  }
  case MX_PARAM_BOOL:
  case MX_PARAM_ENUM: {
    int x = (int)v->num;
    memcpy(f, &x, sizeof x);
    return;
  }
  case MX_PARAM_STRING: memcpy(f, &v->str, sizeof v->str); return;
  case MX_PARAM_SHAPE: {
    mx_shape s = {v->ndim, {0}};
    memcpy(s.dim, v->shape, sizeof s.dim);
    memcpy(f, &s, sizeof s);
    return;
  }
  }
}

mx_status mx_op_parse_params(const mx_op *op, const char *node_name, int n, char **keys, char **values,
                             mx_op_attrs *a) {
  memset(a, 0, sizeof *a);
  a->op = op;
  a->node_name = node_name;
  a->nattrs = n;
  a->keys = keys;
  a->values = values;
  int seen[MX_OP_MAX_PARAMS] = {0};
  if (op->param_size > sizeof a->param || op->nparams > MX_OP_MAX_PARAMS)
    return mx_op_error(a, MX_ERR_ARG, "%d parameters in a %zu-byte struct (at most %d in %zu)",
                       op->nparams, op->param_size, MX_OP_MAX_PARAMS, sizeof a->param);
  for (int i = 0; i < n; i++) {
    if (is_user_attr(keys[i])) continue;
    int j = 0;
    while (j < op->nparams && strcmp(op->params[j].name, keys[i]) != 0) j++;
    if (j == op->nparams) {
      if (op->flags & MX_OP_ANY_PARAMS) continue;
      char valid[512] = "";
      size_t len = 0;
      for (int k = 0; k < op->nparams && len < sizeof valid; k++)
        len += (size_t)snprintf(valid + len, sizeof valid - len, "%s%s", k ? ", " : "", op->params[k].name);
      return mx_op_error(a, MX_ERR_ARG, "unknown parameter '%s' (valid: %s)", keys[i],
                         op->nparams ? valid : "none");
    }
    mx_status st = parse_value(a, &op->params[j], values[i], &a->p[j]);
    if (st != MX_OK) return st;
    seen[j] = 1;
  }
  for (int j = 0; j < op->nparams; j++) {
    if (seen[j]) continue;
    if (!op->params[j].default_value)
      return mx_op_error(a, MX_ERR_ARG, "required parameter '%s' is missing", op->params[j].name);
    mx_status st = parse_value(a, &op->params[j], op->params[j].default_value, &a->p[j]);
    if (st != MX_OK) return st;
  }
  if (op->param_size)
    for (int j = 0; j < op->nparams; j++) store_typed(&op->params[j], &a->p[j], &a->param);
  return MX_OK;
}

const char *mx_op_param_text(const mx_op_attrs *a, const char *name) {
  for (int j = 0; j < a->op->nparams; j++)
    if (strcmp(a->op->params[j].name, name) == 0) return a->p[j].str;
  return NULL;
}
