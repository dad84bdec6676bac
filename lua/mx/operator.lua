-- mx.operator: operators written in Lua. LuaOp (the tutorial's NumpyOp: an instance
-- called with keywords makes a Symbol) and MXNet's CustomOp / CustomOpProp /
-- register, used through mx.symbol.Custom{op_type = ...}. Both run on the core's Custom operator.
-- luacheck: no self (the default methods of the classes ignore their instance)
local core = require 'mx.core'

local operator = {}

-- ---------------------------------------------------------------- classes

-- A class with single inheritance: Class:extend(name) makes a subclass, Class(...)
-- makes an instance and calls its init(...). Metamethods are inherited too.
local function new_class(name, parent)
  local cls = { __name = name, super = parent }
  cls.__index = cls
  if parent then
    for k, v in pairs(parent) do
      if type(k) == 'string' and k:sub(1, 2) == '__' and k ~= '__index' and k ~= '__name' then cls[k] = v end
    end
  end
  return setmetatable(cls, {
    __index = parent,
    __call = function(c, ...)
      local obj = setmetatable({}, c)
      obj:init(...)
      return obj
    end,
    __tostring = function(c) return 'class ' .. c.__name end,
  })
end

local function extend(self, name)
  if type(name) ~= 'string' then error(self.__name .. ':extend: expected a class name (a string)', 2) end
  return new_class(name, self)
end

-- ---------------------------------------------------------------- CustomOp

local CustomOp = new_class('CustomOp')
CustomOp.extend = extend
operator.CustomOp = CustomOp

function CustomOp:init() end

--- forward(is_train, req, in_data, out_data, aux): write the outputs with self:assign.
function CustomOp:forward()
  error(self.__name .. ':forward is not implemented', 2)
end

--- backward(req, out_grad, in_data, out_data, in_grad, aux): write the input gradients with self:assign.
function CustomOp:backward()
  error(self.__name .. ':backward is not implemented', 2)
end

--- assign(dst, req, src): as MXNet: nothing for 'null', dst = src for 'write' and
--- 'inplace', dst += src for 'add'. src is an NDArray or a number.
function CustomOp:assign(dst, req, src)
  if req == 'null' then return end
  if req == 'write' or req == 'inplace' then
    dst:set(src)
  elseif req == 'add' then
    if type(src) == 'number' then dst:set(dst + src) else dst:add_(src) end
  else
    error("CustomOp:assign: bad request '" .. tostring(req) .. "' (expected null, write, inplace or add)", 2)
  end
end

-- ---------------------------------------------------------------- CustomOpProp

local CustomOpProp = new_class('CustomOpProp')
CustomOpProp.extend = extend
operator.CustomOpProp = CustomOpProp

--- init{need_top_grad = true}: a subclass's init(kwargs) receives the symbol's
--- parameters as strings and calls CustomOpProp.init(self, {need_top_grad = ...}).
function CustomOpProp:init(opts)
  opts = type(opts) == 'table' and opts or {}
  if opts.need_top_grad == nil then self.need_top_grad_ = true else self.need_top_grad_ = opts.need_top_grad end
end

function CustomOpProp:list_arguments() return { 'data' } end
function CustomOpProp:list_outputs() return { 'output' } end
function CustomOpProp:list_auxiliary_states() return {} end

--- infer_shape(in_shape) -> in_shapes, out_shapes[, aux_shapes]
function CustomOpProp:infer_shape(in_shape)
  return in_shape, { in_shape[1] }, {}
end

