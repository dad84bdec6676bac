/* symbol_json.c: symbols to and from MXNet's -symbol.json: writes the 1.x layout
 * (nodes with op/name/attrs/inputs [node, index, 0], arg_nodes, node_row_ptr,
 * heads, attrs.mxnet_version) as a jansson tree it dumps; reads 1.x, 0.9 ("attr")
 * and 0.8 ("param", pairs) from json.c's tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "graph.h"
#include "json.h"

#define MXNET_VERSION 10600

/* ---- writing, through jansson ---- */

static mx_status no_memory(void) {
  return mx_error_at(MX_ERR_NOMEM, "mx_symbol_to_json", "out of memory");
}

/* MX_OK when text is UTF-8, which jansson's reader (ours) and JSON require: a file written
 * with other bytes would not load back. */
static mx_status check_text(const char *text, int index, const char *name, const char *what) {
  json_t *v = json_string(text);
  if (!v) {
    v = json_string_nocheck(text);
    if (!v) return no_memory();
    json_decref(v);
    return mx_error_at(MX_ERR_ARG, "mx_symbol_to_json", "node %d (%s): its %s is not UTF-8 text", index,
                    name, what);
  }
  json_decref(v);
  return MX_OK;
}

/* [node, output index, 0] (MXNet 1.x's entry; the last is a version, always 0) */
static json_t *entry_of(const mx_graph *g, int e) {
  int src = g->entry_node[e];
  return json_pack("[iii]", src, e - g->entry_base[src], 0);
}

/* Adds value to o under key (both stolen or freed); nonzero when out of memory. */
static int put(json_t *o, const char *key, json_t *value) {
  return json_object_set_new_nocheck(o, key, value) != 0;
}

/* Node i as {"op", "name", "attrs" (when it has any), "inputs"}. */
static mx_status node_of(const mx_graph *g, int i, json_t **out) {
  const mx_node *n = g->nodes[i];
  *out = NULL;
  mx_status st = check_text(n->name, i, n->name, "name");
  for (int a = 0; st == MX_OK && a < n->nattrs; a++) {
    st = check_text(n->keys[a], i, n->name, "attribute name");
    if (st == MX_OK) st = check_text(n->values[a], i, n->name, "attribute value");
  }
  if (st != MX_OK) return st;
  json_t *o = json_object();
  int bad = !o || put(o, "op", json_string_nocheck(n->op ? n->op->name : "null")) ||
            put(o, "name", json_string_nocheck(n->name));
  if (!bad && n->nattrs) {
    json_t *attrs = json_object();
    bad = put(o, "attrs", attrs);
    for (int a = 0; !bad && a < n->nattrs; a++)
      bad = put(attrs, n->keys[a], json_string_nocheck(n->values[a]));
  }
  json_t *inputs = bad ? NULL : json_array();
  bad = bad || put(o, "inputs", inputs);
  for (int k = g->in_off[i]; !bad && k < g->in_off[i + 1]; k++)
    bad = json_array_append_new(inputs, entry_of(g, g->in_entry[k])) != 0;
  if (bad) {
    json_decref(o);
    return no_memory();
  }
  *out = o;
  return MX_OK;
}

/* MXNet 1.x's document: nodes, arg_nodes, node_row_ptr, heads, attrs.mxnet_version. */
static mx_status document_of(const mx_graph *g, json_t **out) {
  json_t *doc = json_object();
  int bad = !doc || put(doc, "nodes", json_array()) || put(doc, "arg_nodes", json_array()) ||
            put(doc, "node_row_ptr", json_array()) || put(doc, "heads", json_array()) ||
            put(doc, "attrs", json_pack("{s:[s,i]}", "mxnet_version", "int", MXNET_VERSION));
  json_t *nodes = json_object_get(doc, "nodes"), *args = json_object_get(doc, "arg_nodes"),
         *rows = json_object_get(doc, "node_row_ptr"), *heads = json_object_get(doc, "heads");
  bad = bad || json_array_append_new(rows, json_integer(0)) != 0;
  mx_status st = MX_OK;
  for (int i = 0; !bad && st == MX_OK && i < g->nnodes; i++) {
    json_t *node;
    st = node_of(g, i, &node);
    if (st != MX_OK) break;
    bad = json_array_append_new(nodes, node) != 0 ||
          (!g->nodes[i]->op && json_array_append_new(args, json_integer(i)) != 0) ||
          json_array_append_new(rows, json_integer(g->entry_base[i] + g->nodes[i]->noutputs)) != 0;
  }
  for (int h = 0; !bad && st == MX_OK && h < g->nheads; h++)
    bad = json_array_append_new(heads, entry_of(g, g->head_entry[h])) != 0;
  if (bad && st == MX_OK) st = no_memory();
  if (st != MX_OK) {
    json_decref(doc);
    return st;
  }
  *out = doc;
  return MX_OK;
}

