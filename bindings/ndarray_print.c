/* ndarray_print.c: an NDArray as text (its __tostring): MXNet's header line and the values
 * in aligned columns, long axes abbreviated with "...". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bindings.h"

#define PRINT_THRESHOLD 1000
#define PRINT_EDGE 3

typedef struct printer {
  mx_ndarray *a;
  const float *host; /* all the data, when not abbreviated */
  int nd;
  const int64_t *shape;
  int64_t idx[MX_MAX_NDIM]
             [2 * PRINT_EDGE + 1]; /* shown positions of abbreviated axes; -1 is "..." */
  int abbrev[MX_MAX_NDIM];         /* axis d shows idx[d]; otherwise every position 0..n-1 */
  int64_t count[MX_MAX_NDIM];
  int width;
} printer;

static void fmt_value(char *buf, size_t len, float v) {
  if (isnan(v))
    snprintf(buf, len, "nan");
  else if (isinf(v))
    snprintf(buf, len, v > 0 ? "inf" : "-inf");
  else
    snprintf(buf, len, "%.6g", (double)v);
}

/* The k-th shown position along axis d (-1 for the "..." of an abbreviated axis). */
static int64_t shown_pos(const printer *p, int d, int64_t k) {
  return p->abbrev[d] ? p->idx[d][k] : k;
}

static mx_status value_at(printer *p, const int64_t *pos, float *v) {
  int64_t flat = 0;
  for (int d = 0; d < p->nd; d++) flat = flat * p->shape[d] + pos[d];
  if (p->host) {
    *v = p->host[flat];
    return MX_OK;
  }
  return mx_ndarray_get_element(p->a, flat, v);
}

/* Visits every shown element (pass 0 measures widths, pass 1 prints). */
static void print_rows(lua_State *L, printer *p, luaL_Buffer *B, int pass) {
  int nd = p->nd, lead = nd > 2 ? nd - 2 : 0;
  int64_t k[MX_MAX_NDIM] = {0}; /* odometer over the leading axes' shown positions */
  int last_was_ellipsis = 0, first_block = 1;
  for (;;) {
    int64_t pos[MX_MAX_NDIM];
    int ellipsis = 0;
    for (int d = 0; d < lead; d++) {
      pos[d] = shown_pos(p, d, k[d]);
      if (pos[d] < 0) ellipsis = 1;
    }
    if (pass == 1 && ellipsis && !last_was_ellipsis) {
      luaL_addstring(B,
                     first_block ? "\n..." : "\n\n..."); /* blocks are set apart by a blank line */
      first_block = 0;
    }
    if (!ellipsis) {
      if (pass == 1 && lead > 0) {
        char head[128];
        size_t used = 0;
        used += (size_t)snprintf(head, sizeof head, first_block ? "\n(" : "\n\n(");
        for (int d = 0; d < lead; d++)
          used += (size_t)snprintf(head + used, sizeof head - used, "%lld,", (long long)pos[d] + 1);
        snprintf(head + used, sizeof head - used, ".,.) =");
        luaL_addstring(B, head);
      }
      first_block = 0;
      int rows_axis = nd >= 2 ? nd - 2 : -1, cols_axis = nd - 1;
      int64_t nrows = rows_axis >= 0 ? p->count[rows_axis] : 1;
      for (int64_t r = 0; r < nrows; r++) {
        if (rows_axis >= 0) pos[rows_axis] = shown_pos(p, rows_axis, r);
        if (pass == 1) luaL_addchar(B, '\n');
        if (rows_axis >= 0 && pos[rows_axis] < 0) {
          if (pass == 1) luaL_addstring(B, " ...");
          continue;
        }
        for (int64_t c = 0; c < p->count[cols_axis]; c++) {
          pos[cols_axis] = shown_pos(p, cols_axis, c);
          char cell[64];
          if (pos[cols_axis] < 0) {
            snprintf(cell, sizeof cell, "...");
          } else {
            float v;
            mxb_check(L, value_at(p, pos, &v), "NDArray.__tostring");
            fmt_value(cell, sizeof cell, v);
          }
          int w = (int)strlen(cell);
          if (pass == 0) {
            if (pos[cols_axis] >= 0 && w > p->width) p->width = w;
          } else {
            luaL_addstring(B, c == 0 ? " " : "  ");
            for (int s = w; s < p->width; s++) luaL_addchar(B, ' ');
            luaL_addstring(B, cell);
          }
        }
      }
    }
    last_was_ellipsis = ellipsis;
    int d = lead - 1; /* advance the odometer */
    while (d >= 0 && ++k[d] == p->count[d]) k[d--] = 0;
    if (d < 0) break;
  }
}

int mxb_ndarray_tostring(lua_State *L) {
  mxb_ndarray_ud *ud = luaL_checkudata(L, 1, MXB_NDARRAY_MT);
  if (ud->a == NULL) {
    lua_pushstring(L, ud->borrowed ? "[NDArray (expired)]" : "[NDArray (closed)]");
    return 1;
  }
  printer p;
  memset(&p, 0, sizeof p);
  p.a = ud->a;
  p.nd = mx_ndarray_ndim(ud->a);
  p.shape = mx_ndarray_shape(ud->a);
  int64_t size = mx_ndarray_size(ud->a);
  int abbreviate = size > PRINT_THRESHOLD;
  for (int d = 0; d < p.nd; d++) {
    int64_t n = p.shape[d];
    if (abbreviate && n > 2 * PRINT_EDGE) {
      int c = 0;
      for (int i = 0; i < PRINT_EDGE; i++) p.idx[d][c++] = i;
      p.idx[d][c++] = -1;
      for (int i = PRINT_EDGE; i > 0; i--) p.idx[d][c++] = n - i;
      p.count[d] = c;
      p.abbrev[d] = 1;
    } else {
      p.count[d] = n; /* at most PRINT_THRESHOLD positions, or 2 * PRINT_EDGE */
    }
  }
  if (!abbreviate) {
    float *buf = mxb_scratch(L, (size_t)size * sizeof(float));
    mxb_check(L, mx_ndarray_to_host(ud->a, buf, size), "NDArray.__tostring");
    p.host = buf;
  }
  char head[160], ctx[32];
  size_t used = (size_t)snprintf(head, sizeof head, "[NDArray ");
  for (int d = 0; d < p.nd; d++)
    used += (size_t)snprintf(head + used, sizeof head - used, d ? "x%lld" : "%lld",
                             (long long)p.shape[d]);
  snprintf(head + used, sizeof head - used, " float32 @%s]",
           mx_context_str(mx_ndarray_context(ud->a), ctx, sizeof ctx));
  luaL_Buffer B;
  luaL_buffinit(L, &B);
  luaL_addstring(&B, head);
  if (size > 0) { /* an empty array shows its header alone */
    print_rows(L, &p, NULL, 0);
    print_rows(L, &p, &B, 1);
  }
  luaL_pushresult(&B);
  return 1;
}
