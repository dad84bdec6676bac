/* json.c: a small recursive-descent JSON parser into an mx_json tree, and a
 * growing string buffer for writing JSON. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
  const char *s, *start;
  int depth;
} parser;

static mx_status fail(parser *p, const char *what) {
  int line = 1, col = 1;
  for (const char *c = p->start; c < p->s; c++) {
    if (*c == '\n')
      line++, col = 1;
    else
      col++;
  }
  return mx_error(MX_ERR_FORMAT, "mx_json_parse: %s at line %d, column %d", what, line, col);
}

static void skip_ws(parser *p) {
  while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r') p->s++;
}

static void put_utf8(char **o, unsigned cp) {
  if (cp < 0x80) {
    *(*o)++ = (char)cp;
  } else if (cp < 0x800) {
    *(*o)++ = (char)(0xC0 | (cp >> 6));
    *(*o)++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *(*o)++ = (char)(0xE0 | (cp >> 12));
    *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *(*o)++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *(*o)++ = (char)(0xF0 | (cp >> 18));
    *(*o)++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *(*o)++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *(*o)++ = (char)(0x80 | (cp & 0x3F));
  }
}

static int hex4(const char *s, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    *v <<= 4;
    if (c >= '0' && c <= '9')
      *v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      *v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      *v |= (unsigned)(c - 'A' + 10);
    else
      return 0;
  }
  return 1;
}

static mx_status parse_string(parser *p, char **out) {
  p->s++; /* opening quote */
  const char *q = p->s;
  size_t n = 0;
  while (*q && *q != '"') {
    if (*q == '\\' && q[1]) q++;
    q++, n++;
  }
  if (!*q) return fail(p, "unterminated string");
  char *o = malloc(n * 4 + 1), *w = o;
  if (!o) return mx_error(MX_ERR_NOMEM, "mx_json_parse: out of memory");
  while (*p->s != '"') {
    char c = *p->s++;
    if ((unsigned char)c < 0x20) {
      free(o);
      return fail(p, "control character in string");
    }
    if (c != '\\') {
      *w++ = c;
      continue;
    }
    c = *p->s++;
    switch (c) {
    case '"':
      *w++ = '"';
      break;
    case '\\':
      *w++ = '\\';
      break;
    case '/':
      *w++ = '/';
      break;
    case 'b':
      *w++ = '\b';
      break;
    case 'f':
      *w++ = '\f';
      break;
    case 'n':
      *w++ = '\n';
      break;
    case 'r':
      *w++ = '\r';
      break;
    case 't':
      *w++ = '\t';
      break;
    case 'u': {
      unsigned cp;
      if (!hex4(p->s, &cp)) {
        free(o);
        return fail(p, "bad \\u escape");
      }
      p->s += 4;
      if (cp >= 0xD800 && cp < 0xDC00 && p->s[0] == '\\' && p->s[1] == 'u') {
        unsigned lo;
        if (hex4(p->s + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p->s += 6;
        }
      }
      put_utf8(&w, cp);
      break;
    }
    default:
      free(o);
      return fail(p, "bad escape in string");
    }
  }
  p->s++;
  *w = 0;
  *out = o;
  return MX_OK;
}

static mx_status parse_value(parser *p, mx_json *v);

