/* canvas.h: the plot canvas of canvas.c, used by image.c's image_draw_png. */
#ifndef MXB_CANVAS_H
#define MXB_CANVAS_H

#include <stdint.h>

#include "mx.h"

/* An RGB raster; colours are 0xRRGGBB. */
typedef struct mxb_canvas mxb_canvas;
mx_status mxb_canvas_create(int width, int height, uint32_t background, mxb_canvas **out);
void mxb_canvas_free(mxb_canvas *c);
void mxb_canvas_rect(mxb_canvas *c, int x, int y, int w, int h, uint32_t color); /* filled */
void mxb_canvas_line(mxb_canvas *c, int x0, int y0, int x1, int y1, uint32_t color, int thickness);
/* Text in a 5x7 bitmap font, top-left at (x, y), each font pixel scale x scale;
 * a character is 6*scale wide, 7*scale high. Unknown characters draw as a box. */
void mxb_canvas_text(mxb_canvas *c, int x, int y, const char *text, uint32_t color, int scale);
int mxb_canvas_text_width(const char *text, int scale);
mx_status mxb_canvas_write_png(const mxb_canvas *c, const char *path);

#endif
