-- mxlua-scm-1.rockspec: `luarocks make` in a checkout builds mx with the Makefile (`make all`,
-- configured for what this machine has) and installs the Lua module mx, its C module mx.core
-- and the mxlua host into the tree. Debian's plain `luarocks` runs Lua 5.1 when that is
-- installed: say 5.4, `luarocks --lua-version 5.4 make` (or Debian's `luarocks-5.4 make`).
rockspec_format = "3.0"
package = "mxlua"
version = "scm-1"
source = {
   url = "git+file://.", -- `luarocks make` builds the checkout it is run in
}
description = {
   summary = "A Lua-scriptable deep-learning training runtime with MXNet's API",
   detailed = [[
      NDArrays, symbols, executors, optimizers, KVStore and FeedForward training as in
      MXNet, with a C engine (CPU through OpenBLAS, CUDA when nvcc is found) and the
      mxlua host program.
   ]],
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "make",
   build_target = "all",
   install_target = "install-lua",
   install_variables = {
      LUA_DIR = "$(LUADIR)",
      LUA_CDIR = "$(LIBDIR)",
      BIN_DIR = "$(BINDIR)",
   },
}
