/* test_idx.c: the IDX reader: plain and gzip files written here byte by byte,
 * the error cases (wrong magic, truncated data, mismatched counts), real MNIST. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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

/* An IDX ubyte file with the given magic, dims and `nbytes` data bytes (value i%251). */
static void write_idx(const char *path, int gz, unsigned magic, const unsigned *dims, int ndim,
                      long nbytes) {
  unsigned char head[4 + 4 * 6];
  int h = 0;
  for (int s = 24; s >= 0; s -= 8) head[h++] = (unsigned char)(magic >> s);
  for (int d = 0; d < ndim; d++)
    for (int s = 24; s >= 0; s -= 8) head[h++] = (unsigned char)(dims[d] >> s);
  unsigned char *data = malloc(nbytes ? nbytes : 1);
  for (long i = 0; i < nbytes; i++) data[i] = (unsigned char)(i % 251);
  if (gz) {
    gzFile f = gzopen(path, "wb");
    gzwrite(f, head, h);
    if (nbytes) gzwrite(f, data, (unsigned)nbytes);
    gzclose(f);
  } else {
    FILE *f = fopen(path, "wb");
    fwrite(head, 1, h, f);
    fwrite(data, 1, nbytes, f);
    fclose(f);
  }
  free(data);
}

static void check_images(mx_ndarray *a, float scale) {
  CHECK(mx_ndarray_ndim(a) == 3);
  CHECK(mx_ndarray_shape(a)[0] == 5 && mx_ndarray_shape(a)[1] == 4 && mx_ndarray_shape(a)[2] == 3);
  float v[60];
  CHECK(mx_ndarray_to_host(a, v, 60) == MX_OK);
  for (int i = 0; i < 60; i++) CHECK_NEAR(v[i], (i % 251) * scale, 1e-6);
}

TEST(plain_images) {
  unsigned dims[] = {5, 4, 3};
  write_idx(tmp_path("img"), 0, 0x803, dims, 3, 60);
  mx_ndarray *a = NULL;
  CHECK(mx_idx_load(tmp_path("img"), 3, 0.5f, mx_cpu(0), &a) == MX_OK);
  if (a) check_images(a, 0.5f);
  mx_ndarray_release(a);
}

TEST(gzip_images) {
  unsigned dims[] = {5, 4, 3};
  write_idx(tmp_path("img.gz"), 1, 0x803, dims, 3, 60);
  mx_ndarray *a = NULL;
  CHECK(mx_idx_load(tmp_path("img.gz"), 3, 1.0f / 255, mx_cpu(0), &a) == MX_OK);
  if (a) check_images(a, 1.0f / 255);
  mx_ndarray_release(a);
}

TEST(labels_and_any) {
  unsigned dims[] = {7};
  write_idx(tmp_path("lab"), 1, 0x801, dims, 1, 7);
  mx_ndarray *a = NULL;
  CHECK(mx_idx_load(tmp_path("lab"), 1, 1.0f, mx_cpu(0), &a) == MX_OK);
  if (a) {
    CHECK(mx_ndarray_ndim(a) == 1 && mx_ndarray_shape(a)[0] == 7);
    float v[7];
    mx_ndarray_to_host(a, v, 7);
    for (int i = 0; i < 7; i++) CHECK(v[i] == (float)i);
  }
  mx_ndarray_release(a);
  a = NULL;
  CHECK(mx_idx_load(tmp_path("lab"), 0, 1.0f, mx_cpu(0), &a) == MX_OK); /* any ndim */
  mx_ndarray_release(a);
}

TEST(wrong_magic) {
  unsigned dims[] = {7};
  write_idx(tmp_path("lab2"), 0, 0x801, dims, 1, 7);
  mx_ndarray *a = NULL;
  CHECK(mx_idx_load(tmp_path("lab2"), 3, 1.0f, mx_cpu(0), &a) ==
        MX_ERR_FORMAT); /* labels where images wanted */
  CHECK(a == NULL);
  CHECK(strstr(mx_last_error(), "lab2") != NULL);
  CHECK(strstr(mx_last_error(), "wrong magic number") != NULL);
  CHECK(strstr(mx_last_error(), "0x00000801") != NULL &&
        strstr(mx_last_error(), "0x00000803") != NULL);
  write_idx(tmp_path("bad"), 0, 0x12345678, dims, 1, 7);
  CHECK(mx_idx_load(tmp_path("bad"), 1, 1.0f, mx_cpu(0), &a) == MX_ERR_FORMAT);
  CHECK(strstr(mx_last_error(), "bad") && strstr(mx_last_error(), "wrong magic"));
}

