-- initializer_spec: MXNet's suffix dispatch, the weight rules of Uniform, Normal,
-- Xavier, Constant, Zero, One, Mixed and Load, determinism under mx.random.seed.
local mx = require 'mx'

local function values(a) return a:reshape{-1}:totable() end

local function all_equal(a, v)
  for _, x in ipairs(values(a)) do if x ~= v then return false end end
  return true
end

local function stats(a)
  local t = values(a)
  local s, s2, lo, hi = 0, 0, math.huge, -math.huge
  for _, x in ipairs(t) do
    s, s2 = s + x, s2 + x * x
    lo, hi = math.min(lo, x), math.max(hi, x)
  end
  local mean = s / #t
  return mean, math.sqrt(s2 / #t - mean * mean), lo, hi
end

describe('mx.init', function()
  it('dispatches on the name suffix as MXNet', function()
    local init = mx.init.Uniform(0.5)
    local cases = {fc1_bias = 0, bn_gamma = 1, bn_beta = 0, bn_moving_mean = 0, bn_moving_var = 1,
                   x_moving_inv_var = 0, x_moving_avg = 0}
    for name, v in pairs(cases) do
      local a = mx.nd.full({3, 4}, 9)
      init(name, a)
      assert.is_true(all_equal(a, v), name)
    end
    local w = mx.nd.full({50, 40}, 9)
    init('fc1_weight', w)
    local _, _, lo, hi = stats(w)
    assert.is_true(lo >= -0.5 and hi <= 0.5)
    assert.is_true(hi - lo > 0.9)
  end)

  it('rejects a name it has no rule for, naming the array', function()
    assert.has_error(function() mx.init.Uniform(0.1)('data', mx.nd.zeros{2}) end,
      'mx.init.Uniform: unknown initialization pattern for data (expected a name ending in weight, bias, gamma, '
      .. 'beta, moving_mean or moving_var)')
    assert.has_error(function() mx.init.Uniform(0.1)('w', 3) end)
  end)

  it('Uniform(scale) fills U(-scale, scale)', function()
    local w = mx.nd.zeros{200, 100}
    mx.init.Uniform(0.01)('w_weight', w)
    local mean, std, lo, hi = stats(w)
    assert.is_true(lo >= -0.01 and hi <= 0.01)
    assert.near(0, mean, 2e-4)
    assert.near(0.01 / math.sqrt(3), std, 2e-4) -- the std of U(-a, a) is a/sqrt(3)
    assert.equal(0.07, mx.init.Uniform().scale)
    assert.equal(0.2, mx.init.Uniform{scale = 0.2}.scale)
  end)

  it('Normal(sigma) fills N(0, sigma)', function()
    local w = mx.nd.zeros{200, 100}
    mx.init.Normal(0.1)('w_weight', w)
    local mean, std = stats(w)
    assert.near(0, mean, 3e-3)
    assert.near(0.1, std, 3e-3)
  end)

  it('Xavier scales by the fans', function()
    mx.random.seed(11)
    local w = mx.nd.zeros{64, 100}
    mx.init.Xavier()('fc_weight', w) -- avg fan (100 + 64)/2 = 82, scale sqrt(3/82)
    local s = math.sqrt(3 / 82)
    local _, std, lo, hi = stats(w)
    -- of 6400 draws of U(-s, s), none beyond s and (but for a chance of e^-32) one past 0.99 s
    -- at each end; fan_in alone (scale sqrt(3/100) = 0.906 s) fails both bounds
    assert.is_true(lo >= -s and hi <= s and hi > 0.99 * s and lo < -0.99 * s, ('%g %g %g'):format(lo, hi, s))
    -- the sample std of 6400 draws is within 0.6% of s/sqrt(3) (one standard error), 0.003 is 5 of them
    assert.near(s / math.sqrt(3), std, 0.003)
    -- a convolution's fans count its kernel's area (MXNet: shape[1] * hw and shape[0] * hw)
    local conv = mx.nd.zeros{16, 8, 5, 5}
    for factor, fan in pairs{['in'] = 8 * 25, out = 16 * 25, avg = (8 + 16) * 25 / 2} do
      mx.init.Xavier{factor_type = factor}('conv_weight', conv)
      local c = math.sqrt(3 / fan)
      local _, _, clo, chi = stats(conv) -- 3200 draws: past 0.99 c at each end but for a chance of 1e-7
      assert.is_true(clo >= -c and chi <= c and chi > 0.99 * c and clo < -0.99 * c, factor)
    end
    local g = mx.nd.zeros{300, 100}
    mx.init.Xavier{rnd_type = 'gaussian', factor_type = 'in', magnitude = 2}('fc_weight', g)
    local _, gstd = stats(g)
    assert.near(math.sqrt(2 / 100), gstd, 0.005)
    assert.has_error(function() mx.init.Xavier{factor_type = 'sum'} end)
  end)

  it("names starting 'upsampling' get MXNet's bilinear kernel in every channel", function()
    -- by hand: the tent (1 - |x/f - c|) with f = ceil(width/2), c = (2f - 1 - f % 2) / (2f)
    local tents = {[4] = {0.25, 0.75, 0.75, 0.25}, [5] = {1 / 3, 2 / 3, 1, 2 / 3, 1 / 3}}
    for _, shape in ipairs{{2, 3, 4, 4}, {1, 1, 5, 5}} do
      local w = mx.nd.full(shape, 7)
      mx.init.Uniform(0.5)('upsampling0_weight', w)
      local tent = tents[shape[4]]
      local t = w:totable()
      for a = 1, shape[1] do
        for b = 1, shape[2] do
          for y = 1, shape[3] do
            for x = 1, shape[4] do assert.near(tent[y] * tent[x], t[a][b][y][x], 1e-6) end
          end
        end
      end
    end
    -- the height follows the width's tent: a 3 x 5 kernel takes the first three rows of 5's
    local w = mx.nd.zeros{1, 1, 3, 5}
    mx.init.Xavier()('upsampling_weight', w)
    local t = w:totable()[1][1]
    for y = 1, 3 do
      for x = 1, 5 do assert.near(tents[5][y] * tents[5][x], t[y][x], 1e-6) end
    end
  end)

  it('Constant, Zero and One', function()
    local w = mx.nd.zeros{2, 3}
    mx.init.Constant(0.25)('w_weight', w)
    assert.is_true(all_equal(w, 0.25))
    mx.init.One()('w_weight', w)
    assert.is_true(all_equal(w, 1))
    mx.init.Zero()('w_weight', w)
    assert.is_true(all_equal(w, 0))
    local b = mx.nd.ones{3}
    mx.init.One()('w_bias', b) -- biases still go to 0
    assert.is_true(all_equal(b, 0))
  end)

  it('Mixed picks the first pattern that matches', function()
    local init = mx.init.Mixed({'^fc1', '.*'}, {mx.init.Constant(3), mx.init.Constant(5)})
    local a, b = mx.nd.zeros{2}, mx.nd.zeros{2}
    init('fc1_weight', a)
    init('fc2_weight', b)
    assert.same({3, 3}, a:totable())
    assert.same({5, 5}, b:totable())
    local only = mx.init.Mixed({'^fc1'}, {mx.init.Zero()})
    assert.has_error(function() only('fc2_weight', b) end,
      'mx.init.Mixed: fc2_weight matches none of the patterns (add a ".*" pattern as a default)')
  end)

  it('Load copies named values (arg:/aux: prefixes dropped) and falls back to a default', function()
    local init = mx.init.Load({['arg:fc1_weight'] = mx.nd.array{{1, 2}}, ['aux:bn_moving_var'] = mx.nd.array{7}},
                              mx.init.Constant(4))
    local w, v, other = mx.nd.zeros{1, 2}, mx.nd.zeros{1}, mx.nd.zeros{2}
    init('fc1_weight', w)
    init('bn_moving_var', v)
    init('fc2_weight', other)
    assert.same({{1, 2}}, w:totable())
    assert.same({7}, v:totable())
    assert.same({4, 4}, other:totable())
    assert.has_error(function() init('fc1_weight', mx.nd.zeros{2, 2}) end,
      'mx.init.Load: parameter fc1_weight cannot be initialized from loading: shape (1,2) does not match (2,2)')
    assert.has_error(function() mx.init.Load({})('fc9_weight', w) end)
  end)

  it('gives the same weights under the same seed', function()
    local a, b = mx.nd.zeros{10, 10}, mx.nd.zeros{10, 10}
    mx.random.seed(11)
    mx.init.Uniform(1)('a_weight', a)
    mx.random.seed(11)
    mx.init.Uniform(1)('b_weight', b)
    assert.same(a:totable(), b:totable())
  end)
end)
