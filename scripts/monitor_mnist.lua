-- monitor_mnist.lua: the tutorial's "Debugging" section: one epoch of training with a
-- Monitor printing the norm of every weight and weight gradient every 100 batches.
-- `mxlua scripts/monitor_mnist.lua --help` lists the flags (mx.cli).
local mx = rawget(_G, 'mx') or require 'mx'
local cli = require 'mx.cli'

local parser = cli.parser('monitor_mnist', [[
The tutorial's "Debugging": training with a Monitor printing the norm of every weight and
weight gradient every interval batches.]])
parser:option('--epochs', 'epochs', '1', cli.integer('--epochs')):argname('N')
parser:option('--limit', 'training images used', '60000', cli.integer('--limit')):argname('N')
parser:option('--interval', 'batches between two prints', '100', cli.integer('--interval')):argname('N')
parser:option('--pattern', 'a POSIX extended regular expression: the names monitored', '.*weight'):argname('PATTERN')
parser:flag('--check-finite', 'stop at the first NaN or infinity (mx.mon.Monitor check_finite)')
cli.ctx(parser, 'cpu')
cli.data(parser)
local opts = cli.parse(parser)
local epochs, limit, interval = opts.epochs, opts.limit, opts.interval
local ctx = opts.ctx == 'gpu' and mx.gpu(0) or mx.cpu()

local data = mx.symbol.Variable('data')
local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp  = mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}

local mnist = mx.test_utils.get_mnist(opts.data)
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
local mon = mx.mon.Monitor{interval = interval, stat_func = norm_stat, pattern = opts.pattern,
                           sort = true, check_finite = opts.check_finite}
local model = mx.model.FeedForward{ctx = ctx, symbol = mlp, num_epoch = epochs,
                                   learning_rate = 0.1, momentum = 0.9, wd = 0.00001}
model:fit{X = train_iter, eval_data = test_iter, monitor = mon,
          batch_end_callback = mx.callback.Speedometer(100, 100)}
