--- mx.operator: operators written in Lua. LuaOp (the tutorial's NumpyOp: a class registered
-- under its name, whose instances called with keywords make Symbols) and MXNet's CustomOp /
-- CustomOpProp / register, used through mx.symbol.Custom{op_type = ...}. Both run on the
-- core's Custom operator; debug(true) (or MXLUA_DEBUG=1) checks what their methods write.
-- @module mx.operator

-- luacheck: no self (the default methods of the classes ignore their instance)
local core = require 'mx.core'
local literal = require 'mx.literal'
local class = require 'mx.class'

local operator = {}

-- ---------------------------------------------------------------- classes

local function extend(self, name)
  if type(name) ~= 'string' then error(self.__name .. ':extend: expected a class name (a string)', 2) end
  return class(name, self)
end

-- ---------------------------------------------------------------- CustomOp

local CustomOp = class('CustomOp')
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

local CustomOpProp = class('CustomOpProp')
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


-- ---------------------------------------------------------------- debug mode

local debugging = (os.getenv('MXLUA_DEBUG') or '') ~= '' and os.getenv('MXLUA_DEBUG') ~= '0'

--- debug([on]) -> whether debug mode was on before. In debug mode (also MXLUA_DEBUG=1) the
--- methods of Lua operators are checked: a forward (backward) that leaves an output (a
--- requested gradient) unwritten, or assigns to an element of out_data (in_grad) instead
--- of writing the array, is an error naming the operator, the method and its script line.
function operator.debug(on)
  local was = debugging
  if on ~= nil then debugging = on and true or false end
  return was
end

-- "Swish:forward (script.lua:12)": a method, and the line that defines it.
local function method_where(obj, method)
  local fn = obj[method]
  local info = type(fn) == 'function' and debug.getinfo(fn, 'S')
  local name = string.format('%s:%s', obj.__name or '?', method)
  if info and info.what == 'Lua' then return string.format('%s (%s:%d)', name, info.short_src, info.linedefined) end
  return name
end

-- The arrays a method writes, behind a proxy that refuses `t[i] = v`: that would replace
-- the table's entry and leave the executor's array as it was.
local function guarded(arrays, n, label, where)
  return setmetatable({}, {
    __index = arrays,
    __len = function() return n end,
    __pairs = function() return next, arrays, nil end,
    __newindex = function(_, k)
      error(string.format("%s: %s[%s] = ... replaces the table's entry, not the array's contents: write with "
                          .. '%s[%s]:set(value) (or self:assign)', where, label, tostring(k), label, tostring(k)), 2)
    end,
  })
end

-- Fills the arrays a method must write with a marker value, and counts what is left of it after.
local function poison(arrays, req, n)
  for i = 1, n do
    if arrays[i] and req[i] ~= 'inplace' and req[i] ~= 'add' then core.custom_op_poison(arrays[i]) end
  end
end
local function check_written(arrays, req, n, names, label, where)
  for i = 1, n do
    local a = arrays[i]
    if a and req[i] ~= 'inplace' and req[i] ~= 'add' then
      local left = core.custom_op_unwritten(a)
      if left > 0 then
        error(string.format("%s left %s[%d] ('%s') unwritten (%d of %d elements): write it with %s[%d]:set(value)",
                            where, label, i, tostring(names[i] or '?'), left, a:size(), label, i), 0)
      end
    end
  end
end

-- Runs obj[method](obj, ...) where `arrays` (argument `pos`, named `label`) are what it must
-- write: in debug mode, checked as above.
local function run_method(obj, method, arrays, req, n, names, label, pos, ...)
  if not debugging then return obj[method](obj, ...) end
  local where = method_where(obj, method)
  poison(arrays, req, n)
  local args = table.pack(...)
  args[pos] = guarded(arrays, n, label, where)
  obj[method](obj, table.unpack(args, 1, args.n))
  check_written(arrays, req, n, names, label, where)
end

