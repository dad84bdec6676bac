/* http.c: the draw-a-digit server's HTTP, through libmicrohttpd (MHD). MHD runs
 * with no thread of its own (epoll, driven by MHD_run_wait from server:run), so
 * its request callback runs on the Lua thread, inside run(), and calls the Lua
 * dispatch function under lua_pcall: no library thread ever enters Lua. MHD does
 * the parsing, the limits on connections and head size, the inactivity timeout
 * and keep-alive; this file collects a request's body up to max_body (413 past
 * it) and turns the Lua answer into a response. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "native.h"

#define SERVER_MT "draw_digit.HttpServer"
#define LOG_LINES 64 /* log lines kept between two take_log() calls; later ones are counted */

typedef struct {
  struct MHD_Daemon *daemon;
  lua_State *L;             /* the running Lua state, set only while run() is in MHD_run_wait */
  int dispatch;             /* its stack index of the dispatch function */
  size_t max_body;          /* larger bodies get 413 */
  char last_log[256];       /* MHD's last log message (a failed start says why) */
  char log[LOG_LINES][200]; /* lines for the Lua log, taken by server:take_log() */
  int nlog, dropped;
} server;

/* One request's state, from its first callback to MHD's completion notice. */
typedef struct {
  char *body;
  size_t len, cap;
  int too_big;
} request;

/* Keeps a log line (trailing newlines cut) as the last one and for take_log(). */
static void add_log(server *s, const char *fmt, va_list ap) {
  vsnprintf(s->last_log, sizeof s->last_log, fmt, ap);
  size_t n = strlen(s->last_log);
  while (n > 0 && (s->last_log[n - 1] == '\n' || s->last_log[n - 1] == '\r')) s->last_log[--n] = 0;
  if (s->nlog < LOG_LINES)
    snprintf(s->log[s->nlog++], sizeof s->log[0], "%s", s->last_log);
  else
    s->dropped++;
}

static void on_log(void *cls, const char *fmt, va_list ap) {
  add_log(cls, fmt, ap);
}

static void logf_(server *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_log(s, fmt, ap);
  va_end(ap);
}

/* "host:port" of the client into buf. */
static const char *peer_of(struct MHD_Connection *c, char *buf, size_t len) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  snprintf(buf, len, "?");
  if (ci && ci->client_addr) {
    char host[INET6_ADDRSTRLEN + 1] = "?", port[16] = "?";
    const struct sockaddr *sa = ci->client_addr;
    socklen_t n =
        sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    getnameinfo(sa, n, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(buf, len, "%s:%s", host, port);
  }
  return buf;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
  request *r = *con_cls;
  if (r) {
    free(r->body);
    free(r);
    *con_cls = NULL;
  }
}

/* Queues a response whose body is copied; extra headers come from the caller. */
static struct MHD_Response *new_response(const char *body, size_t len) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)(len ? body : ""), MHD_RESPMEM_MUST_COPY);
  if (resp) MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  return resp;
}

/* Answers {"error": message, "status": status} (message: plain text, escaped here). */
static enum MHD_Result answer_error(struct MHD_Connection *c, unsigned status,
                                    const char *message) {
  char body[512];
  size_t k = (size_t)snprintf(body, sizeof body, "{\"error\":\"");
  for (const char *p = message; *p && k < sizeof body - 32; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\')
      body[k++] = '\\', body[k++] = (char)ch;
    else if (ch >= 0x20)
      body[k++] = (char)ch;
  }
  k += (size_t)snprintf(body + k, sizeof body - k, "\",\"status\":%u}", status);
  struct MHD_Response *resp = new_response(body, k);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  enum MHD_Result ret = MHD_queue_response(c, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
  lua_State *L = cls;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (const char *p = key; *p; p++) luaL_addchar(&b, (char)tolower((unsigned char)*p));
  luaL_pushresult(&b);
  lua_pushstring(L, value ? value : "");
  lua_rawset(L, -3);
  return MHD_YES;
}

/* The request as MHD gave it, for call_dispatch (run under lua_pcall). */
typedef struct {
  server *s;
  struct MHD_Connection *c;
  request *r;
  const char *url, *method, *version;
} call_args;

/* Under lua_pcall, with the dispatch function and the call_args: dispatch(req) -> status,
 * headers, body; checks their types and leaves the three on the stack. */
static int call_dispatch(lua_State *L) {
  call_args *a = lua_touserdata(L, 2);
  lua_pushvalue(L, 1);
  lua_createtable(L, 0, 8);
  lua_pushstring(L, a->method);
  lua_setfield(L, -2, "method");
  lua_pushstring(L, a->url);
  lua_setfield(L, -2, "path");
  lua_pushstring(L, a->version);
  lua_setfield(L, -2, "version");
  lua_pushlstring(L, a->r->body ? a->r->body : "", a->r->len);
  lua_setfield(L, -2, "body");
  lua_newtable(L);
  MHD_get_connection_values(a->c, MHD_HEADER_KIND, add_header, L);
  lua_setfield(L, -2, "headers");
  char peer[INET6_ADDRSTRLEN + 24];
  lua_pushstring(L, peer_of(a->c, peer, sizeof peer));
  lua_setfield(L, -2, "peer");
  lua_call(L, 1, 3);
  if (!lua_isinteger(L, -3) || lua_tointeger(L, -3) < 100 || lua_tointeger(L, -3) > 599)
    return luaL_error(L, "the dispatch function gave no HTTP status");
  luaL_checktype(L, -2, LUA_TTABLE);
  for (lua_pushnil(L); lua_next(L, -3); lua_pop(L, 1))
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "response headers must map strings to strings");
  if (lua_type(L, -1) != LUA_TSTRING) return luaL_error(L, "the response body must be a string");
  return 3;
}

