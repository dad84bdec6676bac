/* mxlua.c: the mxlua host: runs scripts with `mx` preloaded (`mxlua script.lua
 * args`, `-e code`, `-i`, `-v`, `-`), or a REPL with readline editing, history,
 * tab completion of mx names, printing of values and help(x) / ?x (the Lua side of those is
 * lua/mx/repl.lua). Modelled on Lua's lua.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "mx.h"

#ifndef MXLUA_SOURCE_ROOT
#define MXLUA_SOURCE_ROOT ""
#endif
/* the build folder whose lua/mx/core.so this mxlua loads (relative to the root): a
 * build/cpu-only/mxlua loads the CPU-only module, not build/lua's CUDA-linked one. */
#ifndef MXLUA_BUILD
#define MXLUA_BUILD "build"
#endif

#define PROMPT1 "> "
#define PROMPT2 ">> "
#define HISTORY_LINES 1000

static const char *progname = "mxlua";
static lua_State *globalL = NULL;

/* ---- interrupting a running command (as lua.c) ---- */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void laction(int sig) {
  signal(sig, SIG_DFL); /* a second Ctrl-C kills the process */
  lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* ---- messages ---- */

static void l_message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    l_message(progname, msg);
    lua_pop(L, 1);
  }
  return status;
}

/* Adds a traceback to an error message. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Calls the function below its narg arguments with a traceback handler and
 * Ctrl-C interrupting it. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  signal(SIGINT, laction);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_sethook(L, NULL, 0, 0); /* a Ctrl-C that came too late must not fire later */
  lua_remove(L, base);
  return status;
}

/* ---- setup ---- */

/* Prepends lua_dir/?.lua;lua_dir/?/init.lua to package.path and c_dir/?.so to package.cpath. */
static void prepend_paths(lua_State *L, const char *lua_dir, const char *c_dir) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", lua_dir, lua_dir, lua_tostring(L, -1));
  lua_setfield(L, -3, "path");
  lua_pop(L, 1);
  lua_getfield(L, -1, "cpath");
  lua_pushfstring(L, "%s/?.so;%s", c_dir, lua_tostring(L, -1));
  lua_setfield(L, -3, "cpath");
  lua_pop(L, 2);
}

/* An installed mxlua (PREFIX/bin/mxlua, or a LuaRocks tree's bin/mxlua) finds mx beside itself:
 * PREFIX/share/lua/5.4 and PREFIX/lib/lua/5.4, whatever PREFIX is. Prepends those to the
 * paths when PREFIX/share/lua/5.4/mx/init.lua is there; returns whether it was. */
static int set_installed_paths(lua_State *L) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 0;
  exe[n] = '\0';
  for (int up = 0; up < 2; up++) { /* PREFIX/bin/mxlua -> PREFIX */
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = '\0';
  }
  char lua_dir[4200], c_dir[4200], init[4300];
  snprintf(lua_dir, sizeof lua_dir, "%s/share/lua/5.4", exe);
  snprintf(c_dir, sizeof c_dir, "%s/lib/lua/5.4", exe);
  snprintf(init, sizeof init, "%s/mx/init.lua", lua_dir);
  if (access(init, R_OK) != 0) return 0;
  prepend_paths(L, lua_dir, c_dir);
  return 1;
}

/* Prepends $MXLUA_ROOT (a checkout) to package.path/cpath; else, for an installed mxlua, the
 * folders beside it (set_installed_paths); else the source tree it was built from. */
static void set_paths(lua_State *L) {
  const char *root = getenv("MXLUA_ROOT");
  if ((root == NULL || root[0] == '\0') && set_installed_paths(L)) return;
  if (root == NULL || root[0] == '\0') root = MXLUA_SOURCE_ROOT;
  if (root[0] == '\0') return; /* the standard Lua paths find mx */
  char lua_dir[4200], c_dir[4200];
  snprintf(lua_dir, sizeof lua_dir, "%s/lua", root);
  if (MXLUA_BUILD[0] == '/')
    snprintf(c_dir, sizeof c_dir, "%s/lua", MXLUA_BUILD);
  else
    snprintf(c_dir, sizeof c_dir, "%s/" MXLUA_BUILD "/lua", root);
  prepend_paths(L, lua_dir, c_dir);
}

