/* test_digit.c: the draw-a-digit demo's MNIST-style preprocessing of a drawing
 * (digit_preprocess, scripts/draw_digit/digit.c) and the ink rules (digit_ink),
 * against values worked out by hand; errors leave a clear message. */
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "digit.h"

static char err[160]; /* the last error message */
#define ERR err, sizeof err

#define N (DIGIT_SIZE * DIGIT_SIZE)

/* An 11x5 block at (30..34, 10..20) of a 50x40 image: fit 20 tall, round(5*20/11) = 9
 * wide, all ones; mass centre (10, 4.5) in the box -> top 4, left round(9.5) = 10. */
TEST(block_is_scaled_and_centred) {
  float *img = calloc(50 * 40, sizeof(float)), out[N];
  for (int y = 10; y <= 20; y++)
    for (int x = 30; x <= 34; x++) img[y * 50 + x] = 1.0f;
  int ink = -1;
  CHECK(digit_preprocess(img, 40, 50, out, &ink, ERR) == 0);
  CHECK(ink == 1);
  int bad = 0;
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++) {
      float want = (y >= 4 && y <= 23 && x >= 10 && x <= 18) ? 1.0f : 0.0f;
      if (fabsf(out[y * 28 + x] - want) > 1e-6f) bad++;
    }
  CHECK(bad == 0);
  free(img);
}

/* A 40x3 bar whose first column is 0.5: 20 wide, round(1.5) = 2 tall. The first output
 * column covers 2 source columns (0.5 and 1) and 1.5 source rows: (0.5 + 1) / 2 = 0.75. */
TEST(area_averaging_by_hand) {
  float img[64 * 64] = {0}, out[N];
  for (int y = 40; y <= 42; y++)
    for (int x = 3; x <= 42; x++) img[y * 64 + x] = x == 3 ? 0.5f : 1.0f;
  CHECK(digit_preprocess(img, 64, 64, out, NULL, ERR) == 0);
  /* Box 2 tall, 20 wide: mass centre (1, ~10) -> top 13, left 4. */
  CHECK_NEAR(out[13 * 28 + 4], 0.75, 1e-6);
  CHECK_NEAR(out[14 * 28 + 4], 0.75, 1e-6);
  CHECK_NEAR(out[13 * 28 + 5], 1.0, 1e-6);
  CHECK_NEAR(out[12 * 28 + 4], 0.0, 1e-6);
  CHECK_NEAR(out[15 * 28 + 4], 0.0, 1e-6);
  CHECK_NEAR(out[13 * 28 + 3], 0.0, 1e-6);
  CHECK_NEAR(out[13 * 28 + 23], 1.0, 1e-6);
  CHECK_NEAR(out[13 * 28 + 24], 0.0, 1e-6);
}

TEST(blank_and_faint_images_give_zeros) {
  float img[16] = {0}, out[N];
  int ink = -1;
  img[5] = 0.04f; /* below the ink threshold */
  CHECK(digit_preprocess(img, 4, 4, out, &ink, ERR) == 0);
  CHECK(ink == 0);
  float sum = 0;
  for (int i = 0; i < N; i++) sum += out[i];
  CHECK(sum == 0.0f);
}

TEST(bad_input_is_an_error) {
  float img[4] = {0, 2, 0, 0}, out[N];
  CHECK(digit_preprocess(img, 2, 2, out, NULL, ERR) == -1);
  CHECK(strstr(err, "must be in [0, 1] (got 2 at row 0, column 1)") != NULL);
  img[1] = NAN;
  CHECK(digit_preprocess(img, 2, 2, out, NULL, ERR) == -1);
  CHECK(digit_preprocess(img, 0, 2, out, NULL, ERR) == -1);
  CHECK(strstr(err, "image size must be positive") != NULL);
  CHECK(digit_preprocess(NULL, 2, 2, out, NULL, ERR) == -1);
  CHECK(digit_ink(img, NULL, -1, 2, out, ERR) == -1);
}

TEST(ink_rules) {
  /* Translucent: the alpha. */
  float gray[4] = {0, 0, 0, 0}, alpha[4] = {0, 0.5f, 1, 0}, out[4];
  CHECK(digit_ink(gray, alpha, 2, 2, out, ERR) == 0);
  CHECK_NEAR(out[1], 0.5, 1e-6);
  CHECK_NEAR(out[2], 1.0, 1e-6);
  /* Opaque, bright paper: inverted gray. */
  float paper[9] = {1, 1, 1, 1, 0.25f, 1, 1, 1, 1}, opaque[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, o9[9];
  CHECK(digit_ink(paper, opaque, 3, 3, o9, ERR) == 0);
  CHECK_NEAR(o9[4], 0.75, 1e-6);
  CHECK_NEAR(o9[0], 0.0, 1e-6);
  /* No alpha, dark ground: the gray as it is. */
  float chalk[9] = {0, 0, 0, 0, 0.8f, 0, 0, 0, 0};
  CHECK(digit_ink(chalk, NULL, 3, 3, o9, ERR) == 0);
  CHECK_NEAR(o9[4], 0.8, 1e-6);
}

int main(void) {
  RUN(block_is_scaled_and_centred);
  RUN(area_averaging_by_hand);
  RUN(blank_and_faint_images_give_zeros);
  RUN(bad_input_is_an_error);
  RUN(ink_rules);
  return ctest_summary();
}
