/* test_params.c: the .params NDArray list: files written here byte by byte in
 * the legacy, V1 and V2 layouts load; a save is byte-exact V2 and round-trips;
 * truncated or foreign files fail clearly; writes are atomic. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "mx.h"

static char dir[64];

static const char *tmp_path(const char *name) {
  static char buf[4][128];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

/* A little-endian byte writer (the test's own, independent of params.c). */
typedef struct bytes {
  unsigned char b[4096];
  size_t n;
} bytes;
static void le(bytes *o, uint64_t v, int width) {
  for (int i = 0; i < width; i++) o->b[o->n++] = (unsigned char)(v >> (8 * i));
}
static void f32(bytes *o, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  le(o, u, 4);
}
static void str(bytes *o, const char *s) {
  le(o, strlen(s), 8);
  memcpy(o->b + o->n, s, strlen(s));
  o->n += strlen(s);
}
static void dump(const char *path, const bytes *o, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(o->b, 1, n, f);
  fclose(f);
}

/* Loads path and checks two arrays: "arg:w" (2,3) = 0.5*i and "aux:m" (2,) = {-1, 7}. */
static void check_two(const char *path) {
  mx_ndarray **arr = NULL;
  char **names = NULL;
  int n = 0;
  CHECK(mx_params_load(path, mx_cpu(0), &arr, &names, &n) == MX_OK);
  CHECK(n == 2);
  if (n != 2) {
    printf("# %s\n", mx_last_error());
    return;
  }
  CHECK(names && strcmp(names[0], "arg:w") == 0 && strcmp(names[1], "aux:m") == 0);
  CHECK(mx_ndarray_ndim(arr[0]) == 2 && mx_ndarray_shape(arr[0])[0] == 2 &&
        mx_ndarray_shape(arr[0])[1] == 3);
  float v[6];
  mx_ndarray_to_host(arr[0], v, 6);
  for (int i = 0; i < 6; i++) CHECK_NEAR(v[i], 0.5 * i, 0);
  CHECK(mx_ndarray_ndim(arr[1]) == 1 && mx_ndarray_shape(arr[1])[0] == 2);
  mx_ndarray_to_host(arr[1], v, 2);
  CHECK(v[0] == -1 && v[1] == 7);
  mx_params_free(arr, names, n);
}

static void header(bytes *o) {
  le(o, 0x112, 8);
  le(o, 0, 8);
  le(o, 2, 8);
}
static void names(bytes *o) {
  le(o, 2, 8);
  str(o, "arg:w");
  str(o, "aux:m");
}

TEST(legacy_layout) { /* u32 ndim, u32 dims, dev_type, dev_id, type_flag, data */
  bytes o = {{0}, 0};
  header(&o);
  le(&o, 2, 4), le(&o, 2, 4), le(&o, 3, 4), le(&o, 1, 4), le(&o, 0, 4), le(&o, 0, 4);
  for (int i = 0; i < 6; i++) f32(&o, 0.5f * i);
  le(&o, 1, 4), le(&o, 2, 4), le(&o, 1, 4), le(&o, 0, 4), le(&o, 0, 4);
  f32(&o, -1), f32(&o, 7);
  names(&o);
  dump(tmp_path("legacy.params"), &o, o.n);
  check_two(tmp_path("legacy.params"));
}

TEST(v1_layout) {
  bytes o = {{0}, 0};
  header(&o);
  le(&o, 0xF993FAC8u, 4), le(&o, 2, 4), le(&o, 2, 8), le(&o, 3, 8), le(&o, 1, 4), le(&o, 0, 4),
      le(&o, 0, 4);
  for (int i = 0; i < 6; i++) f32(&o, 0.5f * i);
  /* second array as float64 on gpu(0): converted, and loaded on the CPU */
  le(&o, 0xF993FAC8u, 4), le(&o, 1, 4), le(&o, 2, 8), le(&o, 2, 4), le(&o, 0, 4), le(&o, 1, 4);
  double d[2] = {-1, 7};
  memcpy(o.b + o.n, d, 16);
  o.n += 16;
  names(&o);
  dump(tmp_path("v1.params"), &o, o.n);
  check_two(tmp_path("v1.params"));
}

