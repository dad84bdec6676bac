-- kvstore_mpi_job.lua: the program kvstore_spec.lua starts under `mpirun -np 2 mxlua`:
-- `step OUT [BUCKET]` trains two steps with kvstore 'mpi' (each rank on its half of the data,
-- BUCKET floats per all-reduce) and rank 0 saves the weights to OUT; `kill` / `error` make rank 1 die mid-training.
local mx = rawget(_G, 'mx') or require 'mx'
local mode, out = arg[1], arg[2]

-- The same data on every rank: 32 rows of 6 features, 3 classes.
local function dataset()
  local x, y = {}, {}
  for i = 1, 32 do
    x[i] = {}
    for j = 1, 6 do x[i][j] = math.sin(i * 0.37 + j * 0.11) end
    y[i] = (i * 7) % 3
  end
  return mx.nd.array(x), mx.nd.array(y)
end

local function net()
  local data = mx.sym.Variable('data')
  local fc1 = mx.sym.FullyConnected{data = data, name = 'fc1', num_hidden = 5}
  local act = mx.sym.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2 = mx.sym.FullyConnected{data = act, name = 'fc2', num_hidden = 3}
  return mx.sym.SoftmaxOutput{data = fc2, name = 'softmax'}
end

local kv = mx.kvstore.create('mpi')
kv.bucket_floats = math.tointeger(tonumber(arg[3] or '0')) -- floats per all-reduce bucket (0: 4M)
local X, Y = dataset()
mx.random.seed(7)
if kv.rank == 1 then mx.random.seed(99) end -- rank 0's initial weights must win (broadcast at init)
local iter = mx.io.NDArrayIter{data = X, label = Y, batch_size = 8, num_parts = kv.num_workers, part_index = kv.rank}

if mode == 'step' then
  local model = mx.model.FeedForward{symbol = net(), num_epoch = 1, epoch_size = 2, learning_rate = 1,
                                     initializer = mx.init.Uniform(0.5), momentum = 0.9, wd = 0.01}
  mx.log.set_level('warning')
  model:fit{X = iter, kvstore = kv}
  if kv.rank == 0 then mx.nd.save(out, model.arg_params) end
  kv:barrier()
elseif mode == 'kill' or mode == 'error' then
  local w = mx.nd.zeros{1000}
  kv:init(1, w)
  local n = 0
  while true do -- rank 0 keeps pushing: it would wait forever for a dead peer
    kv:push(1, w)
    kv:pull(1, w)
    n = n + 1
    if kv.rank == 1 and n == 5 then
      if mode == 'error' then error('rank 1 fails on purpose') end
      local f = assert(io.open('/proc/self/stat'))
      local pid = f:read('n')
      f:close()
      os.execute('kill -9 ' .. math.tointeger(pid))
    end
  end
end
