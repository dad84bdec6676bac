-- ndarray_spec: mx.nd, NDArray methods and metamethods, mx.random and contexts.
-- Expected values are computed here by hand or with plain Lua loops.
local mx = require 'mx'

local TOL = 1e-5

-- Flattens a nested table of numbers.
local function flat(t, out)
  out = out or {}
  if type(t) == 'number' then
    out[#out + 1] = t
  else
    for _, v in ipairs(t) do flat(v, out) end
  end
  return out
end

local function assert_near(expected, got, tol)
  tol = tol or TOL
  local e, g = flat(expected), flat(got)
  assert.are.equal(#e, #g, 'element count')
  for i = 1, #e do
    local ok = math.abs(e[i] - g[i]) <= tol * math.max(1, math.abs(e[i]))
    if not ok then
      error(string.format('element %d: expected %.7g, got %.7g', i, e[i], g[i]), 2)
    end
  end
end

local function assert_array(x, shape, values, tol)
  assert.is_true(mx.nd.is_ndarray(x))
  assert.are.same(shape, x:shape())
  assert_near(values, x:totable(), tol)
end

-- A deterministic pseudo-random matrix of the given shape (plain Lua).
local function lcg_table(rows, cols, seed)
  local s, t = seed or 1, {}
  for i = 1, rows do
    t[i] = {}
    for j = 1, cols do
      s = (s * 1103515245 + 12345) % 2147483648
      t[i][j] = (s / 2147483648) * 4 - 2
    end
  end
  return t
end

describe('mx.nd constructors', function()
  it('array builds 1-D, 2-D and 3-D arrays from nested tables', function()
    assert_array(mx.nd.array{1, 2, 3}, {3}, {1, 2, 3})
    assert_array(mx.nd.array{{1, 2}, {3, 4}, {5, 6}}, {3, 2}, {1, 2, 3, 4, 5, 6})
    assert_array(mx.nd.array{{{1}, {2}}, {{3}, {4}}}, {2, 2, 1}, {1, 2, 3, 4})
    assert.are.equal(mx.cpu(0), mx.nd.array({1}, mx.cpu()):context())
  end)

  it('array copies an NDArray and wraps a number', function()
    local a = mx.nd.array{1, 2}
    local b = mx.nd.array(a)
    b[1] = 9
    assert.are.same({1, 2}, a:totable())
    assert_array(mx.nd.array(2.5), {1}, {2.5})
  end)

  it('zeros, ones, full and empty have the right shape and values', function()
    assert_array(mx.nd.zeros{2, 3}, {2, 3}, {0, 0, 0, 0, 0, 0})
    assert_array(mx.nd.ones{3}, {3}, {1, 1, 1})
    assert_array(mx.nd.full({2, 2}, 7), {2, 2}, {7, 7, 7, 7})
    assert.are.same({4, 5, 6}, mx.nd.empty{4, 5, 6}:shape())
    assert.are.same({5}, mx.nd.zeros(5):shape())
  end)

  it('arange excludes stop, takes a step, and a lone argument as stop', function()
    assert_array(mx.nd.arange(0, 5), {5}, {0, 1, 2, 3, 4})
    assert_array(mx.nd.arange(1, 2, 0.25), {4}, {1, 1.25, 1.5, 1.75})
    assert_array(mx.nd.arange(3), {3}, {0, 1, 2})
    assert_array(mx.nd.arange(5, 0, -2), {3}, {5, 3, 1})
  end)

  it('zeros_like and ones_like copy shape and context', function()
    local x = mx.nd.full({2, 3}, 4)
    assert_array(mx.nd.zeros_like(x), {2, 3}, {0, 0, 0, 0, 0, 0})
    assert_array(mx.nd.ones_like(x), {2, 3}, {1, 1, 1, 1, 1, 1})
  end)
end)

describe('mx.random', function()
  it('seed makes uniform and normal reproducible', function()
    mx.random.seed(42)
    local a, b = mx.random.uniform(-1, 1, {10}), mx.random.normal(0, 1, {10})
    mx.random.seed(42)
    assert.are.same(a:totable(), mx.random.uniform(-1, 1, {10}):totable())
    assert.are.same(b:totable(), mx.random.normal(0, 1, {10}):totable())
    mx.random.seed(43)
    assert.are_not.same(a:totable(), mx.random.uniform(-1, 1, {10}):totable())
  end)

  it('uniform stays in [low, high) with the right mean', function()
    mx.random.seed(1)
    local x = mx.random.uniform(2, 5, {100, 100})
    local sum, lo, hi = 0, math.huge, -math.huge
    for _, v in ipairs(flat(x:totable())) do
      sum = sum + v
      lo, hi = math.min(lo, v), math.max(hi, v)
    end
    assert.is_true(lo >= 2 and hi <= 5)
    assert.is_true(math.abs(sum / 10000 - 3.5) < 0.05)
  end)

  it('normal has the requested mean and std', function()
    mx.random.seed(7)
    local v = flat(mx.random.normal(1, 2, {20000}):totable())
    local sum, sq = 0, 0
    for _, x in ipairs(v) do sum = sum + x end
    local mean = sum / #v
    for _, x in ipairs(v) do sq = sq + (x - mean) ^ 2 end
    assert.is_true(math.abs(mean - 1) < 0.06)
    assert.is_true(math.abs(math.sqrt(sq / #v) - 2) < 0.06)
  end)

  it('fills an existing array in place when given one instead of a shape', function()
    local x = mx.nd.zeros{3, 4}
    assert.are.equal(x, mx.random.uniform(10, 11, x))
    for _, v in ipairs(flat(x:totable())) do assert.is_true(v >= 10 and v <= 11) end
  end)

  it('random_permutation is a permutation of 0..n-1', function()
    mx.random.seed(3)
    local p = mx.nd.random_permutation(50):totable()
    assert.are.equal(50, #p)
    local seen = {}
    for _, v in ipairs(p) do
      assert.is_true(v >= 0 and v < 50 and v == math.floor(v) and not seen[v])
      seen[v] = true
    end
  end)
end)

describe('NDArray properties and copies', function()
  local x = mx.nd.array{{1, 2, 3}, {4, 5, 6}}

  it('shape, size, ndim, context, dtype, #', function()
    assert.are.same({2, 3}, x:shape())
    assert.are.equal(6, x:size())
    assert.are.equal(2, x:ndim())
    assert.are.equal('cpu(0)', tostring(x:context()))
    assert.are.equal('float32', x:dtype())
    assert.are.equal(2, #x)
  end)

  it('totable and asscalar', function()
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, x:totable())
    assert.are.equal(5, mx.nd.array{5}:asscalar())
    assert.are.equal(21, x:sum():asscalar())
  end)

  it('gives whole values as Lua integers (class ids print as 7, not 7.0)', function()
    assert.are.equal('integer', math.type(mx.nd.array{7}:asscalar()))
    assert.are.equal('7', tostring(mx.nd.array{{0.1, 0.9, 0.3}}:argmax(2):asscalar() + 6))
    assert.are.equal('float', math.type(mx.nd.array{2.5}:asscalar()))
    assert.are.equal('integer', math.type(mx.nd.array{1, 2}[2]))
    assert.are.equal('float', math.type(mx.nd.array{{0.5}}:totable()[1][1]))
  end)

  it('set copies an array, a number, a broadcast row or a table in place', function()
    local y = mx.nd.zeros{2, 3}
    assert.are.equal(y, y:set(x))
    assert.are.same(x:totable(), y:totable())
    y:set(0.5)
    assert_near({0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, y:totable())
    y:set(mx.nd.array{1, 2, 3})
    assert.are.same({{1, 2, 3}, {1, 2, 3}}, y:totable())
    y:set{{6, 5, 4}, {3, 2, 1}}
    assert.are.same({{6, 5, 4}, {3, 2, 1}}, y:totable())
  end)

  it('copy is independent; copyto a context or an array', function()
    local c = x:copy()
    c[1] = 0
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, x:totable())
    local d = x:copyto(mx.cpu())
    assert.are.same(x:totable(), d:totable())
    local e = mx.nd.zeros{2, 3}
    assert.are.equal(e, x:copyto(e))
    assert.are.same(x:totable(), e:totable())
    assert.are.equal(x, x:as_in_context(mx.cpu(0)))
    assert.are.same(x:totable(), x:astype('float32'):totable())
  end)
end)

describe('NDArray views and shape functions', function()
  it('slice takes rows b..e (1-based, inclusive) as a view', function()
    local x = mx.nd.arange(0, 12):reshape{6, 2}
    local s = x:slice(2, 4)
    assert_array(s, {3, 2}, {2, 3, 4, 5, 6, 7})
    s:set(-1)
    assert.are.same({{0, 1}, {-1, -1}, {-1, -1}, {-1, -1}, {8, 9}, {10, 11}}, x:totable())
    assert_array(x:slice(5), {2, 2}, {8, 9, 10, 11})
    assert_array(mx.nd.slice(x, 1, 1), {1, 2}, {0, 1})
  end)

  it('slice_axis copies positions b..e of any axis', function()
    local x = mx.nd.arange(0, 12):reshape{3, 4}
    assert_array(x:slice_axis(2, 2, 3), {3, 2}, {1, 2, 5, 6, 9, 10})
    assert_array(x:slice_axis(1, 3, 3), {1, 4}, {8, 9, 10, 11})
    assert_array(mx.nd.slice_axis(x, -1, 4, 4), {3, 1}, {3, 7, 11})
  end)

  it('take gathers rows by 0-based index data', function()
    local x = mx.nd.array{{1, 2}, {3, 4}, {5, 6}}
    assert_array(x:take(mx.nd.array{2, 0, 2}), {3, 2}, {5, 6, 1, 2, 5, 6})
    assert_array(x:take{1}, {1, 2}, {3, 4})
  end)

  it('reshape infers -1, keeps 0 and shares storage', function()
    local x = mx.nd.arange(0, 12)
    local r = x:reshape{3, -1}
    assert.are.same({3, 4}, r:shape())
    assert.are.same({2, 6}, x:reshape(2, 6):shape())
    assert.are.same({3, 2, 2}, r:reshape{0, 2, -1}:shape())
    r[1] = 100
    assert.are.same({100, 100, 100, 100, 4}, {x[1], x[2], x[3], x[4], x[5]})
  end)

  it('transpose reverses axes or permutes them (1-based)', function()
    local x = mx.nd.array{{1, 2, 3}, {4, 5, 6}}
    assert_array(x:transpose(), {3, 2}, {1, 4, 2, 5, 3, 6})
    assert_array(x:T(), {3, 2}, {1, 4, 2, 5, 3, 6})
    local y = mx.nd.arange(0, 24):reshape{2, 3, 4}
    local t = y:transpose{2, 3, 1}
    assert.are.same({3, 4, 2}, t:shape())
    local tt, yt = t:totable(), y:totable()
    for i = 1, 2 do
      for j = 1, 3 do
        for k = 1, 4 do assert.are.equal(yt[i][j][k], tt[j][k][i]) end
      end
    end
  end)

  it('expand_dims and squeeze', function()
    local x = mx.nd.array{1, 2, 3}
    assert.are.same({1, 3}, x:expand_dims(1):shape())
    assert.are.same({3, 1}, x:expand_dims(2):shape())
    assert.are.same({3}, mx.nd.zeros{1, 3, 1}:squeeze():shape())
    assert.are.same({3, 1}, mx.nd.zeros{1, 3, 1}:squeeze(1):shape())
    assert_array(x:expand_dims(2):squeeze(), {3}, {1, 2, 3})
  end)

  it('concat joins along the first axis by default, or the given one', function()
    local a, b = mx.nd.array{{1, 2}}, mx.nd.array{{3, 4}, {5, 6}}
    assert_array(mx.nd.concat{a, b}, {3, 2}, {1, 2, 3, 4, 5, 6})
    assert_array(mx.nd.concat(a, b), {3, 2}, {1, 2, 3, 4, 5, 6})
    local c, d = mx.nd.array{{1}, {2}}, mx.nd.array{{3, 4}, {5, 6}}
    assert_array(mx.nd.concat{c, d, axis = 2}, {2, 3}, {1, 3, 4, 2, 5, 6})
  end)
end)

describe('NDArray element access', function()
  it('x[i] is a number for 1-D and a row view otherwise', function()
    local v = mx.nd.array{10, 20, 30}
    assert.are.equal(20, v[2])
    local m = mx.nd.array{{1, 2}, {3, 4}}
    local row = m[2]
    assert_array(row, {2}, {3, 4})
    row[1] = 9
    assert.are.same({{1, 2}, {9, 4}}, m:totable())
    assert.are.equal(2, m[1][2])
  end)

  it('x[i] = v writes an element, or a row from a number or an array', function()
    local v = mx.nd.zeros{3}
    v[3] = 5
    assert.are.same({0, 0, 5}, v:totable())
    local m = mx.nd.zeros{2, 2}
    m[1] = 7
    m[2] = mx.nd.array{1, 2}
    assert.are.same({{7, 7}, {1, 2}}, m:totable())
  end)

  it('methods are found through __index and unknown names are nil', function()
    local x = mx.nd.zeros{1}
    assert.is_function(x.shape)
    assert.is_nil(x.no_such_method)
  end)
end)

describe('NDArray arithmetic', function()
  local a = mx.nd.array{{1, 2, 3}, {4, 5, 6}}
  local b = mx.nd.array{{6, 5, 4}, {3, 2, 1}}
  local at, bt = a:totable(), b:totable()

  local function each(f)
    local out = {}
    for i = 1, 2 do
      out[i] = {}
      for j = 1, 3 do out[i][j] = f(at[i][j], bt[i][j]) end
    end
    return out
  end

  it('a changing scalar gives each call its own value (one prepared operator, set per call)', function()
    -- more values than the eager cache holds (128), interleaved with other scalar operators
    for k = 1, 300 do
      local s = k / 8
      assert.are.same(each(function(x) return x * s end), (a * s):totable())
      assert.are.same(each(function(x) return s - x end), (s - a):totable())
      local c = a:copy()
      c:add_(s)
      assert.are.same(each(function(x) return x + s end), c:totable())
    end
  end)

  it('a keyword call with its own parameters never meets a value set for another call', function()
    local x = mx.nd.array{-2, 1, 2}
    local _ = x * 5
    assert.are.same({0, 0, 0}, mx.nd._MulScalar{data = x, scalar = 0}:totable())
    assert.are.same({1.5, 1.5, 1.5}, mx.nd.clip(x, 1.5, 1.5):totable())
    assert.are.same({0, 0, 0}, mx.nd.clip{data = x, a_min = 0, a_max = 0}:totable())
    assert.are.same({-1, 1, 1}, mx.nd.clip(x, -1, 1):totable())
  end)

  it('+ - * / between arrays', function()
    assert_near(each(function(x, y) return x + y end), (a + b):totable())
    assert_near(each(function(x, y) return x - y end), (a - b):totable())
    assert_near(each(function(x, y) return x * y end), (a * b):totable())
    assert_near(each(function(x, y) return x / y end), (a / b):totable())
    assert_near(each(function(x, y) return x ^ y end), (a ^ b):totable(), 1e-4)
  end)

  it('numbers on either side', function()
    assert_near(each(function(x) return x + 1 end), (a + 1):totable())
    assert_near(each(function(x) return 1 + x end), (1 + a):totable())
    assert_near(each(function(x) return x - 1 end), (a - 1):totable())
    assert_near(each(function(x) return 10 - x end), (10 - a):totable())
    assert_near(each(function(x) return 2 * x end), (2 * a):totable())
    assert_near(each(function(x) return x / 4 end), (a / 4):totable())
    assert_near(each(function(x) return 6 / x end), (6 / a):totable())
    assert_near(each(function(x) return 2 ^ x end), (2 ^ a):totable())
    assert_near(each(function(x) return -x end), (-a):totable())
  end)

  it('broadcasts like NumPy', function()
    local row = mx.nd.array{10, 20, 30}
    assert_near({{11, 22, 33}, {14, 25, 36}}, (a + row):totable())
    local col = mx.nd.array{{1}, {2}}
    assert_near({{0, 1, 2}, {2, 3, 4}}, (a - col):totable())
    local r = mx.nd.array{{1, 2, 3}}
    assert_near({{1, 2, 3}, {2, 4, 6}}, (col * r):totable())
  end)

  it('in-place add_ sub_ mul_ div_ return the array', function()
    local x = a:copy()
    assert.are.equal(x, x:add_(b))
    assert_near(each(function(p, q) return p + q end), x:totable())
    x:sub_(b):mul_(2):div_(4)
    assert_near(each(function(p) return p / 2 end), x:totable())
    x:add_(mx.nd.array{1, 1, 1})
    assert_near(each(function(p) return p / 2 + 1 end), x:totable())
  end)

  it('maximum, minimum, power and comparisons', function()
    assert_near(each(math.max), mx.nd.maximum(a, b):totable())
    assert_near(each(math.min), mx.nd.minimum(a, b):totable())
    assert_near(each(function(x) return math.max(x, 3.5) end), mx.nd.maximum(a, 3.5):totable())
    assert_near(each(function(x) return math.min(2, x) end), mx.nd.minimum(2, a):totable())
    assert_near(each(function(x) return x * x end), mx.nd.power(a, 2):totable())
    local function cmp(f) return each(function(x, y) return f(x, y) and 1 or 0 end) end
    assert_near(cmp(function(x, y) return x == y end), mx.nd.equal(a, b):totable())
    assert_near(cmp(function(x, y) return x ~= y end), mx.nd.not_equal(a, b):totable())
    assert_near(cmp(function(x, y) return x > y end), mx.nd.greater(a, b):totable())
    assert_near(cmp(function(x, y) return x >= y end), mx.nd.greater_equal(a, b):totable())
    assert_near(cmp(function(x, y) return x < y end), mx.nd.lesser(a, b):totable())
    assert_near(cmp(function(x, y) return x <= y end), mx.nd.lesser_equal(a, b):totable())
    assert_near(each(function(x) return 3 > x and 1 or 0 end), mx.nd.greater(3, a):totable())
  end)

  it('unary functions, as mx.nd.f(x) and x:f()', function()
    local x = mx.nd.array{-2, -0.5, 0.25, 1, 3}
    local xt = x:totable()
    local function map(f)
      local out = {}
      for i, v in ipairs(xt) do out[i] = f(v) end
      return out
    end
    local cases = {
      exp = math.exp, abs = math.abs, negative = function(v) return -v end,
      square = function(v) return v * v end, relu = function(v) return math.max(v, 0) end,
      sigmoid = function(v) return 1 / (1 + math.exp(-v)) end,
      tanh = function(v) return (math.exp(v) - math.exp(-v)) / (math.exp(v) + math.exp(-v)) end,
      sign = function(v) return v > 0 and 1 or (v < 0 and -1 or 0) end,
      reciprocal = function(v) return 1 / v end,
      softrelu = function(v) return math.log(1 + math.exp(v)) end,
    }
    for name, f in pairs(cases) do
      assert_near(map(f), mx.nd[name](x):totable(), 1e-5)
      assert_near(map(f), x[name](x):totable(), 1e-5)
    end
    local p = mx.nd.array{0.5, 1, 4, 9}
    assert_near({math.log(0.5), 0, math.log(4), math.log(9)}, mx.nd.log(p):totable())
    assert_near({math.sqrt(0.5), 1, 2, 3}, p:sqrt():totable())
    assert_near({-1, -0.5, 0.25, 1, 1}, mx.nd.clip(x, -1, 1):totable())
    assert_near({0, 0, 0.25, 1, 2}, x:clip(0, 2):totable())
  end)
end)

describe('NDArray reductions', function()
  local x = mx.nd.array{{1, 5, 3}, {4, 2, 6}}

  it('over all axes give a one-element array', function()
    assert_array(x:sum(), {1}, {21})
    assert_array(x:mean(), {1}, {3.5})
    assert_array(x:max(), {1}, {6})
    assert_array(x:min(), {1}, {1})
    assert_array(x:argmax(), {1}, {5})
    assert_array(x:argmin(), {1}, {0})
    assert_array(mx.nd.norm(x), {1}, {math.sqrt(1 + 25 + 9 + 16 + 4 + 36)})
  end)

  it('over one 1-based axis, with keepdims', function()
    assert_array(x:sum(1), {3}, {5, 7, 9})
    assert_array(x:sum(2), {2}, {9, 12})
    assert_array(x:sum(2, true), {2, 1}, {9, 12})
    assert_array(x:mean(1, true), {1, 3}, {2.5, 3.5, 4.5})
    assert_array(x:max(2), {2}, {5, 6})
    assert_array(x:min(1), {3}, {1, 2, 3})
    assert_array(x:argmax(2), {2}, {1, 2})
    assert_array(x:argmin(2), {2}, {0, 1})
    assert_array(x:sum(-1), {2}, {9, 12})
    assert_array(mx.nd.sum(x, 1), {3}, {5, 7, 9})
  end)

  it('softmax written with keepdims and broadcasting sums to one per row', function()
    local y = mx.nd.exp(x - x:max(2, true))
    y:div_(y:sum(2, true))
    local t = x:totable()
    for i = 1, 2 do
      local m = math.max(t[i][1], t[i][2], t[i][3])
      local z = 0
      for j = 1, 3 do z = z + math.exp(t[i][j] - m) end
      for j = 1, 3 do assert_near({math.exp(t[i][j] - m) / z}, {y[i][j]}) end
    end
  end)
end)

describe('mx.nd.dot and one_hot', function()
  local function matmul(p, q)
    local out = {}
    for i = 1, #p do
      out[i] = {}
      for j = 1, #q[1] do
        local s = 0
        for k = 1, #q do s = s + p[i][k] * q[k][j] end
        out[i][j] = s
      end
    end
    return out
  end
  local function transpose(p)
    local out = {}
    for j = 1, #p[1] do
      out[j] = {}
      for i = 1, #p do out[j][i] = p[i][j] end
    end
    return out
  end

  it('multiplies matrices, with optional transposes', function()
    local at, bt = lcg_table(5, 7, 1), lcg_table(7, 3, 2)
    local a, b = mx.nd.array(at), mx.nd.array(bt)
    assert_near(matmul(at, bt), mx.nd.dot(a, b):totable(), 1e-4)
    local ct = lcg_table(3, 7, 3)
    assert_near(matmul(at, transpose(ct)), mx.nd.dot(a, mx.nd.array(ct), {transpose_b = true}):totable(), 1e-4)
    local dt = lcg_table(5, 4, 4)
    assert_near(matmul(transpose(at), dt), mx.nd.dot(a, mx.nd.array(dt), {transpose_a = true}):totable(), 1e-4)
    assert.are.same({7, 4}, a:dot(mx.nd.array(dt), {transpose_a = true, transpose_b = false}):shape())
  end)

  it('dot of vectors is their inner product', function()
    local out = mx.nd.dot(mx.nd.array{1, 2, 3}, mx.nd.array{4, 5, 6})
    assert.are.equal(32, flat(out:totable())[1])
  end)

  it('one_hot encodes 0-based class ids', function()
    assert_array(mx.nd.one_hot(mx.nd.array{2, 0, 1}, 3), {3, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0})
    assert_array(mx.nd.one_hot(mx.nd.array{1}, 2, 5, -1), {1, 2}, {-1, 5})
    local out = mx.nd.zeros{2, 4}
    mx.nd.onehot_encode(mx.nd.array{3, 1}, out)
    assert.are.same({{0, 0, 0, 1}, {0, 1, 0, 0}}, out:totable())
  end)

  it("one_hot's values are set per call and never leak into a keyword call (the registry's one_hot)", function()
    local ids = mx.nd.array{1, 0}
    for i = 1, 5 do assert.are.same({{-i, i}, {i, -i}}, mx.nd.one_hot(ids, 2, i, -i):totable()) end
    assert.are.same({{0, 1}, {1, 0}}, mx.nd.one_hot{ids, depth = 2}:totable())
    assert.are.same({{3, 9}, {9, 3}}, mx.nd.one_hot{indices = ids, depth = 2, on_value = 9, off_value = 3}:totable())
    assert.are.same({{0, 1, 0}, {1, 0, 0}}, mx.nd.one_hot(ids, 3):totable())
    -- (2,1)^T x (1,2)^T: the inner product 1*1 + 0*0
    local inner = mx.nd.dot{ids:reshape{2, 1}, ids:reshape{1, 2}, transpose_a = true, transpose_b = true}
    assert.are.same({{1}}, inner:totable())
  end)
end)

describe('NDArray printing', function()
  it('prints a header and aligned rows', function()
    assert.are.equal('[NDArray 2x3 float32 @cpu(0)]\n 2  2  2\n 2  2  2', tostring(mx.nd.full({2, 3}, 2)))
    assert.are.equal('[NDArray 3 float32 @cpu(0)]\n    1  -2.5    10', tostring(mx.nd.array{1, -2.5, 10}))
  end)

  it('prints 3-D arrays as blocks with their leading index', function()
    local s = tostring(mx.nd.arange(0, 8):reshape{2, 2, 2})
    assert.are.equal('[NDArray 2x2x2 float32 @cpu(0)]\n(1,.,.) =\n 0  1\n 2  3\n\n(2,.,.) =\n 4  5\n 6  7', s)
  end)

  it('abbreviates large arrays with ... and three edge items', function()
    local s = tostring(mx.nd.arange(0, 2000):reshape{40, 50})
    local lines = {}
    for line in s:gmatch('[^\n]+') do lines[#lines + 1] = line end
    assert.are.equal('[NDArray 40x50 float32 @cpu(0)]', lines[1])
    assert.are.equal(8, #lines) -- header, 3 rows, ..., 3 rows
    assert.are.equal(' ...', lines[5])
    assert.truthy(lines[2]:find('^%s+0%s+1%s+2%s+%.%.%.%s+47%s+48%s+49$'))
    assert.truthy(lines[8]:find('^%s*1950%s+1951%s+1952%s+%.%.%.%s+1997%s+1998%s+1999$'))
  end)

  it('abbreviates leading axes of large arrays by blocks', function()
    local s = tostring(mx.nd.arange(0, 4000):reshape{10, 20, 20})
    assert.truthy(s:find('\n 1180  1181  1182   ...  1197  1198  1199\n\n...\n\n(8,.,.) =\n 2800  2801', 1, true), s)
    local blocks = 0
    for _ in s:gmatch('%(%d+,%.,%.%) =') do blocks = blocks + 1 end
    assert.are.equal(6, blocks)
  end)

  it('closed arrays print as such', function()
    local x = mx.nd.zeros{2}
    x:close()
    assert.are.equal('[NDArray (closed)]', tostring(x))
  end)
end)

describe('contexts', function()
  it('print as cpu(0) / gpu(1), compare with == and expose their fields', function()
    assert.are.equal('cpu(0)', tostring(mx.cpu()))
    assert.are.equal('gpu(1)', tostring(mx.gpu(1)))
    assert.is_true(mx.cpu(0) == mx.cpu())
    assert.is_false(mx.cpu(0) == mx.gpu(0))
    assert.is_false(mx.gpu(0) == mx.gpu(1))
    assert.are.equal('gpu', mx.gpu(2).device_type)
    assert.are.equal(2, mx.gpu(2).device_id)
    assert.are.equal(mx.gpu(1), mx.context.Context('gpu', 1))
    assert.is_true(mx.context.is_context(mx.cpu()))
    assert.is_false(mx.context.is_context({}))
    assert.is_true(rawequal(mx.gpu(3), mx.gpu(3)))
    local by_ctx = {[mx.cpu()] = 'host'}
    assert.are.equal('host', by_ctx[mx.nd.zeros{1}:context()])
  end)

  it('an array on a missing GPU is a clear error', function()
    if mx.context.num_gpus() > 0 then return end
    local ok, err = pcall(mx.nd.zeros, {2, 2}, mx.gpu(0))
    assert.is_false(ok)
    assert.truthy(err:find('^mx.nd.zeros: .*gpu'))
    local ok2, why = mx.context.check(mx.gpu(0))
    assert.is_nil(ok2)
    assert.is_string(why)
  end)

  it('waitall and wait_to_read return', function()
    local x = mx.nd.ones{3}
    mx.nd.waitall()
    assert.are.equal(x, x:wait_to_read())
  end)
end)

describe('mx.nd.save and load', function()
  it('round-trips a list and a named table', function()
    local path = os.tmpname()
    local a, b = mx.nd.array{{1, 2}, {3, 4}}, mx.nd.array{5, 6, 7}
    mx.nd.save(path, {a, b})
    local l = mx.nd.load(path)
    assert.are.same(a:totable(), l[1]:totable())
    assert.are.same(b:totable(), l[2]:totable())
    mx.nd.save(path, {w = a, v = b})
    local d = mx.nd.load(path)
    assert.are.same(a:totable(), d.w:totable())
    assert.are.same(b:totable(), d.v:totable())
    os.remove(path)
  end)
end)

describe('NDArray memory', function()
  it('releases storage when arrays are collected or closed, failures included', function()
    collectgarbage(); collectgarbage()
    local before = mx.core.alloc_stats().bytes_in_use
    do
      local x = mx.nd.ones{100, 100}
      for _ = 1, 20 do
        local y = (x * 2 + 1):sum(2, true)
        local _ = x:slice(2, 50):reshape{-1}
        pcall(mx.nd.add, x, mx.nd.ones{3, 7})
        pcall(mx.nd.array, {{1, 2}, {3}})
        pcall(function() return x:take(mx.nd.array{1000}) end)
        y:set(0)
      end
      do
        local z <close> = mx.nd.zeros{1000}
        z:set(1)
      end
    end
    collectgarbage(); collectgarbage()
    assert.are.equal(before, mx.core.alloc_stats().bytes_in_use)
  end)

  it('collects temporaries made in a loop at the pace they are made', function()
    collectgarbage(); collectgarbage()
    local base = mx.core.alloc_stats().bytes_in_use
    local x = mx.nd.ones{1000, 250} -- 1 MB
    local peak = 0
    for _ = 1, 300 do
      local _ = x * 2 + 1
      peak = math.max(peak, mx.core.alloc_stats().bytes_in_use - base)
    end
    assert.is_true(peak < 64 * 2 ^ 20, string.format('peak %.1f MB for 1 MB temporaries', peak / 2 ^ 20))
  end)

  it('close is idempotent and a closed array is a clear error', function()
    local x = mx.nd.ones{2}
    x:close()
    x:close()
    local ok, err = pcall(function() return x + 1 end)
    assert.is_false(ok)
    assert.truthy(err:find('closed'))
  end)
end)
