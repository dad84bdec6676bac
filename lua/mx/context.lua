--- mx.context: devices as Context objects (mx.cpu(n), mx.gpu(n)), printed `cpu(0)`
-- and comparable with ==; device queries. Arrays on a GPU context fail with a
-- clear message when no usable GPU is there.
-- @module mx.context
local core = require 'mx.core'

local M = {}

M.cpu = core.cpu
M.gpu = core.gpu
M.Context_methods = core.Context_methods

local device_types = {cpu = M.cpu, gpu = M.gpu}

-- mx.context.Context('gpu', 1), or a copy of an existing Context.
function M.Context(device_type, device_id)
  if M.is_context(device_type) then return device_type end
  local make = device_types[device_type]
  if not make then
    error(string.format("mx.context.Context: device type must be 'cpu' or 'gpu' (got %s)", tostring(device_type)), 0)
  end
  return make(device_id or 0)
end

function M.is_context(v)
  local ok, t = pcall(function() return v.device_type end)
  return ok and type(v) == 'userdata' and (t == 'cpu' or t == 'gpu')
end

-- Number of usable CUDA devices (0 when built without CUDA or none present).
function M.num_gpus() return core.gpu_count() end
M.gpu_count = M.num_gpus

-- true when arrays can live on ctx; else nil and the reason.
M.check = core.check_context

function M.current_context() return M.cpu(0) end

return M