mx_status mx_symbol_to_json(mx_symbol *s, char **json) {
  *json = NULL;
  mx_graph g;
  mx_status st = mx_graph_build(s, &g);
  if (st != MX_OK) return st;
  json_t *doc = NULL;
  st = document_of(&g, &doc);
  mx_graph_free(&g);
  if (st != MX_OK) return st;
  /* two-space indentation; keys in the order added (MXNet's) */
  *json = json_dumps(doc, JSON_INDENT(2));
  json_decref(doc);
  return *json ? MX_OK : no_memory();
}

static int is_param(const mx_op *op, const char *key) {
  for (int i = 0; i < op->nparams; i++)
    if (strcmp(op->params[i].name, key) == 0) return 1;
  return 0;
}

/* Copies the string pairs of one attribute object; `user` wraps unknown keys as __key__ (0.9
 * "attr"). */
static mx_status copy_attrs(mx_node *n, const mx_json *obj, int user, int index) {
  if (!obj) return MX_OK;
  if (obj->type != MX_JSON_OBJECT)
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_symbol_from_json", "node %d (%s): attributes must be an object", index,
                    n->name);
  for (int a = 0; a < obj->n; a++) {
    const mx_json *v = &obj->items[a];
    char num[64];
    const char *val = v->str;
    if (v->type == MX_JSON_NUMBER)
      snprintf(num, sizeof num, "%.17g", v->num), val = num;
    else if (v->type == MX_JSON_BOOL)
      val = v->num ? "True" : "False";
    else if (v->type != MX_JSON_STRING)
      return mx_error_at(MX_ERR_FORMAT,
                      "mx_symbol_from_json", "node %d (%s): attribute '%s' is not a string", index,
                      n->name, obj->keys[a]);
    const char *key = obj->keys[a];
    char wrapped[256];
    if (user && strncmp(key, "__", 2) != 0 && !(n->op && is_param(n->op, key))) {
      snprintf(wrapped, sizeof wrapped, "__%s__", key);
      key = wrapped;
    }
    mx_status st = mx_node_set_attr(n, key, val);
    if (st != MX_OK) return st;
  }
  return MX_OK;
}

static mx_status read_entry(const mx_json *e, mx_node **made, int nmade, mx_entry *out,
                            const char *what, int index) {
  if (!e || e->type != MX_JSON_ARRAY || e->n < 2 || e->items[0].type != MX_JSON_NUMBER ||
      e->items[1].type != MX_JSON_NUMBER)
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_symbol_from_json", "%s %d: an entry is [node, index(, version)]", what,
                    index);
  double node_num = e->items[0].num, idx_num = e->items[1].num;
  if (!(node_num >= 0 && node_num < nmade && node_num == (int)node_num)) /* NaN or huge: no cast */
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_symbol_from_json", "%s %d: node %g does not come before it (0..%d)", what,
                    index, node_num, nmade - 1);
  int node = (int)node_num;
  if (!(idx_num >= 0 && idx_num < made[node]->noutputs && idx_num == (int)idx_num))
    return mx_error_at(MX_ERR_FORMAT, "mx_symbol_from_json", "%s %d: node %d (%s) has no output %g",
                    what, index, node, made[node]->name, idx_num);
  int idx = (int)idx_num;
  if (node < 0 || node >= nmade)
    return mx_error_at(MX_ERR_FORMAT,
                    "mx_symbol_from_json", "%s %d: node %d does not come before it (0..%d)", what,
                    index, node, nmade - 1);
  if (idx < 0 || idx >= made[node]->noutputs)
    return mx_error_at(MX_ERR_FORMAT, "mx_symbol_from_json", "%s %d: node %d (%s) has no output %d",
                    what, index, node, made[node]->name, idx);
  *out = (mx_entry){made[node], idx};
  return MX_OK;
}

