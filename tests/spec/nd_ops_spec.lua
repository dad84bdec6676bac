-- nd_ops_spec: mx.nd.<Op>, generated for every registry operator, gives what the symbolic path
-- gives: for each operator, its eager result is compared with a bound mx.sym.<Op>'s forward on
-- the same arrays, on the CPU and (when there is one, e.g. the emulated GPU) on the GPU. An
-- operator added to the registry without a case here fails the first test.
local mx = require 'mx'
local G = require 'gradcheck'

local cpu, gpu = mx.cpu(0), mx.gpu(0)
local have_gpu = mx.context.check(gpu)

-- A Lua operator for the Custom case: out = 2 * data + 1.
local Affine = mx.operator.CustomOp:extend('NdSpecAffine')
function Affine:forward(_, req, in_data, out_data)
  self:assign(out_data[1], req[1], in_data[1] * 2 + 1)
end
local AffineProp = mx.operator.CustomOpProp:extend('NdSpecAffineProp')
function AffineProp.create_operator() return Affine() end
mx.operator.register('nd_spec_affine', AffineProp)

-- Input kinds: 'real' uniform in [-1, 1), 'positive' in [0.5, 1.5), {'index', k} integers 0..k-1.
local R, P = 'real', 'positive'
local function I(k) return {'index', k} end

