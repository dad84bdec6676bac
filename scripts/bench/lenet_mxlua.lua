-- mxlua runner of the LeNet benchmark: MXNet's LeNet (conv 5x5x20, tanh, max-pool, conv 5x5x50,
-- tanh, max-pool, fc 500, tanh, fc 10, softmax) trained with simple_bind, forward, backward and
-- the SGD updater on MNIST. Usage: mxlua scripts/bench/lenet_mxlua.lua [--peak GFLOPS] [DATA_DIR];
-- one JSON line, with the GFLOP/s the layers' multiply-adds reach (and their share of a measured
-- float32 peak, scripts/bench/peak.c, when --peak gives it).
local mx = rawget(_G, 'mx') or require 'mx'

local BATCH, WARMUP = 100, 5
local TIMED = math.tointeger(tonumber(os.getenv('BENCH_TIMED') or '100'))
local cli = require 'mx.cli'
local parser = cli.parser('bench/lenet_mxlua', "The mxlua runner of the LeNet benchmark.")
parser:argument('data_dir', 'the MNIST folder', 'data/mnist'):argname('DATA_DIR')
parser:option('--peak', "this machine's float32 peak in GFLOP/s, for the share of it reached"):convert(tonumber)
local args = cli.parse(parser)
local data_dir = args.data_dir
local now = mx.core.now

local images = mx.core.idx_load(data_dir .. '/train-images-idx3-ubyte', 3, 1 / 255)
local labels = mx.core.idx_load(data_dir .. '/train-labels-idx1-ubyte', 1, 1)
images = images:reshape{images:shape()[1], 1, 28, 28}

local data = mx.symbol.Variable('data')
local conv1 = mx.symbol.Convolution{data = data, kernel = {5, 5}, num_filter = 20}
local tanh1 = mx.symbol.Activation{data = conv1, act_type = 'tanh'}
local pool1 = mx.symbol.Pooling{data = tanh1, pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
local conv2 = mx.symbol.Convolution{data = pool1, kernel = {5, 5}, num_filter = 50}
local tanh2 = mx.symbol.Activation{data = conv2, act_type = 'tanh'}
local pool2 = mx.symbol.Pooling{data = tanh2, pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
local flat = mx.symbol.Flatten{data = pool2}
local fc1 = mx.symbol.FullyConnected{data = flat, num_hidden = 500}
local tanh3 = mx.symbol.Activation{data = fc1, act_type = 'tanh'}
local fc2 = mx.symbol.FullyConnected{data = tanh3, num_hidden = 10}
local lenet = mx.symbol.SoftmaxOutput{data = fc2, name = 'softmax'}

mx.random.seed(1)
local exe = lenet:simple_bind{ctx = mx.cpu(), data = {BATCH, 1, 28, 28}}
local names = lenet:list_arguments()
local init = mx.init.Xavier{factor_type = 'in', magnitude = 2.34}
for i, name in ipairs(names) do
  if name ~= 'data' and name ~= 'softmax_label' then init(name, exe.arg_arrays[i]) end
end
local opt = mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9, wd = 0.00001, rescale_grad = 1 / BATCH,
                             param_idx2name = names}
local updater = mx.optimizer.get_updater(opt)
local x_in, y_in = exe.arg_dict.data, exe.arg_dict.softmax_label
local nbatch = images:shape()[1] // BATCH

local function step(i)
  local j = i % nbatch
  x_in:set(images:slice(j * BATCH + 1, (j + 1) * BATCH))
  y_in:set(labels:slice(j * BATCH + 1, (j + 1) * BATCH))
  exe:forward{is_train = true}
  exe:backward()
  for k, name in ipairs(names) do
    if name ~= 'data' and name ~= 'softmax_label' then updater(k, exe.grad_arrays[k], exe.arg_arrays[k]) end
  end
end

for i = 0, WARMUP - 1 do step(i) end
-- wall time, and the process's CPU time (steadier on a shared machine; one thread, so the two agree when idle)
local t0, c0 = now(), os.clock()
for i = WARMUP, WARMUP + TIMED - 1 do step(i) end
local s, cpu = now() - t0, os.clock() - c0

-- Multiply-adds per sample of the layers with weights (the rest is a few percent): forward, then
-- backward's weight gradients (as many) and input gradients (all but conv1's: data gets none).
local macs = {conv1 = 20 * 24 * 24 * (1 * 5 * 5), conv2 = 50 * 8 * 8 * (20 * 5 * 5), fc1 = 800 * 500, fc2 = 500 * 10}
local forward = macs.conv1 + macs.conv2 + macs.fc1 + macs.fc2
local flops_per_sample = 2 * (forward + forward + (forward - macs.conv1))
local gflops = TIMED * BATCH / s * flops_per_sample * 1e-9
local share = args.peak and string.format(', "of_peak_1_thread": %.3f', gflops / args.peak) or ''
print(string.format('{"runner": "mxlua", "network": "lenet", "batch": %d, "steps": %d, "train_samples_per_s": %.1f, '
  .. '"train_samples_per_cpu_s": %.1f, "mflop_per_sample": %.2f, "train_gflops_per_s": %.1f%s}', BATCH, TIMED,
  TIMED * BATCH / s, TIMED * BATCH / cpu, flops_per_sample * 1e-6, gflops, share))
