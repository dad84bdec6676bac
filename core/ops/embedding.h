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

/* The row of weight that id v (a float) picks: clipped to [0, rows - 1] in float before the
 * conversion, which is undefined for NaN and values past int64 (NaN and -inf give row 0, +inf
 * the last), so both devices pick the same row. */
MX_HOSTDEV static inline int64_t embedding_row(float v, int64_t rows) {
  if (!(v >= 1.0f)) return 0;
  if (v >= (float)rows) return rows - 1;
  return (int64_t)v;
}

#endif