-- op -> list of cases {params, inputs = {{name, shape, kind}, ...}, positional = bool}
local cases = {
  FullyConnected = {{{num_hidden = 4}, {{'data', {2, 3}, R}, {'weight', {4, 3}, R}, {'bias', {4}, R}}},
                    {{num_hidden = 4, no_bias = true}, {{'data', {2, 3, 2}, R}, {'weight', {4, 6}, R}}}},
  Activation = {{{act_type = 'relu'}, {{'data', {2, 3}, R}}}, {{act_type = 'sigmoid'}, {{'data', {2, 3}, R}}},
                {{act_type = 'tanh'}, {{'data', {2, 3}, R}}}, {{act_type = 'softrelu'}, {{'data', {2, 3}, R}}}},
  SoftmaxOutput = {{{}, {{'data', {2, 3}, R}, {'label', {2}, I(3)}}}},
  Softmax = {{{}, {{'data', {2, 3}, R}, {'label', {2}, I(3)}}}},
  softmax = {{{axis = 0}, {{'data', {2, 3}, R}}}, {{}, {{'data', {2, 3}, R}}}},
  log_softmax = {{{}, {{'data', {2, 3}, R}}}},
  LinearRegressionOutput = {{{}, {{'data', {2, 3}, R}, {'label', {2, 3}, R}}}},
  LogisticRegressionOutput = {{{}, {{'data', {2, 3}, R}, {'label', {2, 3}, R}}}},
  MAERegressionOutput = {{{}, {{'data', {2, 3}, R}, {'label', {2, 3}, R}}}},
  Flatten = {{{}, {{'data', {2, 3, 4}, R}}}},
  Reshape = {{{shape = {3, -1}}, {{'data', {2, 3, 4}, R}}}},
  Dropout = {{{p = 0.5}, {{'data', {2, 3}, R}}}},
  Concat = {{{dim = 1}, {{'arg0', {2, 3}, R}, {'arg1', {2, 2}, R}}, positional = true}},
  BlockGrad = {{{}, {{'data', {2, 3}, R}}}},
  _Plus = {{{}, {{'lhs', {2, 3}, R}, {'rhs', {2, 3}, R}}}},
  _Minus = {{{}, {{'lhs', {2, 3}, R}, {'rhs', {2, 3}, R}}}},
  _Mul = {{{}, {{'lhs', {2, 3}, R}, {'rhs', {2, 3}, R}}}},
  _Div = {{{}, {{'lhs', {2, 3}, R}, {'rhs', {2, 3}, P}}}},
  _PlusScalar = {{{scalar = 2.5}, {{'data', {2, 3}, R}}}},
  _MinusScalar = {{{scalar = 2.5}, {{'data', {2, 3}, R}}}},
  _RMinusScalar = {{{scalar = 2.5}, {{'data', {2, 3}, R}}}},
  _MulScalar = {{{scalar = 2.5}, {{'data', {2, 3}, R}}}},
  _DivScalar = {{{scalar = 2.5}, {{'data', {2, 3}, R}}}},
  _RDivScalar = {{{scalar = 2.5}, {{'data', {2, 3}, P}}}},
  Custom = {{{op_type = 'nd_spec_affine'}, {{'data', {2, 3}, R}}, cpu_only = true}},
  Convolution = {{{kernel = {3, 3}, num_filter = 3, pad = {1, 1}},
                  {{'data', {1, 2, 5, 5}, R}, {'weight', {3, 2, 3, 3}, R}, {'bias', {3}, R}}},
                 {{kernel = {2, 2}, num_filter = 2, stride = {2, 2}, no_bias = true},
                  {{'data', {2, 1, 4, 4}, R}, {'weight', {2, 1, 2, 2}, R}}}},
  Pooling = {{{kernel = {2, 2}, stride = {2, 2}, pool_type = 'max'}, {{'data', {1, 2, 4, 4}, R}}},
             {{kernel = {3, 3}, pool_type = 'avg', pad = {1, 1}}, {{'data', {1, 2, 4, 4}, R}}}},
  Deconvolution = {{{kernel = {2, 2}, num_filter = 3, no_bias = false},
                    {{'data', {1, 2, 3, 3}, R}, {'weight', {2, 3, 2, 2}, R}, {'bias', {3}, R}}}},
  BatchNorm = {{{fix_gamma = false}, {{'data', {2, 3, 2, 2}, R}, {'gamma', {3}, R}, {'beta', {3}, R},
                                     {'moving_mean', {3}, R}, {'moving_var', {3}, P}}}},
  LeakyReLU = {{{act_type = 'leaky', slope = 0.1}, {{'data', {2, 3}, R}}},
               {{act_type = 'prelu'}, {{'data', {2, 3}, R}, {'gamma', {3}, R}}}},
  Embedding = {{{input_dim = 5, output_dim = 4}, {{'data', {2, 3}, I(5)}, {'weight', {5, 4}, R}}}},
  SwapAxis = {{{dim1 = 0, dim2 = 2}, {{'data', {2, 3, 4}, R}}}},
  ElementWiseSum = {{{}, {{'arg0', {2, 3}, R}, {'arg1', {2, 3}, R}, {'arg2', {2, 3}, R}}, positional = true}},
  SoftmaxActivation = {{{}, {{'data', {2, 3}, R}}}},
  SliceChannel = {{{num_outputs = 3, axis = 1}, {{'data', {2, 6}, R}}}},
  expand_dims = {{{axis = 1}, {{'data', {2, 3}, R}}}},
  Cast = {{{dtype = 'float32'}, {{'data', {2, 3}, R}}}},
  clip = {{{a_min = -0.5, a_max = 0.5}, {{'data', {2, 3}, R}}}},
  slice_axis = {{{axis = 1, begin = 1, ['end'] = 3}, {{'data', {2, 4}, R}}}},
  transpose = {{{axes = {1, 0, 2}}, {{'data', {2, 3, 4}, R}}}, {{}, {{'data', {2, 3}, R}}}},
  sum = {{{axis = 1}, {{'data', {2, 3, 4}, R}}}, {{}, {{'data', {2, 3}, R}}}},
  mean = {{{axis = 2, keepdims = true}, {{'data', {2, 3, 4}, R}}}},
  max = {{{axis = 0}, {{'data', {2, 3}, R}}}},
  min = {{{axis = 1}, {{'data', {2, 3, 4}, R}}}, {{}, {{'data', {2, 3}, R}}}},
  argmax = {{{axis = 1}, {{'data', {2, 3, 4}, R}}}, {{axis = {0, 1}, keepdims = true}, {{'data', {2, 3}, R}}}},
  argmin = {{{axis = 0}, {{'data', {2, 3}, R}}}},
  norm = {{{}, {{'data', {2, 3}, R}}}, {{axis = -1}, {{'data', {2, 3, 4}, R}}}},
  Crop = {{{num_args = 1, offset = {1, 0}, h_w = {2, 3}}, {{'arg0', {1, 2, 4, 4}, R}}, positional = true},
          {{num_args = 2, center_crop = true}, {{'arg0', {1, 2, 4, 4}, R}, {'arg1', {1, 1, 2, 2}, R}},
           positional = true}},
  UpSampling = {{{scale = 2, sample_type = 'nearest', num_args = 1}, {{'arg0', {1, 2, 2, 3}, R}}, positional = true}},
  L2Normalization = {{{}, {{'data', {2, 3, 2}, R}}}, {{mode = 'channel'}, {{'data', {2, 3, 2}, R}}},
                     {{mode = 'spatial'}, {{'data', {2, 3, 2}, R}}}},
  InstanceNorm = {{{}, {{'data', {2, 3, 4}, R}, {'gamma', {3}, R}, {'beta', {3}, R}}}},
  LRN = {{{nsize = 3, alpha = 0.5}, {{'data', {2, 4, 2, 2}, R}}}},
  dot = {{{}, {{'lhs', {2, 3}, R}, {'rhs', {3, 4}, R}}},
         {{transpose_a = true, transpose_b = true}, {{'lhs', {3, 2}, R}, {'rhs', {4, 3}, R}}},
         {{}, {{'lhs', {3}, R}, {'rhs', {3, 2}, R}}}, {{}, {{'lhs', {3}, R}, {'rhs', {3}, R}}}},
  one_hot = {{{depth = 4}, {{'indices', {2, 3}, I(4)}}}, {{depth = 3, on_value = 2, off_value = -1},
                                                          {{'indices', {5}, I(3)}}}},
  take = {{{}, {{'a', {4, 3}, R}, {'indices', {2, 3}, I(4)}}},
          {{mode = 'raise'}, {{'a', {5}, R}, {'indices', {3}, I(5)}}}},
}

