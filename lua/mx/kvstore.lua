--- mx.kvstore: MXNet's KVStore (create, init, push, pull, set_optimizer, rank, num_workers,
-- barrier) over the C reductions: 'local' / 'device' sum the values pushed from the contexts
-- of one process, 'nccl' all-reduces GPU arrays, 'mpi' sums over processes started by mpirun.
-- @module mx.kvstore
local core = require 'mx.core'
local optimizer = require 'mx.optimizer'

local kvstore = {}

local KVStore = {}
KVStore.__index = KVStore
KVStore.__name = 'mx.kvstore.KVStore'
kvstore.KVStore = KVStore

-- MXNet's names, and the kind each becomes here.
local KINDS = {['local'] = 'local', local_update_cpu = 'local', local_allreduce_cpu = 'local',
               device = 'device', local_allreduce_device = 'device', nccl = 'nccl',
               mpi = 'mpi', dist_sync = 'mpi', dist_sync_device = 'mpi', dist = 'mpi'}

--- create(name = 'local') -> KVStore. 'local', 'device', 'nccl' (GPUs of this process)
-- or 'mpi' (alias 'dist_sync': synchronous data-parallel over the processes of mpirun).
function kvstore.create(name)
  name = name or 'local'
  if type(name) ~= 'string' then error('mx.kvstore.create: expected a kvstore name (got ' .. type(name) .. ')', 2) end
  local kind = KINDS[name]
  if not kind then
    error(("mx.kvstore.create: unknown kvstore type %s (expected 'local', 'device', 'nccl' or 'mpi')"):format(name), 2)
  end
  local self = setmetatable({type = name, kind = kind, rank = 0, num_workers = 1, _store = {}, _merged = {}}, KVStore)
  if kind == 'mpi' then
    if not core.dist_compiled() then
      error("mx.kvstore.create: kvstore 'mpi' is not available in this build (Open MPI was not found when it was " ..
            "built: `make deps` installs libopenmpi-dev and openmpi-bin; then rebuild with `make`)", 2)
    end
    local ok, rank, size = pcall(core.dist_init)
    if not ok then error(tostring(rank), 2) end
    self.rank, self.num_workers = rank, size
  elseif kind == 'nccl' and not core.nccl_compiled() then
    error("mx.kvstore.create: kvstore 'nccl' is not available in this build (it needs the CUDA build and NCCL " ..
          '(libnccl, nccl.h) beside CUDA)', 2)
  end
  return self
end

local function is_nd(x) return core.nd.is_ndarray(x) end

-- (keys, values) as two lists: one key with one value or a list of values (one per
-- context), or a list of keys with a list of such values.
local function pairs_of(key, value, where)
  if type(key) == 'table' then
    if type(value) ~= 'table' or is_nd(value) or #value ~= #key then
      error(where .. ': a list of keys needs a list of values of the same length', 3)
    end
    return key, value
  end
  if type(key) ~= 'number' and type(key) ~= 'string' then
    error(where .. ': a key is an integer or a string (got ' .. type(key) .. ')', 3)
  end
  return {key}, {value}
end

local function list_of(v, where, key)
  if is_nd(v) then return {v} end
  if type(v) == 'table' and #v > 0 then
    for i, a in ipairs(v) do
      if not is_nd(a) then error(('%s: value %d of key %s is not an NDArray'):format(where, i, tostring(key)), 4) end
    end
    return v
  end
  error(('%s: the value of key %s must be an NDArray or a list of NDArrays'):format(where, tostring(key)), 4)
end

