/* graph.h: the private structures behind mx_symbol (nodes, entries), the indexed
 * graph (topological order) that infer.c, plan.c and executor.c work on. */
#ifndef MX_GRAPH_H
#define MX_GRAPH_H

#include "operator.h"

typedef struct mx_node mx_node;

/* One output of a node. */
typedef struct mx_entry {
  mx_node *node;
  int index;
} mx_entry;

struct mx_node {
  int refcount;
  const mx_op *op; /* NULL: a variable */
  char *name;
  int nattrs;
  char **keys, **values; /* all attributes, op parameters and `__user__` ones */
  mx_op_attrs attrs;     /* parsed (op nodes) */
  int nargs, naux;       /* inputs: nargs arguments then naux aux states */
  mx_entry *inputs;      /* node NULL: not given yet */
  int noutputs, nvisible;
  const char *in_names[MX_OP_MAX_IO];
  const char *out_names[MX_OP_MAX_IO];
  int composed;
  /* scratch of the graph walk (symbol.c topo_order), valid until the next walk: the walk's
   * number when last reached, 1 on its stack / 2 done, its position in the order, and the
   * number of the last walk that found it in an aux-state slot */
  unsigned walk, walk_aux;
  int walk_state, walk_index;
  struct mx_node *dead_next; /* release: the next node whose inputs are still to be released */
};

struct mx_symbol {
  int refcount;
  int nheads;
  mx_entry *heads;
  char **cache; /* names handed out by list_* (freed with the symbol) */
  int ncache;
  const char **list; /* the last list handed out */
};

/* The graph of a symbol, indexed in topological (depth-first, post-order) order. */
typedef struct mx_graph {
  int nnodes;
  mx_node **nodes;
  int *entry_base; /* node i's outputs are entries entry_base[i] + k */
  int nentries;
  int *in_off; /* node i's inputs are in_entry[in_off[i] .. in_off[i + 1]) */
  int *in_entry;
  int nargs, naux;
  int *arg_nodes, *aux_nodes; /* variable nodes in list order */
  int nheads;
  int *head_entry;
  int *entry_node; /* the node of each entry */
} mx_graph;

/* Node and symbol construction, shared by symbol.c and symbol_json.c. */
mx_node *mx_node_new(const mx_op *op,
                     const char *name); /* refcount 1; a variable when op is NULL */
mx_node *mx_node_retain(mx_node *n);
void mx_node_release(mx_node *n);
mx_status mx_node_set_attr(mx_node *n, const char *key, const char *value);
mx_status mx_node_parse(mx_node *n); /* parses an op node's attributes; sizes its inputs */
/* The same, taking the lists `like` (the original of a copy) kept instead of asking. */
mx_status mx_node_parse_like(mx_node *n, const mx_node *like);
mx_status
mx_node_make_missing_vars(mx_node *n); /* inputs not given become variables <name>_<arg> */
mx_symbol *mx_symbol_new(int nheads);  /* heads zeroed, to be filled with retained entries */

mx_status mx_graph_build(const mx_symbol *s, mx_graph *g);
void mx_graph_free(mx_graph *g);
/* Fills unknown entry shapes (ndim 0) from known ones; on an incomplete result
 * *complete is 0 and `missing` lists the arguments still unknown. */
mx_status mx_graph_infer_shapes(const mx_graph *g, mx_shape *shapes, int *complete, char *missing,
                                size_t missing_len);
/* The shape a variable node declares through its `__shape__` attribute (ndim 0 when none). */
mx_shape mx_node_declared_shape(const mx_node *n);
const char *mx_node_attr(const mx_node *n, const char *key);
/* "<node>_<output>" (or the variable's name) into buf. */
const char *mx_entry_name(const mx_node *n, int index, char *buf, size_t len);

/* ---- memory plan (plan.c) ----
 * Steps: forward of node i at step i; step N (N nodes) starts backward (head
 * gradients); backward of node i at step 2N - i. Offsets are in floats into one
 * arena; -1 marks an array supplied from outside (or none). */
/* The plan of one value (a graph entry): where its data and gradient live, how it is written. */
typedef struct mx_plan_value {
  int64_t data_off;        /* -1: supplied from outside */
  int64_t grad_off;        /* -1: external or no gradient */
  unsigned char has_grad;  /* a gradient exists (arena or external) */
  unsigned char zero_grad; /* nobody writes its gradient: zero it before backward */
  mx_req fwd_req;          /* forward request (write / inplace) */
} mx_plan_value;

/* The plan of one node: whether it runs backward; its workspaces, [0] forward, [1] backward. */
typedef struct mx_plan_node {
  unsigned char runs_backward;
  int64_t ws_off[2]; /* -1: none */
  int64_t ws_size[2];
} mx_plan_node;

typedef struct mx_plan {
  mx_plan_value *values;    /* per entry */
  mx_plan_node *nodes;      /* per node */
  unsigned char *head_grad; /* per head: backward needs a gradient from the caller */
  mx_req *bwd_req; /* per node input (g->in_off order): backward request, a kernel's list */
  int64_t arena_floats, naive_floats;
} mx_plan;

/* arg_req: per argument (list order); external: per entry, 1 when its data
 * comes from outside; grad_external: per entry, 1 when its gradient does. */
mx_status mx_plan_build(const mx_graph *g, const mx_shape *shapes, const mx_grad_req *arg_req,
                        const unsigned char *external, const unsigned char *grad_external,
                        mx_plan *p);
void mx_plan_free(mx_plan *p);

#endif
