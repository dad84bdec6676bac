/* digit.h: the draw-a-digit demo's image math (digit.c), on plain float
 * buffers with no engine types: MNIST-style preprocessing of a drawing and the
 * ink of a decoded picture. Each returns 0, or -1 with a message in `err`. */
#ifndef DRAW_DIGIT_H
#define DRAW_DIGIT_H

#include <stddef.h>
#include <stdint.h>

#define DIGIT_SIZE 28             /* the output is DIGIT_SIZE x DIGIT_SIZE */
#define DIGIT_BOX 20              /* the ink's bounding box is scaled to fit BOX x BOX */
#define DIGIT_INK_THRESHOLD 0.05f /* pixels above this count as ink for the bounding box */

/* A grayscale drawing (height, width), row-major, ink values in [0, 1] (0 is
 * background), into a 28x28 image made as MNIST was: crop to the bounding box
 * of the ink, scale it (area averaging) so its longer side is 20 pixels keeping
 * the aspect ratio, then place it in 28x28 shifted by whole pixels so its
 * centre of mass (pixel centres at index + 0.5) lands nearest (14, 14), the
 * shift clamped so the box stays inside. A blank image gives zeros and
 * *has_ink = 0 (has_ink may be NULL). out holds 28*28 floats. */
int digit_preprocess(const float *pixels, int64_t height, int64_t width, float *out, int *has_ink,
                     char *err, size_t errlen);

/* The ink of a picture given as gray and alpha planes (height*width floats in
 * [0, 1], alpha may be NULL) into `out` (height*width floats in [0, 1]): the
 * alpha when any pixel is not opaque (a drawing on a transparent canvas);
 * otherwise the gray, inverted when the border is mostly bright (dark ink on paper). */
int digit_ink(const float *gray, const float *alpha, int64_t height, int64_t width, float *out,
              char *err, size_t errlen);

#endif