/* The global `arg`: arg[0] the script, arg[1..] its arguments, negatives the
 * interpreter and options (as lua5.4 sets it). */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0; /* no script: the interpreter is arg[0] */
  lua_createtable(L, argc - script - 1, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int load_mx(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "mx");
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, "mx");
  return report(L, status);
}

static void print_version(lua_State *L) {
  const char *gpu = "unknown";
  char buf[64];
  lua_getglobal(L, "mx");
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "core");
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "gpu_count");
      if (lua_pcall(L, 0, 1, 0) == LUA_OK && lua_isinteger(L, -1)) {
        lua_Integer n = lua_tointeger(L, -1);
        if (n == 0)
          gpu = "none";
        else
          snprintf(buf, sizeof buf, "%lld device(s)", (long long)n), gpu = buf;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  printf("mxlua %s (Lua %s.%s) \xc2\xb7 cpu: OpenBLAS \xc2\xb7 gpu: %s\n", MX_VERSION, LUA_VERSION_MAJOR,
         LUA_VERSION_MINOR, gpu);
  /* then what the build has: mx.runtime.describe() */
  int top = lua_gettop(L);
  lua_getglobal(L, "mx");
  if (lua_istable(L, -1) && lua_getfield(L, -1, "runtime") == LUA_TTABLE && lua_getfield(L, -1, "describe") == LUA_TFUNCTION &&
      lua_pcall(L, 0, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
    printf("%s\n", lua_tostring(L, -1));
  lua_settop(L, top);
  fflush(stdout);
}

static void print_usage(const char *badoption) {
  if (badoption) fprintf(stderr, "%s: unrecognized option '%s'\n", progname, badoption);
  fprintf(
      stderr,
      "usage: %s [options] [script [args]]\n"
      "Available options are:\n"
      "  -e stat   execute string 'stat'\n"
      "  -i        enter interactive mode after executing 'script'\n"
      "  -l mod    require library 'mod' into global 'mod'\n"
      "  -v        show version information\n"
      "  --        stop handling options\n"
      "  -         execute stdin and stop handling options\n"
      "With no script and no -e, mxlua starts a REPL (reading stdin when it is not a terminal).\n",
      progname);
}

/* ---- running code ---- */

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

static int dolibrary(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, name);
  return report(L, status);
}

/* Runs the script at argv[script] ("-" is stdin) with its arguments as `...`. */
static int handle_script(lua_State *L, char **argv, int argc, int script) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0) fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = argc - script - 1;
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* ---- the REPL ---- */

/* The REPL's Lua helpers are lua/mx/repl.lua (format, complete, command, help). */
static int repl_helpers_ref = LUA_NOREF;
static int interactive = 0; /* stdin is a terminal: readline */
static char history_path[4096];

/* Pushes helper `name` of the REPL's Lua helpers. */
static void push_helper(lua_State *L, const char *name) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, repl_helpers_ref);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

/* ---- tab completion ---- */

static char **completions = NULL;
static int completion_next = 0;

static int collect_completions(lua_State *L) {
  const char *text = lua_tostring(L, 1);
  push_helper(L, "complete");
  lua_pushstring(L, text);
  lua_call(L, 1, 1);
  return 1;
}

