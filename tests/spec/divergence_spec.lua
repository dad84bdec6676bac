-- divergence_spec: training with a huge learning rate and fit{check_finite = true} stops with
-- a message naming the first non-finite array, instead of training on NaN.
local mx = require 'mx'

local function mlp()
  local data = mx.symbol.Variable('data')
  local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 16}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2 = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 4}
  return mx.symbol.SoftmaxOutput{data = fc2, name = 'softmax'}
end

local function data()
  mx.random.seed(7)
  local X = mx.random.uniform(0, 100, {200, 20})
  local Y = mx.nd.array((function()
    local t = {}
    for i = 1, 200 do t[i] = i % 4 end
    return t
  end)())
  return mx.io.NDArrayIter{data = X, label = Y, batch_size = 20}
end

local quiet = {info = function() end, warning = function() end}

describe('fit{check_finite = true}', function()
  it('stops a diverging training at the first non-finite array, naming it', function()
    local model = mx.model.FeedForward{ctx = mx.cpu(), symbol = mlp(), num_epoch = 20, learning_rate = 1e30}
    local ok, err = pcall(model.fit, model, {X = data(), check_finite = true, logger = quiet})
    assert.is_false(ok)
    err = tostring(err)
    assert.is_truthy(err:find('mx%.model%.FeedForward:fit: [%w_]+ holds %-?[NI][an][Nf]'), err)
    assert.is_truthy(err:find('at batch %d+, produced by '), err)
    -- the model stays usable: a sane learning rate trains again from fresh weights
    local again = mx.model.FeedForward{ctx = mx.cpu(), symbol = mlp(), num_epoch = 1, learning_rate = 0.01}
    again:fit{X = data(), check_finite = true, logger = quiet}
    assert.is_table(again.arg_params)
  end)

  it('without check_finite the same training runs to the end on non-finite weights', function()
    local model = mx.model.FeedForward{ctx = mx.cpu(), symbol = mlp(), num_epoch = 2, learning_rate = 1e30}
    model:fit{X = data(), logger = quiet}
    local w = model.arg_params.fc1_weight
    assert.are_not.equal(0, (w * 0):sum():asscalar()) -- NaN * 0 is NaN
  end)

  it('a monitor passed with check_finite also checks, and still prints its statistics', function()
    local log = require 'mx.log'
    local lines, saved = {}, log.info
    log.info = function(...) lines[#lines + 1] = string.format(...) end
    local mon = mx.mon.Monitor{interval = 1, pattern = 'fc1_output'}
    local model = mx.model.FeedForward{ctx = mx.cpu(), symbol = mlp(), num_epoch = 5, learning_rate = 1e30}
    local ok, err = pcall(model.fit, model, {X = data(), monitor = mon, check_finite = true, logger = quiet})
    log.info = saved
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find('holds', 1, true))
    assert.is_truthy(table.concat(lines, '\n'):find('fc1_output', 1, true))
  end)
end)
