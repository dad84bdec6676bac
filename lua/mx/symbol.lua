--- mx.symbol (mx.sym): network graphs. One constructor per operator of the core's
-- registry (mx.symbol.FullyConnected{data = x, num_hidden = 128, name = 'fc1'}),
-- Variable, Group, load/load_json, arithmetic metamethods, bind and simple_bind.
-- @module mx.symbol
local core = require 'mx.core'
require 'mx.executor'

local M = {}
local methods = core.Symbol_methods
local meta = core.Symbol_metatable
local is_symbol = core.symbol.is_symbol

M.Symbol_methods = methods

local op_params = require 'mx.op_params'
local param_text = op_params.text
M._param_text = param_text

-- User attributes are stored as __key__, as MXNet does.
local function user_key(k)
  if k:match('^__.*__$') then return k end
  return '__' .. k .. '__'
end

local function set_attrs(sym, attrs, where)
  if attrs == nil then return end
  if type(attrs) ~= 'table' then error(where .. ': attr must be a table of strings', 3) end
  for k, v in pairs(attrs) do sym:_set_attr(user_key(k), param_text(v, where, k)) end
end

--- mx.symbol.Variable(name, {shape = {...}, attr = {...}, lr_mult = x, wd_mult = x, init = '...'})
function M.Variable(name, opts)
  if type(name) ~= 'string' then
    error(string.format('mx.symbol.Variable: bad argument #1 (a name string expected, got %s)', type(name)), 2)
  end
  local s = core.symbol.variable(name)
  if opts ~= nil then
    if type(opts) ~= 'table' then error('mx.symbol.Variable: bad argument #2 (options table expected)', 2) end
    for k, v in pairs(opts) do
      if k == 'attr' then set_attrs(s, v, 'mx.symbol.Variable')
      elseif k == 'shape' or k == 'lr_mult' or k == 'wd_mult' or k == 'init' or k == 'dtype' then
        s:_set_attr(user_key(k), param_text(v, 'mx.symbol.Variable', k))
      else
        require('mx.options').check({[k] = true}, {'shape', 'attr', 'lr_mult', 'wd_mult', 'init', 'dtype'},
                                    'mx.symbol.Variable', 2)
      end
    end
  end
  return s
end
M.var = M.Variable

-- The constructor of one operator: symbols (by position or input name) are
-- inputs, name and attr are special, everything else is a parameter.
local function constructor(info)
  local where = 'mx.symbol.' .. info.name
  local num_args = op_params.has_num_args(info)
  local special = {name = true, attr = true}
  return function(kw, ...)
    if is_symbol(kw) then kw = {kw, ...} end -- mx.sym.Activation(x, {act_type = ...}) is not MXNet's form
    if kw == nil then kw = {} end
    if type(kw) ~= 'table' then
      error(string.format('%s: bad argument #1 (a table of keyword arguments expected, got %s)', where, type(kw)), 2)
    end
    local params, positional, inputs, extra = op_params.split(kw, is_symbol, 'a Symbol', where, special, num_args)
    local name, attr = extra.name, extra.attr
    if name ~= nil and type(name) ~= 'string' then error(where .. ': name must be a string', 2) end
    local s = core.symbol.create(info.name, name, params, where)
    s = s:_compose(positional, inputs, where)
    set_attrs(s, attr, where)
    return s
  end
end

M._ops = {}
for _, info in ipairs(op_params.op_list()) do
  M._ops[info.name] = info
  M[info.name] = constructor(info)
end

--- mx.symbol.Group{a, b, ...}
function M.Group(list, ...)
  if is_symbol(list) then list = {list, ...} end
  if type(list) ~= 'table' then error('mx.symbol.Group: a list of Symbols expected', 2) end
  return core.symbol.group(list)
end

M.load = core.symbol.load
M.load_json = core.symbol.load_json
M.is_symbol = is_symbol

-- ---- methods ----

-- net{data = other} or net(other): a copy whose variables are replaced.
meta.__call = function(self, kw, ...)
  if is_symbol(kw) then kw = {kw, ...} end
  kw = kw or {}
  local positional, inputs = {}, {}
  for i = 1, #kw do positional[i] = kw[i] end
  for k, v in pairs(kw) do
    if type(k) == 'string' and k ~= 'name' then
      if not is_symbol(v) then error(string.format("Symbol:__call: input '%s' is not a Symbol", k), 2) end
      inputs[k] = v
    end
  end
  return self:_compose(positional, inputs, 'Symbol:__call')
end

local function arith(op, scalar_op, rscalar_op)
  return function(a, b)
    if is_symbol(a) and is_symbol(b) then return M[op]{a, b} end
    if is_symbol(a) and type(b) == 'number' then return M[scalar_op]{a, scalar = b} end
    if type(a) == 'number' and is_symbol(b) then return M[rscalar_op]{b, scalar = a} end
    error(string.format('Symbol arithmetic: cannot combine %s and %s', is_symbol(a) and 'Symbol' or type(a),
      is_symbol(b) and 'Symbol' or type(b)), 2)
  end