static char *completion_generator(const char *text, int state) {
  lua_State *L = globalL;
  if (state == 0) {
    if (completions) {
      for (int i = 0; completions[i]; i++) free(completions[i]);
      free(completions);
      completions = NULL;
    }
    completion_next = 0;
    lua_pushcfunction(L, collect_completions);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
      lua_pop(L, 1);
      return NULL;
    }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    completions = calloc((size_t)n + 1, sizeof *completions);
    if (completions == NULL) {
      lua_pop(L, 1);
      return NULL;
    }
    for (lua_Integer i = 0; i < n; i++) {
      lua_rawgeti(L, -1, i + 1);
      const char *s = lua_tostring(L, -1);
      completions[i] = strdup(s ? s : "");
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (completions == NULL || completions[completion_next] == NULL) return NULL;
  return strdup(completions[completion_next++]);
}

static char **mx_completion(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1; /* never fall back to file names */
  rl_completion_append_character = '\0';
  return rl_completion_matches(text, completion_generator);
}

/* ---- reading lines ---- */

static volatile sig_atomic_t input_interrupted = 0;

/* Ctrl-C at the prompt: drop the line (and a pending multi-line chunk). */
static void prompt_sigint(int sig) {
  (void)sig;
  input_interrupted = 1;
  if (write(STDOUT_FILENO, "\n", 1) < 0) { /* nothing to do */
  }
  rl_on_new_line();
  rl_replace_line("", 0);
  rl_set_prompt(PROMPT1);
  rl_redisplay();
}

/* Reads one line (without its newline) into a malloc'd string; NULL at end of input. */
static char *read_line(const char *prompt) {
  if (interactive) {
    signal(SIGINT, prompt_sigint);
    char *line = readline(prompt);
    signal(SIGINT, SIG_DFL);
    return line;
  }
  fputs(prompt, stdout);
  fflush(stdout);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    free(line);
    return NULL;
  }
  if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
  if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
  return line;
}

/* Is the chunk's compile error only its end coming too soon? */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    const char *mark = "<eof>";
    size_t lmark = strlen(mark);
    if (lmsg >= lmark && strcmp(msg + lmsg - lmark, mark) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

static void save_line(const char *chunk) {
  if (!interactive || chunk[0] == '\0') return;
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last == NULL || strcmp(last->line, chunk) != 0) {
    add_history(chunk);
    if (history_path[0]) append_history(1, history_path);
  }
}

/* Reads and compiles one command: `return <line>` first (to print its value),
 * else the line as a statement, reading more lines while it is incomplete.
 * Leaves the compiled function on the stack; returns its status, or -1 at end of input. */
static char *carried_line = NULL; /* typed after a Ctrl-C that dropped an unfinished chunk */

static int load_command(lua_State *L) {
  char *line;
  for (;;) {
    input_interrupted = 0;
    line = carried_line ? carried_line : read_line(PROMPT1);
    carried_line = NULL;
    if (line == NULL) return -1;
    if (line[strspn(line, " \t")] != '\0') break;
    free(line);
  }
  const char *body = line[0] == '=' ? line + 1 : line; /* Lua 5.1's "=expr" */
  push_helper(L, "command"); /* `?x` is help(x); other lines stay as they are */
  lua_pushstring(L, body);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushstring(L, body);
  }
  const char *retline = lua_pushfstring(L, "return %s;", lua_tostring(L, -1));
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    lua_remove(L, -2);
    save_line(line);
    free(line);
    return status;
  }
  lua_pop(L, 2); /* the error and the "return" text; the command is the chunk so far */
  free(line);
  for (;;) {
    size_t len;
    const char *chunk = lua_tolstring(L, -1, &len);
    status = luaL_loadbuffer(L, chunk, len, "=stdin");
    if (!incomplete(L, status)) break;
    char *more = read_line(PROMPT2);
    if (more == NULL || input_interrupted) { /* end of input or Ctrl-C inside an unfinished chunk */
      lua_pop(L, 1);
      if (more == NULL) return -1;
      carried_line = more; /* the first line of a new command */
      return load_command(L);
    }
    lua_pushfstring(L, "%s\n%s", chunk, more);
    free(more);
    lua_remove(L, -2);
  }
  save_line(lua_tostring(L, -2));
  lua_remove(L, -2);
  return status;
}

/* Prints the values left on the stack by a command, if any. */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  push_helper(L, "format");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 1, 0) != LUA_OK) {
    l_message(progname, lua_pushfstring(L, "error printing the result: %s", lua_tostring(L, -1)));
  } else {
    puts(lua_tostring(L, -1));
    fflush(stdout);
  }
  lua_settop(L, 0);
}

static void init_history(void) {
  const char *path = getenv("MXLUA_HISTORY");
  const char *home = getenv("HOME");
  history_path[0] = '\0';
  if (path != NULL)
    snprintf(history_path, sizeof history_path, "%s", path);
  else if (home != NULL)
    snprintf(history_path, sizeof history_path, "%s/.mxlua_history", home);
  if (history_path[0] == '\0') return;
  using_history();
  stifle_history(HISTORY_LINES);
  if (read_history(history_path) != 0 && errno == ENOENT) write_history(history_path);
}

