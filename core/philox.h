/* philox.h: the counter-based generator behind mx.random, Philox4x32-10 (Salmon
 * et al., "Parallel random numbers: as easy as 1, 2, 3", 2011), the words to
 * numbers conversions and the fills' per-block bodies, written once for the CPU
 * (random.c) and the GPU (random_cuda.cu), so one seed gives the same numbers on both. */
#ifndef MX_PHILOX_H
#define MX_PHILOX_H

#include <math.h>
#include <stdint.h>

#include "elementwise.h" /* MX_HOSTDEV */

/* The 4 words of counter block ctr under key k. */
MX_HOSTDEV static inline void mx_philox4x32(uint64_t ctr, uint64_t k, uint32_t out[4]) {
  uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)k, k1 = (uint32_t)(k >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* A uniform number in [low, high) from one word (24 bits), high kept out despite rounding. */
MX_HOSTDEV static inline float mx_philox_uniform(uint32_t w, float low, float high) {
  float u = (float)(w >> 8) * (1.0f / 16777216.0f);
  float v = low + (high - low) * u;
  return v < high || low == high ? v : nextafterf(high, low);
}

/* Two normal numbers from two words (Box-Muller in double). */
MX_HOSTDEV static inline void mx_philox_normal2(uint32_t w1, uint32_t w2, float mean, float std, float *a, float *b) {
  double u1 = ((double)w1 + 1.0) * (1.0 / 4294967296.0); /* (0, 1] */
  double u2 = (double)w2 * (1.0 / 4294967296.0);         /* [0, 1) */
  double r = sqrt(-2.0 * log(u1)), t = 2.0 * 3.14159265358979323846 * u2;
  *a = (float)(mean + std * r * cos(t));
  *b = (float)(mean + std * r * sin(t));
}

/* Fills y[4b .. 4b+3] (the ones below n) from counter block ctr + b: the numbers of block b
 * of a fill, one word each (a CPU loop or a GPU thread per block). */
MX_HOSTDEV static inline void mx_philox_uniform_block(float *y, int64_t n, int64_t b, float low, float high,
                                                      uint64_t key, uint64_t ctr) {
  uint32_t w[4];
  mx_philox4x32(ctr + (uint64_t)b, key, w);
  for (int j = 0; j < 4 && 4 * b + j < n; j++) y[4 * b + j] = mx_philox_uniform(w[j], low, high);
}

/* The same for normal numbers: pairs (4b, 4b+1) from words 0, 1 and (4b+2, 4b+3) from words 2, 3. */
MX_HOSTDEV static inline void mx_philox_normal_block(float *y, int64_t n, int64_t b, float mean, float std,
                                                     uint64_t key, uint64_t ctr) {
  uint32_t w[4];
  mx_philox4x32(ctr + (uint64_t)b, key, w);
  for (int j = 0; j < 4 && 4 * b + j < n; j += 2) {
    float a, c;
    mx_philox_normal2(w[j], w[j + 1], mean, std, &a, &c);
    y[4 * b + j] = a;
    if (4 * b + j + 1 < n) y[4 * b + j + 1] = c;
  }
}

#endif