-- mx.nd's element-wise math as operators (unary_math.c, broadcast_math.c)
local UNARY = {'negative', 'exp', 'log', 'sqrt', 'abs', 'square', 'relu', 'sigmoid', 'tanh', 'sign',
               'reciprocal', 'softrelu'}
local POSITIVE_ONLY = {log = true, sqrt = true, reciprocal = true}
for _, op in ipairs(UNARY) do cases[op] = {{{}, {{'data', {2, 3}, POSITIVE_ONLY[op] and P or R}}}} end
local BROADCAST = {'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'power', 'equal', 'not_equal', 'greater',
                   'greater_equal', 'lesser', 'lesser_equal'}
for _, name in ipairs(BROADCAST) do
  local l, r = name == 'power' and P or R, (name == 'div' or name == 'power') and P or R
  cases['broadcast_' .. name] = {{{}, {{'lhs', {2, 3}, l}, {'rhs', {2, 3}, r}}},
                                 {{}, {{'lhs', {2, 3}, l}, {'rhs', {3}, r}}},
                                 {{}, {{'lhs', {2, 1, 4}, l}, {'rhs', {3, 1}, r}}}}
end

local SCALAR = {'maximum', 'minimum', 'power', 'rpower', 'equal', 'not_equal', 'greater', 'greater_equal', 'lesser',
                'lesser_equal'}
for _, name in ipairs(SCALAR) do
  cases['_' .. name .. '_scalar'] = {{{scalar = 0.25}, {{'data', {2, 3}, name == 'power' and P or R}}},
                                    {{scalar = 2}, {{'data', {2, 3}, R}}}}
end

local function random_input(shape, kind)
  local a = mx.random.uniform(-1, 1, shape)
  if kind == P then return a:abs() + 0.5 end
  if type(kind) == 'table' then return ((a + 1) * (kind[2] / 2)):clip(0, kind[2] - 1e-3) - 0.5 end
  return a
end

