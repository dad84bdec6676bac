-- luacheck settings for mxlua's Lua code (make lint).
std = "lua54"
max_line_length = 120
files["tests/spec"] = { std = "+busted" }
files["scripts"] = { globals = { "mx" } }
-- the planted bugs quote source lines whole
files["tests/mutants/list.lua"] = { max_line_length = false }
files["doc/operators.lua"] = { globals = { "mx" } }
