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