--- declare_backward_dependency(out_grad, in_data, out_data) -> the ids backward reads.
function CustomOpProp:declare_backward_dependency(out_grad, in_data, out_data)
  local deps = {}
  if self.need_top_grad_ then
    for _, id in ipairs(out_grad) do deps[#deps + 1] = id end
  end
  for _, id in ipairs(in_data) do deps[#deps + 1] = id end
  for _, id in ipairs(out_data) do deps[#deps + 1] = id end
  return deps
end

--- create_operator(ctx, in_shapes, in_dtypes) -> a CustomOp instance.
function CustomOpProp:create_operator()
  error(self.__name .. ':create_operator is not implemented', 2)
end

-- ---------------------------------------------------------------- register

local registry = {}
operator.registry = registry
local handlers = {} -- op_type -> the handler the trampoline calls

local function attrs_key(attrs)
  local keys = {}
  for k in pairs(attrs) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. '=' .. attrs[k] end
  return table.concat(parts, '\0')
end

-- The parameters a Prop receives: the node's attributes but op_type and user `__x__` ones.
local function prop_kwargs(attrs)
  local kw = {}
  for k, v in pairs(attrs) do
    if k ~= 'op_type' and not k:match('^__.*__$') then kw[k] = v end
  end
  return kw
end

-- The handler the C trampoline calls (bindings/custom_op.c): one Prop instance
-- per distinct set of parameters, created on first use.
local function make_handler(op_type, Prop)
  local props = {}
  local function prop_of(attrs)
    local key = attrs_key(attrs)
    local p = props[key]
    if not p then
      p = Prop(prop_kwargs(attrs))
      props[key] = p
    end
    return p
  end
  local handler = {}
  function handler.list(attrs, which)
    local p = prop_of(attrs)
    if which == 'arguments' then return p:list_arguments() end
    if which == 'outputs' then return p:list_outputs() end
    return p:list_auxiliary_states()
  end
  function handler.infer_shape(attrs, in_shapes)
    -- the Prop sees the input shapes once the first one is known
    if #(in_shapes[1] or {}) == 0 then return nil end
    return prop_of(attrs):infer_shape(in_shapes)
  end
  function handler.backward_needs(attrs)
    local p = prop_of(attrs)
    local nout, nin = #p:list_outputs(), #p:list_arguments()
    local og, id, od = {}, {}, {}
    for i = 1, nout do og[i] = i end
    for i = 1, nin do id[i] = nout + i end
    for i = 1, nout do od[i] = nout + nin + i end
    local needs = {}
    for _, dep in ipairs(p:declare_backward_dependency(og, id, od) or {}) do
      if dep <= nout then needs.out_grad = true
      elseif dep <= nout + nin then needs.in_data = true
      else needs.out_data = true end
    end
    return needs
  end
  function handler.create_operator(attrs, ctx, in_shapes)
    local dtypes = {}
    for i = 1, #in_shapes do dtypes[i] = 'float32' end
    local op = prop_of(attrs):create_operator(ctx, in_shapes, dtypes)
    if op == nil then error(op_type .. ': create_operator returned nothing (expected a CustomOp)', 0) end
    return op
  end
  function handler.forward(op, is_train, req, in_data, out_data, aux)
    op:forward(is_train, req, in_data, out_data, aux)
  end
  function handler.backward(op, req, out_grad, in_data, out_data, in_grad, aux)
    op:backward(req, out_grad, in_data, out_data, in_grad, aux)
  end
  return handler
end

--- register(op_type, Prop): makes mx.symbol.Custom{op_type = op_type, ...} use Prop.
--- Registering a name again replaces the Prop. Returns Prop.
function operator.register(op_type, Prop)
  if type(op_type) ~= 'string' or op_type == '' then
    error('mx.operator.register: expected an operator name (a non-empty string)', 2)
  end
  if type(Prop) ~= 'table' or not Prop.list_arguments then
    error('mx.operator.register: expected a CustomOpProp class for ' .. op_type, 2)
  end
  local handler = make_handler(op_type, Prop)
  core.custom_op_register(op_type, handler)
  registry[op_type] = Prop
  handlers[op_type] = handler
  return Prop
end

-- mx.symbol.Custom{op_type = ..., name = ..., <inputs>, <parameters>}, generated from
-- the registry, learns here to name an op_type that was never registered.
-- It also asks the Prop for its names first, so that an error in them is raised
-- here, as a Lua error with its traceback (the engine's name lists cannot fail).
local symbol = require 'mx.symbol'
local raw_custom = symbol.Custom
if raw_custom then
  symbol.Custom = function(kwargs)
    local op_type = type(kwargs) == 'table' and kwargs.op_type
    if op_type ~= nil and op_type ~= false then
      op_type = tostring(op_type)
      if not core.custom_op_registered(op_type) then
        error(string.format("mx.symbol.Custom: op_type '%s' is not registered (register it first with "
                            .. 'mx.operator.register)', op_type), 2)
      end
      local attrs = { op_type = op_type }
      for k, v in pairs(kwargs) do
        if type(k) == 'string' and k ~= 'name' and k ~= 'attr' and k ~= 'op_type' and not symbol.is_symbol(v) then
          attrs[k] = symbol._param_text and symbol._param_text(v, 'mx.symbol.Custom', k) or tostring(v)
        end
      end
      for _, which in ipairs(handlers[op_type] and { 'arguments', 'outputs', 'auxiliary_states' } or {}) do
        local names = handlers[op_type].list(attrs, which)
        if type(names) ~= 'table' then
          error(string.format('mx.symbol.Custom: %s: list_%s must return a list of names (got %s)', op_type, which,
                              type(names)), 2)
        end
      end
    end
    return raw_custom(kwargs)
  end
end

local function custom_symbol(kwargs, level)
  if not symbol.Custom then error('mx.operator: mx.symbol.Custom is not available', level + 1) end
  return symbol.Custom(kwargs)
end

-- ---------------------------------------------------------------- LuaOp

local with_requests
local LuaOp = new_class('LuaOp')
LuaOp.extend = extend
operator.LuaOp = LuaOp
operator.NumpyOp = LuaOp -- the tutorial's name
local luaop_count = 0

--- init{need_top_grad = true}
function LuaOp:init(opts)
  opts = type(opts) == 'table' and opts or {}
  if opts.need_top_grad == nil then self.need_top_grad_ = true else self.need_top_grad_ = opts.need_top_grad end
end

function LuaOp:need_top_grad() return self.need_top_grad_ end
function LuaOp:list_arguments() return { 'data' } end
function LuaOp:list_outputs() return { 'output' } end
--- infer_shape(in_shape) -> in_shapes, out_shapes
function LuaOp:infer_shape(in_shape) return in_shape, { in_shape[1] } end
--- forward(in_data, out_data)
function LuaOp:forward() error(self.__name .. ':forward is not implemented', 2) end
--- backward(out_grad, in_data, out_data, in_grad)
function LuaOp:backward() error(self.__name .. ':backward is not implemented', 2) end

-- A LuaOp writes its results, whatever the request: for 'add' it writes into a
-- scratch array that finish() then adds to the real one; for 'null' into a scratch
-- array that is dropped. 'write' and 'inplace' get the executor's array itself.
function with_requests(req, arrays)
  local given, scratch = {}, {}
  for i, a in pairs(arrays) do
    if req[i] == 'add' or req[i] == 'null' then
      local nd = require 'mx.ndarray'
      given[i] = nd.zeros(a:shape(), a:context())
      if req[i] == 'add' then scratch[#scratch + 1] = { a, given[i] } end
    else
      given[i] = a
    end
  end
  return given, function()
    for _, pair in ipairs(scratch) do pair[1]:add_(pair[2]) end
  end
end

-- Registers this instance as a Custom op_type of its own (once).
function LuaOp:op_type()
  if self.op_type_ then return self.op_type_ end
  luaop_count = luaop_count + 1
  local op_type = string.format('_luaop_%s%d', self.__name or 'LuaOp', luaop_count)
  local inst = self
  local Prop = CustomOpProp:extend(op_type)
  function Prop.init(prop) CustomOpProp.init(prop, { need_top_grad = inst.need_top_grad_ }) end
  function Prop.list_arguments() return inst:list_arguments() end
  function Prop.list_outputs() return inst:list_outputs() end
  function Prop.infer_shape(_, in_shape)
    local a, b, c = inst:infer_shape(in_shape)
    return a, b, c or {}
  end
  local Op = CustomOp:extend(op_type)
  function Op.forward(_, _, req, in_data, out_data)
    local arrays, finish = with_requests(req, out_data)
    inst:forward(in_data, arrays)
    finish()
  end
  function Op.backward(_, req, out_grad, in_data, out_data, in_grad)
    local arrays, finish = with_requests(req, in_grad)
    inst:backward(out_grad, in_data, out_data, arrays)
    finish()
  end
  function Prop.create_operator() return Op() end
  operator.register(op_type, Prop)
  self.op_type_ = op_type
  return op_type
end

--- op{data = sym, name = 'softmax', ...}: a Symbol running this operator.
function LuaOp:__call(kwargs)
  if type(kwargs) ~= 'table' then error(self.__name .. ': expected keyword arguments {data = ..., name = ...}', 2) end
  local kw = {}
  for k, v in pairs(kwargs) do kw[k] = v end
  kw.op_type = self:op_type()
  return custom_symbol(kw, 2)
end

return operator
