-- kvstore_mpi.lua: samples/s of the tutorial's MLP trained by FeedForward on MNIST, in one
-- process or in N under `mpirun -np N ... --kvstore mpi` (each on its 1/N of the data), and
-- the time per step spent in MPI all-reduce. Usage: mxlua scripts/bench/kvstore_mpi.lua
--   [--kvstore mpi] [--batch B (per process, default 100)] [--steps S (timed, default 200)]
--   [--threads T] [--overlap 0|1] (as set by OPENBLAS_NUM_THREADS and MXLUA_MPI_OVERLAP: only printed)
local mx = rawget(_G, 'mx') or require 'mx'

local cli = require 'mx.cli'
local parser = cli.parser('bench/kvstore_mpi', 'Samples/s of FeedForward training in one process or N under mpirun.')
parser:option('--kvstore', 'the KVStore (mpi under mpirun)'):argname('NAME')
parser:option('--batch', 'batch size per process', '100', cli.integer('--batch')):argname('B')
parser:option('--steps', 'steps timed', '200', cli.integer('--steps')):argname('S')
parser:option('--warmup', 'steps before the timing', '10', cli.integer('--warmup')):argname('W')
parser:option('--threads', 'as set by OPENBLAS_NUM_THREADS: only printed', '1', cli.integer('--threads')):argname('T')
parser:option('--overlap', 'as set by MXLUA_MPI_OVERLAP: only printed', '1', cli.integer('--overlap')):argname('0|1')
local opts = cli.parse(parser)

local kv, rank, workers = nil, 0, 1
if opts.kvstore then
  kv = mx.kvstore.create(opts.kvstore)
  rank, workers = kv.rank, kv.num_workers
end
mx.log.set_level('warning')

local dir = mx.test_utils.mnist_dirs()[1]
for _, d in ipairs(mx.test_utils.mnist_dirs()) do
  local f = io.open(d .. '/train-images-idx3-ubyte', 'rb') or io.open(d .. '/train-images-idx3-ubyte.gz', 'rb')
  if f then
    f:close()
    dir = d
    break
  end
end
local function file(name)
  local f = io.open(dir .. '/' .. name, 'rb')
  if f then f:close() return dir .. '/' .. name end
  return dir .. '/' .. name .. '.gz'
end
local iter = mx.io.MNISTIter{image = file('train-images-idx3-ubyte'), label = file('train-labels-idx1-ubyte'),
                             batch_size = opts.batch, flat = true, silent = true, num_parts = workers,
                             part_index = rank}

local data = mx.symbol.Variable('data')
local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2 = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
local fc3 = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp = mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}

-- With the overlap, all-reduce time is the wait left after backward (buckets that ran during
-- backward are not counted).
local steps = math.min(opts.steps, iter.num_data // opts.batch - opts.warmup)
local t0, reduce0, calls0
local function on_batch(p)
  if p.nbatch == opts.warmup then
    t0 = mx.core.now()
    reduce0, calls0 = mx.core.dist_stats()
  end
end
local model = mx.model.FeedForward{symbol = mlp, ctx = mx.cpu(), num_epoch = 1, epoch_size = opts.warmup + steps,
                                   learning_rate = 0.1, momentum = 0.9, wd = 1e-5}
model:fit{X = iter, kvstore = kv, batch_end_callback = on_batch}
local elapsed = mx.core.now() - t0
local reduce, calls = mx.core.dist_stats()
-- The same all-reduce with no training around it: the transfer alone, without waiting for a
-- peer that is still computing.
local bare = 0
if kv and workers > 1 then
  local grads = {}
  for _, w in pairs(model.arg_params) do grads[#grads + 1] = mx.nd.zeros(w:shape()) end
  kv:barrier()
  local t = mx.core.now()
  for _ = 1, 50 do mx.core.dist_allreduce(grads) end
  bare = (mx.core.now() - t) / 50
end
if kv then kv:barrier() end
if rank == 0 then
  print(('kvstore %-5s%s processes %d x %d thread(s)  batch %4d/process  %8.0f samples/s (all processes)  ' ..
         'step %6.2f ms  all-reduce %6.3f ms/step (%d call/step; bare %.3f ms)'):format(
    opts.kvstore or 'none', (kv and workers > 1) and (opts.overlap == 1 and ' overlapped' or ' after bwd ') or '',
    workers, opts.threads, opts.batch, steps * opts.batch * workers / elapsed,
    1000 * elapsed / steps, 1000 * (reduce - reduce0) / steps, (calls - calls0) // steps, 1000 * bare))
end
