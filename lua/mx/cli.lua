--- mx.cli: the one way mxlua's scripts read their command-line flags, through lua-argparse:
-- `--help` is generated from the declarations, `--flag value` and `--flag=value` both work,
-- and every error (an unknown flag, named with the closest valid one; a value that is not a
-- number; a check of the script's own) is "<script>: <what>" and exit status 2.
-- @module mx.cli
local argparse = require 'argparse'
local options = require 'mx.options'

local cli = {}

local script_of = setmetatable({}, {__mode = 'k'}) -- parser -> the script's name, for messages

--- An argparse parser for `scripts/<script>.lua`.
-- Declare its flags with argparse's own methods (`:option`, `:flag`); `--help` is there.
-- @string script the script's name without `.lua` (`train_mnist`), the prefix of its errors
-- @string description what the script does (the first lines of `--help`)
-- @string[opt] epilog text printed after the flags
-- @return the parser
function cli.parser(script, description, epilog)
  local parser = argparse('mxlua scripts/' .. script .. '.lua', description, epilog)
  parser:help_max_width(100)
  script_of[parser] = script
  return parser
end

local function converter(flag, what, integer)
  return function(s)
    local n = tonumber(s)
    if n ~= nil and integer then n = math.tointeger(n) end
    if n == nil then return nil, ('%s expects %s (got %s)'):format(flag, what, tostring(s)) end
    return n
  end
end

--- A converter (argparse's `:convert`) to an integer; its error names the flag.
-- @string flag the flag's name, `--epochs`
-- @return function(text) -> integer, or nil and "--epochs expects an integer (got two)"
function cli.integer(flag) return converter(flag, 'an integer', true) end

--- A converter (argparse's `:convert`) to a number; its error names the flag.
-- @string flag the flag's name, `--lr`
-- @return function(text) -> number, or nil and "--lr expects a number (got x)"
function cli.number(flag) return converter(flag, 'a number', false) end

--- Declares `--data DIR`, the MNIST folder, as every script that reads MNIST has it.
-- @param parser a parser from `cli.parser`
-- @return the option (argparse's), unset when not given: `mx.test_utils.mnist_files(nil)` then
-- looks in $MXLUA_DATA, data/mnist under the current folder, then the checkout's data/mnist
function cli.data(parser)
  return parser:option('--data', [[
folder of the MNIST IDX files (default: $MXLUA_DATA, data/mnist under the
current folder, then data/mnist in this script's checkout)]]):argname('DIR')
end

--- Declares `--ctx cpu|gpu`, where the script computes.
-- @param parser a parser from `cli.parser`
-- @string[opt] default 'cpu' or 'gpu'; none: the option is nil when not given
-- @string[opt] default_text the help's words for the default when there is none
-- @return the option (argparse's)
function cli.ctx(parser, default, default_text)
  local description = 'where to compute' .. (default_text and (' (default: ' .. default_text .. ')') or '')
  return parser:option('--ctx', description, default):argname('cpu|gpu'):choices{'cpu', 'gpu'}
end

--- Writes "<script>: <message>" and a pointer to `--help` on stderr, and
-- exits with status 2: for the script's own checks after parsing, as for argparse's.
-- @param parser a parser from `cli.parser`
-- @string message what is wrong
function cli.fail(parser, message)
  local script = script_of[parser] or 'mxlua'
  io.stderr:write(script, ': ', message, "\nTry 'mxlua scripts/", script, ".lua --help' for the flags.\n")
  os.exit(2)
end

-- The long names of the parser's options (argparse 0.7 keeps each option's names in
-- _aliases; Debian 12 packages 0.7.1).
local function flag_names(parser)
  local names = {}
  for _, option in ipairs(parser._options) do
    for _, alias in ipairs(option._aliases) do
      if alias:match('^%-%-') then names[#names + 1] = alias end
    end
  end
  return names
end

--- Parses the command line with the parser; on an error, `cli.fail`s with argparse's message,
-- an unknown flag named with the closest valid flag (by edit distance, as `mx.options` does).
-- @param parser a parser from `cli.parser`
-- @tparam[opt] {string,...} args the arguments (default: the script's `arg`)
-- @treturn table the values by name (`--batch-size` -> `batch_size`)
function cli.parse(parser, args)
  local ok, result = parser:pparse(args or rawget(_G, 'arg') or {})
  if ok then return result end
  local unknown = result:match("^unknown option '(.-)'")
  if unknown then
    local names = flag_names(parser)
    table.sort(names)
    result = ('unknown option %s (closest valid option: %s)'):format(unknown, options.closest(unknown, names))
  end
  cli.fail(parser, result)
end

return cli