mx_status mx_symbol_from_json(const char *text, mx_symbol **out) {
  *out = NULL;
  mx_json *root;
  mx_status st = mx_json_parse(text, &root);
  if (st != MX_OK) return MX_ERR_FRAME(st, "mx_symbol_from_json");
  const mx_json *nodes = mx_json_get(root, "nodes"), *heads = mx_json_get(root, "heads");
  if (!nodes || nodes->type != MX_JSON_ARRAY || !heads || heads->type != MX_JSON_ARRAY) {
    mx_json_free(root);
    return mx_error_at(
        MX_ERR_FORMAT,
        "mx_symbol_from_json", "not a symbol file (expected \"nodes\" and \"heads\" lists)");
  }
  mx_node **made = calloc((size_t)nodes->n + 1, sizeof *made);
  if (!made) {
    mx_json_free(root);
    return mx_error_at(MX_ERR_NOMEM, "mx_symbol_from_json", "out of memory");
  }
  int nmade = 0;
  for (int i = 0; i < nodes->n && st == MX_OK; i++) {
    const mx_json *jn = &nodes->items[i];
    const mx_json *op = mx_json_get(jn, "op"), *name = mx_json_get(jn, "name"),
                  *inputs = mx_json_get(jn, "inputs");
    if (!op || op->type != MX_JSON_STRING || !name || name->type != MX_JSON_STRING) {
      st = mx_error_at(MX_ERR_FORMAT, "mx_symbol_from_json", "node %d has no \"op\" or \"name\" string",
                    i);
      break;
    }
    const mx_op *desc = NULL;
    if (strcmp(op->str, "null") != 0) {
      desc = mx_op_find(op->str);
      if (!desc) {
        st = mx_error_at(MX_ERR_FORMAT, "mx_symbol_from_json", "node %d (%s): unknown operator '%s'", i,
                      name->str, op->str);
        break;
      }
    }
    mx_node *n = mx_node_new(desc, name->str);
    if (!n) {
      st = mx_error_at(MX_ERR_NOMEM, "mx_symbol_from_json", "out of memory");
      break;
    }
    made[nmade++] = n;
    st = copy_attrs(n, mx_json_get(jn, "param"), 0, i);
    if (st == MX_OK) st = copy_attrs(n, mx_json_get(jn, "attrs"), 0, i);
    if (st == MX_OK) st = copy_attrs(n, mx_json_get(jn, "attr"), 1, i);
    if (st != MX_OK || !desc) continue;
    st = mx_node_parse(n);
    if (st != MX_OK) { /* name the node: an unregistered Custom op_type says which one */
      mx_error_node(st, "node %d", i);
      st = MX_ERR_FRAME(st, "mx_symbol_from_json");
      break;
    }
    int nin = inputs && inputs->type == MX_JSON_ARRAY ? inputs->n : 0;
    if (nin > n->nargs + n->naux) {
      st = mx_error_at(MX_ERR_FORMAT,
                    "mx_symbol_from_json", "node %d (%s %s) has %d inputs, expected at most %d", i,
                    desc->name, n->name, nin, n->nargs + n->naux);
      break;
    }
    for (int k = 0; k < nin && st == MX_OK; k++) {
      mx_entry e;
      st = read_entry(&inputs->items[k], made, nmade - 1, &e, "input of node", i);
      if (st == MX_OK) n->inputs[k] = (mx_entry){mx_node_retain(e.node), e.index};
    }
    if (st == MX_OK) st = mx_node_make_missing_vars(n); /* 0.8 files leave out some inputs */
    n->composed = 1;
  }
  mx_symbol *s = st == MX_OK ? mx_symbol_new(heads->n) : NULL;
  if (st == MX_OK && !s) st = mx_error_at(MX_ERR_NOMEM, "mx_symbol_from_json", "out of memory");
  for (int h = 0; s && h < heads->n && st == MX_OK; h++) {
    mx_entry e;
    st = read_entry(&heads->items[h], made, nmade, &e, "head", h);
    if (st == MX_OK) s->heads[h] = (mx_entry){mx_node_retain(e.node), e.index};
  }
  for (int i = 0; i < nmade; i++) mx_node_release(made[i]);
  free(made);
  mx_json_free(root);
  if (st != MX_OK) {
    if (s) {
      for (int h = 0; h < s->nheads; h++)
        if (!s->heads[h].node) s->nheads = h;
      mx_symbol_release(s);
    }
    return st;
  }
  *out = s;
  return MX_OK;
}

mx_status mx_symbol_save(mx_symbol *s, const char *path) {
  char *json;
  mx_status st = mx_symbol_to_json(s, &json);
  if (st != MX_OK) return st;
  st = mx_file_write_atomic(path, json, strlen(json));
  free(json);
  return st == MX_OK ? st : MX_ERR_FRAME(st, "mx_symbol_save");
}

mx_status mx_symbol_load(const char *path, mx_symbol **out) {
  *out = NULL;
  char *text;
  size_t len;
  mx_status rst = mx_file_read_all(path, "mx_symbol_load", &text, &len);
  if (rst != MX_OK) return rst;
  mx_status st = mx_symbol_from_json(text, out);
  free(text);
  if (st != MX_OK) {
    mx_error_node(st, "%s", path);
    return MX_ERR_FRAME(st, "mx_symbol_load");
  }
  return MX_OK;
}