TEST(truncated) {
  unsigned dims[] = {5, 4, 3};
  write_idx(tmp_path("short"), 0, 0x803, dims, 3, 59);
  mx_ndarray *a = NULL;
  CHECK(mx_idx_load(tmp_path("short"), 3, 1.0f, mx_cpu(0), &a) == MX_ERR_FORMAT);
  CHECK(a == NULL);
  CHECK(strstr(mx_last_error(), "short") != NULL);
  CHECK(strstr(mx_last_error(), "truncated file (got 59 data bytes, expected 60)") != NULL);
  write_idx(tmp_path("short.gz"), 1, 0x803, dims, 3, 30);
  CHECK(mx_idx_load(tmp_path("short.gz"), 3, 1.0f, mx_cpu(0), &a) == MX_ERR_FORMAT);
  CHECK(strstr(mx_last_error(), "truncated") != NULL);
  unsigned huge[] = {0xFFFFFFFFu, 0xFFFFFFFFu,
                     0xFFFFFFFFu}; /* a corrupt header: no 2^96-byte malloc */
  write_idx(tmp_path("huge"), 0, 0x803, huge, 3, 10);
  CHECK(mx_idx_load(tmp_path("huge"), 3, 1.0f, mx_cpu(0), &a) == MX_ERR_FORMAT);
  CHECK(strstr(mx_last_error(), "implausible dimensions") != NULL);
  FILE *f = fopen(tmp_path("tiny"), "wb");
  fputc(0, f);
  fclose(f);
  CHECK(mx_idx_load(tmp_path("tiny"), 3, 1.0f, mx_cpu(0), &a) == MX_ERR_FORMAT);
  CHECK(mx_idx_load(tmp_path("missing"), 3, 1.0f, mx_cpu(0), &a) == MX_ERR_IO);
  CHECK(strstr(mx_last_error(), "missing") != NULL);
}

TEST(pair_counts) {
  unsigned idims[] = {5, 4, 3}, ldims[] = {6};
  write_idx(tmp_path("pi"), 0, 0x803, idims, 3, 60);
  write_idx(tmp_path("pl"), 0, 0x801, ldims, 1, 6);
  mx_ndarray *im = NULL, *lb = NULL;
  CHECK(mx_idx_load_pair(tmp_path("pi"), tmp_path("pl"), 1.0f, mx_cpu(0), &im, &lb) ==
        MX_ERR_FORMAT);
  CHECK(im == NULL && lb == NULL);
  CHECK(strstr(mx_last_error(), "holds 5 images but") != NULL &&
        strstr(mx_last_error(), "holds 6 labels") != NULL);
  ldims[0] = 5;
  write_idx(tmp_path("pl"), 0, 0x801, ldims, 1, 5);
  CHECK(mx_idx_load_pair(tmp_path("pi"), tmp_path("pl"), 1.0f, mx_cpu(0), &im, &lb) == MX_OK);
  CHECK(im && lb && mx_ndarray_shape(lb)[0] == 5);
  mx_ndarray_release(im), mx_ndarray_release(lb);
}

TEST(real_mnist) {
  const char *img = "data/mnist/t10k-images-idx3-ubyte", *lab = "data/mnist/t10k-labels-idx1-ubyte";
  if (access(img, R_OK) != 0) SKIP("data/mnist/t10k-images-idx3-ubyte not present (make data)");
  mx_ndarray *im = NULL, *lb = NULL;
  CHECK(mx_idx_load_pair(img, lab, 1.0f / 255, mx_cpu(0), &im, &lb) == MX_OK);
  if (!im) return;
  CHECK(mx_ndarray_shape(im)[0] == 10000 && mx_ndarray_shape(im)[1] == 28 &&
        mx_ndarray_shape(im)[2] == 28);
  float first[3];
  mx_ndarray_get_element(lb, 0, &first[0]);
  mx_ndarray_get_element(lb, 1, &first[1]);
  mx_ndarray_get_element(lb, 2, &first[2]);
  CHECK(first[0] == 7 && first[1] == 2 && first[2] == 1); /* the test set opens with 7, 2, 1 */
  float px;
  mx_ndarray_get_element(im, 0, &px); /* a corner pixel is background */
  CHECK(px == 0.0f);
  mx_ndarray_release(im), mx_ndarray_release(lb);
}

int main(void) {
  strcpy(dir, "/tmp/mxlua_idx_XXXXXX");
  if (!mkdtemp(dir)) return 2;
  RUN(plain_images);
  RUN(gzip_images);
  RUN(labels_and_any);
  RUN(wrong_magic);
  RUN(truncated);
  RUN(pair_counts);
  RUN(real_mnist);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) printf("# could not remove %s\n", dir);
  return ctest_summary();
}
