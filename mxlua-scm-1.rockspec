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
-- The Lua modules mx requires (make deps installs them from Debian; CI builds with
-- --deps-mode none, offline): JSON, files and directories, the scripts' flags.
dependencies = {
   "lua >= 5.4, < 5.5",
   "lua-cjson >= 2.1",
   "luafilesystem >= 1.8",
   "argparse >= 0.7",
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
