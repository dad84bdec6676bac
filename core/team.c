/* team.c: the engine's own CPU thread team. A job is cut into parts: part 0 runs on the calling
 * thread, the others on worker threads that spin a short while after each job (the next GEMM of a
 * training step comes within microseconds) and then sleep on a futex, so the team never keeps a
 * core busy between steps. Used where the GEMM plan measured a split faster (libxsmm's kernels
 * run on the calling thread only) and by the SGD pass. The team's size is the engine's CPU GEMM
 * threads (mx_blas_max_threads: OPENBLAS_NUM_THREADS, else the cores). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum { TEAM_MAX = 16 };
#define SPIN_NS 200000L /* a worker spins this long for the next job before sleeping */
#define YIELD_NS 5000L  /* the caller spins this long for the workers' parts, then yields */

static struct {
  _Atomic unsigned gen;     /* bumped once per job; workers wait for it to change */
  _Atomic int pending;      /* workers that have not yet finished (or passed) the current job */
  _Atomic int sleepers;     /* workers asleep on gen */
  mx_team_job job;          /* the current job, written before gen is bumped */
  void *ctx;
  int parts;                /* of the job; workers 1..active take parts 1..active */
  int active;
  int started;              /* workers running (1 + that is the team) */
  _Atomic int caller_cpu;   /* where the current job's caller runs */
  pthread_mutex_t busy;     /* one job at a time; a second caller runs its job alone */
} team = {.busy = PTHREAD_MUTEX_INITIALIZER};

static void futex_wait(_Atomic unsigned *addr, unsigned val) {
  syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *addr) {
  syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static long elapsed_ns(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Waits until gen differs from seen: spinning SPIN_NS, then asleep. */
static unsigned next_job(unsigned seen) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* yielding now and then: where the scheduler put this worker on the caller's core, the caller
   * gets it back at once instead of at the end of this thread's time slice */
  for (unsigned i = 1;; i++) {
    unsigned g = atomic_load_explicit(&team.gen, memory_order_acquire);
    if (g != seen) return g;
    relax();
    if (i % 256 == 0) {
      if (elapsed_ns(&t0) > SPIN_NS) break;
      sched_yield();
    }
  }
  for (;;) {
    atomic_fetch_add(&team.sleepers, 1);
    unsigned g = atomic_load_explicit(&team.gen, memory_order_acquire);
    if (g == seen) futex_wait(&team.gen, seen);
    atomic_fetch_sub(&team.sleepers, 1);
    g = atomic_load_explicit(&team.gen, memory_order_acquire);
    if (g != seen) return g;
  }
}

/* A worker woken onto the caller's core (in a VM the scheduler may count the other, halted vCPU
 * as busy and keep a wakee by its waker: both threads then share one core, a job takes as long
 * as its parts in turn) moves off it: pinned away from it for a moment, then given back the CPUs
 * it had, read each time (a `taskset` on the process since is kept). */
static void leave_callers_core(void) {
  int caller = atomic_load_explicit(&team.caller_cpu, memory_order_relaxed);
  if (caller < 0 || caller >= CPU_SETSIZE || sched_getcpu() != caller) return;
  cpu_set_t allowed, others;
  if (sched_getaffinity(0, sizeof allowed, &allowed) || CPU_COUNT(&allowed) < 2) return;
  others = allowed;
  CPU_CLR(caller, &others);
  if (CPU_COUNT(&others) && !sched_setaffinity(0, sizeof others, &others))
    sched_setaffinity(0, sizeof allowed, &allowed);
}

/* Worker k's job count when it was created (written before pthread_create): a job posted before
 * the thread first runs is still its to do. */
static unsigned first_gen[TEAM_MAX];

static void *worker(void *arg) {
  int me = (int)(intptr_t)arg;
  unsigned seen = first_gen[me];
  for (;;) {
    seen = next_job(seen);
    leave_callers_core();
    if (me <= team.active) team.job(team.ctx, me, team.parts);
    /* every worker reports every job, so none is still reading this one when the next is posted */
    atomic_fetch_sub_explicit(&team.pending, 1, memory_order_release);
  }
  return NULL;
}

/* A forked child has none of the workers: it starts its own when it needs them. */
static void after_fork_in_child(void) {
  team.started = 0;
  atomic_store(&team.pending, 0);
  atomic_store(&team.sleepers, 0);
  pthread_mutex_init(&team.busy, NULL);
}

static void start_workers(int want) {
  static int atfork;
  if (!atfork) atfork = !pthread_atfork(NULL, NULL, after_fork_in_child);
  while (team.started < want) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int me = team.started + 1;
    first_gen[me] = atomic_load(&team.gen);
    int err = pthread_create(&t, &attr, worker, (void *)(intptr_t)me);
    pthread_attr_destroy(&attr);
    if (err) break; /* fewer workers: the job's parts beyond them run on the caller */
    team.started++;
  }
}

int mx_team_size(void) {
  int n = mx_blas_max_threads();
  return n < 1 ? 1 : n > TEAM_MAX ? TEAM_MAX : n;
}

void mx_team_run(mx_team_job job, void *ctx, int parts) {
  if (parts < 1) parts = 1;
  int size = mx_team_size();
  if (parts == 1 || size == 1 || pthread_mutex_trylock(&team.busy)) {
    for (int p = 0; p < parts; p++) job(ctx, p, parts);
    return;
  }
  int want = (parts < size ? parts : size) - 1; /* workers; parts beyond them run on the caller */
  start_workers(want);
  int on_workers = team.started < want ? team.started : want;
  team.job = job, team.ctx = ctx, team.parts = parts, team.active = on_workers;
  atomic_store_explicit(&team.caller_cpu, sched_getcpu(), memory_order_relaxed);
  atomic_store_explicit(&team.pending, team.started, memory_order_relaxed);
  atomic_fetch_add_explicit(&team.gen, 1, memory_order_release);
  if (atomic_load(&team.sleepers) > 0) futex_wake_all(&team.gen);
  job(ctx, 0, parts);
  for (int p = 1 + on_workers; p < parts; p++) job(ctx, p, parts); /* beyond the workers there are */
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* A part left waiting more than YIELD_NS: its worker is likely queued behind this thread on
   * one core (woken while another pool spun on the other), so give it the core. */
  for (unsigned i = 1; atomic_load_explicit(&team.pending, memory_order_acquire) > 0; i++) {
    relax();
    if (i >= 64 && (i % 16 == 0) && elapsed_ns(&t0) > YIELD_NS) sched_yield();
  }
  pthread_mutex_unlock(&team.busy);
}
