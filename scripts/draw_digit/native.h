/* native.h: the parts of the demo's C module draw_digit.native; each file
 * registers its functions into the module table on the stack top. */
#ifndef DRAW_DIGIT_NATIVE_H
#define DRAW_DIGIT_NATIVE_H

#include <lua.h>

void dd_open_http(lua_State *L);    /* http.c: the libmicrohttpd server */
void dd_open_signals(lua_State *L); /* signals.c: SIGINT/SIGTERM as a polled flag */

#endif
