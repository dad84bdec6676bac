--- mx.nd (mx.ndarray): the NDArray functions. Most are C functions from mx.core
-- (bindings/ndarray.c), shared with the NDArray methods (x:exp() is mx.nd.exp(x));
-- this file adds the Lua-written ones. Positions (axes, rows) are 1-based.
--
-- Index (C unless marked Lua):
--   make:     array(nested|NDArray|number[, ctx]) zeros ones empty (shape[, ctx]) full(shape, v[, ctx])
--             arange(start, stop[, step[, ctx]]) random_permutation(n[, ctx]) zeros_like ones_like (Lua)
--   math:     add subtract multiply divide maximum minimum power (arrays or numbers, broadcasting)
--             equal not_equal greater greater_equal lesser lesser_equal (1/0 arrays)
--             exp log sqrt abs negative square relu sigmoid tanh sign softrelu reciprocal clip(x, lo, hi)
--             sum mean max min argmax argmin norm (x[, axis[, keepdims]]) dot(a, b[, {transpose_a=, transpose_b=}])
--             one_hot(labels, depth[, on, off]) onehot_encode(labels, out) (Lua)
--   shape:    reshape transpose expand_dims squeeze slice_axis take concat{a, b, axis=} slice copy copyto
--   other:    waitall is_ndarray save(fname, list|dict) load(fname[, ctx]) (Lua)
--   methods:  all of math and shape as x:f(...), and shape size ndim context dtype totable asscalar
--             set(v) add_ sub_ mul_ div_ as_in_context wait_to_read close astype (Lua) T (Lua);
--             x[i] (number for 1-D, row view otherwise), x[{i, j, ...}] (the element), x[i] = v, #x,
--             + - * / ^ and unary -.
-- @module mx.ndarray
local core = require 'mx.core'

local M = {}
for name, fn in pairs(core.nd) do M[name] = fn end

-- The methods table behind every NDArray's __index: add a function here and
-- every array has it as a method.
local methods = core.NDArray_methods
M.NDArray_methods = methods

-- Functional forms of some methods: mx.nd.slice(x, 1, 10), mx.nd.copy(x).
for _, name in ipairs{'slice', 'copy', 'copyto', 'totable', 'asscalar', 'as_in_context'} do
  M[name] = methods[name]
end

-- ---- mx.nd.<Op>: every registry operator run eagerly ----
-- mx.nd.Convolution{data = x, weight = w, bias = b, kernel = {3, 3}, num_filter = 8} gives what
-- a bound mx.sym.Convolution's forward gives (is_train false; {is_train = true} in the table runs
-- the training forward, e.g. Dropout's mask). Inputs by position (the operator's input order:
-- arguments then aux states) or by name, parameters as for mx.sym; one output is returned as an
-- NDArray, several as a list. Names the NDArray functions already have (sum, max, clip,
-- transpose, ...) keep their Lua form, f(x, ...); called with a keyword table holding an
-- NDArray they run the registry operator: mx.nd.sum{x, axis = 1} (MXNet's 0-based axis).
local op_params = require 'mx.op_params'
local is_ndarray = core.nd.is_ndarray
local invoke = core.nd_invoke
local special = {is_train = true}

local function eager(info)
  local where = 'mx.nd.' .. info.name
  local num_args = op_params.has_num_args(info)
  return function(kw, ...)
    if is_ndarray(kw) then kw = {kw, ...} end
    if type(kw) ~= 'table' then
      error(string.format('%s: bad argument #1 (a table of keyword arguments expected, got %s)', where, type(kw)), 2)
    end
    local params, positional, named, extra = op_params.split(kw, is_ndarray, 'an NDArray', where, special, num_args)
    return invoke(info.name, params, positional, named, where, extra.is_train)
  end
end

M._ops = {}
for _, info in ipairs(op_params.op_list()) do
  M._ops[info.name] = info
  local fn, lua_form = eager(info), M[info.name]
  if lua_form then -- f(x, ...) keeps today's meaning; f{...} holding an NDArray is the operator
    M[info.name] = function(x, ...)
      if type(x) == 'table' and not is_ndarray(x) then
        for _, v in pairs(x) do
          if is_ndarray(v) then return fn(x) end
        end
      end
      return lua_form(x, ...)
    end
  else
    M[info.name] = fn
  end
end

local function check_ndarray(x, where, arg)
  if not M.is_ndarray(x) then
    local t = type(x)
    error(string.format('%s: bad argument #%d (NDArray expected, got %s)', where, arg,
      t == 'nil' and 'nil' or t), 0)
  end
end

function M.zeros_like(x)
  check_ndarray(x, 'mx.nd.zeros_like', 1)
  return M.zeros(x:shape(), x:context())
end

function M.ones_like(x)
  check_ndarray(x, 'mx.nd.ones_like', 1)
  return M.ones(x:shape(), x:context())
end

-- MXNet's onehot_encode(indices, out): writes the one-hot rows into out, returns out.
function M.onehot_encode(indices, out)
  check_ndarray(indices, 'mx.nd.onehot_encode', 1)
  check_ndarray(out, 'mx.nd.onehot_encode', 2)
  return out:set(M.one_hot(indices, out:shape()[2]))
end

-- x:astype('float32'): a copy (float32 is the only element type).
function methods.astype(x, dtype)
  if dtype ~= 'float32' then
    error(string.format("NDArray:astype: only 'float32' is supported (got %s)", tostring(dtype)), 0)
  end
  return x:copy()
end

-- x:T(): the transpose of a 2-D array.
function methods.T(x)
  if x:ndim() ~= 2 then
    error(string.format('NDArray:T: needs a 2-D array (got %d axes)', x:ndim()), 0)
  end
  return x:transpose()
end

-- mx.nd.save(fname, arrays): arrays a list of NDArrays or a table name -> NDArray
-- (MXNet's .params layout); mx.nd.load(fname[, ctx]) gives back the list or table.
function M.save(fname, data)
  if type(fname) ~= 'string' then
    error(string.format('mx.nd.save: bad argument #1 (file name expected, got %s)', type(fname)), 0)
  end
  if type(data) ~= 'table' then
    error(string.format('mx.nd.save: bad argument #2 (list or table of NDArrays expected, got %s)', type(data)), 0)
  end
  if M.is_ndarray(data) then data = {data} end
  local arrays, names = {}, nil
  if #data > 0 or next(data) == nil then
    for i = 1, #data do arrays[i] = data[i] end
  else
    names = {}
    for name in pairs(data) do names[#names + 1] = name end
    table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
    for i, name in ipairs(names) do
      if type(name) ~= 'string' then
        error(string.format('mx.nd.save: keys must be strings (got %s)', type(name)), 0)
      end
      arrays[i] = data[name]
    end
  end
  local ok, err = pcall(core.params_save, fname, arrays, names)
  if not ok then error((tostring(err):gsub('^mx%.io%.save:', 'mx.nd.save:')), 0) end
end

function M.load(fname, ctx)
  if type(fname) ~= 'string' then
    error(string.format('mx.nd.load: bad argument #1 (file name expected, got %s)', type(fname)), 0)
  end
  local ok, arrays, names = pcall(core.params_load, fname, ctx)
  if not ok then error((tostring(arrays):gsub('^mx%.io%.load:', 'mx.nd.load:')), 0) end
  if not names then return arrays end
  local out = {}
  for i, name in ipairs(names) do out[name] = arrays[i] end
  return out
end

return M
