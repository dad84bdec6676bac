/* simd.h: MX_SIMD_CLONES, for the CPU's hot element-wise loops (optimizer updates,
 * activations, bias): GCC compiles such a function twice, for x86-64-v3 (AVX2: 8 floats
 * per instruction) and for the build's baseline, and the loader picks what this CPU runs.
 * Both give the same bits: the build turns FMA contraction off (-ffp-contract=off). */
#ifndef MX_SIMD_H
#define MX_SIMD_H

/* (not under clang: the sanitizer and fuzz builds keep one plain version) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__CUDACC__)
#define MX_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define MX_SIMD_AVX2 1 /* (mx_features reports it) */
#else
#define MX_SIMD_CLONES
#define MX_SIMD_AVX2 0
#endif

#endif
