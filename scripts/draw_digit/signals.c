/* signals.c: SIGINT/SIGTERM caught as a flag that the server loop polls, so
 * that Ctrl-C stops the draw-a-digit server cleanly between two waits. */
#include <lauxlib.h>
#include <signal.h>
#include <string.h>

#include "native.h"

static volatile sig_atomic_t caught_signal;
static struct sigaction old_int, old_term;
static int catching;

static void on_signal(int sig) {
  caught_signal = sig;
}

/* sigint_catch(): from now on SIGINT and SIGTERM only set the flag. */
static int l_sigint_catch(lua_State *L) {
  if (!catching) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    catching = 1;
  }
  caught_signal = 0;
  return 0;
}

/* sigint_caught() -> the signal's name ("SIGINT"/"SIGTERM") once caught, else nil; clears it. */
static int l_sigint_caught(lua_State *L) {
  int sig = caught_signal;
  caught_signal = 0;
  if (sig == 0) return 0;
  lua_pushstring(L, sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 1;
}

/* sigint_release(): puts back the handlers that were there before sigint_catch. */
static int l_sigint_release(lua_State *L) {
  if (catching) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    catching = 0;
  }
  return 0;
}

void dd_open_signals(lua_State *L) {
  static const luaL_Reg fns[] = {{"sigint_catch", l_sigint_catch},
                                 {"sigint_caught", l_sigint_caught},
                                 {"sigint_release", l_sigint_release},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
