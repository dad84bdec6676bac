-- custom_loop.lua: the tutorial's "Under the hood" section: the training loop written
-- by hand with simple_bind, an initializer, the SGD updater and the Accuracy metric.
-- `mxlua scripts/custom_loop.lua --help` lists the flags (mx.cli).
local mx = rawget(_G, 'mx') or require 'mx'
local cli = require 'mx.cli'

local parser = cli.parser('custom_loop', [[
The tutorial's "Under the hood": the training loop by hand (simple_bind, initializer, SGD
updater, Accuracy metric) on MNIST.]])
parser:option('--epochs', 'epochs', '10', cli.integer('--epochs')):argname('N')
parser:option('--limit', 'training images used', '60000', cli.integer('--limit')):argname('N')
cli.ctx(parser, 'cpu')
cli.data(parser)
local opts = cli.parse(parser)
local epochs, limit = opts.epochs, opts.limit
local ctx = opts.ctx == 'gpu' and mx.gpu(0) or mx.cpu()

-- Python's repr of a float: the shortest text that reads back the same.
local function repr(x)
  for digits = 1, 17 do
    local s = string.format('%.' .. digits .. 'g', x)
    if tonumber(s) == x then return s end
  end
  return string.format('%.17g', x)
end

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
local train_iter = mx.io.NDArrayIter{data = X:slice(1, limit), label = Y:slice(1, limit), batch_size = 100}

-- Binding: the input shapes come from the iterator
local input_shapes = {}
for _, d in ipairs(train_iter.provide_data) do input_shapes[d[1]] = d[2] end
for _, d in ipairs(train_iter.provide_label) do input_shapes[d[1]] = d[2] end
local shown = {}
for name, shape in pairs(input_shapes) do
  shown[#shown + 1] = string.format("'%s': (%s%s)", name, table.concat(shape, ', '), #shape == 1 and ',' or '')
end
table.sort(shown, function(a, b) return a > b end)
print('input_shapes {' .. table.concat(shown, ', ') .. '}')
local bind_args = {ctx = ctx}
for name, shape in pairs(input_shapes) do bind_args[name] = shape end
local exe = mlp:simple_bind(bind_args)

-- Initialization
local args = exe.arg_dict
local data_arr = args[train_iter.provide_data[1][1]]
local label_arr = args[train_iter.provide_label[1][1]]
local init = mx.init.Uniform(0.01)
for _, name in ipairs(mlp:list_arguments()) do
  if not input_shapes[name] then init(name, args[name]) end
end
local opt = mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9, wd = 0.00001,
                             rescale_grad = 1 / train_iter.batch_size}
local updater = mx.optimizer.get_updater(opt)
local metric = mx.metric.Accuracy()

-- The training loop
for epoch = 0, epochs - 1 do
  train_iter:reset()
  metric:reset()
  local t = 0
  for batch in train_iter do
    data_arr:set(batch.data[1])              -- copy into the executor's own input
    label_arr:set(batch.label[1])
    exe:forward{is_train = true}
    exe:backward()
    for i, weight in ipairs(exe.arg_arrays) do
      if exe.grad_arrays[i] then updater(i, exe.grad_arrays[i], weight) end
    end
    metric:update(batch.label, exe.outputs)
    t = t + 1
    if t % 100 == 0 then
      local name, value = metric:get()
      print(string.format("epoch: %d iter: %d metric: ('%s', %s)", epoch, t, name, repr(value)))
    end
  end
end
