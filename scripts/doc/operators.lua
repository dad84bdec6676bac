-- scripts/doc/operators.lua: writes the operator part of the API reference (`make doc`) from the
-- core's operator registry (mx.core.symbol.op_list(): each operator's doc, inputs and
-- parameters), as LDoc comments adding the constructors to mx.symbol's page, so the pages
-- say what the registry says. Run by `make doc`: mxlua scripts/doc/operators.lua OUT.lua
-- (a build step, not a script of scripts/: its one argument is the file written)
local mx = rawget(_G, 'mx') or require 'mx'

local out = arg and arg[1]
if not out or arg[2] then
  io.stderr:write('usage: mxlua scripts/doc/operators.lua OUT.lua\n')
  os.exit(2)
end

-- Registry text as comment lines: no line break or LDoc tag start inside.
local function text(s) return (tostring(s):gsub('\n', ' '):gsub('@', '(at)')) end

local lines = {
  '--- Operators: the constructors of the core\'s operator registry, one per operator:',
  '-- `mx.symbol.NAME{input = Symbol, ..., param = value, ..., name = \'...\'}` returns a Symbol.',
  '-- Inputs are Symbols, by name or in order; parameters are numbers, booleans, strings or',
  '-- lists (shapes). This section is written by scripts/doc/operators.lua from mx.core.symbol.op_list().',
  '-- @operators mx.symbol',
  '',
  '--- The registry\'s operators',
  '-- @section operators',
  '',
}
local ops = mx.core.symbol.op_list()
-- by name, the internal ones (_Plus: what Symbol arithmetic makes) last
local function key(op) return (op.name:sub(1, 1) == '_' and '~' or '') .. op.name:lower() end
table.sort(ops, function(a, b) return key(a) < key(b) end)
for _, op in ipairs(ops) do
  lines[#lines + 1] = '--- ' .. text(op.doc)
  if #op.arguments > 0 then
    lines[#lines + 1] = '-- Inputs: ' .. table.concat(op.arguments, ', ') .. '.'
  end
  lines[#lines + 1] = "-- @tparam table args the inputs, the parameters below and `name`"
  for _, p in ipairs(op.params) do
    local kind = p.choices and ('one of ' .. p.choices:gsub('|', ', ')) or p.type
    local default = p.default and (', default ' .. p.default) or ', required'
    lines[#lines + 1] = ('-- @param args.%s (%s%s) %s'):format(p.name, text(kind), text(default), text(p.doc))
  end
  lines[#lines + 1] = '-- @treturn Symbol'
  lines[#lines + 1] = '-- @function ' .. op.name
  lines[#lines + 1] = ''
end
local f = assert(io.open(out, 'w'))
f:write(table.concat(lines, '\n'))
f:close()