/* The V2 bytes mx_params_save must produce for the two arrays. */
static void v2_bytes(bytes *o) {
  header(o);
  le(o, 0xF993FAC9u, 4), le(o, 0, 4), le(o, 2, 4), le(o, 2, 8), le(o, 3, 8), le(o, 1, 4),
      le(o, 0, 4), le(o, 0, 4);
  for (int i = 0; i < 6; i++) f32(o, 0.5f * i);
  le(o, 0xF993FAC9u, 4), le(o, 0, 4), le(o, 1, 4), le(o, 2, 8), le(o, 1, 4), le(o, 0, 4),
      le(o, 0, 4);
  f32(o, -1), f32(o, 7);
  names(o);
}

TEST(v2_layout) {
  bytes o = {{0}, 0};
  v2_bytes(&o);
  dump(tmp_path("v2.params"), &o, o.n);
  check_two(tmp_path("v2.params"));
}

TEST(save_is_v2_byte_exact) {
  float w[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f}, m[2] = {-1, 7};
  int64_t ws[] = {2, 3}, ms[] = {2};
  mx_ndarray *a[2] = {NULL, NULL};
  CHECK(mx_ndarray_from_host(ws, 2, mx_cpu(0), w, &a[0]) == MX_OK);
  CHECK(mx_ndarray_from_host(ms, 1, mx_cpu(0), m, &a[1]) == MX_OK);
  const char *nm[] = {"arg:w", "aux:m"};
  CHECK(mx_params_save(tmp_path("saved.params"), a, nm, 2) == MX_OK);
  bytes want = {{0}, 0};
  v2_bytes(&want);
  unsigned char got[4096];
  FILE *f = fopen(tmp_path("saved.params"), "rb");
  size_t n = f ? fread(got, 1, sizeof got, f) : 0;
  if (f) fclose(f);
  CHECK(n == want.n);
  CHECK(n == want.n && memcmp(got, want.b, n) == 0);
  check_two(tmp_path("saved.params"));
  /* an unnamed list: zero names */
  CHECK(mx_params_save(tmp_path("unnamed.params"), a, NULL, 2) == MX_OK);
  mx_ndarray **arr = NULL;
  char **names_out = NULL;
  int cnt = 0;
  CHECK(mx_params_load(tmp_path("unnamed.params"), mx_cpu(0), &arr, &names_out, &cnt) == MX_OK);
  CHECK(cnt == 2 && names_out == NULL);
  mx_params_free(arr, names_out, cnt);
  mx_ndarray_release(a[0]), mx_ndarray_release(a[1]);
}

TEST(no_temp_files_left) {
  int count = 0, tmp = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    count++;
    if (strstr(e->d_name, ".tmp.")) tmp++;
  }
  if (d) closedir(d);
  CHECK(count > 2);
  CHECK(tmp == 0);
  /* a failed write (missing folder) reports the path and leaves nothing */
  CHECK(mx_file_write_atomic(tmp_path("nodir/x.params"), "abc", 3) == MX_ERR_IO);
  CHECK(strstr(mx_last_error(), "nodir") != NULL);
  /* overwriting keeps the old content until the rename */
  CHECK(mx_file_write_atomic(tmp_path("text"), "first", 5) == MX_OK);
  CHECK(mx_file_write_atomic(tmp_path("text"), "second", 6) == MX_OK);
  char buf[16] = {0};
  FILE *f = fopen(tmp_path("text"), "rb");
  size_t n = f ? fread(buf, 1, 15, f) : 0;
  if (f) fclose(f);
  CHECK(n == 6 && strcmp(buf, "second") == 0);
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* What a killed write leaves (name made here, not by params.c): the next write of the same
 * file removes its own stale temporaries and nothing else. */
