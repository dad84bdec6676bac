-- mxlua runner of the training benchmark: the tutorial's MLP trained with the "Under the hood"
-- loop (simple_bind, forward, backward, the SGD updater), same data, weights and recipe as
-- mlp_numpy.py. Usage: mxlua scripts/bench/mlp_mxlua.lua WEIGHTS_DIR [DATA_DIR]; prints one JSON line.
local mx = rawget(_G, 'mx') or require 'mx'

local here = (arg and arg[0] or ''):match('^(.*)/[^/]*$') or '.'
local common = dofile(here .. '/mlp_common.lua')
-- BENCH_TIMED shortens the timed loop (e.g. under callgrind); the benchmark uses 600.
local BATCH, WARMUP, INFER_PASSES = common.BATCH, 20, 5
local TIMED = math.tointeger(tonumber(os.getenv('BENCH_TIMED') or '600'))
local SHAPES = common.SHAPES

local cli = require 'mx.cli'
local parser = cli.parser('bench/mlp_mxlua', 'The mxlua hand-written-loop runner of the training benchmark.')
parser:argument('weights_dir', "the initial weights' folder (training.py writes it)"):argname('WEIGHTS_DIR')
parser:argument('data_dir', 'the MNIST folder', 'data/mnist'):argname('DATA_DIR')
local opts = cli.parse(parser)
local weights_dir, data_dir = opts.weights_dir, opts.data_dir
local now = common.now
local load_raw = function(name, shape) return common.load_raw(weights_dir, name, shape) end
local train_x, train_y = common.load_mnist(data_dir, 'train')
local test_x, test_y = common.load_mnist(data_dir, 't10k')
local mlp = common.mlp()

local exe = mlp:simple_bind{ctx = mx.cpu(), data = {BATCH, 784}, softmax_label = {BATCH}}
local args = exe.arg_dict
for _, s in ipairs(SHAPES) do
  args[s[1]]:set(load_raw(s[1], s[2]))
end
local names = mlp:list_arguments()
local idx2name = {}
for i, name in ipairs(names) do idx2name[i] = name end
-- FeedForward passes param_idx2name, so biases get no weight decay (as in the other runners).
local opt = mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9, wd = 0.00001,
                             rescale_grad = 1 / BATCH, param_idx2name = idx2name}
local updater = mx.optimizer.get_updater(opt)
local arg_arrays, grad_arrays = exe.arg_arrays, exe.grad_arrays
local nbatch = train_x:shape()[1] // BATCH

-- The batches as views made once, read in place by the executor (Executor:_feed, as
-- FeedForward does: no copy), and one fused SGD call per step over the parameters
-- (updater:update_all, as FeedForward does). Positions in the parameter lists are the updater's
-- indices, so idx2name is rebuilt for them.
local data_pos, label_pos
for k, name in ipairs(names) do
  if name == 'data' then data_pos = k elseif name == 'softmax_label' then label_pos = k end
end
local params, pgrads, pnames = {}, {}, {}
for k, name in ipairs(names) do
  if k ~= data_pos and k ~= label_pos and grad_arrays[k] then
    params[#params + 1], pgrads[#pgrads + 1], pnames[#pnames + 1] = arg_arrays[k], grad_arrays[k], name
  end
end
for k = 1, #pnames do idx2name[k] = pnames[k] end
for k = #pnames + 1, #names do idx2name[k] = nil end
local xs, ys = {}, {}
for j = 0, nbatch - 1 do
  xs[j], ys[j] = train_x:slice(j * BATCH + 1, (j + 1) * BATCH), train_y:slice(j * BATCH + 1, (j + 1) * BATCH)
end
local fwd_train = {is_train = true}

local first_loss
local function step(i)
  local j = i % nbatch
  exe:_feed(data_pos, xs[j])
  exe:_feed(label_pos, ys[j])
  exe:forward(fwd_train)
  exe:backward()
  updater:update_all(pgrads, params)
end

-- The mean cross-entropy of the first batch, from the output probabilities (a recipe check).
local function batch_loss()
  local prob, lab = exe.outputs[1]:totable(), exe.arg_dict.softmax_label:totable()
  local s = 0
  for r = 1, BATCH do s = s - math.log(prob[r][math.tointeger(lab[r]) + 1]) end
  return s / BATCH
end

for i = 0, WARMUP - 1 do
  step(i)
  if i == 0 then first_loss = batch_loss() end
end
local stats0 = mx.core.alloc_stats and mx.core.alloc_stats()
local t0, c0 = now(), os.clock()
for i = WARMUP, WARMUP + TIMED - 1 do step(i) end
if mx.nd.waitall then mx.nd.waitall() end
local train_s, train_cpu_s = now() - t0, os.clock() - c0
local stats1 = mx.core.alloc_stats and mx.core.alloc_stats()

-- Inference: forward (not training) over the test set in batches, the predicted class ids.
local ntest = test_x:shape()[1]
local txs = {}
for k = 0, ntest // BATCH - 1 do txs[k] = test_x:slice(k * BATCH + 1, (k + 1) * BATCH) end
local fwd_test = {is_train = false}
local function infer()
  local preds = {}
  for k = 0, ntest // BATCH - 1 do
    exe:_feed(data_pos, txs[k])
    exe:forward(fwd_test)
    preds[#preds + 1] = exe.outputs[1]:argmax(2)
  end
  return preds
end
local preds = infer()
local times = {}
for p = 1, INFER_PASSES do
  local t = now()
  infer()
  if mx.nd.waitall then mx.nd.waitall() end
  times[p] = now() - t
end
table.sort(times)
local infer_s = times[INFER_PASSES // 2 + 1]

local correct, labels = 0, test_y:totable()
for k, pr in ipairs(preds) do
  for r, c in ipairs(pr:totable()) do
    if c == labels[(k - 1) * BATCH + r] then correct = correct + 1 end
  end
end

local allocs = stats0 and (stats1.requests - stats0.requests) / TIMED or -1
local sys_allocs = stats0 and (stats1.system_allocs - stats0.system_allocs) / TIMED or -1
print(string.format('{"runner": "mxlua", "train_samples_per_s": %.1f, "infer_samples_per_s": %.1f, '
  .. '"test_accuracy": %.4f, "first_batch_loss": %.6f, "version": "%s", "train_cpu_us_per_batch": %.1f, '
  .. '"alloc_requests_per_step": %.2f, "system_allocs_per_step": %.2f, '
  .. '"setting": "raw executor loop (simple_bind, batches fed in place, forward, backward, fused SGD updater), '
  .. 'OPENBLAS_NUM_THREADS=%s", "gemm_plan": "%s"}',
  TIMED * BATCH / train_s, ntest / infer_s, correct / ntest, first_loss, tostring(mx.__version__),
  train_cpu_s / TIMED * 1e6,
  allocs, sys_allocs, os.getenv('OPENBLAS_NUM_THREADS') or 'unset', common.plan_summary()))
