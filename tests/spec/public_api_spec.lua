-- public_api_spec: the public functions no other spec touched: current_context, log.error,
-- NDArrayIter:getdata/getlabel, ByteIter:getdata, KVStore:get_updater/allreduce_stats/abort,
-- Server:stop, optimizer.register with a user's optimizer, set_wd_mult with multipliers.
local mx = require 'mx'
local ByteIter = require 'mx.byteiter'
require 'draw_digit_paths'
local server = require 'draw_digit.server'

local root = os.getenv('MXLUA_ROOT') or '.'

describe('mx.context.current_context', function()
  it('is cpu(0), as in MXNet outside a `with` block', function()
    local c = mx.context.current_context()
    assert.are.equal('cpu(0)', tostring(c))
    assert.are.equal(tostring(mx.cpu(0)), tostring(c))
  end)
end)

describe('mx.log.error', function()
  it('writes an ERROR line, still shown when the level hides warnings', function()
    local path = os.tmpname()
    mx.log.config{file = path, level = 'error', time = false}
    mx.log.warning('hidden %d', 1)
    mx.log.error('disk %s at %d%%', 'full', 100)
    mx.log.config{file = false, level = 'info'}
    local lines = {}
    for line in io.lines(path) do lines[#lines + 1] = line end
    os.remove(path)
    assert.are.same({'ERROR disk full at 100%'}, lines)
  end)
end)

describe('iterators: the current batch', function()
  it('NDArrayIter:getdata/getlabel give the rows of the batch next() returned', function()
    local x = mx.nd.array{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
    local y = mx.nd.array{10, 20, 30, 40}
    local it = mx.io.NDArrayIter{data = x, label = y, batch_size = 2}
    it:next()
    it:next()
    assert.are.same({{5, 6}, {7, 8}}, it:getdata()[1]:totable())
    assert.are.same({30, 40}, it:getlabel()[1]:totable())
    it:reset()
    it:next()
    assert.are.same({{1, 2}, {3, 4}}, it:getdata()[1]:totable())
    assert.are.same({10, 20}, it:getlabel()[1]:totable())
  end)

  it('ByteIter:getdata gives the scaled images of the current batch (MNIST read byte by byte)', function()
    local path = root .. '/data/mnist/t10k-images-idx3-ubyte'
    local f = assert(io.open(path, 'rb'), 'make data')
    local raw = f:read('a')
    f:close()
    local it = ByteIter{bytes = mx.core.bytes_load_idx{path}, first = 11, count = 6, batch_size = 2, scale = 1 / 255}
    local b = it:next()
    assert.are.same(b.data[1]:totable(), it:getdata()[1]:totable())
    it:next()
    local d = it:getdata()[1]:totable() -- images 13 and 14 of the file: 16 header bytes, then 784 each
    for r = 1, 2 do
      for p = 1, 784, 37 do
        assert.near(raw:byte(16 + (12 + r - 1) * 784 + p) / 255, d[r][p], 1e-6)
      end
    end
  end)
end)

describe('mx.kvstore: updater, statistics, abort', function()
  it("get_updater returns the updater set_optimizer made, which push applies", function()
    local kv = mx.kvstore.create('local')
    kv:init(1, mx.nd.array{1, 2})
    assert.is_nil(kv:get_updater())
    kv:set_optimizer(mx.optimizer.create('sgd', {learning_rate = 0.5}))
    local updater = kv:get_updater()
    assert.is_not_nil(updater)
    -- the same updater, called by hand: w - 0.5 * g
    local w = mx.nd.array{1, 1}
    updater(7, mx.nd.array{2, 4}, w)
    assert.are.same({0, -1}, w:totable())
    kv:push(1, mx.nd.array{2, -2})
    local out = mx.nd.zeros{2}
    kv:pull(1, out)
    assert.are.same({0, 3}, out:totable())
  end)

  it("allreduce_stats counts nothing in a process that made no all-reduce", function()
    local seconds, calls = mx.kvstore.create('local'):allreduce_stats()
    assert.are.equal(0, calls)
    assert.are.equal(0, seconds)
  end)

  it('abort(code) ends the process with that status at once', function()
    local script = os.tmpname()
    local f = assert(io.open(script, 'w'))
    f:write("local kv = mx.kvstore.create('local')\nio.write('before\\n')\nkv:abort(3)\nio.write('after\\n')\n")
    f:close()
    local p = io.popen(('cd %s && build/mxlua %s 2>&1; echo "exit=$?"'):format(root, script))
    local out = p:read('a')
    p:close()
    os.remove(script)
    assert.are.equal('before\nexit=3\n', out)
  end)
end)

describe('draw_digit.server Server:stop', function()
  it('makes serve() return its reason and close the listening socket', function()
    local srv = server.new{host = '127.0.0.1', port = 0, handler = function() return {status = 200, body = ''} end}
    local port = srv:port()
    srv:stop('done here')
    assert.are.equal('done here', srv:serve())
    local socket = require 'socket'
    local c = socket.tcp()
    c:settimeout(2)
    assert.is_nil((c:connect('127.0.0.1', port)))
    c:close()
  end)
end)

describe('mx.optimizer with a user optimizer', function()
  it('register makes it available to create() and to FeedForward by name', function()
    local optimizer = mx.optimizer
    -- sign SGD: w -= lr * sign(g), an update no built-in optimizer makes
    local SignSGD = {__name = 'spec.SignSGD'}
    SignSGD.__index = SignSGD
    setmetatable(SignSGD, {__index = optimizer.Optimizer, __call = function(cls, opts)
      local o = setmetatable({}, cls)
      o:init(opts)
      return o
    end})
    function SignSGD.create_state() return nil end
    function SignSGD:update(index, weight, grad)
      local lr = self:_get_lr(index)
      local g = grad:totable()
      for i, v in ipairs(g) do g[i] = v > 0 and 1 or (v < 0 and -1 or 0) end
      weight:set(weight - mx.nd.array(g) * lr)
    end
    assert.are.equal(SignSGD, optimizer.register(SignSGD))
    local opt = optimizer.create('signsgd', {learning_rate = 0.25})
    local w = mx.nd.array{1, 1, 1}
    optimizer.get_updater(opt)(1, mx.nd.array{-3, 0, 0.01}, w)
    assert.are.same({1.25, 1, 0.75}, w:totable())
  end)

  it('set_wd_mult: a multiplier per name or index, biases without decay, the rest at 1', function()
    local opt = mx.optimizer.create('sgd', {learning_rate = 1, wd = 0.5,
      param_idx2name = {'fc1_weight', 'fc1_bias', 'fc2_weight'}})
    opt:set_wd_mult{fc1_weight = 0.2, [3] = 2}
    local function step(index)
      local w = mx.nd.array{1}
      opt:update(index, w, mx.nd.array{0}, opt:create_state(index, w))
      return w:totable()[1]
    end
    -- w - lr * wd * mult * w, with g = 0
    assert.near(1 - 0.5 * 0.2, step(1), 1e-7)
    assert.near(1, step(2), 1e-7)
    assert.near(1 - 0.5 * 2, step(3), 1e-7)
    opt:set_wd_mult{} -- replaces: back to 1 for weights
    assert.near(0.5, step(1), 1e-7)
  end)
end)