--- init(key, value): the stored value of each key (a list of keys takes a list of values).
-- With 'mpi', rank 0's values are broadcast, so every process starts from the same ones.
function KVStore:init(key, value)
  local keys, values = pairs_of(key, value, 'mx.kvstore.init')
  local fresh = {}
  for i, k in ipairs(keys) do
    if self._store[k] then error(('mx.kvstore.init: key %s is already initialized'):format(tostring(k)), 2) end
    local v = list_of(values[i], 'mx.kvstore.init', k)[1]
    local ctx = (self.kind == 'local') and core.cpu(0) or v:context()
    local stored = v:copyto(ctx)
    self._store[k] = stored
    fresh[#fresh + 1] = stored
  end
  if self.kind == 'mpi' and self.num_workers > 1 then core.dist_broadcast(fresh, 0) end
end

-- The merge buffer of key k (on the stored value's context).
function KVStore:_merge_buffer(k, stored)
  local m = self._merged[k]
  if not m then
    m = core.nd.zeros(stored:shape(), stored:context())
    self._merged[k] = m
  end
  return m
end

--- push(key, value): sums the values (one per context) of each key; with 'mpi' the sums
-- of all the keys pushed together are then summed over the processes in buckets (one
-- MPI all-reduce per bucket). With an optimizer set, the stored value is updated with
-- that sum as its gradient; otherwise the sum is stored.
function KVStore:push(key, value, reduced)
  local keys, values = pairs_of(key, value, 'mx.kvstore.push')
  local merged = {}
  for i, k in ipairs(keys) do
    local stored = self._store[k]
    if not stored then
      error(('mx.kvstore.push: key %s is not initialized (call init first)'):format(tostring(k)), 2)
    end
    local vals = list_of(values[i], 'mx.kvstore.push', k)
    if self.kind == 'nccl' then
      core.nccl_allreduce(vals) -- every value (one per GPU) now holds the sum
      merged[i] = self:_merge_buffer(k, stored)
      merged[i]:set(vals[1])
    else
      merged[i] = self:_merge_buffer(k, stored)
      core.kvstore_reduce_sum(merged[i], vals)
    end
  end
  if self.kind == 'mpi' and self.num_workers > 1 and not reduced then
    core.dist_allreduce(merged, self.bucket_floats)
  end
  for i, k in ipairs(keys) do
    if self._updater then self._updater(k, merged[i], self._store[k])
    else self._store[k]:set(merged[i]) end
  end
end

-- (FeedForward) push of gradients already summed over the processes (overlap below).
function KVStore:_push_reduced(key, value) self:push(key, value, true) end

--- overlap(executor, grads) -> an object whose :backward() runs the executor's backward pass
-- with the all-reduce of grads over the processes overlapped ('mpi' with several processes;
-- nil otherwise); push the gradients with _push_reduced then.
function KVStore:overlap(exe, grads)
  if self.kind ~= 'mpi' or self.num_workers < 2 then return nil end
  return core.dist_overlap(exe, grads, self.bucket_floats)
end

--- pull(key, out): copies the stored value of each key into out (an NDArray or a list).
function KVStore:pull(key, out)
  local keys, outs = pairs_of(key, out, 'mx.kvstore.pull')
  for i, k in ipairs(keys) do
    local stored = self._store[k]
    if not stored then
      error(('mx.kvstore.pull: key %s is not initialized (call init first)'):format(tostring(k)), 2)
    end
    for _, o in ipairs(list_of(outs[i], 'mx.kvstore.pull', k)) do o:set(stored) end
  end
end

--- set_optimizer(opt): pushes then update the stored values with opt (as MXNet's
-- update_on_kvstore). With 'mpi' every process applies it to the same summed gradient,
-- which is what dist_sync's servers did; give the optimizer
-- rescale_grad = 1 / (batch size per process * num_workers).
function KVStore:set_optimizer(opt)
  if type(opt) ~= 'table' or not opt.update then
    error('mx.kvstore.set_optimizer: expected an optimizer (mx.optimizer.create(...))', 2)
  end
  self._updater = optimizer.get_updater(opt)
end

-- (FeedForward) updates with an existing updater (its states resumed from a checkpoint).
function KVStore:_set_updater(updater) self._updater = updater end

--- The updater set_optimizer made (its states can be saved and loaded).
function KVStore:get_updater() return self._updater end

--- barrier(): waits for every process ('mpi'); nothing to wait for otherwise.
function KVStore:barrier()
  if self.kind == 'mpi' and self.num_workers > 1 then core.dist_barrier() end
end

--- allreduce_stats() -> seconds spent in MPI all-reduce, number of all-reduce calls.
function KVStore.allreduce_stats(_) return core.dist_stats() end

--- abort([code = 1]): ends every process of the job now ('mpi').
function KVStore:abort(code)
  if self.kind == 'mpi' then core.dist_abort(code or 1) end
  os.exit(code or 1)
end

function KVStore:__tostring()
  return ('mx.kvstore.KVStore(%s, rank %d of %d)'):format(self.type, self.rank, self.num_workers)
end

return kvstore
