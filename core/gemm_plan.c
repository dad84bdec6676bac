/* gemm_plan.c: the GEMM plan. The first time a CPU GEMM shape comes, each library built in
 * (OpenBLAS, BLIS, libxsmm) is timed on it on scratch matrices, FFTW-planner style, and the
 * fastest runs that shape for the rest of the process. MXLUA_GEMM_PLAN forces one library. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

enum { PLAN_MAX = 512 };                 /* shapes kept; later new ones run on OpenBLAS unplanned */
#define POOL_FROM_MNK ((double)(1 << 18)) /* the contest's size: OpenBLAS 0.3 runs GEMMs below 64^3 on one thread */
#define BATCH_US 300.0                   /* each round of one candidate's calls lasts about this long */
enum { ROUNDS = 5, SAMPLES_MAX = 200 };  /* rounds of timed calls per candidate, alternated */
#define BUDGET_US 20000.0                /* no round starts after the third past this (a busy machine) */

typedef struct {
  mx_gemm_plan_entry e;
  mx_xsmm xsmm;  /* libxsmm's kernel for the shape, where it has one (xsmm.fn) */
  int xsmm_team; /* libxsmm runs split over the engine's team (team.c) */
} plan_slot;
/* What measure() times: each library as it runs under the pool rule, and libxsmm once more split
 * over the engine's own team where the shape splits (libxsmm has no threads of its own). */
enum { XSMM_TEAM = MX_GEMM_LIBS, VARIANTS };

static const char *lib_names[MX_GEMM_LIBS] = {"openblas", "blis", "libxsmm"};
static plan_slot plan[PLAN_MAX];
static int plan_n;
static pthread_mutex_t plan_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int forced = -1; /* the library MXLUA_GEMM_PLAN names, or -1: measure */
static int team;        /* the engine's CPU GEMM threads */
/* Never two thread pools at once. OpenBLAS (pthreads) and BLIS (OpenMP) each keep a team that
 * spins a while after a call; run one right after the other and they fight for the cores (on a
 * busy 2-core machine single BLIS calls then took 200 ms). So one of them owns the team: without
 * BLIS, OpenBLAS; with it, the faster of the two on the first shape big enough to share out (the
 * contest, both timed on the whole team). Until then, and after it for the loser, BLIS runs on one
 * thread; the loser OpenBLAS likewise. libxsmm runs on the calling thread or, where the plan
 * measured that faster, split over the engine's own team (team.c), whose threads sleep soon after
 * a job and which OpenBLAS's yielding threads leave room for. -1: not decided. */
static int pool_owner = -1;
static int contest; /* a contest shape is being measured */
static mx_gemm_lib_info infos[MX_GEMM_LIBS];

static int built(mx_gemm_lib lib) {
  switch (lib) {
  case MX_GEMM_OPENBLAS: return 1;
#ifdef MX_HAVE_BLIS
  case MX_GEMM_BLIS: return 1;
#endif
#ifdef MX_HAVE_LIBXSMM
  case MX_GEMM_LIBXSMM: return 1;
#endif
  default: return 0;
  }
}

static void describe_all(void) {
  for (int i = 0; i < MX_GEMM_LIBS; i++) {
    infos[i].name = lib_names[i];
    infos[i].built = built((mx_gemm_lib)i);
    snprintf(infos[i].detail, sizeof infos[i].detail, "not built in");
  }
  const char *core = openblas_get_corename();
  snprintf(infos[MX_GEMM_OPENBLAS].detail, sizeof infos[0].detail, "%s", openblas_get_config());
  /* Debian's OpenBLAS falls back to Prescott (SSE3) kernels on a CPU it does not know */
  infos[MX_GEMM_OPENBLAS].generic = !strcasecmp(core, "generic") || !strcasecmp(core, "prescott");
#ifdef MX_HAVE_BLIS
  infos[MX_GEMM_BLIS].generic = mx_blis_describe(infos[MX_GEMM_BLIS].detail, sizeof infos[0].detail);
#endif
#ifdef MX_HAVE_LIBXSMM
  infos[MX_GEMM_LIBXSMM].generic = mx_xsmm_describe(infos[MX_GEMM_LIBXSMM].detail, sizeof infos[0].detail);
#endif
}