-- Rounds index inputs to whole numbers 0..k-1 (done on the CPU copy).
local function host_inputs(case)
  local arrays = {}
  for i, inp in ipairs(case[2]) do
    local a = random_input(inp[2], inp[3])
    if type(inp[3]) == 'table' then
      local t = a:reshape{a:size()}:totable()
      for j = 1, #t do t[j] = math.floor(t[j] + 0.5) end -- 0..k-1
      a = mx.nd.array(t):reshape(inp[2])
    end
    arrays[i] = a
  end
  return arrays
end

local function eager(op, case, arrays)
  local kw = {}
  for k, v in pairs(case[1]) do kw[k] = v end
  for i, inp in ipairs(case[2]) do
    if case.positional then kw[i] = arrays[i] else kw[inp[1]] = arrays[i] end
  end
  local out = mx.nd[op](kw)
  return mx.nd.is_ndarray(out) and {out} or out
end

local function symbolic(op, case, arrays, ctx)
  local kw, args, aux = {name = 'n'}, {}, {}
  for k, v in pairs(case[1]) do kw[k] = v end
  for i, inp in ipairs(case[2]) do
    local var = mx.sym.Variable(inp[1])
    if case.positional then kw[i] = var else kw[inp[1]] = var end
  end
  local s = mx.sym[op](kw)
  local is_aux = {}
  for _, name in ipairs(s:list_auxiliary_states()) do is_aux[name] = true end
  for i, inp in ipairs(case[2]) do
    if is_aux[inp[1]] then aux[inp[1]] = arrays[i] else args[inp[1]] = arrays[i] end
  end
  local exe = s:bind(ctx, args, nil, 'null', aux)
  exe:forward{is_train = false}
  return exe.outputs
end

local function flat(x)
  local h = x:copyto(cpu)
  return h:reshape{h:size()}:totable()
end

-- the same kernels on the same arrays: equal up to rounding (GEMM libraries may split sums)
local function assert_close(got, want, what)
  assert.are.same(want:shape(), got:shape(), what .. ': shape')
  local g, w = flat(got), flat(want)
  for i = 1, #w do
    if math.abs(g[i] - w[i]) > 1e-5 * (math.abs(w[i]) + 1) then
      error(('%s: element %d is %.9g eagerly, %.9g from the bound symbol'):format(what, i, g[i], w[i]), 2)
    end
  end
end