-- infer_shape's answer: one shape per name of each list (aux shapes may be left out when
-- there are none). Checked always: a bind happens once, and a wrong count is a bug.
local function check_shape_counts(obj, lists)
  for _, l in ipairs(lists) do
    local got = l.shapes
    if got == nil and l.n == 0 and l.optional then got = {} end
    if type(got) ~= 'table' then
      error(string.format('%s returned %s for the %s shapes (expected a list of %d shapes, one per name of %s)',
                          method_where(obj, 'infer_shape'), type(got), l.what, l.n, l.list), 0)
    end
    if #got ~= l.n then
      error(string.format('%s returned %d %s shape%s, expected %d (one per name of %s)',
                          method_where(obj, 'infer_shape'),
                          #got, l.what, #got == 1 and '' or 's', l.n, l.list), 0)
    end
  end
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

-- Which of out_grad, in_data, out_data backward reads, from MXNet's declare_backward_dependency.
local function needs_of(p)
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

-- The handler the C trampoline calls (bindings/custom_op.c) for a CustomOpProp: one Prop
-- instance per distinct set of parameters, created on first use.
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
  function handler.infer_shape(attrs, in_shapes, nout, naux)
    -- the Prop sees the input shapes once the first one is known
    if #(in_shapes[1] or {}) == 0 then return nil end
    local p = prop_of(attrs)
    local ins, outs, auxs = p:infer_shape(in_shapes)
    check_shape_counts(p, {
      { shapes = ins, n = #in_shapes, what = 'input', list = 'list_arguments' },
      { shapes = outs, n = nout, what = 'output', list = 'list_outputs' },
      { shapes = auxs, n = naux, what = 'auxiliary', list = 'list_auxiliary_states', optional = true } })
    return ins, outs, auxs
  end
  function handler.backward_needs(attrs) return needs_of(prop_of(attrs)) end
  function handler.create_operator(attrs, ctx, in_shapes)
    local dtypes = {}
    for i = 1, #in_shapes do dtypes[i] = 'float32' end
    local p = prop_of(attrs)
    local op = p:create_operator(ctx, in_shapes, dtypes)
    if op == nil then error(op_type .. ': create_operator returned nothing (expected a CustomOp)', 0) end
    return { op = op, outputs = p:list_outputs(), arguments = p:list_arguments() }
  end
  function handler.forward(node, is_train, req, in_data, out_data, aux)
    run_method(node.op, 'forward', out_data, req, #req, node.outputs, 'out_data', 4, is_train, req, in_data,
               out_data, aux)
  end
  function handler.backward(node, req, out_grad, in_data, out_data, in_grad, aux)
    run_method(node.op, 'backward', in_grad, req, #req, node.arguments, 'in_grad', 5, req, out_grad, in_data,
               out_data, in_grad, aux)
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
-- here, as a Lua error with its traceback.
local symbol = require 'mx.symbol'
local raw_custom = symbol.Custom
if raw_custom then
  symbol.Custom = function(kwargs)
    local op_type = type(kwargs) == 'table' and kwargs.op_type
    if op_type ~= nil and op_type ~= false then
      op_type = tostring(op_type)
      if not core.custom_op_registered(op_type) then
        error(string.format("mx.symbol.Custom: op_type '%s' is not registered (register it first with "
                            .. 'mx.operator.register, or define its LuaOp class)', op_type), 2)
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

local LuaOp = class('LuaOp')
-- a LuaOp keeps its constructor's arguments: they are saved with its symbols
LuaOp.__new = function(cls, ...)
  local obj = setmetatable({ init_args_ = table.pack(...) }, cls)
  obj:init(...)
  return obj
end
operator.LuaOp = LuaOp
operator.NumpyOp = LuaOp -- the tutorial's name

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

-- A LuaOp writes its results whatever the request: for 'add' into a scratch array that
-- finish adds to the real one, for 'null' into one that is dropped. The scratch arrays
-- are the node's own, made on its first call; 'write' and 'inplace' get the executor's.
local function with_requests(node, req, arrays, n)
  local given = arrays
  for i = 1, n do
    local a = arrays[i]
    if a and (req[i] == 'add' or req[i] == 'null') then
      if given == arrays then
        given = node.given or {}
        node.given = given
        for j = 1, n do given[j] = arrays[j] end
      end
      if not node[i] then node[i] = require('mx.ndarray').zeros(a:shape(), a:context()) end
      given[i] = node[i]
    end
  end
  return given
end
local function finish(req, arrays, given, n)
  if given == arrays then return end
  for i = 1, n do
    if req[i] == 'add' and arrays[i] then arrays[i]:add_(given[i]) end
  end
end

-- The handler of a LuaOp class: an instance per distinct constructor arguments (the node's
-- init_args attribute), the one that made the symbol while it lives, else made again.
local function luaop_handler(op_type, cls)
  local instances = setmetatable({}, { __mode = 'v' })
  local h = {}
  function h.remember(key, inst) instances[key] = inst end
  local function instance(attrs)
    local key = attrs.init_args or '{}'
    local inst = instances[key]
    if inst == nil then
      local ok, args, n = pcall(literal.decode_list, key)
      if not ok then error(string.format("%s: init_args '%s': %s", op_type, key, args), 0) end
      inst = cls(table.unpack(args, 1, n))
      instances[key] = inst
    end
    return inst
  end
  function h.list(attrs, which)
    local inst = instance(attrs)
    if which == 'arguments' then return inst:list_arguments() end
    if which == 'outputs' then return inst:list_outputs() end
    return {}
  end
  function h.infer_shape(attrs, in_shapes, nout)
    if #(in_shapes[1] or {}) == 0 then return nil end
    local inst = instance(attrs)
    local ins, outs = inst:infer_shape(in_shapes)
    check_shape_counts(inst, {
      { shapes = ins, n = #in_shapes, what = 'input', list = 'list_arguments' },
      { shapes = outs, n = nout, what = 'output', list = 'list_outputs' } })
    return ins, outs, {}
  end
  function h.backward_needs(attrs)
    return { in_data = true, out_data = true, out_grad = instance(attrs).need_top_grad_ ~= false }
  end
  -- each bound node gets its own view of the instance: what forward stores on self (a value
  -- its backward reuses) is that node's, while reads fall through to the shared instance
  function h.create_operator(attrs)
    local inst = instance(attrs)
    local own = setmetatable({}, { __index = inst })
    return { inst = own, fwd = {}, bwd = {}, outputs = inst:list_outputs(), arguments = inst:list_arguments() }
  end
  -- a LuaOp writes every array it is given, scratch ones included: checked as 'write'
  local function as_written(node, req, n)
    local w = node.written or {}
    node.written = w
    for i = 1, n do w[i] = req[i] == 'inplace' and 'inplace' or 'write' end
    return w
  end
  function h.forward(node, _, req, in_data, out_data)
    local n = #req
    local outs = with_requests(node.fwd, req, out_data, n)
    run_method(node.inst, 'forward', outs, debugging and as_written(node, req, n), n, node.outputs, 'out_data', 2,
               in_data, outs)
    finish(req, out_data, outs, n)
  end
  function h.backward(node, req, out_grad, in_data, out_data, in_grad)
    local n = #req
    local grads = with_requests(node.bwd, req, in_grad, n)
    run_method(node.inst, 'backward', grads, debugging and as_written(node, req, n), n, node.arguments, 'in_grad', 4,
               out_grad, in_data, out_data, grads)
    finish(req, in_grad, grads, n)
  end
  return h
end

--- LuaOp:extend(name[, op_type]) -> a subclass, registered at once as the operator type
--- op_type (default: name) that its symbols are saved under. A process that loads them
--- defines (requires) the class first. Defining a name again replaces the class.
function LuaOp.extend(parent, name, op_type)
  if type(name) ~= 'string' or name == '' then
    error(tostring(parent.__name) .. ':extend: expected a class name (a non-empty string)', 2)
  end
  if op_type == nil then op_type = name end
  if type(op_type) ~= 'string' or op_type == '' then
    error(string.format('%s:extend(%q): the operator type must be a non-empty string', parent.__name, name), 2)
  end
  local cls = class(name, parent)
  cls.op_type_ = op_type
  local h = luaop_handler(op_type, cls)
  core.custom_op_register(op_type, h)
  handlers[op_type] = h
  registry[op_type] = cls
  return cls
end

--- The operator type the class is registered under.
function LuaOp:op_type()
  if not self.op_type_ then
    error(tostring(self.__name) .. ' is not registered: make a class with mx.operator.LuaOp:extend(name)', 2)
  end
  return self.op_type_
end

--- op{data = sym, name = 'swish1', attr = {...}}: a Symbol running this operator. The
--- constructor's arguments are saved with it (node attribute init_args).
function LuaOp:__call(kwargs)
  local op_type = self.op_type_
  if not op_type then
    error(tostring(self.__name) .. ' is not registered: make a class with mx.operator.LuaOp:extend(name)', 2)
  end
  if type(kwargs) ~= 'table' then error(self.__name .. ': expected keyword arguments {data = ..., name = ...}', 2) end
  local args = self.init_args_ or { n = 0 }
  local ok, text = pcall(literal.encode_list, args.n, table.unpack(args, 1, args.n))
  if not ok then
    error(string.format('%s: constructor %s; the arguments of a LuaOp are saved with its symbols', self.__name, text),
          2)
  end
  local kw = {}
  for k, v in pairs(kwargs) do
    if type(k) == 'string' and k ~= 'name' and k ~= 'attr' and not symbol.is_symbol(v) then
      error(string.format("%s: unknown keyword '%s' (inputs are Symbols; parameters go to the constructor, %s(...))",
                          self.__name, k, self.__name), 2)
    end
    kw[k] = v
  end
  kw.op_type = op_type
  if text ~= '{}' then kw.init_args = text end
  handlers[op_type].remember(text, self)
  return custom_symbol(kw, 2)
end

return operator