static void setup(void) {
  team = mx_blas_max_threads();
  describe_all();
  const char *env = getenv("MXLUA_GEMM_PLAN");
  /* No contest for a BLIS on generic kernels against an OpenBLAS that knows the CPU: BLIS is
   * still timed on every shape, on one thread (its two-thread team stalled 0.5 s here). Nor where
   * libxsmm can run split over the engine's team (team.c): BLIS's OpenMP threads spin without
   * yielding after each call, and a team job of 40 us then took 290 us; OpenBLAS's threads yield,
   * and beside them it took 42-47 us (Xeon family 6 model 167, 2 cores). */
  if (!built(MX_GEMM_BLIS) || (infos[MX_GEMM_BLIS].generic && !infos[MX_GEMM_OPENBLAS].generic) ||
      (built(MX_GEMM_LIBXSMM) && team > 1))
    pool_owner = MX_GEMM_OPENBLAS;
  if (!env || !*env || !strcmp(env, "measure")) return;
  for (int i = 0; i < MX_GEMM_LIBS; i++)
    if (!strcmp(env, lib_names[i])) forced = i;
  if (forced < 0) {
    fprintf(stderr, "mxlua: MXLUA_GEMM_PLAN=%s is not one of measure, openblas, blis, libxsmm: measuring\n", env);
  } else if (!built((mx_gemm_lib)forced)) {
    fprintf(stderr, "mxlua: MXLUA_GEMM_PLAN=%s, but this build has no %s (its Debian -dev package was not found "
                    "at build time): using openblas\n", env, env);
    forced = MX_GEMM_OPENBLAS;
  }
  if (forced >= 0) pool_owner = forced == MX_GEMM_BLIS ? MX_GEMM_BLIS : MX_GEMM_OPENBLAS;
}

/* The threads a library runs on now, under the pool rule. */
static int threads_of(int lib) {
  if (lib == MX_GEMM_LIBXSMM || team == 1) return 1;
  if (pool_owner < 0) return lib == MX_GEMM_OPENBLAS || contest ? team : 1;
  return pool_owner == lib ? team : 1;
}

static void run_lib(const plan_slot *s, int lib, float alpha, const float *a, const float *b, float beta, float *c) {
  const mx_gemm_plan_entry *e = &s->e;
#ifdef MX_HAVE_LIBXSMM
  if (lib == XSMM_TEAM || (lib == MX_GEMM_LIBXSMM && s->xsmm_team)) {
    mx_xsmm_run_team(&s->xsmm, a, b, c);
    return;
  }
  if (lib == MX_GEMM_LIBXSMM && mx_xsmm_run(&s->xsmm, a, b, c)) return; /* else no memory: OpenBLAS */
#endif
#ifdef MX_HAVE_BLIS
  if (lib == MX_GEMM_BLIS) {
    if (mx_blis_threads() != threads_of(MX_GEMM_BLIS)) mx_blis_set_threads(threads_of(MX_GEMM_BLIS));
    mx_blis_sgemm(e->transpose_a, e->transpose_b, e->m, e->n, e->k, alpha, a, e->lda, b, e->ldb, beta, c, e->ldc);
    return;
  }
#endif
  /* a global read per call: a caller may have changed OpenBLAS's count since */
  int want = threads_of(MX_GEMM_OPENBLAS);
  if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
  cblas_sgemm(CblasRowMajor, e->transpose_a ? CblasTrans : CblasNoTrans, e->transpose_b ? CblasTrans : CblasNoTrans,
              e->m, e->n, e->k, alpha, a, e->lda, b, e->ldb, beta, c, e->ldc);
}

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

/* A measuring operand of n floats, and SCRATCH_PAD more: BLIS's kernels read a vector past a
 * matrix's last element (valgrind: 4 bytes after a 60-byte operand), which the engine's arena
 * blocks (rounded to 16 floats) absorb but a malloc of the exact size does not. */
