-- train_loop_spec.lua: the tutorial's "Under the hood" custom training loop on
-- real MNIST: simple_bind, the executor's own arrays, forward/backward, with a
-- hand-written SGD (momentum, weight decay) and accuracy; one epoch must learn.
local mx = require 'mx'

local function tutorial_mlp()
  local data = mx.symbol.Variable('data')
  local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
end

-- Correct predictions: argmax of each row of probs (a host table) against labels.
local function count_correct(probs, labels)
  local correct = 0
  for i, row in ipairs(probs) do
    local best, arg = -math.huge, -1
    for j, p in ipairs(row) do
      if p > best then best, arg = p, j - 1 end
    end
    if arg == labels[i] then correct = correct + 1 end
  end
  return correct
end

describe('the custom training loop (tutorial, "Under the hood")', function()
  it('learns MNIST in one epoch', function()
    local mnist = mx.test_utils.get_mnist()
    local batch_size = 100
    local mlp = tutorial_mlp()
    local input_shapes = {data = {batch_size, 784}, softmax_label = {batch_size}}
    local exe = mlp:simple_bind{ctx = mx.cpu(), data = {batch_size, 784}, softmax_label = {batch_size}}
    local args = exe.arg_dict
    local data, label = args.data, args.softmax_label

    mx.random.seed(1234)
    for i, name in ipairs(mlp:list_arguments()) do -- mx.init.Uniform(0.01), by hand, in a fixed order
      local arr = exe.arg_arrays[i]
      if not input_shapes[name] then arr:set(mx.random.uniform(-0.01, 0.01, arr:shape())) end
    end

    -- SGD with momentum and weight decay, MXNet's rule, by hand
    local lr, momentum, wd, rescale = 0.1, 0.9, 0.00001, 1 / batch_size
    local moms = {}
    local function update(i, grad, weight)
      if not grad then return end -- data and label have no gradient
      moms[i] = moms[i] or mx.nd.zeros(weight:shape())
      local step = grad * rescale + weight * wd
      moms[i]:mul_(momentum)
      moms[i]:sub_(step * lr)
      weight:add_(moms[i])
    end

    local X, Y = mnist.train_data, mnist.train_label
    local n = X:shape()[1]
    local correct, seen = 0, 0
    for b = 1, n // batch_size do
      local first = (b - 1) * batch_size + 1
      data:set(X:slice(first, first + batch_size - 1))   -- copy into the executor's own input
      label:set(Y:slice(first, first + batch_size - 1))
      exe:forward{is_train = true}
      exe:backward()
      for i, weight in ipairs(exe.arg_arrays) do update(i, exe.grad_arrays[i], weight) end
      if b > n // batch_size - 100 then -- training accuracy over the last 100 batches
        local labels = label:totable()
        correct = correct + count_correct(exe.outputs[1]:totable(), labels)
        seen = seen + batch_size
      end
    end
    local train_acc = correct / seen

    -- validation on the test set, with the same executor
    local TX, TY = mnist.test_data, mnist.test_label
    correct, seen = 0, 0
    for b = 1, TX:shape()[1] // batch_size do
      local first = (b - 1) * batch_size + 1
      exe:forward{is_train = false, data = TX:slice(first, first + batch_size - 1)}
      correct = correct + count_correct(exe.outputs[1]:totable(), TY:slice(first, first + batch_size - 1):totable())
      seen = seen + batch_size
    end
    local val_acc = correct / seen
    print(string.format('\n  1 epoch: train accuracy (last 100 batches) %.4f, validation accuracy %.4f', train_acc,
      val_acc))
    -- bands, not figures (the digits depend on the GEMM kernel and its threads): one epoch of
    -- the tutorial's network reaches 0.95, and a loop that does not learn stays near 0.1
    assert.is_true(train_acc > 0.9, 'train accuracy ' .. train_acc)
    assert.is_true(val_acc > 0.9, 'validation accuracy ' .. val_acc)
  end)
end)
