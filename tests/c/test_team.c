/* test_team.c: the engine's CPU thread team (core/team.c) and what runs on it: every part of
 * every job runs once, also with two callers at once and in a forked child; libxsmm's GEMMs split
 * over the team give a plain loop's result; the SGD pass split over it gives a scalar loop's. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctest.h"
#include "internal.h"
#include "mx.h"

enum { MAX_PARTS = 32, JOBS = 2000 };

typedef struct {
  _Atomic int runs[MAX_PARTS];
  _Atomic int wrong_parts; /* calls told another part count than asked */
  int parts;
} count_job;

static void count_part(void *ctx, int part, int parts) {
  count_job *j = ctx;
  if (parts != j->parts || part < 0 || part >= parts) atomic_fetch_add(&j->wrong_parts, 1);
  else atomic_fetch_add(&j->runs[part], 1);
}

/* JOBS jobs of `parts` parts; 1 where each part ran JOBS times and no other */
static int every_part_once(int parts) {
  int runs_as = parts < 1 ? 1 : parts; /* parts beyond the team run on the caller */
  count_job j = {.parts = runs_as};
  for (int i = 0; i < JOBS; i++) mx_team_run(count_part, &j, parts);
  int ok = atomic_load(&j.wrong_parts) == 0;
  for (int p = 0; p < MAX_PARTS; p++) ok &= atomic_load(&j.runs[p]) == (p < j.parts ? JOBS : 0);
  return ok;
}

TEST(every_part_runs_once) {
  CHECK(mx_team_size() >= 1);
  for (int parts = 1; parts <= mx_team_size() + 3 && parts <= MAX_PARTS; parts++) CHECK(every_part_once(parts));
  CHECK(every_part_once(0)); /* no parts asked: one, on the caller */
}

static void *caller(void *arg) {
  *(int *)arg = every_part_once(2);
  return NULL;
}

/* a second caller while the team is busy runs its parts itself: both get every part */
TEST(two_callers_at_once) {
  pthread_t t;
  int other = 0;
  CHECK(pthread_create(&t, NULL, caller, &other) == 0);
  CHECK(every_part_once(2));
  pthread_join(t, NULL);
  CHECK(other);
}

/* a forked child has none of the parent's workers: its jobs still run every part */
TEST(forked_child_runs_jobs) {
  every_part_once(2); /* the parent's workers started */
  pid_t pid = fork();
  if (pid == 0) _exit(every_part_once(2) ? 0 : 1);
  int status = -1;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static float *randoms(size_t n, unsigned *seed) {
  float *p = malloc(n * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
  return p;
}

#ifdef MX_HAVE_LIBXSMM
/* libxsmm's kernel split over the team against a loop in double: C = op(A) op(B) + beta C */
static double split_error(int ta, int tb, int m, int n, int k, float beta) {
  int lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
  unsigned seed = (unsigned)(m + 3 * n + 7 * k);
  float *a = randoms((size_t)m * k, &seed), *b = randoms((size_t)n * k, &seed), *c = randoms((size_t)m * n, &seed);
  double *want = malloc((size_t)m * n * sizeof *want), err = -1;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      want[i * n + j] = s + beta * c[i * n + j];
    }
  mx_xsmm x;
  if (mx_xsmm_kernel(&x, ta, tb, m, n, k, lda, ldb, ldc, 1.0f, beta) && x.parts > 1) {
    mx_xsmm_run_team(&x, a, b, c);
    err = 0;
    for (size_t i = 0; i < (size_t)m * n; i++)
      if (fabs(c[i] - want[i]) > err) err = fabs(c[i] - want[i]);
  }
  free(a), free(b), free(c), free(want);
  return err;
}
#endif

/* the MLP's shapes and odd column counts (a last part narrower than the others), each transpose */
TEST(libxsmm_split_matches_a_loop) {
#ifndef MX_HAVE_LIBXSMM
  SKIP("built without libxsmm");
#else
  if (mx_team_size() < 2) SKIP("a team of one thread (OPENBLAS_NUM_THREADS=1 or one core): nothing splits");
  int shapes[][3] = {{100, 128, 784}, {128, 784, 100}, {100, 64, 128}, {7, 17, 5}, {33, 250, 65}, {1, 16, 1}};
  for (int s = 0; s < 6; s++)
    for (int t = 0; t < 4; t++)
      for (int beta = 0; beta <= 1; beta++) {
        double err = split_error(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], (float)beta);
        CHECK(err >= 0 && err < 1e-4);
      }
#endif
}

/* SGD with momentum over a weight large enough for the team (and of no round size) against a
 * scalar loop in double */
TEST(sgd_split_matches_a_loop) {
  const int64_t n = 100003;
  unsigned seed = 7;
  float *w0 = randoms((size_t)n, &seed), *g = randoms((size_t)n, &seed), *m0 = randoms((size_t)n, &seed);
  mx_ndarray *w, *grad, *mom;
  CHECK(mx_ndarray_create(&n, 1, mx_cpu(0), &w) == MX_OK);
  CHECK(mx_ndarray_create(&n, 1, mx_cpu(0), &grad) == MX_OK);
  CHECK(mx_ndarray_create(&n, 1, mx_cpu(0), &mom) == MX_OK);
  memcpy(mx_ndarray_data(w), w0, (size_t)n * sizeof *w0);
  memcpy(mx_ndarray_data(grad), g, (size_t)n * sizeof *g);
  memcpy(mx_ndarray_data(mom), m0, (size_t)n * sizeof *m0);
  mx_optim_param p = {.lr = 0.1f, .wd = 1e-4f, .rescale_grad = 0.01f, .clip_gradient = 0.004f, .momentum = 0.9f};
  CHECK(mx_optim_sgd_update(w, grad, mom, &p) == MX_OK);
  double worst = 0;
  const float *wn = mx_ndarray_data(w), *mn = mx_ndarray_data(mom);
  for (int64_t i = 0; i < n; i++) {
    double gi = (double)g[i] * 0.01;
    gi = gi > 0.004 ? 0.004 : gi < -0.004 ? -0.004 : gi;
    double mi = 0.9 * m0[i] - 0.1 * (gi + 1e-4 * w0[i]), wi = w0[i] + mi;
    if (fabs(mn[i] - mi) > worst) worst = fabs(mn[i] - mi);
    if (fabs(wn[i] - wi) > worst) worst = fabs(wn[i] - wi);
  }
  CHECK(worst < 1e-6);
  mx_ndarray_release(w), mx_ndarray_release(grad), mx_ndarray_release(mom);
  free(w0), free(g), free(m0);
}

int main(void) {
  RUN(every_part_runs_once);
  RUN(two_callers_at_once);
  RUN(forked_child_runs_jobs);
  RUN(libxsmm_split_matches_a_loop);
  RUN(sgd_split_matches_a_loop);
  return ctest_summary();
}
