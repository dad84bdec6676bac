-- mx.op_params: a registry operator's keyword table ({data = x, num_hidden = 128, ...}) split
-- into inputs and MXNet's parameter text. Shared by the constructors generated for every
-- operator: mx.sym.<Op> (inputs are Symbols) and mx.nd.<Op> (inputs are NDArrays).
local core = require 'mx.core'

local M = {}

-- The registry's operators (core.symbol.op_list()), read once and shared by mx.sym and mx.nd.
local op_list
function M.op_list()
  op_list = op_list or core.symbol.op_list()
  return op_list
end

-- A Lua value as MXNet's parameter text: 128 -> "128", true -> "True", {2, 3} -> "(2,3)".
function M.text(v, where, key)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'boolean' then return v and 'True' or 'False' end
  if t == 'number' then
    if math.type(v) == 'integer' or (v == math.floor(v) and math.abs(v) < 1e15) then
      return string.format('%d', math.tointeger(v) or v)
    end
    return string.format('%.9g', v)
  end
  if t == 'table' then
    local parts = {}
    for i, d in ipairs(v) do parts[i] = M.text(d, where, key) end
    return '(' .. table.concat(parts, ',') .. (#parts == 1 and ',)' or ')')
  end
  error(string.format('%s: parameter %s: a %s is not a valid value', where, key, t), 4)
end

-- Does the operator take num_args (a variable count of inputs: Concat, ElementWiseSum)?
function M.has_num_args(info)
  for _, p in ipairs(info.params) do if p.name == 'num_args' then return true end end
  return false
end

-- Splits kw: positional inputs (kw[1..n]), named inputs (values for which is_input is true),
-- the keys listed in `special` (returned in a table as they are), and parameters as text.
-- `what` names an input in errors ('a Symbol', 'an NDArray'). num_args defaults to the count of
-- positional inputs when the operator takes it.
function M.split(kw, is_input, what, where, special, num_args)
  local params, named, positional, extra = {}, {}, {}, {}
  for k, v in pairs(kw) do
    if type(k) == 'number' then
      if not is_input(v) then error(string.format('%s: positional input %d is not %s', where, k, what), 3) end
    elseif special[k] then extra[k] = v
    elseif is_input(v) then named[k] = v
    else params[k] = M.text(v, where, k) end
  end
  for i = 1, #kw do positional[i] = kw[i] end
  if num_args and params.num_args == nil then params.num_args = tostring(#positional) end
  return params, positional, named, extra
end

return M
