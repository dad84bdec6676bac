-- optimizer_spec: one SGD step (with and without momentum, clipping, weight
-- decay multipliers) and one Adam step against values worked out by hand,
-- RMSProp and AdaGrad, the registry, the updater, saved states, schedulers.
local mx = require 'mx'

setup(function() mx.log.config{level = 'warning'} end) -- schedulers log their changes
teardown(function() mx.log.config{level = 'info'} end)

local function near_list(expected, got, tol)
  assert.equal(#expected, #got)
  for i = 1, #expected do assert.near(expected[i], got[i], tol or 1e-6) end
end

describe('mx.optimizer', function()
  it('SGD with momentum: one step by hand', function()
    -- w = {1, -2}, g = {2, 4}, rescale 0.5 -> g' = {1, 2}; lr 0.1, wd 0.01, momentum 0.9, mom 0:
    -- mom = -0.1*(g' + 0.01*w) = {-0.101, -0.198}; w + mom = {0.899, -2.198}
    local opt = mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9, wd = 0.01, rescale_grad = 0.5}
    local up = mx.optimizer.get_updater(opt)
    local w, g = mx.nd.array{1, -2}, mx.nd.array{2, 4}
    up(1, g, w)
    near_list({0.899, -2.198}, w:totable())
    near_list({-0.101, -0.198}, up.states[1]:totable())
    -- second step: mom = 0.9*mom - 0.1*(g' + 0.01*w)
    --   = {-0.0909 - 0.1*(1 + 0.00899), -0.1782 - 0.1*(2 - 0.02198)} = {-0.191799, -0.376002}
    up(1, g, w)
    near_list({-0.191799, -0.376002}, up.states[1]:totable())
    near_list({0.707201, -2.574002}, w:totable())
    assert.equal(2, opt.num_update)
  end)

  it('SGD without momentum, with clipping', function()
    -- g' = clip({3, -0.5} * 1, -1, 1) = {1, -0.5}; w = {1, 1} - 0.5*(g' + 0) = {0.5, 1.25}
    local up = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 0.5, clip_gradient = 1})
    local w = mx.nd.array{1, 1}
    up(1, mx.nd.array{3, -0.5}, w)
    near_list({0.5, 1.25}, w:totable())
    assert.is_false(up.states[1]) -- no state without momentum
  end)

  it('keeps biases out of weight decay when param_idx2name is given, and applies lr_mult', function()
    local opt = mx.optimizer.SGD{learning_rate = 1, wd = 0.5, param_idx2name = {'fc_weight', 'fc_bias'}}
    opt:set_lr_mult{fc_bias = 2}
    local up = mx.optimizer.get_updater(opt)
    local w, b, zero = mx.nd.array{1}, mx.nd.array{1}, mx.nd.array{0}
    up(1, zero, w) -- w - 1*(0 + 0.5*1) = 0.5
    up(2, zero, b) -- bias: wd_mult 0, so it stays 1
    up(2, mx.nd.array{1}, b) -- lr 1*2: 1 - 2*1 = -1
    near_list({0.5}, w:totable())
    near_list({-1}, b:totable())
    -- a bare optimizer (no idx2name) decays biases too, as MXNet's custom loop does
    local up2 = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 1, wd = 0.5})
    local b2 = mx.nd.array{1}
    up2(2, zero, b2)
    near_list({0.5}, b2:totable())
  end)

  it('takes lr_mult and wd_mult from the symbol\'s variables', function()
    local w = mx.symbol.Variable('fc_weight', {lr_mult = 2, wd_mult = 0.5})
    local net = mx.symbol.FullyConnected{data = mx.symbol.Variable('data'), weight = w, name = 'fc', num_hidden = 2}
    local opt = mx.optimizer.SGD{learning_rate = 0.1, wd = 0.2, sym = net, param_idx2name = {'fc_weight', 'fc_bias'}}
    assert.equal(2, opt.lr_mult.fc_weight)
    assert.equal(0.5, opt.wd_mult.fc_weight)
    assert.near(0.2, opt:_get_lr(1), 1e-12)
    assert.near(0.1, opt:_get_wd(1), 1e-12)
    assert.near(0.1, opt:_get_lr(2), 1e-12)
    assert.equal(0, opt:_get_wd(2))
  end)

  it('skips a nil gradient', function()
    local up = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 1})
    local w = mx.nd.array{3}
    up(1, nil, w)
    assert.same({3}, w:totable())
  end)

  it('Adam: one step by hand', function()
    -- g = {2, -1}; m = 0.1*g = {0.2, -0.1}; v = 0.001*g^2 = {0.004, 0.001}
    -- lr_t = 0.01*sqrt(1-0.999)/(1-0.9) = 0.0031623; w -= lr_t*m/(sqrt(v)+1e-8) = 0.01*sign(g)
    local up = mx.optimizer.get_updater(mx.optimizer.create('adam', {learning_rate = 0.01}))
    local w = mx.nd.array{1, 1}
    up(1, mx.nd.array{2, -1}, w)
    near_list({0.99, 1.01}, w:totable(), 1e-6)
    near_list({0.2, -0.1}, up.states[1][1]:totable())
    near_list({0.004, 0.001}, up.states[1][2]:totable(), 1e-7)
    -- epsilon large enough to matter: it is added to sqrt(v), not inside it
    local up2 = mx.optimizer.get_updater(mx.optimizer.create('adam', {learning_rate = 0.01, epsilon = 0.1}))
    local w2 = mx.nd.array{1, 1}
    up2(1, mx.nd.array{2, -1}, w2)
    local lr_t = 0.01 * math.sqrt(1 - 0.999) / (1 - 0.9)
    near_list({1 - lr_t * 0.2 / (math.sqrt(0.004) + 0.1), 1 + lr_t * 0.1 / (math.sqrt(0.001) + 0.1)},
      w2:totable(), 1e-6)
  end)

  it('RMSProp and AdaGrad: one step by hand', function()
    -- RMSProp: n = 0.1*4 = 0.4; w = 1 - 0.01*2/sqrt(0.4) = 0.9683772
    local up = mx.optimizer.get_updater(mx.optimizer.create('RMSProp', {learning_rate = 0.01}))
    local w = mx.nd.array{1}
    up(1, mx.nd.array{2}, w)
    near_list({0.9683772}, w:totable())
    -- AdaGrad: h = 4; w = 1 - 0.1*(2/2) = 0.9
    local up2 = mx.optimizer.get_updater(mx.optimizer.create('adagrad', {learning_rate = 0.1}))
    local w2 = mx.nd.array{1}
    up2(1, mx.nd.array{2}, w2)
    near_list({0.9}, w2:totable())
    -- centered RMSProp keeps three states
    local up3 = mx.optimizer.get_updater(mx.optimizer.RMSProp{centered = true})
    up3(1, mx.nd.array{2}, mx.nd.array{1})
    assert.equal(3, #up3.states[1])
  end)

  it('creates by case-insensitive name and rejects unknown ones', function()
    assert.equal(mx.optimizer.SGD, getmetatable(mx.optimizer.create('SgD', {})))
    assert.equal(0.01, mx.optimizer.create('sgd').lr)
    assert.has_error(function() mx.optimizer.create('nadam') end,
      'mx.optimizer.create: unknown optimizer nadam (expected one of adagrad, adam, rmsprop, sgd)')
  end)

  it('saves and restores the updater state exactly', function()
    local function run(steps, up, w)
      for k = 1, steps do up(1, mx.nd.array{0.5 * k, -k}, w) end
    end
    local opt = function()
      return mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9,
                              lr_scheduler = mx.lr_scheduler.FactorScheduler(2, 0.5)}
    end
    local straight_w = mx.nd.array{1, 2}
    local straight = mx.optimizer.get_updater(opt())
    run(3, straight, straight_w)
    for k = 4, 6 do straight(1, mx.nd.array{0.5 * k, -k}, straight_w) end

    local w = mx.nd.array{1, 2}
    local first = mx.optimizer.get_updater(opt())
    run(3, first, w)
    local path = os.tmpname()
    first:save_states(path)
    local again = mx.optimizer.get_updater(opt())
    again:load_states(path)
    os.remove(path)
    assert.equal(3, again.optimizer.num_update)
    for k = 4, 6 do again(1, mx.nd.array{0.5 * k, -k}, w) end
    assert.same(straight_w:totable(), w:totable())
    assert.equal(straight.optimizer.lr_scheduler.base_lr, again.optimizer.lr_scheduler.base_lr)
  end)
