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

local context_mt = getmetatable(core.cpu(0))

--- is_context(v): whether v is a Context. The one test of a context; its device is
-- ctx.device_type ('cpu' or 'gpu'), its number ctx.device_id.
function M.is_context(v) return type(v) == 'userdata' and getmetatable(v) == context_mt end

-- Number of usable CUDA devices (0 when built without CUDA or none present).
function M.num_gpus() return core.gpu_count() end
M.gpu_count = M.num_gpus

-- true when arrays can live on ctx; else nil and the reason.
M.check = core.check_context

function M.current_context() return M.cpu(0) end

return M
