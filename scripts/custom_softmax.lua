-- custom_softmax.lua: the tutorial's "New Operators" section: softmax written in Lua
-- (a LuaOp, MXNet's NumpyOp) replaces SoftmaxOutput, and the network trains with it.
-- `mxlua scripts/custom_softmax.lua --help` lists the flags (mx.cli).
local mx = rawget(_G, 'mx') or require 'mx'
local cli = require 'mx.cli'
-- luacheck: no unused args (the operator's methods keep the tutorial's signatures)

local parser = cli.parser('custom_softmax', [[
The tutorial's "New Operators": softmax written in Lua (a LuaOp) replaces SoftmaxOutput, and
the MNIST MLP trains with it.]])
parser:option('--epochs', 'epochs', '2', cli.integer('--epochs')):argname('N')
parser:option('--limit', 'training images used', '60000', cli.integer('--limit')):argname('N')
cli.ctx(parser, 'cpu')
cli.data(parser)
parser:flag('--compare', [[
train again with SoftmaxOutput and with the Lua softmax, compare the
epochs' time cost, then time the loss layer alone]])
parser:option('--plot', 'draw the accuracy per epoch there (mx.viz.plot_history)'):argname('FILE.png|FILE.svg')
local opts = cli.parse(parser)
local epochs, limit = opts.epochs, opts.limit
local ctx = opts.ctx == 'gpu' and mx.gpu(0) or mx.cpu()

-- The operator: softmax forward, softmax minus one-hot backward (a loss layer)
local NumpySoftmax = mx.operator.LuaOp:extend('NumpySoftmax')

function NumpySoftmax:init()
  mx.operator.LuaOp.init(self, {need_top_grad = false})   -- a loss layer: no gradient from above
end
function NumpySoftmax:list_arguments() return {'data', 'label'} end
function NumpySoftmax:list_outputs() return {'output'} end
function NumpySoftmax:infer_shape(in_shape)
  local data_shape = in_shape[1]
  return {data_shape, {data_shape[1]}}, {data_shape}
end
function NumpySoftmax:forward(in_data, out_data)
  local x, y = in_data[1], out_data[1]
  y:set(mx.nd.exp(x - x:max(2, true)))       -- keepdims, then broadcasting
  y:div_(y:sum(2, true))
end
function NumpySoftmax:backward(out_grad, in_data, out_data, in_grad)
  local l, y, dx = in_data[2], out_data[1], in_grad[1]
  dx:set(y)
  dx:sub_(mx.nd.one_hot(l, y:shape()[2]))
end

local function network(loss)
  local data = mx.symbol.Variable('data')
  local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return loss(fc3)
end

local numpy_softmax = NumpySoftmax()
local mlp = network(function(fc3) return numpy_softmax{data = fc3, name = 'softmax'} end)

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

local function train(symbol, num_epoch)
  mx.random.seed(42)
  local model = mx.model.FeedForward{ctx = ctx, symbol = symbol, num_epoch = num_epoch,
                                     learning_rate = 0.1, momentum = 0.9, wd = 0.00001}
  model:fit{X = train_iter, eval_data = test_iter,
            batch_end_callback = mx.callback.Speedometer(100, 100)}
  local train_time = 0 -- the epochs' "Time cost", without the validation passes
  for _, record in ipairs(model.history) do train_time = train_time + record.time end
  return model, train_time
end

local model = train(mlp, epochs)
print(string.format('Validation accuracy with the Lua softmax: %.4f', model:score(test_iter)))
if opts.plot then print('wrote ' .. mx.viz.plot_history(model, opts.plot)) end

if opts.compare then
  local builtin = network(function(fc3) return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'} end)
  -- both timed after the run above, so neither pays the first run's warm-up
  local _, builtin_time = train(builtin, epochs)
  local _, lua_time = train(mlp, epochs)
  print(string.format('Training time for %d epoch(s): Lua softmax %.3f s, SoftmaxOutput %.3f s: '
                      .. 'an epoch is %.1f%% slower with the Lua softmax',
                      epochs, lua_time, builtin_time, 100 * (lua_time / builtin_time - 1)))

  -- The loss layer alone, (100, 10) scores: forward + backward, best of 5 rounds of 2000
  local function per_batch(loss)
    local exe = loss(mx.symbol.Variable('data')):simple_bind{ctx = ctx, data = {100, 10},
                                                             grad_req = {data = 'write'}}
    exe.arg_dict.data:set(mx.random.uniform(-1, 1, {100, 10}))
    local best = math.huge
    for _ = 1, 5 do
      local t0 = mx.core.now()
      for _ = 1, 2000 do
        exe:forward{is_train = true}
        exe:backward()
      end
      best = math.min(best, (mx.core.now() - t0) / 2000)
    end
    return best
  end
  local nbatch = math.ceil(limit / 100)
  local lua_us = per_batch(function(x) return numpy_softmax{data = x, name = 'softmax'} end) * 1e6
  local builtin_us = per_batch(function(x) return mx.symbol.SoftmaxOutput{data = x, name = 'softmax'} end) * 1e6
  print(string.format('The loss layer alone, forward + backward of a batch: Lua softmax %.1f us, SoftmaxOutput '
                      .. '%.1f us: %.1f us more per batch, %.3f s more per epoch of %d batches',
                      lua_us, builtin_us, lua_us - builtin_us, (lua_us - builtin_us) * 1e-6 * nbatch, nbatch))
end
