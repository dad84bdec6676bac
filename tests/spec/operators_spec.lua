-- operators_spec.lua: every operator's forward against a reference written here
-- with plain loops, and its backward against central finite differences at
-- several shapes (odd sizes, batch 1), with 'write', 'add' and 'null' requests.
local mx = require 'mx'
local G = require 'gradcheck'

local sym = mx.symbol

local function near(a, b, tol) return G.near(a, b, tol or 1e-5) end
local function assert_all_near(got, want, tol) return G.assert_all_near(got, want, tol or 1e-5) end

-- Forward of `s` on inputs {name = NDArray}; returns the first output.
local function run(s, inputs, is_train)
  local exe = s:bind{ctx = mx.cpu(), args = inputs}
  exe:forward{is_train = is_train or false}
  return exe.outputs[1], exe
end

-- f must raise an error containing each of the given strings
local function fails(f, ...)
  local ok, err = pcall(f)
  assert.is_false(ok)
  for _, p in ipairs{...} do assert.matches(p, err, 1, true) end
end

local function prod(shape, from)
  local n = 1
  for i = from or 1, #shape do n = n * shape[i] end
  return n
end

describe('FullyConnected', function()
  local function reference(x, w, b, rows, k, nh)
    local out = {}
    for i = 0, rows - 1 do
      for j = 0, nh - 1 do
        local s = b and b[j + 1] or 0
        for t = 0, k - 1 do s = s + x[i * k + t + 1] * w[j * k + t + 1] end
        out[i * nh + j + 1] = s
      end
    end
    return out
  end

  for _, case in ipairs{{{1, 3}, 2}, {{5, 7}, 3}, {{4, 2, 3}, 5}, {{3, 1}, 1}} do
    local shape, nh = case[1], case[2]
    local name = string.format('(%s) -> %d', table.concat(shape, ','), nh)
    it('forward and gradients ' .. name, function()
      local k = prod(shape, 2)
      local x, w, b = G.random(shape), G.random({nh, k}), G.random({nh})
      local fc = sym.FullyConnected{data = sym.Variable('x'), num_hidden = nh, name = 'fc'}
      local out = run(fc, {x = x, fc_weight = w, fc_bias = b})
      assert.are.same({shape[1], nh}, out:shape())
      assert_all_near(G.flat(out), reference(G.flat(x), G.flat(w), G.flat(b), shape[1], k, nh))
      G.check_symbol(fc, {x = x, fc_weight = w, fc_bias = b})
    end)
  end

  it('no_bias drops the bias argument', function()
    local fc = sym.FullyConnected{data = sym.Variable('x'), num_hidden = 3, no_bias = true, name = 'fc'}
    assert.are.same({'x', 'fc_weight'}, fc:list_arguments())
    local x, w = G.random({2, 5}), G.random({3, 5})
    local out = run(fc, {x = x, fc_weight = w})
    assert_all_near(G.flat(out), reference(G.flat(x), G.flat(w), nil, 2, 5, 3))
    G.check_symbol(fc, {x = x, fc_weight = w})
  end)

  it('flatten = false works over the last axis', function()
    local fc = sym.FullyConnected{data = sym.Variable('x'), num_hidden = 2, flatten = false, name = 'fc'}
    local _, outs = fc:infer_shape{x = {2, 3, 4}}
    assert.are.same({2, 3, 2}, outs[1])
    local x, w, b = G.random({2, 3, 4}), G.random({2, 4}), G.random({2})
    local out = run(fc, {x = x, fc_weight = w, fc_bias = b})
    assert_all_near(G.flat(out), reference(G.flat(x), G.flat(w), G.flat(b), 6, 4, 2))
    G.check_symbol(fc, {x = x, fc_weight = w, fc_bias = b})
  end)

  it('names a missing num_hidden and lists the valid parameters of an unknown one', function()
    local ok, err = pcall(sym.FullyConnected, {data = sym.Variable('x')})
    assert.is_false(ok)
    assert.matches("num_hidden", err)
    ok, err = pcall(sym.FullyConnected, {data = sym.Variable('x'), num_hiden = 3})
    assert.is_false(ok)
    assert.matches("mx.symbol.FullyConnected: .*unknown parameter 'num_hiden' "
      .. '%(valid: num_hidden, no_bias, flatten%)', err)
  end)
end)

