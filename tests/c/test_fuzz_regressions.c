/* test_fuzz_regressions.c: replays every kept fuzz input (tests/fuzz/regressions/T/) and seed
 * (tests/fuzz/corpus/T/) through the C readers' fuzz targets: each must load or fail cleanly.
 * (The web target's inputs are replayed by tests/spec/fuzz_regressions_spec.lua.) */
#define FUZZ_NO_MAIN
#include <dirent.h>

#include "../fuzz/fuzz_idx.c"
#include "../fuzz/fuzz_params.c"
#include "../fuzz/fuzz_symbol_json.c"
#include "ctest.h"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static int idx_plain(const uint8_t *d, size_t n) { return fuzz_idx_one(d, n, 0); }
static int idx_gz(const uint8_t *d, size_t n) { return fuzz_idx_one(d, n, 1); }

/* Feeds each file of dir to fn; returns how many were replayed (-1 when one misbehaved). */
static int replay_dir(const char *dir, fuzz_fn fn) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int count = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    uint8_t *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    int bad = buf ? fn(buf, n) : 0;
    free(buf);
    if (bad) {
      printf("# %s: misbehaved (%s)\n", path, mx_last_error());
      closedir(d);
      return -1;
    }
    count++;
  }
  closedir(d);
  return count;
}

static int replay(const char *target, fuzz_fn fn) {
  char dir[256];
  snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", target);
  int kept = replay_dir(dir, fn);
  snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", target);
  int seeds = replay_dir(dir, fn);
  if (kept < 0 || seeds < 0) return -1;
  printf("# %s: %d kept inputs, %d seeds\n", target, kept, seeds);
  return kept + seeds;
}

TEST(idx_inputs) { CHECK(replay("idx", idx_plain) > 0); }
TEST(idx_gz_inputs) { CHECK(replay("idx_gz", idx_gz) > 0); }
TEST(params_inputs) { CHECK(replay("params", fuzz_params_one) > 0); }
TEST(symbol_json_inputs) { CHECK(replay("symbol_json", fuzz_symbol_json_one) > 0); }

/* The inputs the fuzzers found, checked for the error each now gets. */
TEST(huge_idx_header_fails_as_truncated) {
  const uint8_t head[] = {0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0x6d, 0x60, 0, 0, 0, 28, 1, 2, 3};
  const char *path = fuzz_path("-huge-idx");
  CHECK(fuzz_write(path, head, sizeof head, 0) == 0);
  mx_ndarray *a = NULL;
  CHECK(mx_idx_load(path, 3, 1.0f, mx_cpu(0), &a) == MX_ERR_FORMAT);
  CHECK(a == NULL);
  CHECK(strstr(mx_last_error(), "truncated file (got 3 data bytes, expected 47040000000)") != NULL);
  unlink(path);
}

TEST(symbol_json_huge_entry_index) {
  mx_symbol *s = NULL;
  const char *json = "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}],"
                     " \"arg_nodes\": [0], \"heads\": [[5.5e38, 0, 0]]}";
  CHECK(mx_symbol_from_json(json, &s) == MX_ERR_FORMAT);
  CHECK(s == NULL);
  CHECK(strstr(mx_last_error(), "head 0: node 5.5e+38 does not come before it (0..0)") != NULL);
  const char *json2 = "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}],"
                      " \"arg_nodes\": [0], \"heads\": [[0, -1e300, 0]]}";
  CHECK(mx_symbol_from_json(json2, &s) == MX_ERR_FORMAT);
  CHECK(strstr(mx_last_error(), "head 0: node 0 (data) has no output -1e+300") != NULL);
}

int main(void) {
  RUN(idx_inputs);
  RUN(idx_gz_inputs);
  RUN(params_inputs);
  RUN(symbol_json_inputs);
  RUN(huge_idx_header_fails_as_truncated);
  RUN(symbol_json_huge_entry_index);
  return ctest_summary();
}