static void do_repl(lua_State *L) {
  const char *saved = progname;
  progname = NULL;
  interactive = isatty(STDIN_FILENO);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "mx.repl");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    report(L, LUA_ERRRUN);
    return;
  }
  if (lua_getglobal(L, "help") == LUA_TNIL) { /* help(x), unless the user has a help of their own */
    lua_getfield(L, -2, "help");
    lua_setglobal(L, "help");
  }
  lua_pop(L, 1);
  repl_helpers_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  if (interactive) {
    rl_readline_name = "mxlua";
    rl_catch_signals = 0;
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]";
    rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]";
    rl_attempted_completion_function = mx_completion;
    init_history();
  }
  globalL = L;
  int status;
  lua_settop(L, 0);
  while ((status = load_command(L)) != -1) {
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L);
    else
      report(L, status);
    lua_settop(L, 0);
  }
  if (interactive && history_path[0]) history_truncate_file(history_path, HISTORY_LINES);
  fputs("\n", stdout);
  fflush(stdout);
  progname = saved;
}

/* ---- main ---- */

#define HAS_ERROR 1
#define HAS_I 2
#define HAS_V 4
#define HAS_E 8

/* Scans options; sets *first to the script's index (argc when none). */
static int collect_args(char **argv, int argc, int *first) {
  int args = 0, i;
  for (i = 1; i < argc; i++) {
    if (argv[i][0] != '-') break;
    switch (argv[i][1]) {
    case '\0': /* "-": stdin as the script */
      *first = i;
      return args;
    case '-':
      if (argv[i][2] != '\0') return *first = i, HAS_ERROR;
      *first = i + 1 < argc ? i + 1 : argc;
      return args;
    case 'i':
      if (argv[i][2] != '\0') return *first = i, HAS_ERROR;
      args |= HAS_I | HAS_V;
      break;
    case 'v':
      if (argv[i][2] != '\0') return *first = i, HAS_ERROR;
      args |= HAS_V;
      break;
    case 'e':
      args |= HAS_E;
      /* fallthrough */
    case 'l':
      if (argv[i][2] == '\0') {
        i++;
        if (i >= argc || argv[i][0] == '-') return *first = i - 1, HAS_ERROR;
      }
      break;
    case 'h':
      return *first = -1, HAS_ERROR;
    default:
      return *first = i, HAS_ERROR;
    }
  }
  *first = i;
  return args;
}

/* Runs LUA_INIT_5_4 or LUA_INIT ("@file" runs the file), as lua5.4 does. */
static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dochunk(L, luaL_loadfile(L, init + 1));
  return dostring(L, init, name);
}

/* Runs the -e and -l options in order. */
static int run_args(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int opt = argv[i][1];
    if (opt != 'e' && opt != 'l') continue;
    const char *extra = argv[i] + 2;
    if (*extra == '\0') extra = argv[++i];
    int status = opt == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
    if (status != LUA_OK) return 0;
  }
  return 1;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script;
  int args = collect_args(argv, argc, &script);
  if (args == HAS_ERROR) {
    print_usage(script >= 0 && script < argc ? argv[script] : NULL);
    lua_pushboolean(L, script < 0); /* -h is no failure */
    return 1;
  }
  luaL_openlibs(L);
  set_paths(L);
  create_arg_table(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART);
  /* the incremental collector (mx itself leaves the mode alone; bindings_util.c paces either) */
  lua_gc(L, LUA_GCINC, 0, 0, 0);
  if (handle_luainit(L) != LUA_OK) return 0;
  if (load_mx(L) != LUA_OK) return 0;
  int repl = script == argc && !(args & (HAS_E | HAS_V));
  if ((args & HAS_V) || repl) print_version(L);
  if (!run_args(L, argv, script)) return 0;
  if (script < argc && handle_script(L, argv, argc, script) != LUA_OK) return 0;
  if ((args & HAS_I) || repl) do_repl(L);
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    l_message(argv[0], "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int result = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);
  return (result && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