TEST(stale_temp_files_removed) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  CHECK(child > 0);
  waitpid(child, NULL, 0); /* reaped: that pid runs nothing now */
  char dead[64], live[64], old_fmt[64], old_fmt_aged[64], other[64], longer[64];
  snprintf(dead, sizeof dead, "ck.params.tmp.%d.aB3xYz", (int)child);
  snprintf(live, sizeof live, "ck.params.tmp.%d.Qw3rty", (int)getpid());
  snprintf(old_fmt, sizeof old_fmt, "ck.params.tmp.Zx81pq");
  snprintf(old_fmt_aged, sizeof old_fmt_aged, "ck.params.tmp.Ol4dd0");
  snprintf(other, sizeof other, "ck.states.tmp.%d.aB3xYz", (int)child);
  snprintf(longer, sizeof longer, "ck.params.tmp.%d.aB3xYz.keep", (int)child);
  const char *names[] = {dead, live, old_fmt, old_fmt_aged, other, longer};
  for (int i = 0; i < 6; i++) CHECK(mx_file_write_atomic(tmp_path(names[i]), "x", 1) == MX_OK);
  struct timeval two_hours_ago[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
  CHECK(utimes(tmp_path(old_fmt_aged), two_hours_ago) == 0);
  CHECK(mx_file_write_atomic(tmp_path("ck.params"), "new", 3) == MX_OK);
  CHECK(!file_exists(tmp_path(dead)));         /* its writer no longer runs */
  CHECK(!file_exists(tmp_path(old_fmt_aged))); /* older than an hour */
  CHECK(file_exists(tmp_path(live)));          /* a writer that still runs (this process) */
  CHECK(file_exists(tmp_path(old_fmt)));       /* no pid, and fresh */
  CHECK(file_exists(tmp_path(other)));         /* another file's */
  CHECK(file_exists(tmp_path(longer)));        /* not a name the write makes */
  CHECK(file_exists(tmp_path("ck.params")));
  for (int i = 0; i < 6; i++) unlink(tmp_path(names[i]));
  unlink(tmp_path("ck.params"));
}

TEST(bad_files) {
  bytes o = {{0}, 0};
  v2_bytes(&o);
  mx_ndarray **arr = NULL;
  char **nm = NULL;
  int n = 0;
  for (size_t cut = 0; cut < o.n; cut += 7) { /* every truncation fails cleanly */
    dump(tmp_path("cut.params"), &o, cut);
    mx_status st = mx_params_load(tmp_path("cut.params"), mx_cpu(0), &arr, &nm, &n);
    /* cutting exactly before the name count leaves a valid unnamed list */
    if (st == MX_OK) {
      CHECK(cut == o.n - 34 && nm == NULL); /* names: count + 2 x (len + 5 bytes) */
      mx_params_free(arr, nm, n);
      continue;
    }
    CHECK(st == MX_ERR_FORMAT);
    CHECK(arr == NULL && n == 0);
    CHECK(strstr(mx_last_error(), "cut.params") != NULL);
  }
  bytes junk = {{0}, 0};
  le(&junk, 0x1234, 8);
  dump(tmp_path("junk.params"), &junk, junk.n);
  CHECK(mx_params_load(tmp_path("junk.params"), mx_cpu(0), &arr, &nm, &n) == MX_ERR_FORMAT);
  CHECK(strstr(mx_last_error(), "not an NDArray list") != NULL);
  CHECK(mx_params_load(tmp_path("absent.params"), mx_cpu(0), &arr, &nm, &n) == MX_ERR_IO);
  CHECK(strstr(mx_last_error(), "absent.params") != NULL);
  /* dims whose product overflows int64 are caught as truncation, not allocated */
  bytes big = {{0}, 0};
  le(&big, 0x112, 8), le(&big, 0, 8), le(&big, 1, 8), le(&big, 0xF993FAC8u, 4), le(&big, 3, 4);
  le(&big, (uint64_t)1 << 62, 8), le(&big, (uint64_t)1 << 62, 8), le(&big, 4, 8);
  le(&big, 1, 4), le(&big, 0, 4), le(&big, 0, 4);
  dump(tmp_path("big.params"), &big, big.n);
  CHECK(mx_params_load(tmp_path("big.params"), mx_cpu(0), &arr, &nm, &n) == MX_ERR_FORMAT);
  CHECK(strstr(mx_last_error(), "truncated") != NULL);
  /* a sparse record is refused by name */
  bytes sp = {{0}, 0};
  le(&sp, 0x112, 8), le(&sp, 0, 8), le(&sp, 1, 8), le(&sp, 0xF993FAC9u, 4), le(&sp, 1, 4);
  dump(tmp_path("sparse.params"), &sp, sp.n);
  CHECK(mx_params_load(tmp_path("sparse.params"), mx_cpu(0), &arr, &nm, &n) == MX_ERR_FORMAT);
  CHECK(strstr(mx_last_error(), "sparse") != NULL);
}

int main(void) {
  strcpy(dir, "/tmp/mxlua_params_XXXXXX");
  if (!mkdtemp(dir)) return 2;
  RUN(legacy_layout);
  RUN(v1_layout);
  RUN(v2_layout);
  RUN(save_is_v2_byte_exact);
  RUN(no_temp_files_left);
  RUN(stale_temp_files_removed);
  RUN(bad_files);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) printf("# could not remove %s\n", dir);
  return ctest_summary();
}
