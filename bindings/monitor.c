/* monitor.c (bindings): POSIX extended regular expressions (libc's regex) for
 * mx.mon.Monitor's name pattern, matched from the start of the name as
 * Python's re.match does. */
#include <regex.h>
#include <stdlib.h>

#include "bindings.h"

#define REGEX_MT "mx.Regex"

typedef struct regex_ud {
  regex_t re;
  int compiled;
} regex_ud;

static int regex_gc(lua_State *L) {
  regex_ud *r = luaL_checkudata(L, 1, REGEX_MT);
  if (r->compiled) regfree(&r->re);
  r->compiled = 0;
  return 0;
}

/* regex_compile(pattern[, where]) -> a compiled pattern with :match(s) */
static int l_regex_compile(lua_State *L) {
  const char *pattern = luaL_checkstring(L, 1);
  const char *where = luaL_optstring(L, 2, "mx.mon.Monitor");
  regex_ud *r = lua_newuserdatauv(L, sizeof *r, 0);
  r->compiled = 0;
  luaL_setmetatable(L, REGEX_MT);
  int rc = regcomp(&r->re, pattern, REG_EXTENDED);
  if (rc != 0) {
    char msg[256];
    regerror(rc, &r->re, msg, sizeof msg);
    return luaL_error(L, "%s: bad regular expression '%s' (%s)", where, pattern, msg);
  }
  r->compiled = 1;
  return 1;
}

/* r:match(s) -> true when the pattern matches a prefix of s. */
static int l_regex_match(lua_State *L) {
  regex_ud *r = luaL_checkudata(L, 1, REGEX_MT);
  const char *s = luaL_checkstring(L, 2);
  if (!r->compiled) return luaL_error(L, "mx.Regex:match: the pattern was not compiled");
  regmatch_t m;
  /* the leftmost match starts at 0 exactly when some match starts at 0 */
  int rc = regexec(&r->re, s, 1, &m, 0);
  lua_pushboolean(L, rc == 0 && m.rm_so == 0);
  return 1;
}

void mxb_open_monitor(lua_State *L) {
  if (luaL_newmetatable(L, REGEX_MT)) {
    lua_pushcfunction(L, regex_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    lua_pushcfunction(L, l_regex_match);
    lua_setfield(L, -2, "match");
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_regex_compile);
  lua_setfield(L, -2, "regex_compile");
}
