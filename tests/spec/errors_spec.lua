-- errors_spec: bad input to each entry point raises a clear Lua error that names
-- the Lua function, and the process goes on. (NDArray part; other entry points
-- add their own describe blocks below.)
local mx = require 'mx'

-- Calls f, expects it to fail with a message beginning "<name>: " and holding `pattern`
-- (a plain substring), and checks the process is still usable afterwards.
local function fails(f, name, pattern)
  local ok, err = pcall(f)
  assert.is_false(ok, 'expected an error from ' .. name)
  err = tostring(err)
  assert.are.equal(name .. ': ', err:sub(1, #name + 2), 'the error must begin with the Lua function name')
  if pattern then
    assert.is_truthy(err:find(pattern, 1, true), string.format('expected %q in: %s', pattern, err))
  end
  assert.are.equal(3, (mx.nd.ones{3}):sum():asscalar()) -- still alive
end

describe('NDArray errors', function()
  local x = mx.nd.ones{3, 4}
  local v = mx.nd.array{1, 2, 3}

  it('constructors reject bad sources and shapes', function()
    fails(function() return mx.nd.array(nil) end, 'mx.nd.array', 'got nil')
    fails(function() return mx.nd.array('x') end, 'mx.nd.array', 'got string')
    fails(function() return mx.nd.array{} end, 'mx.nd.array', 'empty table')
    fails(function() return mx.nd.array{{1, 2}, {3}} end, 'mx.nd.array', 'row [2] has 1 elements, expected 2')
    fails(function() return mx.nd.array{1, 'a'} end, 'mx.nd.array', 'element [2] is a string')
    fails(function() return mx.nd.array({1}, 'cpu') end, 'mx.nd.array', 'Context')
    fails(function() return mx.nd.zeros(nil) end, 'mx.nd.zeros', 'got nil')
    fails(function() return mx.nd.zeros{2, -1} end, 'mx.nd.zeros', 'dimension 2 must be a positive integer (got -1)')
    fails(function() return mx.nd.zeros{2.5} end, 'mx.nd.zeros', 'got 2.5')
    fails(function() return mx.nd.zeros{} end, 'mx.nd.zeros', '1 to 6 dimensions')
    fails(function() return mx.nd.zeros{1, 1, 1, 1, 1, 1, 1} end, 'mx.nd.zeros', '1 to 6 dimensions (got 7)')
    fails(function() return mx.nd.zeros{'a'} end, 'mx.nd.zeros', 'got string')
    fails(function() return mx.nd.ones{1e9, 1e9} end, 'mx.nd.ones', 'too large')
    fails(function() return mx.nd.zeros{1000000, 1000000} end, 'mx.nd.zeros', 'cannot allocate')
    fails(function() return mx.nd.full({2}, 'x') end, 'mx.nd.full', 'number expected, got string')
    fails(function() return mx.nd.empty(-1) end, 'mx.nd.empty', 'got -1')
    fails(function() return mx.nd.arange('a') end, 'mx.nd.arange', 'number expected')
    fails(function() return mx.nd.arange(0, 10, 0) end, 'mx.nd.arange', 'step')
    fails(function() return mx.nd.arange(5, 0) end, 'mx.nd.arange', 'empty range')
    fails(function() return mx.nd.zeros_like(3) end, 'mx.nd.zeros_like', 'NDArray expected')
  end)

  it('random functions reject bad parameters', function()
    fails(function() return mx.random.uniform(1, 0, {2}) end, 'mx.random.uniform', 'high must be >= low')
    fails(function() return mx.random.normal(0, -1, {2}) end, 'mx.random.normal', 'std must be >= 0')
    fails(function() return mx.random.uniform(0, 1) end, 'mx.random.uniform', 'shape')
    fails(function() return mx.random.uniform('a', 1, {2}) end, 'mx.random.uniform', 'number expected')
    fails(function() return mx.random.seed('x') end, 'mx.random.seed', 'integer expected')
    fails(function() return mx.nd.random_permutation(0) end, 'mx.nd.random_permutation', 'positive')
  end)

  it('arithmetic rejects shapes that cannot broadcast and bad operands', function()
    fails(function() return mx.nd.add(x, mx.nd.ones{5, 4}) end, 'mx.nd.add', 'shapes (3,4) and (5,4) cannot broadcast')
    fails(function() return x + mx.nd.ones{5, 4} end, 'mx.nd.add', 'cannot broadcast')
    fails(function() return x - mx.nd.ones{2} end, 'mx.nd.subtract', 'cannot broadcast')
    fails(function() return x * 'a' end, 'mx.nd.multiply', 'number expected, got string')
    fails(function() return {} / x end, 'mx.nd.divide', 'NDArray or number expected, got table')
    fails(function() return mx.nd.add(nil, x) end, 'mx.nd.add', 'got nil')
    fails(function() return mx.nd.maximum(x, true) end, 'mx.nd.maximum', 'got boolean')
    fails(function() return x:add_(mx.nd.ones{5}) end, 'NDArray:add_', 'shapes (3,4) and (5,) cannot broadcast')
    -- b broadcasts with x, but the result is larger than x: nothing to write it into
    fails(function() return x:add_(mx.nd.ones{2, 3, 4}) end, 'NDArray:add_',
      'the result has shape (2,3,4), the output array (3,4)')
    fails(function() return x:mul_('a') end, 'NDArray:mul_', 'NDArray or number expected')
    fails(function() return mx.nd.exp(nil) end, 'mx.nd.exp', 'NDArray expected, got nil')
    fails(function() return mx.nd.sqrt(4) end, 'mx.nd.sqrt', 'NDArray expected, got number')
    fails(function() return x:clip(1, 0) end, 'mx.nd.clip', 'hi must be >= lo')
    fails(function() return x:clip(0) end, 'mx.nd.clip', 'number expected')
  end)

  it('views and shape functions reject bad positions and sizes', function()
    fails(function() return x:slice(0) end, 'NDArray:slice', 'begin 0 out of range (expected 1..3)')
    fails(function() return x:slice(3, 2) end, 'NDArray:slice', 'end 2 out of range')
    fails(function() return x:slice(1, 100) end, 'NDArray:slice', 'end 100 out of range')
    fails(function() return x:slice('a') end, 'NDArray:slice', 'integer expected')
    fails(function() return x:slice_axis(3, 1, 1) end, 'mx.nd.slice_axis', 'axis 3 out of range')
    fails(function() return x:slice_axis(2, 1, 9) end, 'mx.nd.slice_axis', 'end 9 out of range')
    fails(function() return x:slice_axis(2, 1, 5) end, 'mx.nd.slice_axis', 'end 5 out of range (expected 1..4)')
    fails(function() return x:slice(1, 4) end, 'NDArray:slice', 'end 4 out of range (expected 1..3)')
    fails(function() return x:take(mx.nd.array{5}) end, 'mx.nd.take', 'out of range')
    fails(function() return x:take('x') end, 'mx.nd.take', 'NDArray expected')
    fails(function() return x:reshape{5, 5} end, 'mx.nd.reshape', 'cannot reshape (3,4)')
    fails(function() return x:reshape{-1, -1} end, 'mx.nd.reshape', '-1')
    fails(function() return x:reshape('x') end, 'mx.nd.reshape', 'shape')
    fails(function() return x:reshape{0, 0, 0} end, 'mx.nd.reshape', 'only 2 axes')
    fails(function() return x:transpose{1, 1} end, 'mx.nd.transpose', 'permutation')
    fails(function() return x:transpose{1} end, 'mx.nd.transpose', 'all 2 axes')
    fails(function() return x:expand_dims(5) end, 'mx.nd.expand_dims', 'axis 5 out of range')
    fails(function() return x:squeeze(1) end, 'mx.nd.squeeze', 'size 3')
    fails(function() return mx.nd.concat{} end, 'mx.nd.concat', 'at least one NDArray')
    fails(function() return mx.nd.concat{x, 1} end, 'mx.nd.concat', 'element 2 is number')
    fails(function() return mx.nd.concat{x, v} end, 'mx.nd.concat', 'shapes (3,4) and (3,)')
    fails(function() return mx.nd.concat{x, x, axis = 3} end, 'mx.nd.concat', 'axis 3 out of range')
  end)

  it('element access rejects bad indices and values', function()
    fails(function() return x[0] end, 'NDArray[]', 'index 0 out of range (expected 1..3')
    fails(function() return x[4] end, 'NDArray[]', 'index 4 out of range')
    fails(function() return v[1.5] end, 'NDArray[]', 'index must be an integer')
    fails(function() x.foo = 1 end, 'NDArray[]=', 'only integer indices')
    fails(function() v[1] = 'a' end, 'NDArray[]=', 'value must be a number')
    fails(function() x[1] = {} end, 'NDArray[]=', 'number or an NDArray')
    fails(function() x[1] = mx.nd.ones{7} end, 'NDArray[]=', 'cannot')
  end)

  it('reductions, dot and one_hot reject bad axes and shapes', function()
    fails(function() return x:sum(3) end, 'mx.nd.sum', 'axis 3 out of range for an array with 2 axes')
    fails(function() return x:max(0) end, 'mx.nd.max', 'axis 0 out of range')
    fails(function() return x:sum(1, 'yes') end, 'mx.nd.sum', 'boolean expected')
    fails(function() return x:argmax(1.5) end, 'mx.nd.argmax', 'integer expected')
    fails(function() return mx.nd.norm({}) end, 'mx.nd.norm', 'NDArray expected')
    fails(function() return mx.nd.dot(x, x) end, 'mx.nd.dot', '(3,4) and (3,4)')
    fails(function() return mx.nd.dot(x, nil) end, 'mx.nd.dot', 'NDArray expected, got nil')
    fails(function() return mx.nd.dot(x, x, 1) end, 'mx.nd.dot', 'options table')
    fails(function() return mx.nd.one_hot(v, 0) end, 'mx.nd.one_hot', 'depth must be a positive integer')
    fails(function() return mx.nd.one_hot(nil, 3) end, 'mx.nd.one_hot', 'NDArray expected')
  end)

  it('copies and assignment reject bad sources and destinations', function()
    fails(function() return x:asscalar() end, 'NDArray:asscalar', 'exactly one element (got shape (3,4))')
    fails(function() return x:set('x') end, 'NDArray:set', 'got string')
    fails(function() return x:set{1, 2, 3} end, 'NDArray:set', 'does not fit')
    fails(function() return x:set(mx.nd.ones{5}) end, 'NDArray:set', 'cannot')
    fails(function() return x:copyto('cpu') end, 'NDArray:copyto', 'Context or NDArray expected')
    fails(function() return x:copyto(v) end, 'NDArray:copyto', 'differs')
    fails(function() return x:astype('float64') end, 'NDArray:astype', 'float32')
    fails(function() return v:T() end, 'NDArray:T', '2-D')
    fails(function() return x.shape() end, 'NDArray:shape', 'bad self')
    fails(function() return x.size(v:context()) end, 'NDArray:size', 'got Context')
  end)

  it('contexts reject bad ids and missing devices', function()
    fails(function() return mx.cpu(-1) end, 'mx.cpu', 'device id')
    fails(function() return mx.gpu('a') end, 'mx.gpu', 'integer expected')
    fails(function() return mx.context.Context('tpu') end, 'mx.context.Context', "'cpu' or 'gpu'")
    if mx.context.num_gpus() == 0 then
      fails(function() return mx.nd.ones({2}, mx.gpu(0)) end, 'mx.nd.ones', 'gpu(0)')
      fails(function() return v:copyto(mx.gpu(0)) end, 'NDArray:copyto', 'gpu(0)')
      fails(function() return mx.random.uniform(0, 1, {2}, mx.gpu(0)) end, 'mx.random.uniform', 'gpu(0)')
    end
  end)

  it('a closed array is a clear error everywhere', function()
    local c = mx.nd.ones{2}
    c:close()
    fails(function() return c + 1 end, 'mx.nd.add', 'closed')
    fails(function() return c:shape() end, 'NDArray:shape', 'closed')
    fails(function() return mx.nd.array(c) end, 'mx.nd.array', 'closed')
    fails(function() return mx.nd.concat{c} end, 'mx.nd.concat', 'closed')
    fails(function() return c[1] end, 'NDArray[]', 'closed')
  end)

  it('save and load report bad files', function()
    fails(function() return mx.nd.save(1, {}) end, 'mx.nd.save', 'file name expected')
    fails(function() return mx.nd.save('/tmp/x', 5) end, 'mx.nd.save', 'list or table of NDArrays')
    fails(function() return mx.nd.load(nil) end, 'mx.nd.load', 'file name expected')
    fails(function() return mx.nd.load('/nonexistent/x.params') end, 'mx.nd.load', '/nonexistent/x.params')
    fails(function() return mx.nd.save('/nonexistent/x.params', {mx.nd.ones{1}}) end, 'mx.nd.save', '/nonexistent')
    fails(function() return mx.nd.save('/tmp/x.params', {1}) end, 'mx.nd.save', 'NDArray')
  end)
end)

-- An operator names itself and its node, never its caller: the same shape error reads the same
-- through a symbol and through an eager call, each under its own Lua function.
describe('operator errors through each caller', function()
  local conv = {kernel = {5, 5}, num_filter = 2}
  local what = 'kernel (dilated 5x5) larger than the padded data (1,1,3,3)'

  local function message(f)
    local ok, err = pcall(f)
    assert.is_false(ok)
    return tostring(err)
  end

  it('a symbolic shape error names the inference, the operator and the node', function()
    local c = mx.sym.Convolution{data = mx.sym.Variable('data'), kernel = conv.kernel,
                                 num_filter = conv.num_filter, name = 'conv1'}
    assert.are.equal('Symbol:infer_shape: Convolution conv1: ' .. what,
                     message(function() return c:infer_shape{data = {1, 1, 3, 3}} end))
    assert.are.equal('Symbol:simple_bind: Convolution conv1: ' .. what,
                     message(function() return c:simple_bind{ctx = mx.cpu(), data = {1, 1, 3, 3}} end))
  end)

  it('the same error from an eager call names the call and the operator, not the inference', function()
    local err = message(function()
      return mx.nd.Convolution{data = mx.nd.zeros{1, 1, 3, 3}, weight = mx.nd.zeros{2, 1, 5, 5},
                               bias = mx.nd.zeros{2}, kernel = conv.kernel, num_filter = conv.num_filter}
    end)
    assert.are.equal('mx.nd.Convolution: Convolution: ' .. what, err)
    assert.is_nil(err:find('infer_shape', 1, true))
    assert.are.equal('mx.nd.Dropout: Dropout: p must be in [0, 1) (got 1.5)',
                     message(function() return mx.nd.Dropout{data = mx.nd.ones{2}, p = 1.5} end))
  end)

  it('a bad parameter names the operator, and the node where there is one', function()
    local bad = "parameter act_type: bad value 'relux' (expected one of "
    fails(function() return mx.sym.Activation{data = mx.sym.Variable('x'), act_type = 'relux', name = 'act1'} end,
          'mx.symbol.Activation', 'Activation act1: ' .. bad)
    fails(function() return mx.nd.Activation{data = mx.nd.ones{2}, act_type = 'relux'} end,
          'mx.nd.Activation', 'mx.nd.Activation: Activation: ' .. bad)
  end)
end)

describe('NDArray entry points under random arguments', function()
  it('raise or succeed, never crash, and leak nothing (5000 calls, fixed seed)', function()
    local vals = {
      function() return nil end, function() return 0 end, function() return -1 end, function() return 2 end,
      function() return 1.5 end, function() return 1e18 end, function() return 0 / 0 end, function() return 'x' end,
      function() return true end, function() return {} end, function() return {2, 3} end,
      function() return {{1, 2}, {3, 4}} end, function() return {-1, 2} end, function() return mx.cpu() end,
      function() return mx.gpu(0) end, function() return mx.nd.ones{3} end, function() return mx.nd.ones{2, 3} end,
      function() return mx.nd.ones{2, 1, 3} end, function() return mx.nd.array{5, -1} end,
      function() local c = mx.nd.ones{2}; c:close(); return c end, function() return {axis = 2} end,
      function() return {mx.nd.ones{2}, mx.nd.ones{3}} end, function() return math.mininteger end,
    }
    local fns = {}
    for k, f in pairs(mx.nd) do
      if type(f) == 'function' and k ~= 'save' and k ~= 'load' then fns[#fns + 1] = {k, f} end
    end
    for k, f in pairs(mx.core.NDArray_methods) do fns[#fns + 1] = {'NDArray:' .. k, f} end
    for k, f in pairs(mx.random) do fns[#fns + 1] = {'mx.random.' .. k, f} end
    local meta = mx.core.NDArray_metatable
    for _, k in ipairs{'__add', '__sub', '__mul', '__div', '__pow', '__unm', '__len', '__index', '__newindex',
                       '__tostring', '__gc', '__close'} do
      fns[#fns + 1] = {k, meta[k]}
    end
    table.sort(fns, function(a, b) return a[1] < b[1] end)
    collectgarbage(); collectgarbage()
    local before = mx.core.alloc_stats().bytes_in_use
    math.randomseed(12345)
    for _ = 1, 5000 do
      local pick, args, n = fns[math.random(#fns)], {}, math.random(0, 4)
      for i = 1, n do args[i] = vals[math.random(#vals)]() end
      local ok, err = pcall(pick[2], table.unpack(args, 1, n))
      if not ok then assert.is_string(err, pick[1]) end
    end
    collectgarbage(); collectgarbage()
    assert.are.equal(before, mx.core.alloc_stats().bytes_in_use)
  end)
end)
