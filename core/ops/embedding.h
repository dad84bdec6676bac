/* embedding.h: Embedding's parameters and the row an index picks, shared by the CPU
 * loops (embedding.c) and the CUDA kernels (embedding.cu). */
#ifndef MX_OPS_EMBEDDING_H
#define MX_OPS_EMBEDDING_H

#include "elementwise.h" /* MX_HOSTDEV */

typedef struct embedding_param {
  int64_t input_dim, output_dim;
  const char *dtype;
  int sparse_grad;
} embedding_param;

/* The row of weight that id v (a float) picks: clipped to [0, rows - 1]. */
MX_HOSTDEV static inline int64_t embedding_row(float v, int64_t rows) {
  int64_t i = (int64_t)v;
  return i < 0 ? 0 : i >= rows ? rows - 1 : i;
}

#endif
