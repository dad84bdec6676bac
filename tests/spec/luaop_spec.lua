-- luaop_spec: operators written in Lua that last: a LuaOp class registers its name when it
-- is defined, its symbols keep the constructor's arguments, and a fresh process that
-- requires the class loads them; callbacks are asked once and checked; debug mode;
-- no engine allocation per call.
-- luacheck: no unused args (operator methods keep MXNet's full signatures)
local mx = require 'mx'

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(mx.core.mkdir and mx.core.mkdir(d) or os.execute('mkdir -p ' .. d))
  return d
end

local function write(path, text)
  local f = assert(io.open(path, 'w'))
  f:write(text)
  f:close()
end

-- Runs a Lua script in a new process (same LUA_PATH/LUA_CPATH); returns its output and success.
local function fresh_process(path)
  local p = io.popen('lua5.4 ' .. path .. ' 2>&1; echo "exit=$?"')
  local out = p:read('a')
  p:close()
  return out, out:match('exit=0\n$') ~= nil
end

-- Swish: y = x * sigmoid(beta * x), its constructor's argument beta.
local SWISH = [[
local mx = require 'mx'
local Swish = mx.operator.LuaOp:extend('SpecSwish')
function Swish:init(beta)
  mx.operator.LuaOp.init(self)
  self.beta = beta
end
function Swish:forward(in_data, out_data)
  local x = in_data[1]
  out_data[1]:set(x * mx.nd.sigmoid(x * self.beta))
end
function Swish:backward(out_grad, in_data, out_data, in_grad)
  local s = mx.nd.sigmoid(in_data[1] * self.beta)
  in_grad[1]:set(out_grad[1] * (s + out_data[1] * (1 - s) * self.beta))
end
return Swish
]]

local function swish_by_hand(x, beta) return x / (1 + math.exp(-beta * x)) end

describe('a LuaOp class', function()
  local dir = tmpdir()
  write(dir .. '/spec_swish.lua', SWISH)
  package.path = dir .. '/?.lua;' .. package.path
  local Swish = require 'spec_swish'

  it('is registered under its name when defined, before any instance exists', function()
    assert.is_true(mx.core.custom_op_registered('SpecSwish'))
    local Other = mx.operator.LuaOp:extend('SpecNamed', 'spec.named_op')
    assert.is_true(mx.core.custom_op_registered('spec.named_op'))
    assert.equal('spec.named_op', Other:op_type())
  end)

  it('keeps its constructor arguments in the node, and two instances stay apart', function()
    local net = Swish(2.0) { data = Swish(0.5) { data = mx.sym.Variable('data'), name = 'act1' }, name = 'act2' }
    local json = net:tojson()
    assert.matches('"op_type": "SpecSwish"', json, 1, true)
    assert.matches('"init_args": "{0.5}"', json, 1, true)
    assert.matches('"init_args": "{2.0}"', json, 1, true)
    local exe = net:simple_bind { data = { 1, 3 } }
    exe.arg_dict.data:set(mx.nd.array { { -1, 0.5, 3 } })
    exe:forward {}
    local got = exe.outputs[1]:totable()[1]
    for i, x in ipairs { -1, 0.5, 3 } do
      assert.near(swish_by_hand(swish_by_hand(x, 0.5), 2.0), got[i], 1e-5)
    end
  end)

  it('gives each bound node its own self for values forward keeps for backward', function()
    local Keep = mx.operator.LuaOp:extend('SpecKeep')
    function Keep:forward(in_data, out_data)
      self.kept = in_data[1] * 2 -- an array of this node's shape
      out_data[1]:set(self.kept)
    end
    function Keep:backward(out_grad, _, _, in_grad)
      -- kept must be this node's (shared, k2's (3, 2) array would meet k1's (3, 5) gradient)
      in_grad[1]:set(out_grad[1] * 2 + self.kept * 0)
    end
    -- one instance (same class and arguments) at two nodes of different shapes
    local data = mx.sym.Variable('data')
    local a = Keep() { data = data, name = 'k1' }
    local net = Keep() { data = mx.sym.FullyConnected { data = a, num_hidden = 2, name = 'fc' }, name = 'k2' }
    local exe = net:simple_bind { data = { 3, 5 }, grad_req = { data = 'write' } }
    exe.arg_dict.data:set(mx.nd.ones { 3, 5 })
    exe:forward { is_train = true }
    exe:backward { mx.nd.ones { 3, 2 } }
    assert.are.same({ 3, 5 }, exe.grad_dict.data:shape())
    assert.is_nil(rawget(Keep(), 'kept')) -- the shared instance holds none of it
  end)

  it('has no limit on instances (one registration per class)', function()
    local sym = mx.sym.Variable('data')
    for i = 1, 300 do sym = Swish(1 + i / 1000) { data = sym, name = 'a' .. i } end
    assert.equal(300 + 1, #sym:get_internals():list_outputs())
  end)

  it('saved with a model, loads in a fresh process that requires the class', function()
    local prefix = dir .. '/swishnet'
    local data = mx.sym.Variable('data')
    local fc = mx.sym.FullyConnected { data = data, name = 'fc', num_hidden = 3 }
    local net = mx.sym.SoftmaxOutput { data = Swish(1.5) { data = fc, name = 'act' }, name = 'softmax' }
    local x = mx.nd.array { { 0.5, -1 }, { 2, 0.25 } }
    local iter = mx.io.NDArrayIter { data = x, label = mx.nd.array { 0, 2 }, batch_size = 2 }
    local model = mx.model.FeedForward { symbol = net, num_epoch = 1, learning_rate = 0.1 }
    model:fit { X = iter, logger = { info = function() end } }
    model:save(prefix, 1)
    local want = model:predict(x):totable()
    write(dir .. '/load.lua', string.format([[
package.path = %q .. '/?.lua;' .. package.path
local mx = require 'mx'
require 'spec_swish'
local m = mx.model.FeedForward.load(%q, 1)
local p = m:predict(mx.nd.array{{0.5, -1}, {2, 0.25}}):totable()
for _, row in ipairs(p) do print(string.format('%%.6f %%.6f %%.6f', row[1], row[2], row[3])) end
]], dir, prefix))
    local out, ok = fresh_process(dir .. '/load.lua')
    assert.is_true(ok, out)
    local i = 0
    for a, b, c in out:gmatch('(%S+) (%S+) (%S+)\n') do
      i = i + 1
      assert.near(want[i][1], tonumber(a), 1e-5)
      assert.near(want[i][2], tonumber(b), 1e-5)
      assert.near(want[i][3], tonumber(c), 1e-5)
    end
    assert.equal(2, i)
  end)

  it('missing in the loading process is named', function()
    local path = dir .. '/alone.json'
    Swish(1) { data = mx.sym.Variable('data'), name = 'act' }:save(path)
    write(dir .. '/alone.lua', string.format('local mx = require "mx"; mx.sym.load(%q)', path))
    local out, ok = fresh_process(dir .. '/alone.lua')
    assert.is_false(ok)
    assert.matches("operator type 'SpecSwish' is not registered %(define or require it before loading%)", out)
  end)

  it('refuses constructor arguments that cannot be saved, and unknown keywords', function()
    assert.has_error(function() return Swish(print) { data = mx.sym.Variable('x') } end,
      'SpecSwish: constructor argument 1 is a function (only nil, booleans, numbers, strings and plain tables of '
      .. 'them can be saved); the arguments of a LuaOp are saved with its symbols')
    local ok, err = pcall(function() return Swish(1) { data = mx.sym.Variable('x'), beta = 2 } end)
    assert.is_false(ok)
    assert.matches("SpecSwish: unknown keyword 'beta'", err)
  end)
end)

describe('mx.literal (how constructor arguments are kept)', function()
  local literal = require 'mx.literal'
  it('reads back what it writes: nils, integers and floats apart, strings with any byte, nested tables', function()
    local text = literal.encode_list(5, 1.5, nil, 'a"b\n\0\255', { 1, { true }, x = -2, [0.25] = 'q' }, 3)
    local t, n = literal.decode_list(text)
    assert.equal(5, n)
    assert.equal(1.5, t[1])
    assert.is_nil(t[2])
    assert.equal('a"b\n\0\255', t[3])
    assert.same({ 1, { true }, x = -2, [0.25] = 'q' }, t[4])
    assert.equal('integer', math.type(t[5]))
    assert.equal('float', math.type(literal.decode_list(literal.encode_list(1, 2.0))[1]))
    assert.equal(0.1, literal.decode_list(literal.encode_list(1, 0.1))[1])
  end)
  it('runs no code and refuses what it did not write', function()
    for _, bad in ipairs { '{os.exit()}', '{1', '{1}x', '"s"', '{"\\999"}', '{[nil]=1}' } do
      assert.has_error(function() literal.decode_list(bad) end)
    end
  end)
end)

-- A Swish written with the gradient deliberately wrong (missing the beta * y * (1 - s) term).
local WrongSwish = mx.operator.LuaOp:extend('SpecWrongSwish')
function WrongSwish:forward(in_data, out_data) out_data[1]:set(in_data[1] * mx.nd.sigmoid(in_data[1])) end
function WrongSwish:backward(out_grad, in_data, out_data, in_grad)
  in_grad[1]:set(out_grad[1] * mx.nd.sigmoid(in_data[1]))
end

describe('mx.test_utils, as MXNet has it', function()
  local tu = mx.test_utils
  local Swish = require 'spec_swish'

  it('assert_almost_equal passes within tolerance and names the worst element otherwise', function()
    tu.assert_almost_equal(mx.nd.array { 1, 2 }, { 1, 2 + 1e-6 }, 1e-5, 0)
    local ok, err = pcall(tu.assert_almost_equal, mx.nd.array { { 1, 2 }, { 3, 4 } }, { { 1, 2 }, { 3, 4.5 } }, 1e-5,
      1e-8,
      { 'got', 'want' })
    assert.is_false(ok)
    assert.matches('mismatch 25.0%%', err)
    assert.matches('Location of maximum error: %(2, 2%), got=4, want=4.5', err)
  end)

  it('check_numeric_gradient accepts a right gradient and refuses a wrong one', function()
    local x = { { -1.5, -0.2, 0.3 }, { 0.8, 1.7, 2.5 } }
    tu.check_numeric_gradient(Swish(1.3) { data = mx.sym.Variable('data') }, { data = x })
    tu.check_numeric_gradient(Swish(1.3) { data = mx.sym.Variable('data') }, { x }, nil, 1e-3, 1e-2, 1e-3,
      { data = 'add' })
    local ok, err = pcall(tu.check_numeric_gradient, WrongSwish() { data = mx.sym.Variable('data') }, { data = x })
    assert.is_false(ok)
    assert.matches('NUMERICAL_data=.*BACKWARD_data=', err)
  end)

  it('check_symbolic_forward and check_symbolic_backward compare with values computed by hand', function()
    local xs = { -1, 0.5, 2 }
    local y, dx = {}, {}
    for i, x in ipairs(xs) do
      local s = 1 / (1 + math.exp(-2 * x))
      y[i] = x * s
      dx[i] = 3 * (s + 2 * x * s * (1 - s)) -- head gradient 3
    end
    local sym = Swish(2) { data = mx.sym.Variable('data') }
    tu.check_symbolic_forward(sym, { xs }, { y })
    tu.check_symbolic_backward(sym, { data = xs }, { { 3, 3, 3 } }, { data = dx }, 1e-5, 1e-6)
    tu.check_symbolic_backward { sym = sym, location = { data = xs }, out_grads = { { 3, 3, 3 } },
                                 expected = { data = dx }, rtol = 1e-5, atol = 1e-6, grad_req = 'add' }
    assert.has_error(function() tu.check_symbolic_forward(sym, { xs }, { { 0, 0, 0 } }) end)
  end)
end)

describe('Lua operator callbacks are asked once and checked', function()
  it('a LuaOp whose list_outputs answers differently later still runs forward and backward', function()
    local fickle = false
    local Fickle = mx.operator.LuaOp:extend('SpecFickle')
    function Fickle:list_outputs()
      if not fickle then return { 'output' } end
      local many = {}
      for i = 1, 40 do many[i] = 'o' .. i end
      return many
    end
    function Fickle:forward(in_data, out_data) out_data[1]:set(in_data[1] * 2) end
    function Fickle:backward(out_grad, in_data, out_data, in_grad) in_grad[1]:set(out_grad[1] * 2) end
    local net = Fickle() { data = mx.sym.Variable('data'), name = 'f' }
    fickle = true -- from now on it answers 40 outputs
    local exe = net:simple_bind { data = { 2, 2 }, grad_req = { data = 'write' } }
    exe.arg_dict.data:set(1.5)
    exe:forward { is_train = true }
    exe:backward { mx.nd.ones { 2, 2 } }
    assert.same({ { 3, 3 }, { 3, 3 } }, exe.outputs[1]:totable())
    assert.same({ { 2, 2 }, { 2, 2 } }, exe.grad_dict.data:totable())
    assert.same({ 'f_output' }, net:list_outputs())
  end)

  it('an infer_shape with the wrong number of shapes names the op, the method and its line', function()
    local NoOut = mx.operator.LuaOp:extend('SpecNoOut')
    local line = debug.getinfo(1, 'l').currentline + 1
    function NoOut:infer_shape(in_shape) return in_shape, {} end
    local ok, err = pcall(function() return NoOut() { data = mx.sym.Variable('data') }:simple_bind { data = { 2 } } end)
    assert.is_false(ok)
    assert.matches('SpecNoOut:infer_shape %(.*luaop_spec.lua:' .. line .. '%) returned 0 output shapes, expected 1',
      err)
  end)
end)

describe('debug mode (mx.operator.debug)', function()
  local function run(Op, req)
    local sym = Op() { data = mx.sym.Variable('data'), name = 'd' }
    local exe = sym:simple_bind { data = { 2, 3 }, grad_req = { data = req or 'write' } }
    exe.arg_dict.data:set(1)
    exe:forward { is_train = true }
    exe:backward { mx.nd.ones { 2, 3 } }
    return exe
  end
  before_each(function() mx.operator.debug(true) end)
  after_each(function() mx.operator.debug(false) end)

  it('reports a forward that leaves its output unwritten, and a backward that forgets a gradient', function()
    local Lazy = mx.operator.LuaOp:extend('SpecLazy')
    function Lazy:forward(in_data, out_data) end
    local ok, err = pcall(run, Lazy)
    assert.is_false(ok)
    assert.matches("SpecLazy:forward %(.*luaop_spec.lua:%d+%) left out_data%[1%] %('output'%) unwritten " ..
                   '%(6 of 6 elements%)', err)
    local Half = mx.operator.LuaOp:extend('SpecHalf')
    function Half:forward(in_data, out_data) out_data[1]:set(in_data[1]) end
    function Half:backward(out_grad, in_data, out_data, in_grad) in_grad[1]:slice(1, 1):set(0) end
    ok, err = pcall(run, Half, 'add')
    assert.is_false(ok)
    assert.matches("SpecHalf:backward .* left in_grad%[1%] %('data'%) unwritten %(3 of 6 elements%)", err)
  end)

  it('reports an assignment to an element of out_data at its line', function()
    local Assign = mx.operator.LuaOp:extend('SpecAssign')
    local line = debug.getinfo(1, 'l').currentline + 1
    function Assign:forward(in_data, out_data) out_data[1] = in_data[1] * 2 end
    local ok, err = pcall(run, Assign)
    assert.is_false(ok)
    assert.matches('luaop_spec.lua:' .. line .. ': SpecAssign:forward .*out_data%[1%] = %.%.%. replaces', err)
    assert.matches('out_data%[1%]:set%(value%)', err)
  end)

  it('lets a correct operator run, with CustomOp too', function()
    local Good = mx.operator.LuaOp:extend('SpecGood')
    function Good:forward(in_data, out_data) out_data[1]:set(in_data[1] * 3) end
    function Good:backward(out_grad, in_data, out_data, in_grad) in_grad[1]:set(out_grad[1] * 3) end
    local exe = run(Good, 'add')
    assert.same({ { 3, 3, 3 }, { 3, 3, 3 } }, exe.outputs[1]:totable())
    local Bad = mx.operator.CustomOp:extend('SpecBadCustom')
    function Bad:forward(is_train, req, in_data, out_data) end
    local BadProp = mx.operator.CustomOpProp:extend('SpecBadProp')
    function BadProp:create_operator() return Bad() end
    mx.operator.register('spec_bad_custom', BadProp)
    local e = mx.sym.Custom { data = mx.sym.Variable('data'), op_type = 'spec_bad_custom' }:simple_bind { data = { 2 } }
    local ok, err = pcall(function() e:forward {} end)
    assert.is_false(ok)
    assert.matches("SpecBadCustom:forward .* left out_data%[1%] %('output'%) unwritten", err)
  end)
end)

describe('operator axis parameters', function()
  it('say they are 0-based when out of range (NDArray methods count from 1)', function()
    local ok, err = pcall(function()
      local c = mx.sym.Concat { mx.sym.Variable('a'), mx.sym.Variable('b'), dim = 2 }
      return c:infer_shape { a = { 2, 3 }, b = { 2, 3 } }
    end)
    assert.is_false(ok)
    assert.matches('dim 2 out of range for arg0 input (2,3) (operator axes are 0-based: expected 0 to 1)', err, 1, true)
  end)
end)

describe('hardening of Lua operators', function()
  it('views of lent arrays (reshape, slice, rows, expand_dims) expire with the call', function()
    local kept = {}
    local Keeper = mx.operator.LuaOp:extend('SpecViewKeeper')
    function Keeper:forward(in_data, out_data)
      local x = in_data[1]
      kept = { x:reshape { 6 }, x:slice(1, 1), x[2], mx.nd.expand_dims(x, 1), x:reshape { 6 }:slice(2, 3) }
      out_data[1]:set(x)
    end
    local exe = Keeper() { data = mx.sym.Variable('data') }:simple_bind { data = { 2, 3 } }
    exe:forward {}
    assert.equal(5, #kept)
    for _, v in ipairs(kept) do
      local ok, err = pcall(function() return v:totable() end)
      assert.is_false(ok)
      assert.matches('lent to a callback and is no longer valid', err)
    end
    local seen
    exe:set_monitor_callback(function(_, arr) seen = arr:reshape { -1 } end)
    exe:forward {}
    assert.has_error(function() seen:totable() end)
  end)

  it('an executor closed by its own Lua operator or monitor during forward finishes the call first', function()
    -- (valgrind, make test-valgrind, reported reads of freed memory here before)
    local victim
    local Closer = mx.operator.LuaOp:extend('SpecCloser')
    function Closer:forward(in_data, out_data)
      victim:close()
      collectgarbage()
      out_data[1]:set(in_data[1] + 1)
    end
    local data = mx.sym.Variable('data')
    local inner = mx.sym.FullyConnected { data = data, num_hidden = 16, name = 'a' }
    local net = mx.sym.FullyConnected { data = Closer() { data = inner, name = 'c' }, num_hidden = 16, name = 'b' }
    victim = net:simple_bind { data = { 4, 16 } }
    victim:forward {}
    assert.has_error(function() victim:forward {} end)
    local exe = net:simple_bind { data = { 4, 16 } }
    local calls = 0
    exe:set_monitor_callback(function()
      calls = calls + 1
      exe:close()
      collectgarbage()
    end)
    victim = exe
    exe:forward {}
    assert.equal(1, calls) -- the monitor is gone with the executor
  end)

  it('Ctrl-C stops an endless loop inside a Lua operator (mxlua host)', function()
    local host = os.getenv('MXLUA_HOST') or 'build/mxlua'
    local dir = tmpdir()
    write(dir .. '/loop.lua', [[
local Endless = mx.operator.LuaOp:extend('Endless')
function Endless:forward() print('looping'); io.stdout:flush(); while true do end end
Endless(){data = mx.sym.Variable('data')}:simple_bind{data = {2}}:forward{}
]])
    local p = io.popen(host .. ' ' .. dir .. '/loop.lua 2>&1 & pid=$!; sleep 2; kill -INT $pid; sleep 2; '
                       .. 'if kill -0 $pid 2>/dev/null; then echo STILL RUNNING; kill -9 $pid; fi; wait $pid')
    local out = p:read('a')
    p:close()
    assert.matches('looping', out)
    assert.matches('interrupted!', out)
    assert.not_matches('STILL RUNNING', out)
  end)
end)