describe('Activation', function()
  -- The CPU runs tanh and relu 8 floats at a time and the rest one by one: a value in a group
  -- of 8 and alone (an array of one) must give the same bits, and the function's value (tanh
  -- within 4e-7, its ends exact; relu exact, NaN kept, -0 and negatives to +0).
  local wide = {
    tanh = function(v)
      return v > 20 and 1 or v < -20 and -1 or (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)), 4e-7
    end,
    relu = function(v) return v > 0 and string.unpack('f', string.pack('f', v)) or 0, 0 end, -- v as a float
  }
  for act, f in pairs(wide) do
    it(act .. ' gives the same bits 8 at a time as one by one, and its values', function()
      local values = {0, -0.0, 1e-5, -3e-4, 0.0004, 0.01, -0.5, 1, -2.5, 5, 7.9, -7.91, 8.5, 9, 9.5, -20, 1e30,
                      0 / 0, math.huge, -math.huge}
      local seed = 12345
      for _ = 1, 400 do -- and values spread over (-10, 10)
        seed = (seed * 1103515245 + 12345) % 2147483648
        values[#values + 1] = seed / 2147483648 * 20 - 10
      end
      local x = {}
      for _, v in ipairs(values) do
        for _ = 1, 8 do x[#x + 1] = v end
      end
      local groups = mx.nd.Activation{data = mx.nd.array(x), act_type = act}:totable()
      for k, v in ipairs(values) do
        local grouped = groups[(k - 1) * 8 + 1]
        local alone = mx.nd.Activation{data = mx.nd.array{v}, act_type = act}:totable()[1]
        if v ~= v then
          assert.is_true(grouped ~= grouped and alone ~= alone, 'NaN stays NaN')
        else
          assert.are.equal(string.pack('f', alone), string.pack('f', grouped), 'bits differ at ' .. v)
          local want, tol = f(v)
          assert.is_true(grouped == want or math.abs(grouped - want) <= tol,
                         ('%s(%g) = %.9g, want %.9g'):format(act, v, grouped, want))
          if act == 'relu' and v <= 0 then assert.are.equal(string.pack('f', 0), string.pack('f', grouped)) end
        end
      end
    end)
  end

  local fns = {
    relu = function(x) return x > 0 and x or 0 end,
    sigmoid = function(x) return 1 / (1 + math.exp(-x)) end,
    tanh = function(x) return (math.exp(x) - math.exp(-x)) / (math.exp(x) + math.exp(-x)) end,
    softrelu = function(x) return math.log(1 + math.exp(x)) end,
  }
  for act, f in pairs(fns) do
    for _, shape in ipairs{{1, 1}, {3, 5}, {2, 3, 4}} do
      it(act .. ' at (' .. table.concat(shape, ',') .. ')', function()
        local x = G.random(shape, -2, 2, 0.05)
        local s = sym.Activation{data = sym.Variable('x'), act_type = act}
        local out = run(s, {x = x})
        local want = {}
        for i, v in ipairs(G.flat(x)) do want[i] = f(v) end
        assert_all_near(G.flat(out), want)
        G.check_symbol(s, {x = x})
      end)
    end
  end
  it('rejects an unknown act_type, listing the valid ones', function()
    local ok, err = pcall(sym.Activation, {data = sym.Variable('x'), act_type = 'relux'})
    assert.is_false(ok)
    assert.matches('relu|sigmoid|tanh|softrelu', err, 1, true)
  end)
end)

-- softmax over rows of a flat (n, k) table
local function softmax_rows(x, n, k)
  local p = {}
  for i = 0, n - 1 do
    local m = -math.huge
    for j = 1, k do m = math.max(m, x[i * k + j]) end
    local s = 0
    for j = 1, k do s = s + math.exp(x[i * k + j] - m) end
    for j = 1, k do p[i * k + j] = math.exp(x[i * k + j] - m) / s end
  end
  return p
end

describe('SoftmaxOutput', function()
  local function labels(n, k)
    local t = {}
    for i = 1, n do t[i] = (i * 7) % k end
    return mx.nd.array(t)
  end

  for _, case in ipairs{{1, 3}, {4, 5}, {7, 2}} do
    local n, k = case[1], case[2]
    it(string.format('forward and gradient at (%d,%d)', n, k), function()
      local x, l = G.random({n, k}, -2, 2), labels(n, k)
      local s = sym.SoftmaxOutput{data = sym.Variable('x'), name = 'sm'}
      assert.are.same({'x', 'sm_label'}, s:list_arguments())
      local out, exe = run(s, {x = x, sm_label = l})
      local p = softmax_rows(G.flat(x), n, k)
      assert_all_near(G.flat(out), p)
      -- the gradient is softmax - onehot(label), no division by the batch
      local g = mx.nd.zeros{n, k}
      local e2 = s:bind{ctx = mx.cpu(), args = {x = x, sm_label = l}, args_grad = {x = g}}
      e2:forward{is_train = true}
      e2:backward()
      local lt, want = G.flat(l), {}
      for i = 0, n - 1 do
        for j = 1, k do want[i * k + j] = p[i * k + j] - ((j - 1) == lt[i + 1] and 1 or 0) end
      end
      assert_all_near(G.flat(g), want)
      -- and it is the gradient of the cross-entropy
      G.check_symbol(s, {x = x, sm_label = l}, {skip = {'sm_label'}, loss = function(outs)
        local pr, L = G.flat(outs[1]), 0
        for i = 0, n - 1 do L = L - math.log(pr[i * k + lt[i + 1] + 1]) end
        return L
      end})
      assert.is_not_nil(exe)
    end)
  end

  local function grad_of(params, x, l)
    params.data = sym.Variable('x')
    params.name = 'sm'
    local s = sym.SoftmaxOutput(params)
    local g = mx.nd.zeros(x:shape())
    local exe = s:bind{ctx = mx.cpu(), args = {x = x, sm_label = l}, args_grad = {x = g}}
    exe:forward{is_train = true}
    exe:backward()
    return G.flat(g), G.flat(exe.outputs[1])
  end

  it('grad_scale, normalization batch and valid, use_ignore', function()
    local x, l = G.random({4, 3}), mx.nd.array{0, 2, -1, 1}
    local plain, p = grad_of({}, x, mx.nd.array{0, 2, 0, 1})
    local scaled = grad_of({grad_scale = 0.5, normalization = 'batch'}, x, mx.nd.array{0, 2, 0, 1})
    for i = 1, 12 do assert.is_true(near(scaled[i], plain[i] * 0.5 / 4)) end
    local ign = grad_of({use_ignore = true, ignore_label = -1, normalization = 'valid'}, x, l)
    local lt = G.flat(l)
    for i = 0, 3 do
      for j = 1, 3 do
        local want = lt[i + 1] == -1 and 0 or (p[i * 3 + j] - ((j - 1) == lt[i + 1] and 1 or 0)) / 3
        assert.is_true(near(ign[i * 3 + j], want), string.format('row %d col %d', i, j))
      end
    end
  end)

  it('without use_ignore a label equal to ignore_label is an ordinary label', function()
    -- (a label outside 0..k-1 is refused: errors_spec; so ignore_label names a real class here)
    local x, l = G.random({3, 3}), mx.nd.array{1, 2, 0}
    local g, p = grad_of({ignore_label = 2}, x, l)
    -- every row, the one labelled 2 too: p - onehot
    for j = 1, 3 do
      assert.is_true(near(g[3 + j], p[3 + j] - (j == 3 and 1 or 0)), 'row 2 col ' .. j)
      assert.is_true(near(g[j], p[j] - (j == 2 and 1 or 0)), 'row 1 col ' .. j)
    end
  end)

  it('a label out of range without use_ignore is refused', function()
    -- (issue 19: class ids out of range are refused, as take and PyTorch's "Target out of bounds")
    local x, l = G.random({3, 3}), mx.nd.array{1, -1, 0}
    local ok, err = pcall(grad_of, {ignore_label = -1}, x, l)
    assert.is_false(ok)
    assert.matches('label %-1 %(at position 1%) out of range for 3 classes', err)
  end)

  it('multi_output: softmax over axis 2 of (n, k, m), labels (n, m)', function()
    local n, k, m = 2, 3, 4
    local x = G.random({n, k, m})
    local s = sym.SoftmaxOutput{data = sym.Variable('x'), name = 'sm', multi_output = true}
    local args = s:infer_shape{x = {n, k, m}}
    assert.are.same({n, m}, args[2])
    local l = mx.nd.array{{0, 1, 2, 0}, {2, 2, 1, 0}}
    local out = run(s, {x = x, sm_label = l})
    local xf, of = G.flat(x), G.flat(out)
    for a = 0, n - 1 do
      for c = 0, m - 1 do
        local mx_, sum = -math.huge, 0
        for j = 0, k - 1 do mx_ = math.max(mx_, xf[a * k * m + j * m + c + 1]) end
        for j = 0, k - 1 do sum = sum + math.exp(xf[a * k * m + j * m + c + 1] - mx_) end
        for j = 0, k - 1 do
          assert.is_true(near(of[a * k * m + j * m + c + 1], math.exp(xf[a * k * m + j * m + c + 1] - mx_) / sum))
        end
      end
    end
    local lt = G.flat(l)
    G.check_symbol(s, {x = x, sm_label = l}, {skip = {'sm_label'}, loss = function(outs)
      local pr, L = G.flat(outs[1]), 0
      for a = 0, n - 1 do
        for c = 0, m - 1 do L = L - math.log(pr[a * k * m + lt[a * m + c + 1] * m + c + 1]) end
      end
      return L / m -- non-'valid' normalization divides by the spatial size
    end})
  end)

  it('out_grad = true multiplies the gradient by the gradient from above (then it needs one)', function()
    local x, l = G.random({2, 3}), mx.nd.array{1, 0}
    local plain = grad_of({}, x, l)
    local s = sym.SoftmaxOutput{data = sym.Variable('x'), name = 'sm', out_grad = true}
    local g = mx.nd.zeros{2, 3}
    local exe = s:bind{ctx = mx.cpu(), args = {x = x, sm_label = l}, args_grad = {x = g}}
    exe:forward{is_train = true}
    assert.has_error(function() exe:backward() end)
    local head = G.random({2, 3})
    exe:backward{head}
    local hf, gf = G.flat(head), G.flat(g)
    for i = 1, 6 do assert.is_true(near(gf[i], plain[i] * hf[i])) end
  end)

  it('a label of the data shape is a distribution: gradient out - label', function()
    local x, l = G.random({3, 4}), mx.nd.array{{0.1, 0.2, 0.3, 0.4}, {1, 0, 0, 0}, {0.25, 0.25, 0.25, 0.25}}
    local g, p = grad_of({}, x, l)
    local lf = G.flat(l)
    for i = 1, 12 do assert.is_true(near(g[i], p[i] - lf[i])) end
  end)
end)

describe('softmax and log_softmax', function()
  it('stay finite on logits whose exponentials overflow a float', function()
    local x = mx.nd.array{{1000, 0, -1000}}
    local p = sym.softmax{data = sym.Variable('x')}:bind{ctx = mx.cpu(), args = {x = x}}
    p:forward()
    assert.are.same({{1, 0, 0}}, p.outputs[1]:totable())
    local l = sym.log_softmax{data = sym.Variable('x')}:bind{ctx = mx.cpu(), args = {x = x}}
    l:forward()
    assert.are.same({{0, -1000, -2000}}, l.outputs[1]:totable())
  end)

  for _, shape in ipairs{{1, 4}, {3, 5}} do
    it('at (' .. table.concat(shape, ',') .. ')', function()
      local x = G.random(shape, -2, 2)
      local p = softmax_rows(G.flat(x), shape[1], shape[2])
      local s = sym.softmax{data = sym.Variable('x')}
      assert_all_near(G.flat(run(s, {x = x})), p)
      G.check_symbol(s, {x = x})
      local ls = sym.log_softmax{data = sym.Variable('x')}
      local lp = {}
      for i, v in ipairs(p) do lp[i] = math.log(v) end
      assert_all_near(G.flat(run(ls, {x = x})), lp, 1e-4)
      G.check_symbol(ls, {x = x})
    end)
  end
  it('an axis out of range is reported at bind', function()
    local s = sym.softmax{data = sym.Variable('x'), axis = 2, name = 'sm'}
    local ok, err = pcall(s.simple_bind, s, {x = {2, 3}})
    assert.is_false(ok)
    assert.matches('softmax sm: axis 2 out of range for data (2,3)', err, 1, true)
  end)
  it('over axis 0 (0-based C axis)', function()
    local x = G.random({3, 2})
    local s = sym.softmax{data = sym.Variable('x'), axis = 0}
    local xf, of = G.flat(x), G.flat(run(s, {x = x}))
    for c = 0, 1 do
      local sum = 0
      for r = 0, 2 do sum = sum + math.exp(xf[r * 2 + c + 1]) end
      for r = 0, 2 do assert.is_true(near(of[r * 2 + c + 1], math.exp(xf[r * 2 + c + 1]) / sum)) end
    end
    G.check_symbol(s, {x = x})
  end)
end)

describe('regression outputs', function()
  local sig = function(v) return 1 / (1 + math.exp(-v)) end
  local cases = {
    LinearRegressionOutput = {f = function(v) return v end,
      loss = function(y, l) return 0.5 * (y - l) ^ 2 end},
    LogisticRegressionOutput = {f = sig,
      loss = function(y, l) return -(l * math.log(y) + (1 - l) * math.log(1 - y)) end},
    MAERegressionOutput = {f = function(v) return v end,
      loss = function(y, l) return math.abs(y - l) end},
  }
  for op, c in pairs(cases) do
    for _, shape in ipairs{{1, 1}, {4, 3}, {5, 1}} do
      it(op .. ' at (' .. table.concat(shape, ',') .. ')', function()
        local x = G.random(shape, -1, 1)
        local l = G.random(shape, 0.05, 0.95)
        if op == 'MAERegressionOutput' then -- keep |x - l| off the kink
          local xf, lf = x:reshape{x:size()}, G.flat(l)
          for i = 1, x:size() do if math.abs(xf[i] - lf[i]) < 0.05 then xf[i] = lf[i] + 0.1 end end
        end
        local s = sym[op]{data = sym.Variable('x'), name = 'reg'}
        local out = run(s, {x = x, reg_label = l})
        local want = {}
        for i, v in ipairs(G.flat(x)) do want[i] = c.f(v) end
        assert_all_near(G.flat(out), want)
        local per = prod(shape, 2)
        G.check_symbol(s, {x = x, reg_label = l}, {skip = {'reg_label'}, loss = function(outs)
          local y, lf, L = G.flat(outs[1]), G.flat(l), 0
          for i = 1, #y do L = L + c.loss(y[i], lf[i]) end
          return L / per
        end})
      end)
    end
  end
  it('a label (n,) fits data (n,1)', function()
    local s = sym.LinearRegressionOutput{data = sym.Variable('x'), name = 'reg'}
    local args = s:infer_shape{x = {5, 1}, reg_label = {5}}
    assert.are.same({5}, args[2])
  end)
end)

describe('Flatten and Reshape', function()
  it('Flatten (2,3,4) -> (2,12), values in order', function()
    local x = G.random({2, 3, 4})
    local s = sym.Flatten{data = sym.Variable('x')}
    local out = run(s, {x = x})
    assert.are.same({2, 12}, out:shape())
    assert_all_near(G.flat(out), G.flat(x))
    G.check_symbol(s, {x = x})
  end)
  it('Reshape with 0 and -1', function()
    local x = G.random({2, 3, 4})
    local s = sym.Reshape{data = sym.Variable('x'), shape = {0, -1}}
    local _, outs = s:infer_shape{x = {2, 3, 4}}
    assert.are.same({2, 12}, outs[1])
    s = sym.Reshape{data = sym.Variable('x'), shape = {-1, 4, 1}}
    _, outs = s:infer_shape{x = {2, 3, 4}}
    assert.are.same({6, 4, 1}, outs[1])
    local out = run(s, {x = x})
    assert_all_near(G.flat(out), G.flat(x))
    G.check_symbol(s, {x = x})
  end)
  it('Reshape to a size that does not fit raises, naming the shapes', function()
    local s = sym.Reshape{data = sym.Variable('x'), shape = {5, -1}, name = 'r'}
    local ok, err = pcall(s.infer_shape, s, {x = {2, 3}})
    assert.is_false(ok)
    assert.matches('Reshape r', err)
    assert.matches('(2,3)', err, 1, true)
  end)
end)

describe('element-wise', function()
  local a, b = sym.Variable('a'), sym.Variable('b')
  local binary = {
    {'+', a + b, function(x, y) return x + y end},
    {'-', a - b, function(x, y) return x - y end},
    {'*', a * b, function(x, y) return x * y end},
    {'/', a / b, function(x, y) return x / y end},
  }
  for _, c in ipairs(binary) do
    it('a ' .. c[1] .. ' b at (3,5) and (1,1)', function()
      for _, shape in ipairs{{3, 5}, {1, 1}} do
        local x, y = G.random(shape, -1, 1), G.random(shape, 0.5, 2)
        local out = run(c[2], {a = x, b = y})
        local xf, yf, want = G.flat(x), G.flat(y), {}
        for i = 1, #xf do want[i] = c[3](xf[i], yf[i]) end
        assert_all_near(G.flat(out), want)
        G.check_symbol(c[2], {a = x, b = y})
      end
    end)
  end
  local scalar = {
    {'a + 3', a + 3, function(x) return x + 3 end},
    {'3 + a', 3 + a, function(x) return 3 + x end},
    {'a - 3', a - 3, function(x) return x - 3 end},
    {'3 - a', 3 - a, function(x) return 3 - x end},
    {'a * 2.5', a * 2.5, function(x) return x * 2.5 end},
    {'a / 4', a / 4, function(x) return x / 4 end},
    {'2 / a', 2 / a, function(x) return 2 / x end},
    {'-a', -a, function(x) return -x end},
  }
  for _, c in ipairs(scalar) do
    it(c[1], function()
      local x = G.random({2, 3}, 0.5, 2)
      local out = run(c[2], {a = x})
      local want = {}
      for i, v in ipairs(G.flat(x)) do want[i] = c[3](v) end
      assert_all_near(G.flat(out), want)
      G.check_symbol(c[2], {a = x})
    end)
  end
  it('a + a gets twice the gradient', function()
    local s = a + a
    G.check_symbol(s, {a = G.random({2, 2})})
  end)
  it('different shapes raise, naming the operator and shapes', function()
    local ok, err = pcall((a + b).infer_shape, a + b, {a = {2, 3}, b = {3, 2}})
    assert.is_false(ok)
    assert.matches('_Plus', err)
    assert.matches('(3,2)', err, 1, true)
  end)
end)

describe('Dropout', function()
  it('is the identity at inference and drops about p in training, scaling by 1/(1-p)', function()
    local x = G.random({50, 40}, 0.5, 1)
    local s = sym.Dropout{data = sym.Variable('x'), p = 0.3}
    assert.are.equal(1, #s:list_outputs()) -- the mask is a hidden output
    assert.matches('^dropout%d+_output$', s:list_outputs()[1])
    local g = mx.nd.zeros{50, 40}
    local exe = s:bind{ctx = mx.cpu(), args = {x = x}, args_grad = {x = g}}
    exe:forward{is_train = false}
    assert_all_near(G.flat(exe.outputs[1]), G.flat(x))
    exe:forward{is_train = true}
    local xf, of = G.flat(x), G.flat(exe.outputs[1])
    local dropped = 0
    for i = 1, #of do
      if of[i] == 0 then dropped = dropped + 1 else assert.is_true(near(of[i], xf[i] / 0.7)) end
    end
    assert.is_true(math.abs(dropped / #of - 0.3) < 0.05, 'dropped fraction ' .. dropped / #of)
    -- backward: dy * mask, the same elements as forward
    local dy = mx.nd.ones{50, 40}
    exe:backward{dy}
    local gf = G.flat(g)
    for i = 1, #gf do assert.is_true(near(gf[i], of[i] == 0 and 0 or 1 / 0.7)) end
  end)
end)

describe('Dropout parameters', function()
  it('a p outside [0, 1) is reported at bind, naming the node', function()
    local s = sym.Dropout{data = sym.Variable('x'), p = 1.5, name = 'drop'}
    local ok, err = pcall(s.simple_bind, s, {x = {2, 3}})
    assert.is_false(ok)
    assert.matches('Dropout drop: p must be in %[0, 1%) %(got 1.5%)', err)
  end)
end)

describe('Concat', function()
  for _, dim in ipairs{0, 1} do
    it('dim ' .. dim, function()
      local x, y = G.random({2, 3}), G.random({dim == 0 and 3 or 2, dim == 0 and 3 or 1})
      local s = sym.Concat{sym.Variable('x'), sym.Variable('y'), dim = dim, name = 'cat'}
      assert.are.same({'x', 'y'}, s:list_arguments())
      local out = run(s, {x = x, y = y})
      local xt, yt = x:totable(), y:totable()
      local want = {}
      if dim == 0 then
        for _, r in ipairs(xt) do for _, v in ipairs(r) do want[#want + 1] = v end end
        for _, r in ipairs(yt) do for _, v in ipairs(r) do want[#want + 1] = v end end
      else
        for i = 1, 2 do
          for _, v in ipairs(xt[i]) do want[#want + 1] = v end
          for _, v in ipairs(yt[i]) do want[#want + 1] = v end
        end
      end
      assert_all_near(G.flat(out), want)
      G.check_symbol(s, {x = x, y = y})
    end)
  end
  it('three inputs along dim 1: each at its own offset, forward and gradients', function()
    local x, y, z = G.random({2, 1}), G.random({2, 2}), G.random({2, 3})
    local s = sym.Concat{sym.Variable('x'), sym.Variable('y'), sym.Variable('z'), dim = 1, name = 'cat'}
    local out = run(s, {x = x, y = y, z = z})
    local want = {}
    for i = 1, 2 do
      for _, part in ipairs{x:totable()[i], y:totable()[i], z:totable()[i]} do
        for _, v in ipairs(part) do want[#want + 1] = v end
      end
    end
    assert_all_near(G.flat(out), want)
    G.check_symbol(s, {x = x, y = y, z = z})
  end)

  it('mismatched shapes raise, naming the shapes', function()
    local s = sym.Concat{sym.Variable('x'), sym.Variable('y'), name = 'cat'}
    local ok, err = pcall(s.infer_shape, s, {x = {2, 3}, y = {3, 3}})
    assert.is_false(ok)
    assert.matches('Concat cat', err)
  end)
end)

describe('BlockGrad', function()
  it('passes values and stops the gradient', function()
    local x = G.random({3, 2})
    local var = sym.Variable('x')
    local s = sym.BlockGrad{data = var} + var
    local g = mx.nd.zeros{3, 2}
    local exe = s:bind{ctx = mx.cpu(), args = {x = x}, args_grad = {x = g}}
    exe:forward{is_train = true}
    local xf = G.flat(x)
    for i, v in ipairs(G.flat(exe.outputs[1])) do assert.is_true(near(v, 2 * xf[i])) end
    exe:backward{mx.nd.ones{3, 2}}
    for _, v in ipairs(G.flat(g)) do assert.is_true(near(v, 1)) end -- only the direct path
  end)

  it("with grad_req 'write' BlockGrad, Flatten and Reshape overwrite what the gradient array held", function()
    local var = sym.Variable('x')
    for name, s in pairs{BlockGrad = sym.BlockGrad{data = var}, Flatten = sym.Flatten{data = var},
                         Reshape = sym.Reshape{data = var, shape = {6}}} do
      local g = mx.nd.full({3, 2}, 7)
      local exe = s:bind{ctx = mx.cpu(), args = {x = G.random({3, 2})}, args_grad = {x = g}, grad_req = 'write'}
      exe:forward{is_train = true}
      exe:backward{mx.nd.ones(exe.outputs[1]:shape())}
      local want = name == 'BlockGrad' and 0 or 1
      for _, v in ipairs(G.flat(g)) do assert.are.equal(want, v, name) end
    end
  end)
end)

describe('dot and one_hot', function()
  local a, b = sym.Variable('a'), sym.Variable('b')

  -- op(x) (rows, cols) element (i, j), 0-based, of a flat row-major 2-D x of `cols0` columns
  local function at(f, cols0, t, i, j) if t then return f[j * cols0 + i + 1] end return f[i * cols0 + j + 1] end

  it('dot: 2-D with each transpose, matrix-vector, vector-matrix and vectors, against loops; gradients', function()
    local m, k, n = 3, 5, 4
    for _, t in ipairs{{false, false}, {true, false}, {false, true}, {true, true}} do
      local ta, tb = t[1], t[2]
      local x = G.random(ta and {k, m} or {m, k})
      local y = G.random(tb and {n, k} or {k, n})
      local s = sym.dot{lhs = a, rhs = b, transpose_a = ta, transpose_b = tb}
      local out = run(s, {a = x, b = y})
      assert.are.same({m, n}, out:shape())
      local xf, yf, want = G.flat(x), G.flat(y), {}
      for i = 0, m - 1 do
        for j = 0, n - 1 do
          local acc = 0
          for p = 0, k - 1 do acc = acc + at(xf, ta and m or k, ta, i, p) * at(yf, tb and k or n, tb, p, j) end
          want[#want + 1] = acc
        end
      end
      assert_all_near(G.flat(out), want, 1e-5)
      G.check_symbol(s, {a = x, b = y})
    end
    local v, w, mat = G.random({k}), G.random({k}), G.random({k, n})
    local vf, wf, matf = G.flat(v), G.flat(w), G.flat(mat)
    local inner = 0
    for p = 1, k do inner = inner + vf[p] * wf[p] end
    local vv = run(sym.dot{lhs = a, rhs = b}, {a = v, b = w})
    assert.are.same({1}, vv:shape())
    assert.is_true(near(G.flat(vv)[1], inner))
    local vm, want = run(sym.dot{lhs = a, rhs = b}, {a = v, b = mat}), {}
    assert.are.same({n}, vm:shape())
    for j = 0, n - 1 do
      local acc = 0
      for p = 0, k - 1 do acc = acc + vf[p + 1] * matf[p * n + j + 1] end
      want[j + 1] = acc
    end
    assert_all_near(G.flat(vm), want)
    assert.are.same({n}, run(sym.dot{lhs = a, rhs = b, transpose_a = true}, {a = mat, b = v}):shape())
    G.check_symbol(sym.dot{lhs = a, rhs = b}, {a = v, b = w})
    G.check_symbol(sym.dot{lhs = a, rhs = b}, {a = v, b = mat})
    G.check_symbol(sym.dot{lhs = a, rhs = b, transpose_a = true}, {a = mat, b = v})
    G.check_symbol(sym.dot{lhs = a, rhs = b, transpose_b = true}, {a = G.random({2, k}), b = mat:T()})
  end)

  it('dot: shapes that do not fit, or of more than 2 axes, are refused naming the node', function()
    fails(function() sym.dot{lhs = a, rhs = b, name = 'd'}:infer_shape{a = {2, 3}, b = {4, 5}} end, 'dot d',
      'shapes (2,3) and (4,5) do not fit (inner sizes 3 and 4)')
    fails(function() sym.dot{lhs = a, rhs = b, transpose_b = true, name = 'd'}:infer_shape{a = {2, 3}, b = {3, 5}} end,
      'dot d', '(3,5)^T')
    fails(function() sym.dot{lhs = a, rhs = b, name = 'd'}:infer_shape{a = {2, 3, 4}, b = {4}} end, 'dot d',
      'only 1-D and 2-D')
  end)

  it("one_hot: indices' shape + (depth,), on and off values, against loops; no gradient to the indices", function()
    local ids = {2, 0, 3, 1, 3, 0}
    local idx = mx.nd.array(ids):reshape{2, 3}
    local s = sym.one_hot{indices = a, depth = 4, on_value = 2.5, off_value = -1}
    local out = run(s, {a = idx})
    assert.are.same({2, 3, 4}, out:shape())
    local want = {}
    for i = 1, 6 do for c = 0, 3 do want[#want + 1] = c == ids[i] and 2.5 or -1 end end
    assert.are.same(want, G.flat(out))
    assert.are.same({{0, 1}, {1, 0}}, run(sym.one_hot{indices = a, depth = 2}, {a = mx.nd.array{1, 0}}):totable())
    for _, req in ipairs{'write', 'add'} do
      local g = mx.nd.full({2, 3}, 7)
      local exe = s:bind{ctx = mx.cpu(), args = {a = idx}, args_grad = {a = g}, grad_req = req}
      exe:forward{is_train = true}
      exe:backward{mx.nd.ones{2, 3, 4}}
      for _, v in ipairs(G.flat(g)) do assert.are.equal(req == 'write' and 0 or 7, v, req) end
    end
    local ok, err = pcall(run, sym.one_hot{indices = a, depth = 3, name = 'oh'}, {a = mx.nd.array{0, 1.5}})
    assert.is_false(ok)
    assert.matches('one_hot oh: index 1.5 (at position 1) out of range for depth 3', err, 1, true)
    ok, err = pcall(function() sym.one_hot{indices = a, depth = 0, name = 'oh'}:infer_shape{a = {2}} end)
    assert.is_false(ok)
    assert.matches('one_hot oh: depth must be at least 1', err, 1, true)
    local int32 = sym.one_hot{indices = a, depth = 2, dtype = 'int32', name = 'oh'}
    ok, err = pcall(function() int32:infer_shape{a = {2}} end)
    assert.is_false(ok)
    assert.matches('dtype int32 not supported', err, 1, true)
  end)
end)

describe('take', function()
  local a, b = sym.Variable('a'), sym.Variable('b')

  it("gathers rows: indices' shape + a's shape past axis 0, against loops; the gradient scatter-adds", function()
    local x = G.random({5, 2, 3})
    local ids = {4, 0, 4, 2, 4, 1} -- 4 three times: its gradient is the sum of three rows
    local idx = mx.nd.array(ids):reshape{3, 2}
    local s = sym.take{a = a, indices = b}
    local out = run(s, {a = x, b = idx})
    assert.are.same({3, 2, 2, 3}, out:shape())
    local xf, want = G.flat(x), {}
    for i = 1, #ids do for j = 1, 6 do want[#want + 1] = xf[ids[i] * 6 + j] end end
    assert.are.same(want, G.flat(out))
    G.check_symbol(s, {a = x, b = idx}, {skip = {'b'}})
    -- the scatter against loops, under 'write' and 'add'; no gradient to the indices
    local dy = G.random({3, 2, 2, 3})
    local dyf = G.flat(dy)
    for _, req in ipairs{'write', 'add'} do
      local ga, gb = mx.nd.full({5, 2, 3}, 7), mx.nd.full({3, 2}, 7)
      local exe = s:bind{ctx = mx.cpu(), args = {a = x, b = idx}, args_grad = {a = ga, b = gb}, grad_req = req}
      exe:forward{is_train = true}
      exe:backward{dy}
      local wa = {}
      for r = 0, 4 do for j = 1, 6 do wa[r * 6 + j] = req == 'add' and 7 or 0 end end
      for i = 1, #ids do for j = 1, 6 do wa[ids[i] * 6 + j] = wa[ids[i] * 6 + j] + dyf[(i - 1) * 6 + j] end end
      assert_all_near(G.flat(ga), wa)
      for _, v in ipairs(G.flat(gb)) do assert.are.equal(req == 'write' and 0 or 7, v, req) end
    end
    -- 1-D a: a gather of elements
    local v = G.random({4})
    local got = run(sym.take{a = a, indices = b}, {a = v, b = mx.nd.array{2, 0}})
    assert.are.same({G.flat(v)[3], G.flat(v)[1]}, G.flat(got))
    G.check_symbol(sym.take{a = a, indices = b}, {a = v, b = mx.nd.array{3, 3, 1}}, {skip = {'b'}})
  end)

  it('refuses ids out of range, another axis and the modes clip and wrap, naming the node', function()
    for _, bad in ipairs{5, -1, 1.5} do
      local t = sym.take{a = a, indices = b, name = 't'}
      fails(function() run(t, {a = G.random({5, 2}), b = mx.nd.array{0, bad}}) end,
        ('take t: index %g (at position 1) out of range for axis 0 of shape (5,2)'):format(bad),
        '(expected an integer in 0..4)')
    end
    fails(function() sym.take{a = a, indices = b, axis = 1, name = 't'}:infer_shape{a = {5, 2}, b = {3}} end,
      'take t: axis 1 not supported')
    for _, mode in ipairs{'clip', 'wrap'} do
      fails(function() sym.take{a = a, indices = b, mode = mode, name = 't'}:infer_shape{a = {5, 2}, b = {3}} end,
        'take t: mode ' .. mode .. ' not supported')
    end
  end)
end)
