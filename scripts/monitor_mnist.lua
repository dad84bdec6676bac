-- monitor_mnist.lua: the tutorial's "Debugging" section: one epoch of training with a
-- Monitor printing the norm of every weight and weight gradient every 100 batches.
-- Usage: mxlua scripts/monitor_mnist.lua [--epochs 1] [--limit N] [--interval 100]
--        [--pattern '.*weight'] [--check-finite] [--ctx cpu|gpu] [--data DIR]
--        (--data: the MNIST folder; default as mx.test_utils.mnist_dirs: $MXLUA_DATA, data/mnist, the checkout's)
local mx = rawget(_G, 'mx') or require 'mx'

local function option(name, default)
  for i = 1, #arg do
    if arg[i] == '--' .. name then return arg[i + 1] end
  end
  return default
end
local function flag(name)
  for i = 1, #arg do if arg[i] == '--' .. name then return true end end
  return false
end
local epochs = tonumber(option('epochs', 1))
local limit = tonumber(option('limit', 60000))
local interval = tonumber(option('interval', 100))
local ctx = option('ctx', 'cpu') == 'gpu' and mx.gpu(0) or mx.cpu()

local data = mx.symbol.Variable('data')
local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp  = mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}

local mnist = mx.test_utils.get_mnist(option('data'))
mx.random.seed(1234)
local X = mx.nd.concat{mnist.train_data, mnist.test_data}
local Y = mx.nd.concat{mnist.train_label, mnist.test_label}
local p = mx.nd.random_permutation(X:shape()[1])
X, Y = X:take(p), Y:take(p)
local n_test = math.min(10000, limit)
local train_iter = mx.io.NDArrayIter{data = X:slice(1, limit), label = Y:slice(1, limit), batch_size = 100}
local test_iter = mx.io.NDArrayIter{data = X:slice(60001, 60000 + n_test), label = Y:slice(60001, 60000 + n_test),
                                    batch_size = 100}

local function norm_stat(d)
  return mx.nd.norm(d) / math.sqrt(d:size())
end
local mon = mx.mon.Monitor{interval = interval, stat_func = norm_stat, pattern = option('pattern', '.*weight'),
                           sort = true, check_finite = flag('check-finite')}
local model = mx.model.FeedForward{ctx = ctx, symbol = mlp, num_epoch = epochs,
                                   learning_rate = 0.1, momentum = 0.9, wd = 0.00001}
model:fit{X = train_iter, eval_data = test_iter, monitor = mon,
          batch_end_callback = mx.callback.Speedometer(100, 100)}