/* Calls the Lua dispatch function for a whole request and queues its answer. */
static enum MHD_Result dispatch(server *s, struct MHD_Connection *c, request *r, const char *url,
                                const char *method, const char *version) {
  lua_State *L = s->L;
  if (!L) return answer_error(c, 503, "the server is not running");
  int top = lua_gettop(L);
  call_args a = {s, c, r, url, method, version};
  lua_pushcfunction(L, call_dispatch);
  lua_pushvalue(L, s->dispatch); /* an index of run()'s frame, which L still is here */
  lua_pushlightuserdata(L, &a);
  if (lua_pcall(L, 2, 3, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    char text[256];
    snprintf(text, sizeof text, "internal error: %s", msg ? msg : "(no message)");
    lua_settop(L, top);
    return answer_error(c, 500, text);
  }
  /* Checked by call_dispatch: nothing below can raise. */
  size_t len;
  const char *body = lua_tolstring(L, -1, &len);
  struct MHD_Response *resp = new_response(body, len);
  enum MHD_Result ret = MHD_NO;
  if (resp) {
    int typed = 0;
    for (lua_pushnil(L); lua_next(L, -3); lua_pop(L, 1)) {
      const char *k = lua_tostring(L, -2);
      typed = typed || strcasecmp(k, MHD_HTTP_HEADER_CONTENT_TYPE) == 0;
      MHD_add_response_header(resp, k, lua_tostring(L, -1));
    }
    if (!typed) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(c, (unsigned)lua_tointeger(L, -3), resp);
    MHD_destroy_response(resp);
  }
  lua_settop(L, top);
  return ret;
}

/* MHD's access handler: called once with the head (r not yet made), then with each piece
 * of the body, then once more with *upload_size 0 when the request is whole. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  server *s = cls;
  request *r = *con_cls;
  char msg[160];
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    *con_cls = r;
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
      errno = 0;
      unsigned long long n = strtoull(cl, NULL, 10);
      if (errno == ERANGE || n > s->max_body) {
        snprintf(msg, sizeof msg, "body of %s bytes is over the limit of %zu bytes", cl,
                 s->max_body);
        char peer[INET6_ADDRSTRLEN + 24];
        logf_(s, "%s rejected: 413 %s", peer_of(c, peer, sizeof peer), msg);
        return answer_error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg); /* the body is never read */
      }
    }
    return MHD_YES;
  }
  if (*upload_size > 0) { /* a piece of the body (a chunked one may still go over) */
    if (!r->too_big && r->len + *upload_size > s->max_body) {
      r->too_big = 1;
      free(r->body);
      r->body = NULL;
      r->len = r->cap = 0;
    }
    if (!r->too_big) {
      if (r->len + *upload_size > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + *upload_size) cap *= 2;
        char *grown = realloc(r->body, cap);
        if (!grown) return MHD_NO;
        r->body = grown, r->cap = cap;
      }
      memcpy(r->body + r->len, upload, *upload_size);
      r->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (r->too_big) {
    snprintf(msg, sizeof msg, "body over the limit of %zu bytes", s->max_body);
    char peer[INET6_ADDRSTRLEN + 24];
    logf_(s, "%s rejected: 413 %s", peer_of(c, peer, sizeof peer), msg);
    return answer_error(c, MHD_HTTP_CONTENT_TOO_LARGE, msg);
  }
  return dispatch(s, c, r, url, method, version);
}

static server *check_server(lua_State *L, const char *where) {
  server *s = luaL_checkudata(L, 1, SERVER_MT);
  if (!s->daemon) luaL_error(L, "%s: the server is closed", where);
  return s;
}

static lua_Integer opt_int(lua_State *L, int t, const char *key, lua_Integer dflt, lua_Integer lo,
                           lua_Integer hi) {
  lua_getfield(L, t, key);
  lua_Integer v = dflt;
  if (!lua_isnil(L, -1)) {
    int ok;
    v = lua_tointegerx(L, -1, &ok);
    if (!ok || v < lo || v > hi)
      luaL_error(L, "http_start: %s must be a whole number from %I to %I", key, lo, hi);
  }
  lua_pop(L, 1);
  return v;
}

