--- mx.executor: the Lua methods of mx.Executor (made by Symbol:bind/simple_bind):
-- forward{is_train = ..., name = NDArray}, backward(out_grads), copy_params_from,
-- set_monitor_callback. Fields: outputs, arg_arrays, grad_arrays (nil holes, .n),
-- aux_arrays, arg_dict, grad_dict, aux_dict, output_dict; all the executor's own arrays.
-- @module mx.executor
local core = require 'mx.core'

local M = {}
local methods = core.Executor_methods

--- exe:forward{is_train = true, data = batch}: copies the named arrays into the
-- executor's arguments, runs the graph; returns exe.outputs.
function methods.forward(self, kw)
  local is_train = false
  if type(kw) == 'boolean' then
    is_train = kw
  elseif type(kw) == 'table' then
    for k, v in pairs(kw) do
      if k == 'is_train' then
        is_train = v and true or false
      else
        local dst = self.arg_dict[k]
        if dst == nil then error(string.format("Executor:forward: no argument named '%s'", tostring(k)), 2) end
        local ok, err = pcall(dst.set, dst, v) -- the error names forward and the argument
        if not ok then error(string.format("Executor:forward: argument '%s': %s", k, tostring(err)), 2) end
      end
    end
  elseif kw ~= nil then
    error('Executor:forward: a table {is_train = ..., <name> = NDArray} expected', 2)
  end
  self:_forward(is_train)
  return self.outputs
end

--- exe:backward([out_grads]): out_grads (an NDArray or a list) only for heads that are not loss layers.
function methods.backward(self, out_grads)
  self:_backward(out_grads)
end

--- exe:set_monitor_callback(fn): fn(name, array) for every operator output in
-- forward and every gradient in backward; the array is valid during the call only.
function methods.set_monitor_callback(self, fn)
  if fn ~= nil and type(fn) ~= 'function' then error('Executor:set_monitor_callback: a function expected', 2) end
  self:_set_monitor(fn)
end

--- exe:copy_params_from(arg_params, aux_params, allow_extra_params)
function methods.copy_params_from(self, arg_params, aux_params, allow_extra_params)
  for i, p in ipairs{arg_params, aux_params} do -- tables of NDArrays or nil
    if p ~= nil and type(p) ~= 'table' then
      error(string.format('Executor:copy_params_from: %s must be a table of NDArrays by name (got %s)',
        i == 1 and 'arg_params' or 'aux_params', type(p)), 2)
    end
  end
  for what, params in pairs{arg = arg_params, aux = aux_params} do
    local dict = what == 'arg' and self.arg_dict or self.aux_dict
    for name, arr in pairs(params or {}) do
      local dst = dict[name]
      if dst ~= nil then
        dst:set(arr)
      elseif not allow_extra_params then
        error(string.format("Executor:copy_params_from: found name '%s' that is not in the %s arguments", name,
          what == 'arg' and 'executor\'s' or 'auxiliary'), 2)
      end
    end
  end
end

M.is_executor = core.is_executor
return M