#define SCRATCH_PAD 16
static float *scratch(size_t n, unsigned *seed) {
  float *p = malloc((n + SCRATCH_PAD) * sizeof *p);
  if (p)
    for (size_t i = 0; i < n + SCRATCH_PAD; i++) p[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
  return p;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static double median(double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* libxsmm's kernel must give OpenBLAS's result (it is dropped if not) */
static int agrees(const float *c, const float *ref, const mx_gemm_plan_entry *e) {
  float tol = 1e-5f * (float)e->k + 1e-5f;
  for (int i = 0; i < e->m; i++)
    for (int j = 0; j < e->n; j++)
      if (!(fabsf(c[(size_t)i * e->ldc + j] - ref[(size_t)i * e->ldc + j]) <= tol)) return 0;
  return 1;
}

/* The fastest candidate among those with team == (they ran on more than one thread), or -1; one
 * whose CPU detection fell back to a generic kernel only where it measured faster than every other. */
static int fastest_of(const mx_gemm_plan_entry *e, int team_ones) {
  int best = -1;
  for (int pass = 0; pass < 2 && best < 0; pass++) /* pass 0: the non-generic ones */
    for (int i = 0; i < MX_GEMM_LIBS; i++)
      if (e->us[i] >= 0 && (e->lib_threads[i] > 1) == team_ones && (pass || !infos[i].generic) &&
          (best < 0 || e->us[i] < e->us[best]))
        best = i;
  for (int i = 0; i < MX_GEMM_LIBS; i++) /* a generic one that beat them all */
    if (best >= 0 && e->us[i] >= 0 && (e->lib_threads[i] > 1) == team_ones && infos[i].generic &&
        e->us[i] < e->us[best])
      best = i;
  return best;
}

/* The choice from the measured times: the fastest one-thread candidate unless a team's beats it
 * by MX_GEMM_TEAM_MARGIN. A team's median is its best case: on a shared machine its spin barriers
 * stall whenever the scheduler takes one of its threads (single calls of 10 ms where the median
 * was 0.14 ms, a whole training step 20 times slower), and its threads spin on after each call,
 * taking the core the calling thread's other work needs (Xeon family 6 model 167, 2 cores: the
 * MLP step on one thread 460 us wall and 460 us CPU; with BLIS's team on its largest GEMM, 140 us
 * faster there, 500-750 us wall and 850-990 us CPU). */
static int choose(const mx_gemm_plan_entry *e) {
  int one = fastest_of(e, 0), many = fastest_of(e, 1);
  if (many >= 0 && (one < 0 || e->us[many] * MX_GEMM_TEAM_MARGIN < e->us[one])) return many;
  return one < 0 ? MX_GEMM_OPENBLAS : one;
}

/* libxsmm on one thread or split over the team: the split where it beats one thread by
 * MX_GEMM_TEAM_MARGIN (as choose() asks of any team); e->us keeps the variant taken. */
static void take_xsmm_variant(plan_slot *s, const double *us) {
  mx_gemm_plan_entry *e = &s->e;
  if (us[XSMM_TEAM] < 0) return;
  char one[24];
  snprintf(one, sizeof one, us[MX_GEMM_LIBXSMM] < 0 ? "-" : "%.1f", us[MX_GEMM_LIBXSMM]);
  snprintf(e->why + strlen(e->why), sizeof e->why - strlen(e->why), "; libxsmm %s us on 1 thread, %.1f on %d",
           one, us[XSMM_TEAM], s->xsmm.parts);
  if (us[MX_GEMM_LIBXSMM] >= 0 && !(us[XSMM_TEAM] * MX_GEMM_TEAM_MARGIN < us[MX_GEMM_LIBXSMM])) return;
  s->xsmm_team = 1;
  e->us[MX_GEMM_LIBXSMM] = us[XSMM_TEAM];
  e->lib_threads[MX_GEMM_LIBXSMM] = s->xsmm.parts;
}

/* Times each candidate on scratch matrices of the shape (so the caller's C, which beta may
 * accumulate into, is untouched) and records the choice in s->e. */
static void measure(plan_slot *s, float alpha, float beta) {
  mx_gemm_plan_entry *e = &s->e;
  size_t na = (size_t)(e->transpose_a ? e->k : e->m) * e->lda, nb = (size_t)(e->transpose_b ? e->n : e->k) * e->ldb,
         nc = (size_t)e->m * e->ldc;
  unsigned seed = 12345;
  float *a = scratch(na, &seed), *b = scratch(nb, &seed), *c0 = scratch(nc, &seed), *c = malloc((nc + SCRATCH_PAD) * sizeof *c),
        *ref = malloc(nc * sizeof *ref);
  double *samples = malloc((size_t)VARIANTS * SAMPLES_MAX * sizeof *samples);
  double us[VARIANTS]; /* 0: a candidate, < 0: not one, then the median */
  int cand[VARIANTS], n_cand = 0, got[VARIANTS] = {0};
  if (!a || !b || !c0 || !c || !ref || !samples) {
    snprintf(e->why, sizeof e->why, "out of memory to measure: openblas");
    goto done;
  }
  for (int i = 0; i < MX_GEMM_LIBS; i++) us[i] = e->us[i];
  us[XSMM_TEAM] = e->us[MX_GEMM_LIBXSMM] == 0 && s->xsmm.parts > 1 ? 0 : -1;
  static const int order[VARIANTS] = {MX_GEMM_LIBXSMM, MX_GEMM_OPENBLAS, MX_GEMM_BLIS, XSMM_TEAM}; /* no team first */
  for (int i = 0; i < VARIANTS; i++)
    if (us[order[i]] == 0) cand[n_cand++] = order[i];
  /* two calls each before timing (JIT, packing buffers, starting threads), the second timed unless
   * the first was already 8 times the fastest so far; the first's result from the same C:
   * libxsmm's must be OpenBLAS's */
  double warm[VARIANTS] = {0}, fastest = 1e30;
  for (int j = 0; j < n_cand; j++) {
    int lib = cand[j];
    memcpy(c, c0, nc * sizeof *c);
    double t0 = now_us();
    run_lib(s, lib, alpha, a, b, beta, c);
    warm[lib] = now_us() - t0;
    if (lib == MX_GEMM_OPENBLAS) memcpy(ref, c, nc * sizeof *c);
    if (warm[lib] <= 8 * fastest) {
      t0 = now_us();
      run_lib(s, lib, alpha, a, b, beta, c);
      warm[lib] = now_us() - t0;
    }
    if (warm[lib] < fastest) fastest = warm[lib];
  }
  static const int xsmm_variants[2] = {MX_GEMM_LIBXSMM, XSMM_TEAM};
  for (int j = 0; j < 2; j++) {
    int v = xsmm_variants[j];
    if (!s->xsmm.fn || us[v] < 0) continue;
    memcpy(c, c0, nc * sizeof *c);
    run_lib(s, v, alpha, a, b, beta, c);
    if (!agrees(c, ref, e)) {
      s->xsmm.fn = NULL;
      us[MX_GEMM_LIBXSMM] = us[XSMM_TEAM] = -1;
    }
  }
  /* Each call timed alone and the median kept, rounds alternated: on a shared machine a batch's
   * total (or its best call) says little about what a multi-threaded library delivers while others
   * run. A candidate 8 times slower than the fastest (twice in a row at the start, or over a
   * round) keeps that time and is not timed further (a stalled team would otherwise take seconds
   * to time). */
  int calls = fastest > 0 ? (int)(BATCH_US / fastest) : SAMPLES_MAX;
  calls = calls < 3 ? 3 : calls > SAMPLES_MAX / ROUNDS ? SAMPLES_MAX / ROUNDS : calls;
  int timing[VARIANTS];
  for (int i = 0; i < VARIANTS; i++) {
    timing[i] = us[i] == 0;
    if (timing[i] && warm[i] > 8 * fastest) { /* once more: one slow call may be a preemption */
      double t0 = now_us();
      run_lib(s, i, alpha, a, b, beta, c);
      double t = now_us() - t0;
      if (t < warm[i]) warm[i] = t;
      if (warm[i] > 8 * fastest) us[i] = warm[i], timing[i] = 0;
    }
  }
  double start = now_us();
  for (int r = 0; r < ROUNDS && (r < 2 || now_us() - start < BUDGET_US); r++) {
    double best = 1e30;
    for (int j = 0; j < n_cand; j++) {
      int lib = cand[j];
      if (!timing[lib]) continue;
      for (int i = 0; i < calls; i++) {
        double t0 = now_us();
        run_lib(s, lib, alpha, a, b, beta, c);
        samples[lib * SAMPLES_MAX + got[lib]++] = now_us() - t0;
      }
      us[lib] = median(samples + lib * SAMPLES_MAX, got[lib]);
      if (us[lib] < best) best = us[lib];
    }
    for (int i = 0; i < VARIANTS; i++)
      if (timing[i] && us[i] > 8 * best) timing[i] = 0;
  }
  for (int i = 0; i < MX_GEMM_LIBS; i++) e->us[i] = us[i];
  snprintf(e->why, sizeof e->why, "measured");
  take_xsmm_variant(s, us);
  e->library = (mx_gemm_lib)choose(e);
done:
  free(a);
  free(b);
  free(c0);
  free(c);
  free(ref);
  free(samples);
}

static plan_slot *plan_shape(int ta, int tb, int m, int n, int k, float alpha, int lda, int ldb, float beta, int ldc) {
  plan_slot *s = &plan[plan_n];
  mx_gemm_plan_entry *e = &s->e;
  *e = (mx_gemm_plan_entry){ta, tb, m, n, k, lda, ldb, ldc, beta, team, MX_GEMM_OPENBLAS, {0}, {0}, ""};
  s->xsmm.fn = NULL;
  s->xsmm_team = 0;
#ifdef MX_HAVE_LIBXSMM
  mx_xsmm_kernel(&s->xsmm, ta, tb, m, n, k, lda, ldb, ldc, alpha, beta);
#endif
  for (int i = 0; i < MX_GEMM_LIBS; i++) {
    e->lib_threads[i] = threads_of(i);
    if (!built((mx_gemm_lib)i) || (i == MX_GEMM_LIBXSMM && !s->xsmm.fn)) e->us[i] = -1;
  }
  if (forced >= 0) {
    for (int i = 0; i < MX_GEMM_LIBS; i++) e->us[i] = -1;
    e->library = (forced == MX_GEMM_LIBXSMM && !s->xsmm.fn) ? MX_GEMM_OPENBLAS : (mx_gemm_lib)forced;
    snprintf(e->why, sizeof e->why, (int)e->library == forced ? "forced by MXLUA_GEMM_PLAN"
                                                         : "forced libxsmm has no kernel here: openblas");
  } else {
    contest = pool_owner < 0 && team > 1 && (double)m * n * k >= POOL_FROM_MNK;
    for (int i = 0; i < MX_GEMM_LIBS; i++) e->lib_threads[i] = threads_of(i);
    if ((double)m * n * k < POOL_FROM_MNK) e->lib_threads[MX_GEMM_OPENBLAS] = 1; /* its own small-GEMM rule */
    measure(s, alpha, beta);
  }
  if (contest) {
    pool_owner = e->us[MX_GEMM_BLIS] < e->us[MX_GEMM_OPENBLAS] ? MX_GEMM_BLIS : MX_GEMM_OPENBLAS;
    contest = 0;
  }
  plan_n++;
  return s;
}

static plan_slot *find(int ta, int tb, int m, int n, int k, int lda, int ldb, float beta, int ldc) {
  static __thread int last; /* the same shape often comes again */
  for (int j = 0; j < plan_n; j++) {
    int i = (last + j) % plan_n;
    const mx_gemm_plan_entry *e = &plan[i].e;
    if (e->m == m && e->n == n && e->k == k && e->transpose_a == ta && e->transpose_b == tb && e->lda == lda &&
        e->ldb == ldb && e->ldc == ldc && e->beta == beta && e->threads == team) {
      last = i;
      return &plan[i];
    }
  }
  return NULL;
}

mx_status mx_gemm_plan_run(int dev_id, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                           const float *b, int ldb, float beta, float *c, int ldc) {
  (void)dev_id; /* every cpu(i) is the same host */
  pthread_once(&setup_once, setup);
  /* beta other than 0 and 1 keys as one class: libxsmm takes neither, the others don't care */
  float key_beta = beta == 0.0f || beta == 1.0f ? beta : 2.0f;
  pthread_mutex_lock(&plan_lock);
  plan_slot *s = k > 0 ? find(ta, tb, m, n, k, lda, ldb, key_beta, ldc) : NULL;
  if (!s && k > 0 && plan_n < PLAN_MAX) s = plan_shape(ta, tb, m, n, k, alpha, lda, ldb, key_beta, ldc);
  pthread_mutex_unlock(&plan_lock);
  if (s && (alpha == 1.0f || s->e.library != MX_GEMM_LIBXSMM)) {
    run_lib(s, s->e.library, alpha, a, b, beta, c);
    return MX_OK;
  }
  /* k == 0 (C = beta C), a full plan, or libxsmm's kernel asked for another alpha: OpenBLAS */
  plan_slot once = {.e = {ta, tb, m, n, k, lda, ldb, ldc, beta, team, MX_GEMM_OPENBLAS, {0}, {0}, ""}};
  run_lib(&once, MX_GEMM_OPENBLAS, alpha, a, b, beta, c);
  return MX_OK;
}

const char *mx_gemm_plan_mode(void) {
  pthread_once(&setup_once, setup);
  return forced < 0 ? "measure" : lib_names[forced];
}

void mx_gemm_lib_describe(mx_gemm_lib lib, mx_gemm_lib_info *out) {
  pthread_once(&setup_once, setup);
  *out = infos[lib >= 0 && lib < MX_GEMM_LIBS ? lib : 0];
}

int mx_gemm_plan_size(void) {
  pthread_mutex_lock(&plan_lock);
  int n = plan_n;
  pthread_mutex_unlock(&plan_lock);
  return n;
}

mx_status mx_gemm_plan_get(int i, mx_gemm_plan_entry *out) {
  pthread_mutex_lock(&plan_lock);
  int n = plan_n;
  if (i >= 0 && i < n) *out = plan[i].e;
  pthread_mutex_unlock(&plan_lock);
  if (i < 0 || i >= n) return mx_error_at(MX_ERR_ARG, "mx_gemm_plan_get", "entry %d out of range (the plan has %d)", i, n);
  return MX_OK;
}