/* http_start{host, port, max_connections, timeout, max_body, max_header, backlog} -> server.
 * timeout: seconds a connection may stay silent (idle or mid-request) before MHD closes it;
 * max_header: MHD's per-connection memory, which bounds the request head (431 past it). */
static int l_http_start(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "host");
  const char *host = luaL_optstring(L, -1, "127.0.0.1");
  lua_Integer port = opt_int(L, 1, "port", 8080, 0, 65535);
  lua_Integer maxc = opt_int(L, 1, "max_connections", 512, 1, 65536);
  lua_Integer timeout = opt_int(L, 1, "timeout", 10, 1, 86400);
  lua_Integer max_body = opt_int(L, 1, "max_body", 32 << 20, 0, (lua_Integer)1 << 40);
  lua_Integer max_header = opt_int(L, 1, "max_header", 32 << 10, 4096, 16 << 20);
  lua_Integer backlog = opt_int(L, 1, "backlog", 128, 1, 65535);

  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  int gai = getaddrinfo(host, NULL, &hints, &ai);
  if (gai != 0)
    return luaL_error(L, "cannot listen on %s:%d (%s)", host, (int)port, gai_strerror(gai));
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof addr);
  memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
  int ipv6 = ai->ai_family == AF_INET6;
  freeaddrinfo(ai);
  if (ipv6)
    ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);

  server *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->max_body = (size_t)max_body;
  luaL_setmetatable(L, SERVER_MT);
  unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
  s->daemon = MHD_start_daemon(
      flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &addr,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)maxc, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)max_header, MHD_OPTION_LISTEN_BACKLOG_SIZE,
      (unsigned)backlog, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_EXTERNAL_LOGGER,
      on_log, s, MHD_OPTION_END);
  if (!s->daemon)
    return luaL_error(L, "cannot listen on %s:%d (%s)", host, (int)port,
                      s->last_log[0] ? s->last_log : "libmicrohttpd could not start");
  return 1;
}

/* server:port() -> the port listened on (the one chosen when 0 was asked). */
static int l_port(lua_State *L) {
  server *s = check_server(L, "server:port");
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  lua_pushinteger(L, di ? di->port : 0);
  return 1;
}

/* server:run(ms, dispatch): waits up to ms milliseconds for network events and serves
 * them; dispatch(req) -> status, headers, body is called for each whole request. */
static int l_run(lua_State *L) {
  server *s = check_server(L, "server:run");
  lua_Integer ms = luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  if (s->L) return luaL_error(L, "server:run: already running (called from a request?)");
  if (ms < 0) ms = 0;
  if (ms > 60000) ms = 60000;
  s->L = L;
  s->dispatch = 3;
  s->last_log[0] = 0;
  enum MHD_Result ok = MHD_run_wait(s->daemon, (int32_t)ms);
  s->L = NULL;
  if (ok != MHD_YES && errno != EINTR)
    return luaL_error(L, "server:run: %s", s->last_log[0] ? s->last_log : "MHD_run_wait failed");
  return 0;
}

/* server:take_log() -> the log lines since the last call (libmicrohttpd's messages, the 413s). */
static int l_take_log(lua_State *L) {
  server *s = luaL_checkudata(L, 1, SERVER_MT);
  lua_createtable(L, s->nlog + 1, 0);
  for (int i = 0; i < s->nlog; i++) {
    lua_pushstring(L, s->log[i]);
    lua_rawseti(L, -2, i + 1);
  }
  if (s->dropped) {
    lua_pushfstring(L, "(%d more log lines dropped)", s->dropped);
    lua_rawseti(L, -2, s->nlog + 1);
  }
  s->nlog = s->dropped = 0;
  return 1;
}

/* server:connections() -> how many connections MHD holds now. */
static int l_connections(lua_State *L) {
  server *s = check_server(L, "server:connections");
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
  lua_pushinteger(L, di ? di->num_connections : 0);
  return 1;
}

/* server:close(): stops listening and closes every connection (again: nothing). */
static int l_close(lua_State *L) {
  server *s = luaL_checkudata(L, 1, SERVER_MT);
  if (s->L) return luaL_error(L, "server:close: called while the server runs a request");
  if (s->daemon) MHD_stop_daemon(s->daemon);
  s->daemon = NULL;
  return 0;
}

void dd_open_http(lua_State *L) {
  static const luaL_Reg methods[] = {{"port", l_port},
                                     {"run", l_run},
                                     {"close", l_close},
                                     {"connections", l_connections},
                                     {"take_log", l_take_log},
                                     {"__gc", l_close},
                                     {NULL, NULL}};
  if (luaL_newmetatable(L, SERVER_MT)) {
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_http_start);
  lua_setfield(L, -2, "http_start");
}