static mx_status parse_items(parser *p, mx_json *v, int object) {
  char close = object ? '}' : ']';
  int cap = 0;
  p->s++;
  skip_ws(p);
  if (*p->s == close) {
    p->s++;
    return MX_OK;
  }
  for (;;) {
    if (v->n == cap) {
      cap = cap ? cap * 2 : 4;
      mx_json *ni = realloc(v->items, (size_t)cap * sizeof *ni);
      if (!ni) return mx_error(MX_ERR_NOMEM, "mx_json_parse: out of memory");
      v->items = ni;
      if (object) {
        char **nk = realloc(v->keys, (size_t)cap * sizeof *nk);
        if (!nk) return mx_error(MX_ERR_NOMEM, "mx_json_parse: out of memory");
        v->keys = nk;
      }
    }
    skip_ws(p);
    if (object) {
      if (*p->s != '"') return fail(p, "expected a key string");
      mx_status st = parse_string(p, &v->keys[v->n]);
      if (st != MX_OK) return st;
      skip_ws(p);
      if (*p->s != ':') {
        free(v->keys[v->n]);
        return fail(p, "expected ':'");
      }
      p->s++;
    }
    memset(&v->items[v->n], 0, sizeof v->items[v->n]);
    v->n++;
    mx_status st = parse_value(p, &v->items[v->n - 1]);
    if (st != MX_OK) return st;
    skip_ws(p);
    if (*p->s == ',') {
      p->s++;
      continue;
    }
    if (*p->s == close) {
      p->s++;
      return MX_OK;
    }
    return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static mx_status parse_value(parser *p, mx_json *v) {
  skip_ws(p);
  if (++p->depth > 512) return fail(p, "nesting too deep");
  mx_status st = MX_OK;
  switch (*p->s) {
  case '{':
    v->type = MX_JSON_OBJECT;
    st = parse_items(p, v, 1);
    break;
  case '[':
    v->type = MX_JSON_ARRAY;
    st = parse_items(p, v, 0);
    break;
  case '"':
    v->type = MX_JSON_STRING;
    st = parse_string(p, &v->str);
    break;
  case 't':
    if (strncmp(p->s, "true", 4)) return fail(p, "unexpected character");
    v->type = MX_JSON_BOOL, v->num = 1, p->s += 4;
    break;
  case 'f':
    if (strncmp(p->s, "false", 5)) return fail(p, "unexpected character");
    v->type = MX_JSON_BOOL, v->num = 0, p->s += 5;
    break;
  case 'n':
    if (strncmp(p->s, "null", 4)) return fail(p, "unexpected character");
    v->type = MX_JSON_NULL, p->s += 4;
    break;
  default: {
    char *end;
    v->type = MX_JSON_NUMBER;
    v->num = strtod(p->s, &end);
    if (end == p->s) return fail(p, *p->s ? "unexpected character" : "unexpected end of text");
    p->s = end;
  }
  }
  p->depth--;
  return st;
}

static void free_inner(mx_json *j) {
  for (int i = 0; i < j->n; i++) {
    free_inner(&j->items[i]);
    if (j->keys) free(j->keys[i]);
  }
  free(j->items);
  free(j->keys);
  free(j->str);
}

void mx_json_free(mx_json *j) {
  if (!j) return;
  free_inner(j);
  free(j);
}

mx_status mx_json_parse(const char *text, mx_json **out) {
  *out = NULL;
  parser p = {text, text, 0};
  mx_json *j = calloc(1, sizeof *j);
  if (!j) return mx_error(MX_ERR_NOMEM, "mx_json_parse: out of memory");
  mx_status st = parse_value(&p, j);
  if (st == MX_OK) {
    skip_ws(&p);
    if (*p.s) st = fail(&p, "text after the value");
  }
  if (st != MX_OK) {
    mx_json_free(j);
    return st;
  }
  *out = j;
  return MX_OK;
}

const mx_json *mx_json_get(const mx_json *j, const char *key) {
  if (!j || j->type != MX_JSON_OBJECT) return NULL;
  for (int i = 0; i < j->n; i++)
    if (strcmp(j->keys[i], key) == 0) return &j->items[i];
  return NULL;
}

/* ---- writing ---- */

static int reserve(mx_buf *b, size_t extra) {
  if (b->failed) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *s = realloc(b->s, cap);
  if (!s) {
    b->failed = 1;
    return -1;
  }
  b->s = s;
  b->cap = cap;
  return 0;
}

int mx_buf_printf(mx_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int need = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (need < 0 || reserve(b, (size_t)need) != 0) return -1;
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)need;
  return 0;
}

int mx_buf_json_string(mx_buf *b, const char *s) {
  if (reserve(b, strlen(s) * 6 + 2) != 0) return -1;
  char *o = b->s + b->len;
  *o++ = '"';
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      *o++ = '\\', *o++ = (char)c;
    else if (c == '\n')
      *o++ = '\\', *o++ = 'n';
    else if (c == '\t')
      *o++ = '\\', *o++ = 't';
    else if (c == '\r')
      *o++ = '\\', *o++ = 'r';
    else if (c < 0x20)
      o += sprintf(o, "\\u%04x", c);
    else
      *o++ = (char)c;
  }
  *o++ = '"';
  *o = 0;
  b->len = (size_t)(o - b->s);
  return 0;
}

char *mx_buf_take(mx_buf *b) {
  char *s = NULL;
  if (b->failed)
    free(b->s);
  else
    s = b->s ? b->s : calloc(1, 1);
  b->s = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
  return s;
}
