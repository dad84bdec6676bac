/* elemwise.h: the element-wise symbol operators' math (_Plus ... _Div between two arrays,
 * _PlusScalar ... _RDivScalar with a scalar), forward and backward per element, written once
 * for the CPU loops (elemwise.c) and the CUDA kernels (elemwise.cu). */
#ifndef MX_OPS_ELEMWISE_H
#define MX_OPS_ELEMWISE_H

#include "elementwise.h" /* MX_HOSTDEV */

enum { EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_RSUB, EW_RDIV };
/* X(kind) for each kind of the array forms, and of the scalar forms */
#define ELEMWISE_BINARY_KINDS(X) X(EW_ADD) X(EW_SUB) X(EW_MUL) X(EW_DIV)
#define ELEMWISE_SCALAR_KINDS(X) X(EW_ADD) X(EW_SUB) X(EW_MUL) X(EW_DIV) X(EW_RSUB) X(EW_RDIV)

typedef struct elemwise_scalar_param {
  float scalar;
  int is_int;
} elemwise_scalar_param;

/* a op b (for the scalar forms, b is the scalar) */
MX_HOSTDEV static inline float elemwise_fwd(int kind, float a, float b) {
  switch (kind) {
  case EW_ADD: return a + b;
  case EW_SUB: return a - b;
  case EW_MUL: return a * b;
  case EW_DIV: return a / b;
  case EW_RSUB: return b - a;
  default: return b / a; /* EW_RDIV */
  }
}

/* The gradient of a op b to one side (0: a, 1: b) times dy. */
MX_HOSTDEV static inline float elemwise_bwd(int kind, int side, float dy, float a, float b) {
  switch (kind) {
  case EW_ADD: return dy;
  case EW_SUB: return side ? -dy : dy;
  case EW_MUL: return dy * (side ? a : b);
  default: return side ? -dy * a / (b * b) : dy / b; /* EW_DIV */
  }
}

/* The gradient of x op s to x times dy. */
MX_HOSTDEV static inline float elemwise_scalar_bwd(int kind, float dy, float x, float s) {
  switch (kind) {
  case EW_ADD:
  case EW_SUB: return dy;
  case EW_RSUB: return -dy;
  case EW_MUL: return dy * s;
  case EW_DIV: return dy / s;
  default: return -dy * s / (x * x); /* EW_RDIV: d(s/x) = -s/x^2 */
  }
}

#endif