end
meta.__add = arith('_Plus', '_PlusScalar', '_PlusScalar')
meta.__sub = arith('_Minus', '_MinusScalar', '_RMinusScalar')
meta.__mul = arith('_Mul', '_MulScalar', '_MulScalar')
meta.__div = arith('_Div', '_DivScalar', '_RDivScalar')
meta.__unm = function(a) return M._MulScalar{a, scalar = -1} end

--- sym:set_attr{key = value, ...}: user attributes (stored as __key__)
function methods.set_attr(self, attrs) set_attrs(self, attrs, 'Symbol:set_attr') end

--- sym:list_attr(): the head node's attributes ({__shape__ = '(2,3)', num_hidden = '128', ...})
-- (a C method, bindings/symbol.c)
-- @function list_attr

-- MXNet 2016: simple_bind makes no gradient for arguments named *data or *label.
local function skip_grad(name)
  return name:sub(-4) == 'data' or name:sub(-5) == 'label'
end
M._skip_grad = skip_grad

local REQS = {null = true, write = true, add = true}
local function check_req(r, where)
  if not REQS[r] then
    error(string.format("%s: bad grad_req '%s' (expected 'write', 'add' or 'null')", where, tostring(r)), 4)
  end
  return r
end

-- grad_req (string, list or name table) as a list in argument order.
local function req_list(names, grad_req, where, skip_inputs)
  local reqs = {}
  for i, n in ipairs(names) do
    local r
    if type(grad_req) == 'string' then
      r = (skip_inputs and skip_grad(n)) and 'null' or grad_req
    elseif type(grad_req) == 'table' then
      r = grad_req[n] or grad_req[i]
      if r == nil then r = (skip_inputs and skip_grad(n)) and 'null' or 'write' end
    else
      error(where .. ': grad_req must be a string or a table', 3)
    end
    reqs[i] = check_req(r, where)
  end
  return reqs
end

--- sym:simple_bind{ctx = mx.cpu(), grad_req = 'write', data = {100, 784}, ...}
-- Every array (arguments, gradients, aux states) lives in the executor's one
-- arena. Arguments named *data / *label get no gradient unless grad_req names
-- them in a table (MXNet 2016's rule); their grad_arrays entries are nil.
function methods.simple_bind(self, kw)
  if type(kw) ~= 'table' then error('Symbol:simple_bind: a table of keyword arguments expected', 2) end
  local shapes = {}
  for k, v in pairs(kw) do
    if k ~= 'ctx' and k ~= 'grad_req' and k ~= 'type_dict' then shapes[k] = v end
  end
  local reqs
  if kw.grad_req ~= nil then reqs = req_list(self:list_arguments(), kw.grad_req, 'Symbol:simple_bind', true) end
  return self:_simple_bind(kw.ctx, shapes, reqs)
end

-- args as a list in list order (false holes) from a list or a name table.
local function array_list(names, arrays, where, what)
  if arrays == nil then return nil end
  if type(arrays) ~= 'table' then
    error(string.format('%s: %s must be a list or a table of NDArrays', where, what), 3)
  end
  local list = {}
  local used = 0
  for i, n in ipairs(names) do
    local a = arrays[n]
    if a == nil then a = arrays[i] end
    if a ~= nil then used = used + 1 end
    list[i] = a or false
  end
  for k in pairs(arrays) do
    if type(k) == 'string' then
      local found = false
      for _, n in ipairs(names) do if n == k then found = true end end
      if not found then error(string.format("%s: %s has no argument named '%s'", where, what, k), 3) end
    end
  end
  return list
end

--- sym:bind{ctx = ..., args = ..., args_grad = ..., grad_req = 'write', aux_states = ...}
-- (or sym:bind(ctx, args, args_grad, grad_req, aux_states)). args/args_grad/
-- aux_states are lists in list order or name tables; without args_grad no
-- gradient is computed. Arrays are used in place (not copied).
function methods.bind(self, ctx, args, args_grad, grad_req, aux_states)
  if type(ctx) == 'table' and (ctx.args ~= nil or ctx.ctx ~= nil) then
    local kw = ctx
    ctx, args, args_grad, grad_req, aux_states = kw.ctx, kw.args, kw.args_grad, kw.grad_req, kw.aux_states
  end
  local where = 'Symbol:bind'
  local names = self:list_arguments()
  local arg_list = array_list(names, args, where, 'args') or {}
  for i, n in ipairs(names) do
    if not arg_list[i] then error(string.format("%s: no array for argument '%s' in args", where, n), 2) end
  end
  local grad_list = array_list(names, args_grad, where, 'args_grad')
  local reqs
  if grad_list == nil then
    reqs = {}
    for i = 1, #names do reqs[i] = 'null' end
  else
    reqs = req_list(names, grad_req or 'write', where, false)
  end
  local aux_list = array_list(self:list_auxiliary_states(), aux_states, where, 'aux_states')
  return self:_bind(ctx, arg_list, grad_list, reqs, aux_list)
end

--- sym:infer_shape{data = {100, 784}} -> arg_shapes, out_shapes, aux_shapes (lists in
-- list order); nil and a message naming what is missing when shapes are incomplete.
-- (a C method, bindings/symbol.c)
-- @function infer_shape

--- sym:debug_str(): the JSON text (MXNet prints its own graph dump).
function methods.debug_str(self) return self:tojson() end

return M
