-- GPU training speed: the tutorial's MLP at batch 100 on mx.gpu(0) with the raw
-- executor loop (simple_bind, forward, backward, fused SGD updates), the data set
-- held on the GPU; samples/s without and with the step recorded as a CUDA graph
-- (mx.core.cuda_graph), and the test accuracy each run reaches.
-- Usage: mxlua scripts/bench/gpu_train.lua [STEPS [DATA_DIR]]; prints one JSON line
-- ("skipped" when no CUDA device is there).
local mx = rawget(_G, 'mx') or require 'mx'

local BATCH, WARMUP = 100, 20
local cli = require 'mx.cli'
local parser = cli.parser('bench/gpu_train', 'GPU training speed of the MLP, without and with a CUDA graph.')
parser:argument('steps', 'timed steps', '3000', cli.integer('STEPS')):argname('STEPS')
parser:argument('data_dir', 'the MNIST folder', 'data/mnist'):argname('DATA_DIR')
local opts = cli.parse(parser)
local STEPS, data_dir = opts.steps, opts.data_dir
local gpu = mx.gpu(0)

local ok, why = mx.context.check(gpu)
if not ok then
  print(string.format('{"runner": "mxlua-gpu", "skipped": "no CUDA device (%s)"}', tostring(why):gsub('"', "'")))
  return
end

local function load_mnist(prefix)
  local images = mx.core.idx_load(data_dir .. '/' .. prefix .. '-images-idx3-ubyte', 3, 1 / 255)
  local labels = mx.core.idx_load(data_dir .. '/' .. prefix .. '-labels-idx1-ubyte', 1, 1)
  return images:reshape{images:shape()[1], 784}:copyto(gpu), labels:copyto(gpu)
end
local train_x, train_y = load_mnist('train')
local test_x, test_y = load_mnist('t10k')
local nbatch = train_x:shape()[1] // BATCH

local data = mx.symbol.Variable('data')
local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2 = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
local fc3 = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp = mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
local names = mlp:list_arguments()

-- One training run: `use_graph` records forward, backward and the updates once
-- (after the warm-up made every optimizer state) and replays them each step.
local function run(use_graph)
  mx.random.seed(1234)
  local exe = mlp:simple_bind{ctx = gpu, data = {BATCH, 784}, softmax_label = {BATCH}}
  for _, n in ipairs(names) do
    if n ~= 'data' and n ~= 'softmax_label' then
      exe.arg_dict[n]:set(mx.random.uniform(-0.07, 0.07, exe.arg_dict[n]:shape()))
    end
  end
  local opt = mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9, wd = 0.00001, rescale_grad = 1 / BATCH}
  local updater = mx.optimizer.get_updater(opt)
  local x_in, y_in = exe.arg_dict.data, exe.arg_dict.softmax_label
  local arg_arrays, grad_arrays = exe.arg_arrays, exe.grad_arrays
  local function compute()
    exe:forward{is_train = true}
    exe:backward()
    for k = 1, #arg_arrays do
      if grad_arrays[k] and names[k] ~= 'data' and names[k] ~= 'softmax_label' then
        updater(k, grad_arrays[k], arg_arrays[k])
      end
    end
  end
  local graph
  local function step(i)
    local j = i % nbatch
    x_in:set(train_x:slice(j * BATCH + 1, (j + 1) * BATCH)) -- device to device
    y_in:set(train_y:slice(j * BATCH + 1, (j + 1) * BATCH))
    if graph then graph:launch() else compute() end
  end
  for i = 0, WARMUP - 1 do step(i) end
  if use_graph then graph = mx.core.cuda_graph(gpu, compute) end
  mx.nd.waitall()
  local t0 = mx.core.now()
  for i = WARMUP, WARMUP + STEPS - 1 do step(i) end
  mx.nd.waitall()
  local seconds = mx.core.now() - t0
  if graph then graph:close() end
  -- test accuracy
  local correct, ntest = 0, test_x:shape()[1]
  for k = 0, ntest // BATCH - 1 do
    x_in:set(test_x:slice(k * BATCH + 1, (k + 1) * BATCH))
    exe:forward{is_train = false}
    local pred = mx.nd.argmax(exe.outputs[1], 2)
    local eq = mx.nd.equal(pred, test_y:slice(k * BATCH + 1, (k + 1) * BATCH))
    correct = correct + mx.nd.sum(eq):asscalar()
  end
  return STEPS * BATCH / seconds, correct / ntest
end

local plain_speed, plain_acc = run(false)
local graph_speed, graph_acc = run(true)
print(string.format('{"runner": "mxlua-gpu", "batch": %d, "steps": %d, "train_samples_per_s": %.1f, '
  .. '"train_samples_per_s_cuda_graph": %.1f, "test_accuracy": %.4f, "test_accuracy_cuda_graph": %.4f, '
  .. '"setting": "raw executor loop on gpu(0), data on the GPU, fused SGD (momentum 0.9)"}',
  BATCH, STEPS, plain_speed, graph_speed, plain_acc, graph_acc))
