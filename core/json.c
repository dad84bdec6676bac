/* json.c: JSON text read by jansson (a parser fuzzed upstream) into an mx_json tree.
 * (Writing builds jansson's own tree: symbol_json.c.) */
#include "json.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Depth of nesting accepted; a -symbol.json file needs 4. */
enum { MAX_DEPTH = 512 };

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

static mx_status no_memory(void) { return mx_error_at(MX_ERR_NOMEM, "mx_json_parse", "out of memory"); }

/* Copies jansson's value v into out (zeroed by the caller); depth counts the containers above. */
static mx_status convert(const json_t *v, mx_json *out, int depth) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
  case JSON_ARRAY: {
    int object = json_is_object(v);
    if (depth >= MAX_DEPTH)
      return mx_error_at(MX_ERR_FORMAT, "mx_json_parse", "nesting deeper than %d", MAX_DEPTH);
    size_t n = object ? json_object_size(v) : json_array_size(v);
    out->type = object ? MX_JSON_OBJECT : MX_JSON_ARRAY;
    if (n > (size_t)INT_MAX) return mx_error_at(MX_ERR_FORMAT, "mx_json_parse", "too many items");
    if (n == 0) return MX_OK;
    out->items = calloc(n, sizeof *out->items);
    if (object) out->keys = calloc(n, sizeof *out->keys);
    if (!out->items || (object && !out->keys)) return no_memory();
    if (!object) {
      for (size_t i = 0; i < n; i++, out->n++) {
        mx_status st = convert(json_array_get(v, i), &out->items[i], depth + 1);
        if (st != MX_OK) return st;
      }
      return MX_OK;
    }
    /* jansson keeps an object's keys in the order they were read (since 2.8) */
    const char *key;
    const json_t *item;
    json_object_foreach((json_t *)v, key, item) {
      int i = out->n++;
      out->keys[i] = strdup(key);
      if (!out->keys[i]) return no_memory();
      mx_status st = convert(item, &out->items[i], depth + 1);
      if (st != MX_OK) return st;
    }
    return MX_OK;
  }
  case JSON_STRING:
    out->type = MX_JSON_STRING;
    out->str = strdup(json_string_value(v));
    return out->str ? MX_OK : no_memory();
  case JSON_INTEGER:
    out->type = MX_JSON_NUMBER;
    out->num = (double)json_integer_value(v);
    return MX_OK;
  case JSON_REAL:
    out->type = MX_JSON_NUMBER;
    out->num = json_real_value(v);
    return MX_OK;
  case JSON_TRUE:
  case JSON_FALSE:
    out->type = MX_JSON_BOOL;
    out->num = json_is_true(v);
    return MX_OK;
  default:
    out->type = MX_JSON_NULL;
    return MX_OK;
  }
}

mx_status mx_json_parse(const char *text, mx_json **out) {
  *out = NULL;
  json_error_t err;
  /* any value at the top; a string with an embedded NUL is refused (our strings end at NUL) */
  json_t *root = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
  if (!root)
    return mx_error_at(MX_ERR_FORMAT, "mx_json_parse", "%s at line %d, column %d", err.text, err.line,
                    err.column);
  mx_json *j = calloc(1, sizeof *j);
  mx_status st = j ? convert(root, j, 0) : no_memory();
  json_decref(root);
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