local function compare(op, ci, case, ctx)
  local host = host_inputs(case)
  local arrays = {}
  for i, a in ipairs(host) do arrays[i] = a:copyto(ctx) end
  local got, want = eager(op, case, arrays), symbolic(op, case, arrays, ctx)
  local what = ('%s case %d on %s'):format(op, ci, tostring(ctx))
  assert.are.equal(#want, #got, what .. ': number of outputs')
  for k = 1, #want do
    assert.are.equal(tostring(ctx), tostring(got[k]:context()), what)
    assert_close(got[k], want[k], what .. ' output ' .. k)
  end
  return host, got
end

describe('mx.nd.<Op> (every registry operator run eagerly)', function()
  it('has a case here for every registry operator', function()
    local missing = {}
    for _, info in ipairs(mx.core.symbol.op_list()) do
      if not cases[info.name] then missing[#missing + 1] = info.name end
      assert.is_function(mx.nd[info.name], info.name)
    end
    assert.are.same({}, missing)
  end)

  for _, info in ipairs(mx.core.symbol.op_list()) do
    local op = info.name
    for ci, case in ipairs(cases[op] or {}) do
      it(('%s case %d gives what a bound symbol gives on the CPU'):format(op, ci), function()
        compare(op, ci, case, cpu)
      end)
      if have_gpu and not case.cpu_only then
        it(('%s case %d gives what a bound symbol gives on the GPU, and the CPU result #gpu'):format(op, ci), function()
          local host, on_gpu = compare(op, ci, case, gpu)
          local on_cpu = eager(op, case, host)
          for k = 1, #on_cpu do
            local g, w = flat(on_gpu[k]), flat(on_cpu[k])
            for i = 1, #w do
              assert.is_true(math.abs(g[i] - w[i]) <= 1e-4 * (math.abs(w[i]) + 1),
                ('%s output %d element %d: %.9g on the GPU, %.9g on the CPU'):format(op, k, i, g[i], w[i]))
            end
          end
        end)
      end
    end
  end
end)

describe('mx.nd.<Op> calls', function()
  local x = mx.nd.array{{1, -2, 3}, {4, 5, -6}}

  it('computes the operator (checked by hand)', function()
    assert.are.same({{1, 0, 3}, {4, 5, 0}}, mx.nd.Activation{x, act_type = 'relu'}:totable())
    local w = mx.nd.array{{1, 0, 1}, {0, 1, 0}}
    local y = mx.nd.FullyConnected{data = x, weight = w, bias = mx.nd.array{10, 20}, num_hidden = 2}
    assert.are.same({{14, 18}, {8, 25}}, y:totable())
  end)

  it('keeps the Lua forms of the names it shares, and runs the operator for a keyword table', function()
    assert.are.same({2, 3}, mx.nd.sum(x, 2):totable())       -- Lua form: 1-based axis
    assert.are.same({2, 3}, mx.nd.sum{x, axis = 1}:totable()) -- operator: MXNet's 0-based axis
    assert.are.same({{1, 4}, {-2, 5}, {3, -6}}, mx.nd.transpose{x}:totable())
  end)

  it('returns a list for several outputs', function()
    local parts = mx.nd.SliceChannel{x, num_outputs = 3, axis = 1}
    assert.are.equal(3, #parts)
    assert.are.same({{-2}, {5}}, parts[2]:totable())
  end)

  it('gives clear errors: missing, unknown and mis-shaped inputs, bad parameters', function()
    local w = mx.nd.ones{2, 3}
    local function err(f) local ok, e = pcall(f); assert.is_false(ok); return e end
    assert.are.equal("mx.nd.FullyConnected: input 'bias' is missing",
      err(function() return mx.nd.FullyConnected{data = x, weight = w, num_hidden = 2} end))
    assert.matches("'wieght' is not an input of the operator %(inputs: data, weight, bias%)",
      err(function() return mx.nd.FullyConnected{data = x, wieght = w, num_hidden = 2, no_bias = false} end))
    assert.matches('weight has shape %(3,3%), expected %(2,3%)',
      err(function()
        return mx.nd.FullyConnected{data = x, weight = mx.nd.ones{3, 3}, bias = mx.nd.ones{2}, num_hidden = 2}
      end))
    assert.matches("required parameter 'kernel' is missing",
      err(function() return mx.nd.Convolution{data = x, num_filter = 2} end))
    assert.matches('positional input 2 is not an NDArray', err(function() return mx.nd.Concat{x, 3, dim = 0} end))
    assert.matches('bad argument #1', err(function() return mx.nd.Activation(7) end))
  end)

  it('plans once per (operator, parameters, shapes): a repeated call asks only for its output', function()
    local w, b = mx.nd.ones{4, 3}, mx.nd.zeros{4}
    local function call() return mx.nd.FullyConnected{data = x, weight = w, bias = b, num_hidden = 4} end
    call()
    local before = mx.core.alloc_stats().requests
    for _ = 1, 10 do call() end
    assert.are.equal(before + 10, mx.core.alloc_stats().requests)
  end)

  it('keeps no array memory between calls (workspaces and hidden outputs live for one call)', function()
    local data, weight = mx.nd.ones{1, 2, 6, 6}, mx.nd.ones{3, 2, 3, 3}
    collectgarbage(); collectgarbage()
    local before = mx.core.alloc_stats().bytes_in_use
    for _ = 1, 3 do
      local y = mx.nd.Convolution{data = data, weight = weight, kernel = {3, 3}, num_filter = 3, no_bias = true}
      assert.are.same({1, 3, 4, 4}, y:shape())
      mx.nd.Dropout{data, p = 0.5, is_train = true}
      data:sum(2)
    end
    collectgarbage(); collectgarbage()
    assert.are.equal(before, mx.core.alloc_stats().bytes_in_use)
  end)

  it('runs the training forward when asked (Dropout drops)', function()
    local ones = mx.nd.ones{1000}
    local kept = mx.nd.Dropout{ones, p = 0.5, is_train = true}:sum():asscalar()
    assert.is_true(kept > 0 and kept < 2000 and kept ~= 1000)
    assert.are.equal(1000, mx.nd.Dropout{ones, p = 0.5}:sum():asscalar())
  end)
end)

describe('element-wise registry operators: gradients by central differences', function()
  local S = mx.sym
  local x, l, r = S.Variable('x'), S.Variable('lhs'), S.Variable('rhs')
  mx.random.seed(17)

  for _, op in ipairs(UNARY) do
    it(op .. "'s gradient, and its 'add' and 'null' requests", function()
      local input = POSITIVE_ONLY[op] and G.random({3, 4}, 0.5, 1.5) or G.random({3, 4}, -2, 2, 0.05)
      G.check_symbol(S[op]{data = x}, {x = input})
    end)
  end

  -- lhs on a grid of tenths, rhs on odd twentieths: never within 0.05 of each other, so the
  -- differences (eps 0.01) never cross maximum's and minimum's kink
  local function grid(shape, offset)
    local n, t = 1, {}
    for _, d in ipairs(shape) do n = n * d end
    for i = 1, n do t[i] = ((i * 7) % 20) / 10 - 1 + offset end
    return mx.nd.array(t):reshape(shape)
  end
  for _, name in ipairs{'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'greater'} do
    for _, shapes in ipairs{{{2, 3, 4}, {3, 1}}, {{1, 3, 1}, {2, 1, 4}}, {{2, 3}, {2, 3}}} do
      it(('broadcast_%s between %s and %s'):format(name, table.concat(shapes[1], 'x'), table.concat(shapes[2], 'x')),
        function()
          local b = grid(shapes[2], 0.05)
          if name == 'div' then b = b:abs() + 0.5 end
          G.check_symbol(S['broadcast_' .. name]{lhs = l, rhs = r}, {lhs = grid(shapes[1], 0), rhs = b})
        end)
    end
  end

  for _, case in ipairs{{'maximum', 0.05, -1, 1}, {'minimum', 0.05, -1, 1}, {'power', 2.5, 0.5, 2},
                        {'power', -1.5, 0.5, 2}, {'rpower', 1.7, -1, 1}, {'greater', 0.05, -1, 1}} do
    it(('_%s_scalar with scalar %g'):format(case[1], case[2]), function()
      local input = G.random({3, 4}, case[3], case[4])
      if case[2] == 0.05 then -- on the grid of tenths: away from the kink or step at the scalar
        input = grid({3, 4}, 0)
      end
      G.check_symbol(S['_' .. case[1] .. '_scalar']{data = x, scalar = case[2]}, {x = input})
    end)
  end

  it('min, norm and argmax over an axis: gradients (argmax: zero), values checked by hand', function()
    local v = grid({3, 4, 2}, 0)
    G.check_symbol(S.min{data = x, axis = 1}, {x = v})
    G.check_symbol(S.norm{data = x, axis = {1, 2}}, {x = v})
    G.check_symbol(S.argmax{data = x, axis = 2}, {x = v})
    local m = mx.nd.array{{3, -4, 1}, {0, 2, 2}}
    assert.are.same({0, 1}, mx.nd.argmax{m, axis = 1}:totable()) -- the first of equal maxima
    assert.are.same({1, 0}, mx.nd.argmin{m, axis = 1}:totable())
    assert.are.same({-4, 0}, mx.nd.min{m, axis = 1}:totable())
    assert.is_true(math.abs(mx.nd.norm{m}:asscalar() - math.sqrt(34)) < 1e-5)
  end)

  for _, shapes in ipairs{{{2, 3, 4}, {3, 1}}, {{1, 3, 1}, {2, 1, 4}}, {{2, 3}, {2, 3}}} do
    it(('broadcast_power between %s and %s (positive bases)'):format(table.concat(shapes[1], 'x'),
      table.concat(shapes[2], 'x')), function()
      G.check_symbol(S.broadcast_power{lhs = l, rhs = r}, {lhs = grid(shapes[1], 0):abs() + 0.5,
        rhs = grid(shapes[2], 0.05)})
    end)
  end
end)
