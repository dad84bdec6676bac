-- mxlua-fit runner of the training benchmark: the tutorial's MLP trained the way users train it,
-- mx.model.FeedForward:fit over an NDArrayIter with its default metric ('acc') and a Speedometer,
-- on mlp_mxlua.lua's data, weights and recipe. Times one epoch (600 batches) after a 20-batch
-- warm-up fit (same process: the GEMM plan and the allocator warm). Prints one JSON line.
-- Usage: mxlua scripts/bench/mlp_fit.lua WEIGHTS_DIR [DATA_DIR]
local mx = rawget(_G, 'mx') or require 'mx'

local here = (arg and arg[0] or ''):match('^(.*)/[^/]*$') or '.'
local common = dofile(here .. '/mlp_common.lua')
local BATCH, WARMUP, INFER_PASSES = common.BATCH, 20, 5

local cli = require 'mx.cli'
local parser = cli.parser('bench/mlp_fit', 'The mxlua FeedForward:fit runner of the training benchmark.')
parser:argument('weights_dir', "the initial weights' folder (training.py writes it)"):argname('WEIGHTS_DIR')
parser:argument('data_dir', 'the MNIST folder', 'data/mnist'):argname('DATA_DIR')
local opts = cli.parse(parser)
local weights_dir, data_dir = opts.weights_dir, opts.data_dir
local train_x, train_y = common.load_mnist(data_dir, 'train')
local test_x, test_y = common.load_mnist(data_dir, 't10k')
local mlp = common.mlp()

local function initial_params()
  local p = {}
  for _, s in ipairs(common.SHAPES) do p[s[1]] = common.load_raw(weights_dir, s[1], s[2]) end
  return p
end

-- Speedometer's lines go to the log: kept off stdout, which carries the JSON line.
mx.log.set_level('warning')

local function model(epoch_size)
  return mx.model.FeedForward{ctx = mx.cpu(), symbol = mlp, num_epoch = 1, epoch_size = epoch_size,
                              learning_rate = 0.1, momentum = 0.9, wd = 0.00001, arg_params = initial_params()}
end
local function iter() return mx.io.NDArrayIter{data = train_x, label = train_y, batch_size = BATCH} end

model(WARMUP):fit{X = iter(), batch_end_callback = mx.callback.Speedometer(BATCH, 50)}
-- the process's CPU time (all threads) from the end of the first batch to the end of the last
local cpu_first, cpu_last
local function cpu_clock(param)
  if param.nbatch == 1 then cpu_first = os.clock() end
  cpu_last = os.clock()
end
local m = model()
m:fit{X = iter(), batch_end_callback = {mx.callback.Speedometer(BATCH, 50), cpu_clock}}
local epoch_s = m.history[1].time
local nbatch = train_x:shape()[1] // BATCH
local cpu_s = (cpu_last - cpu_first) / (nbatch - 1) * nbatch

-- Inference: predict over the test set (the predictor executor), median of INFER_PASSES passes.
local test_iter = mx.io.NDArrayIter{data = test_x, label = test_y, batch_size = BATCH}
local probs = m:predict(test_iter)
local times = {}
for p = 1, INFER_PASSES do
  local t = common.now()
  m:predict(test_iter)
  times[p] = common.now() - t
end
table.sort(times)
local infer_s = times[INFER_PASSES // 2 + 1]
local ntest = test_x:shape()[1]
local correct, labels, preds = 0, test_y:totable(), probs:argmax(2):totable()
for r = 1, ntest do
  if preds[r] == labels[r] then correct = correct + 1 end
end

print(string.format('{"runner": "mxlua-fit", "train_samples_per_s": %.1f, "infer_samples_per_s": %.1f, '
  .. '"test_accuracy": %.4f, "version": "%s", "train_cpu_us_per_batch": %.1f, '
  .. '"setting": "FeedForward:fit, NDArrayIter, metric acc, Speedometer(100, 50), one epoch timed by fit, '
  .. 'OPENBLAS_NUM_THREADS=%s", "gemm_plan": "%s"}',
  nbatch * BATCH / epoch_s, ntest / infer_s, correct / ntest, tostring(mx.__version__), cpu_s / nbatch * 1e6,
  os.getenv('OPENBLAS_NUM_THREADS') or 'unset', common.plan_summary()))