end)

describe('mx.lr_scheduler', function()
  it('FactorScheduler reduces every step updates, once per call', function()
    local s = mx.lr_scheduler.FactorScheduler(3, 0.5)
    s.base_lr = 1
    local got = {}
    for n = 0, 10 do got[#got + 1] = s(n) end
    -- lowered when num_update > count + step: at 4 (count 3) and 7 (count 6), 10 (count 9)
    assert.same({1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125}, got)
    assert.has_error(function() mx.lr_scheduler.FactorScheduler(0) end)
    assert.has_error(function() mx.lr_scheduler.FactorScheduler(2, 1.5) end)
  end)

  it('FactorScheduler stops at stop_factor_lr', function()
    local s = mx.lr_scheduler.FactorScheduler(1, 0.1, 0.005)
    s.base_lr = 1
    for n = 1, 10 do s(n) end
    assert.equal(0.005, s.base_lr)
  end)

  it('MultiFactorScheduler reduces after each listed step', function()
    local s = mx.lr_scheduler.MultiFactorScheduler({2, 5}, 0.1)
    s.base_lr = 1
    local got = {}
    for n = 0, 7 do got[#got + 1] = s(n) end
    assert.same({1, 1, 1}, {got[1], got[2], got[3]})
    for i = 4, 6 do assert.near(0.1, got[i], 1e-12) end
    for i = 7, 8 do assert.near(0.01, got[i], 1e-12) end
    assert.has_error(function() mx.lr_scheduler.MultiFactorScheduler({5, 2}) end)
  end)

  it('drives the optimizer from learning_rate', function()
    local opt = mx.optimizer.SGD{learning_rate = 0.4, lr_scheduler = mx.lr_scheduler.FactorScheduler(1, 0.5)}
    local up = mx.optimizer.get_updater(opt)
    local w = mx.nd.array{0}
    up(1, mx.nd.array{1}, w) -- scheduler(0) = 0.4: w = -0.4
    up(1, mx.nd.array{1}, w) -- scheduler(1) = 0.4: w = -0.8
    up(1, mx.nd.array{1}, w) -- scheduler(2) = 0.2: w = -1.0
    near_list({-1.0}, w:totable())
  end)
end)
