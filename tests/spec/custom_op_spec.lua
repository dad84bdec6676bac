-- custom_op_spec: operators written in Lua. The tutorial's NumpySoftmax (LuaOp)
-- against softmax by hand and SoftmaxOutput; CustomOp/CustomOpProp/register with
-- gradients checked against central finite differences; requests, aux states,
-- borrowed arrays, and errors raised in Lua.
-- luacheck: no unused args (operator methods keep MXNet's full signatures)
local mx = require 'mx'

-- The tutorial's operator, as written there.
local NumpySoftmax = mx.operator.LuaOp:extend('NumpySoftmax')
function NumpySoftmax:init()
  mx.operator.LuaOp.init(self, { need_top_grad = false })
end
function NumpySoftmax:list_arguments() return { 'data', 'label' } end
function NumpySoftmax:list_outputs() return { 'output' } end
function NumpySoftmax:infer_shape(in_shape)
  local data_shape = in_shape[1]
  return { data_shape, { data_shape[1] } }, { data_shape }
end
function NumpySoftmax:forward(in_data, out_data)
  local x, y = in_data[1], out_data[1]
  y:set(mx.nd.exp(x - x:max(2, true)))
  y:div_(y:sum(2, true))
end
function NumpySoftmax:backward(out_grad, in_data, out_data, in_grad)
  local l, y, dx = in_data[2], out_data[1], in_grad[1]
  dx:set(y)
  dx:sub_(mx.nd.one_hot(l, y:shape()[2]))
end

local function rand_table(rows, cols, seed)
  local t, s = {}, seed
  for i = 1, rows do
    t[i] = {}
    for j = 1, cols do
      s = (s * 1103515245 + 12345) % 2147483648
      t[i][j] = (s / 2147483648) * 4 - 2
    end
  end
  return t
end

local function assert_table_near(want, got, tol)
  assert.equal(#want, #got)
  for i = 1, #want do
    if type(want[i]) == 'table' then
      assert_table_near(want[i], got[i], tol)
    else
      assert.is_true(math.abs(want[i] - got[i]) <= tol,
        string.format('element %d: expected %.7g, got %.7g', i, want[i], got[i]))
    end
  end
end

-- Central finite differences of sum(output * head) with respect to arg_dict[name].
local function numeric_grad(exe, name, head, h)
  local arr = exe.arg_dict[name]
  local values = arr:reshape { arr:size() }:totable()
  local grad = {}
  local function loss()
    exe:forward { is_train = true }
    return (exe.outputs[1] * head):sum():asscalar()
  end
  for i = 1, #values do
    local keep = values[i]
    values[i] = keep + h
    arr:set(mx.nd.array(values):reshape(arr:shape()))
    local lp = loss()
    values[i] = keep - h
    arr:set(mx.nd.array(values):reshape(arr:shape()))
    local lm = loss()
    values[i] = keep
    arr:set(mx.nd.array(values):reshape(arr:shape()))
    grad[i] = (lp - lm) / (2 * h)
  end
  return grad
end

describe('mx.operator.LuaOp (the tutorial\'s NumpySoftmax)', function()
  local x = rand_table(4, 5, 7)
  local labels = { 0, 3, 1, 4 }

  local function bind(loss)
    local data = mx.symbol.Variable('data')
    local net = loss(data)
    local exe = net:simple_bind { ctx = mx.cpu(), data = { 4, 5 }, grad_req = { data = 'write' } }
    exe.arg_dict.data:set(mx.nd.array(x))
    exe.arg_dict.softmax_label:set(mx.nd.array(labels))
    return exe, net
  end

  it('names its arguments and outputs like MXNet', function()
    local op = NumpySoftmax()
    local net = op { data = mx.symbol.Variable('data'), name = 'softmax' }
    assert.same({ 'data', 'softmax_label' }, net:list_arguments())
    assert.same({ 'softmax_output' }, net:list_outputs())
    local arg_shapes, out_shapes = net:infer_shape { data = { 4, 5 } }
    assert.same({ { 4, 5 }, { 4 } }, arg_shapes)
    assert.same({ { 4, 5 } }, out_shapes)
  end)

  it('gives softmax forward and softmax minus one-hot backward, as computed by hand', function()
    local op = NumpySoftmax()
    local exe = bind(function(data) return op { data = data, name = 'softmax' } end)
    exe:forward { is_train = true }
    exe:backward()
    local want_y, want_dx = {}, {}
    for i = 1, 4 do
      local m = -math.huge
      for j = 1, 5 do m = math.max(m, x[i][j]) end
      local sum = 0
      for j = 1, 5 do sum = sum + math.exp(x[i][j] - m) end
      want_y[i], want_dx[i] = {}, {}
      for j = 1, 5 do
        want_y[i][j] = math.exp(x[i][j] - m) / sum
        want_dx[i][j] = want_y[i][j] - (j - 1 == labels[i] and 1 or 0)
      end
    end
    assert_table_near(want_y, exe.outputs[1]:totable(), 1e-6)
    assert_table_near(want_dx, exe.grad_dict.data:totable(), 1e-6)
  end)

  it('matches SoftmaxOutput, outputs and gradients', function()
    local op = NumpySoftmax()
    local lua_exe = bind(function(data) return op { data = data, name = 'softmax' } end)
    local builtin = bind(function(data) return mx.symbol.SoftmaxOutput { data = data, name = 'softmax' } end)
    for _, exe in ipairs { lua_exe, builtin } do
      exe:forward { is_train = true }
      exe:backward()
    end
    assert_table_near(builtin.outputs[1]:totable(), lua_exe.outputs[1]:totable(), 1e-6)
    assert_table_near(builtin.grad_dict.data:totable(), lua_exe.grad_dict.data:totable(), 1e-6)
  end)

  it('gets no gradient from above when need_top_grad is false', function()
    local seen = 'not called'
    local Probe = NumpySoftmax:extend('Probe')
    function Probe:backward(out_grad, in_data, out_data, in_grad)
      seen = out_grad[1]
      NumpySoftmax.backward(self, out_grad, in_data, out_data, in_grad)
    end
    local op = Probe()
    local exe = bind(function(data) return op { data = data, name = 'softmax' } end)
    exe:forward { is_train = true }
    exe:backward()
    assert.is_nil(seen)
  end)
end)

-- A two-input operator with a parameter: out = scale * a * b, written with CustomOp.
local MulOp = mx.operator.CustomOp:extend('MulOp')
function MulOp:forward(is_train, req, in_data, out_data, aux)
  self:assign(out_data[1], req[1], in_data[1] * in_data[2] * self.scale)
end
function MulOp:backward(req, out_grad, in_data, out_data, in_grad, aux)
  self:assign(in_grad[1], req[1], out_grad[1] * in_data[2] * self.scale)
  self:assign(in_grad[2], req[2], out_grad[1] * in_data[1] * self.scale)
end

local MulProp = mx.operator.CustomOpProp:extend('MulProp')
function MulProp:init(kwargs)
  mx.operator.CustomOpProp.init(self, { need_top_grad = true })
  self.scale = tonumber(kwargs.scale or '1')
end
function MulProp:list_arguments() return { 'a', 'b' } end
function MulProp:infer_shape(in_shape) return { in_shape[1], in_shape[1] }, { in_shape[1] }, {} end
function MulProp:create_operator(ctx, shapes, dtypes)
  local op = MulOp()
  op.scale = self.scale
  return op
end
mx.operator.register('spec_mul', MulProp)

describe('mx.operator.CustomOp / CustomOpProp / register', function()
  local a0, b0 = rand_table(2, 3, 1), rand_table(2, 3, 2)
  local head = mx.nd.array(rand_table(2, 3, 3))

  local function bind(grad_req)
    local net = mx.symbol.Custom { a = mx.symbol.Variable('a'), op_type = 'spec_mul', scale = 3, name = 'm' }
    local exe = net:simple_bind { ctx = mx.cpu(), a = { 2, 3 }, m_b = { 2, 3 }, grad_req = grad_req or 'write' }
    exe.arg_dict.a:set(mx.nd.array(a0))
    exe.arg_dict.m_b:set(mx.nd.array(b0))
    return exe, net
  end

  it('builds a symbol with its own argument names and parameters', function()
    local _, net = bind()
    assert.same({ 'a', 'm_b' }, net:list_arguments())
    assert.same({ 'm_output' }, net:list_outputs())
  end)

  it('computes the forward pass with the parameter given as a string', function()
    local exe = bind()
    exe:forward { is_train = false }
    local want = {}
    for i = 1, 2 do
      want[i] = {}
      for j = 1, 3 do want[i][j] = 3 * a0[i][j] * b0[i][j] end
    end
    assert_table_near(want, exe.outputs[1]:totable(), 1e-5)
  end)

  it('passes a gradient check against central finite differences', function()
    local exe = bind()
    exe:forward { is_train = true }
    exe:backward { head }
    local ga = exe.grad_dict.a:reshape { 6 }:totable()
    local gb = exe.grad_dict.m_b:reshape { 6 }:totable()
    assert_table_near(numeric_grad(exe, 'a', head, 1e-2), ga, 2e-3)
    assert_table_near(numeric_grad(exe, 'm_b', head, 1e-2), gb, 2e-3)
  end)

  it("accumulates with grad_req 'add' through assign", function()
    local exe = bind('add')
    exe.grad_dict.a:set(0)
    for _ = 1, 2 do
      exe:forward { is_train = true }
      exe:backward { head }
    end
    local h = head:totable()
    local want = {}
    for i = 1, 2 do
      want[i] = {}
      for j = 1, 3 do want[i][j] = 2 * h[i][j] * b0[i][j] * 3 end
    end
    assert_table_near(want, exe.grad_dict.a:totable(), 1e-4)
  end)

  it('assign follows the request', function()
    local op = mx.operator.CustomOp()
    local dst = mx.nd.ones { 2 }
    op:assign(dst, 'null', mx.nd.full({ 2 }, 5))
    assert.same({ 1, 1 }, dst:totable())
    op:assign(dst, 'write', mx.nd.full({ 2 }, 5))
    assert.same({ 5, 5 }, dst:totable())
    op:assign(dst, 'inplace', mx.nd.full({ 2 }, 2))
    assert.same({ 2, 2 }, dst:totable())
    op:assign(dst, 'add', mx.nd.full({ 2 }, 3))
    assert.same({ 5, 5 }, dst:totable())
    assert.has_error(function() op:assign(dst, 'bogus', dst) end,
      "CustomOp:assign: bad request 'bogus' (expected null, write, inplace or add)")
  end)

  it('keeps auxiliary states', function()
    local CountOp = mx.operator.CustomOp:extend('CountOp')
    function CountOp:forward(is_train, req, in_data, out_data, aux)
      self:assign(out_data[1], req[1], in_data[1])
      aux[1]:add_(mx.nd.ones { 1 })
    end
    function CountOp:backward(req, out_grad, in_data, out_data, in_grad, aux)
      self:assign(in_grad[1], req[1], out_grad[1])
    end
    local CountProp = mx.operator.CustomOpProp:extend('CountProp')
    function CountProp:list_auxiliary_states() return { 'count' } end
    function CountProp:infer_shape(in_shape) return in_shape, { in_shape[1] }, { { 1 } } end
    function CountProp:create_operator() return CountOp() end
    mx.operator.register('spec_count', CountProp)
    local net = mx.symbol.Custom { data = mx.symbol.Variable('data'), op_type = 'spec_count', name = 'c' }
    assert.same({ 'c_count' }, net:list_auxiliary_states())
    local exe = net:simple_bind { ctx = mx.cpu(), data = { 2, 2 } }
    exe:forward { is_train = false }
    exe:forward { is_train = false }
    assert.equal(2, exe.aux_dict.c_count:asscalar())
  end)
end)

describe('Lua operators checked like the built-in ones (gradcheck.check_symbol)', function()
  local G = require 'gradcheck'

  it('a CustomOp with two inputs: write, add and null requests', function()
    local net = mx.symbol.Custom { a = mx.symbol.Variable('a'), op_type = 'spec_mul', scale = 0.5, name = 'm' }
    mx.random.seed(3)
    assert.is_true(G.check_symbol(net, { a = G.random { 3, 4 }, m_b = G.random { 3, 4 } }))
  end)

  it('a LuaOp that needs the gradient from above', function()
    local ScaledTanh = mx.operator.LuaOp:extend('ScaledTanh')
    function ScaledTanh:forward(in_data, out_data)
      out_data[1]:set(mx.nd.tanh(in_data[1]) * 2)
    end
    function ScaledTanh:backward(out_grad, in_data, out_data, in_grad)
      local y = out_data[1] / 2 -- tanh(x)
      in_grad[1]:set(out_grad[1] * (1 - y * y) * 2)
    end
    local op = ScaledTanh()
    local net = op { data = mx.symbol.Variable('data'), name = 'st' }
    mx.random.seed(4)
    assert.is_true(G.check_symbol(net, { data = G.random { 2, 5 } }))
  end)

  it('the tutorial\'s NumpySoftmax against the cross-entropy it is the gradient of', function()
    local op = NumpySoftmax()
    local net = op { data = mx.symbol.Variable('data'), name = 'softmax' }
    mx.random.seed(5)
    local labels = { 2, 0, 1 }
    local function cross_entropy(outputs)
      local y = outputs[1]:totable()
      local l = 0
      for i, c in ipairs(labels) do l = l - math.log(y[i][c + 1]) end
      return l
    end
    assert.is_true(G.check_symbol(net, { data = G.random { 3, 4 }, softmax_label = mx.nd.array(labels) },
      { wrt = { 'data' }, loss = cross_entropy }))
  end)
end)

describe('arrays lent to Lua', function()
  local Keep = mx.operator.CustomOp:extend('Keep')
  local kept, same_memory
  function Keep:forward(is_train, req, in_data, out_data, aux)
    kept = in_data[1]
    self:assign(out_data[1], req[1], 7)
    same_memory = self.exe and self.exe.outputs[1]:totable()
  end
  function Keep:backward(req, out_grad, in_data, out_data, in_grad) self:assign(in_grad[1], req[1], out_grad[1]) end
  local KeepProp = mx.operator.CustomOpProp:extend('KeepProp')
  local instance
  function KeepProp:create_operator()
    instance = Keep()
    return instance
  end
  mx.operator.register('spec_keep', KeepProp)

  it('are the executor\'s own arrays, and invalid after the call', function()
    local net = mx.symbol.Custom { data = mx.symbol.Variable('data'), op_type = 'spec_keep', name = 'k' }
    local exe = net:simple_bind { ctx = mx.cpu(), data = { 1, 3 } }
    instance.exe = exe
    exe:forward { is_train = false }
    assert.same({ { 7, 7, 7 } }, same_memory) -- written through out_data, seen in exe.outputs during the call
    local ok, err = pcall(function() return kept:totable() end)
    assert.is_false(ok)
    assert.matches('lent to a callback and is no longer valid', err)
  end)
end)

describe('errors in Lua operators', function()
  local fail = false
  local Fragile = mx.operator.CustomOp:extend('Fragile')
  function Fragile:forward(is_train, req, in_data, out_data)
    if fail then error('fragile went wrong') end
    self:assign(out_data[1], req[1], in_data[1])
  end
  function Fragile:backward(req, out_grad, in_data, out_data, in_grad)
    self:assign(in_grad[1], req[1], out_grad[1])
  end
  local FragileProp = mx.operator.CustomOpProp:extend('FragileProp')
  function FragileProp:create_operator() return Fragile() end
  mx.operator.register('spec_fragile', FragileProp)

  it('surface from forward with the operator, the message and a traceback; the executor goes on', function()
    local net = mx.symbol.Custom { data = mx.symbol.Variable('data'), op_type = 'spec_fragile', name = 'frag' }
    local exe = net:simple_bind { ctx = mx.cpu(), data = { 2, 2 } }
    fail = true
    local ok, err = pcall(function() exe:forward { is_train = true } end)
    assert.is_false(ok)
    assert.matches("Custom operator 'spec_fragile' %(node frag%)", err)
    assert.matches('fragile went wrong', err)
    assert.matches('stack traceback', err)
    fail = false
    exe.arg_dict.data:set(3)
    exe:forward { is_train = true }
    assert.same({ { 3, 3 }, { 3, 3 } }, exe.outputs[1]:totable())
  end)

  it('surface from backward and from fit', function()
    local BadBack = mx.operator.CustomOp:extend('BadBack')
    function BadBack:forward(is_train, req, in_data, out_data) self:assign(out_data[1], req[1], in_data[1]) end
    function BadBack:backward() error('no gradient today') end
    local BadBackProp = mx.operator.CustomOpProp:extend('BadBackProp')
    function BadBackProp:create_operator() return BadBack() end
    mx.operator.register('spec_badback', BadBackProp)
    local data = mx.symbol.Variable('data')
    local fc = mx.symbol.FullyConnected { data = data, name = 'fc', num_hidden = 2 }
    local bad = mx.symbol.Custom { data = fc, op_type = 'spec_badback', name = 'bad' }
    local net = mx.symbol.SoftmaxOutput { data = bad, name = 'softmax' }
    local exe = net:simple_bind { ctx = mx.cpu(), data = { 2, 3 } }
    exe:forward { is_train = true }
    local ok, err = pcall(function() exe:backward() end)
    assert.is_false(ok)
    assert.matches("^Executor:backward: .*Custom operator 'spec_badback' %(node bad%): backward: .*no gradient today",
      err)
    local iter = mx.io.NDArrayIter { data = mx.nd.ones { 4, 3 }, label = mx.nd.zeros { 4 }, batch_size = 2 }
    local model = mx.model.FeedForward { ctx = mx.cpu(), symbol = net, num_epoch = 1 }
    ok, err = pcall(function() model:fit { X = iter, logger = { info = function() end } } end)
    assert.is_false(ok)
    assert.matches("Custom operator 'spec_badback' %(node bad%): backward: .*no gradient today", err)
    assert.matches('stack traceback', err)
  end)

  it('in the Prop\'s names surface when the symbol is made', function()
    local BadNames = mx.operator.CustomOpProp:extend('BadNames')
    function BadNames:list_arguments() error('which arguments?') end
    mx.operator.register('spec_badnames', BadNames)
    local ok, err = pcall(function()
      return mx.symbol.Custom { data = mx.symbol.Variable('data'), op_type = 'spec_badnames' }
    end)
    assert.is_false(ok)
    assert.matches('which arguments%?', err)
  end)

  it('name an unregistered op_type', function()
    local ok, err = pcall(function()
      return mx.symbol.Custom { data = mx.symbol.Variable('data'), op_type = 'spec_nowhere' }
    end)
    assert.is_false(ok)
    assert.matches("op_type 'spec_nowhere' is not registered", err)
  end)

  it('check register\'s arguments', function()
    assert.has_error(function() mx.operator.register('', MulProp) end,
      'mx.operator.register: expected an operator name (a non-empty string)')
    assert.has_error(function() mx.operator.register('x', 42) end,
      'mx.operator.register: expected a CustomOpProp class for x')
  end)
end)

describe('Lua operators on the GPU #gpu', function()
  local gpu_it = require('gpu_it')()
  gpu_it('work on the executor\'s own GPU arrays and match the CPU', function()
    local contexts = {}
    local Probe = NumpySoftmax:extend('GpuProbe')
    function Probe:forward(in_data, out_data)
      contexts[#contexts + 1] = tostring(in_data[1]:context())
      NumpySoftmax.forward(self, in_data, out_data)
    end
    local x = rand_table(8, 10, 11)
    local labels = { 0, 1, 2, 3, 4, 5, 6, 7 }
    local results = {}
    for _, ctx in ipairs { mx.cpu(), mx.gpu(0) } do
      local op = Probe()
      local net = op { data = mx.symbol.Variable('data'), name = 'softmax' }
      local exe = net:simple_bind { ctx = ctx, data = { 8, 10 }, grad_req = { data = 'write' } }
      exe.arg_dict.data:set(mx.nd.array(x))
      exe.arg_dict.softmax_label:set(mx.nd.array(labels))
      exe:forward { is_train = true }
      exe:backward()
      results[#results + 1] = { exe.outputs[1]:totable(), exe.grad_dict.data:totable() }
    end
    assert.same({ 'cpu(0)', 'gpu(0)' }, contexts)
    assert_table_near(results[1][1], results[2][1], 1e-5)
    assert_table_near(results[1][2], results[2][2], 1e-5)
  end)
end)
