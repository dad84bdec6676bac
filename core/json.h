/* json.h: a JSON reader (jansson, into a tree), for -symbol.json files and anything else.
 * Writers build jansson's json_t and dump it (symbol_json.c). */
#ifndef MX_JSON_H
#define MX_JSON_H

#include <stddef.h>

#include "mx.h"

typedef enum mx_json_type {
  MX_JSON_NULL,
  MX_JSON_BOOL,
  MX_JSON_NUMBER,
  MX_JSON_STRING,
  MX_JSON_ARRAY,
  MX_JSON_OBJECT
} mx_json_type;

typedef struct mx_json {
  mx_json_type type;
  double num;            /* NUMBER; BOOL as 0/1 */
  char *str;             /* STRING */
  int n;                 /* ARRAY / OBJECT: number of items */
  struct mx_json *items; /* ARRAY / OBJECT values */
  char **keys;           /* OBJECT keys */
} mx_json;

/* Parses text; errors name the line and column. Free with mx_json_free. */
mx_status mx_json_parse(const char *text, mx_json **out);
void mx_json_free(mx_json *j);
/* The value of key in an object, NULL when absent or j is not an object. */
const mx_json *mx_json_get(const mx_json *j, const char *key);

#endif
