-- errors_api_spec: bad input to the public entry points beyond NDArray (errors_spec.lua has those):
-- symbols, bind, forward, backward, iterators, optimizers, metrics, FeedForward, Monitor, custom
-- operators, viz, checkpoints and the web handler. Each raises a Lua error naming the function and
-- saying what is wrong (or, for the web handler, answers an error response); afterwards the process
-- and the objects involved still work.
-- luacheck: no max line length
local mx = require 'mx'
require 'draw_digit_paths'
local handler = require 'draw_digit.handler'

local cases = 0

-- Calls f and expects an error whose message names `name` (at its start, after an optional
-- "file:line: " position of the caller) and holds `pattern` (plain text).
local function fails(f, name, pattern)
  cases = cases + 1
  local ok, err = pcall(f)
  assert.is_false(ok, 'expected an error from ' .. name)
  err = tostring(err)
  local body = err:gsub('^[^%s:]+:%d+: ', '', 1)
  assert.are.equal(name .. ': ', body:sub(1, #name + 2), 'the error must begin with the function name: ' .. err)
  if pattern then assert.is_truthy(err:find(pattern, 1, true), ('expected %q in: %s'):format(pattern, err)) end
  assert.are.equal(3, mx.nd.ones{3}:sum():asscalar()) -- still alive
end

local function tmpfile(content)
  local path = os.tmpname()
  local f = assert(io.open(path, 'wb'))
  f:write(content)
  f:close()
  return path
end

local function mlp()
  local data = mx.sym.Variable('data')
  local fc = mx.sym.FullyConnected{data = data, name = 'fc', num_hidden = 4}
  return mx.sym.SoftmaxOutput{data = fc, name = 'softmax'}
end

describe('symbol errors', function()
  local data = mx.sym.Variable('data')
  it('constructors reject bad names, missing, unknown and bad parameters', function()
    fails(function() return mx.sym.Variable(nil) end, 'mx.symbol.Variable', 'got nil')
    fails(function() return mx.sym.Variable(3) end, 'mx.symbol.Variable', 'got number')
    fails(function() return mx.sym.FullyConnected{data = data} end, 'mx.symbol.FullyConnected', "'num_hidden' is missing")
    fails(function() return mx.sym.FullyConnected{data = data, num_hidden = 3, foo = 1} end,
      'mx.symbol.FullyConnected', "unknown parameter 'foo'")
    fails(function() return mx.sym.FullyConnected{data = 'x', num_hidden = 3} end, 'mx.symbol.FullyConnected', 'data')
    fails(function() return mx.sym.FullyConnected(3) end, 'mx.symbol.FullyConnected', 'table of keyword arguments')
    fails(function() return mx.sym.Activation{data = data, act_type = 'foo'} end, 'mx.symbol.Activation', "bad value 'foo'")
    fails(function() return mx.sym.Activation{data = data} end, 'mx.symbol.Activation', "'act_type' is missing")
    fails(function() return mx.sym.Group{1} end, 'mx.symbol.Group', 'not a Symbol')
    fails(function() return mx.sym.Custom{data = data, op_type = 'nope'} end, 'mx.symbol.Custom', "'nope' is not registered")
  end)

  it('shape inference rejects bad, negative, zero and unknown shapes', function()
    local net = mlp()
    fails(function() return net:infer_shape{data = {2, 3, 4, 5, 6, 7, 8}} end, 'Symbol:infer_shape', '1 to 6 dimensions')
    fails(function() return net:infer_shape{data = {-2, 3}} end, 'Symbol:infer_shape', 'positive integers')
    fails(function() return net:infer_shape{data = {0, 3}} end, 'Symbol:infer_shape', 'positive integers')
    fails(function() return net:infer_shape{foo = {2, 3}} end, 'Symbol:infer_shape', "no argument named 'foo'")
    fails(function() return net:infer_shape{data = 'x'} end, 'Symbol:infer_shape', 'got string')
    local bad = mx.sym.FullyConnected{data = data, num_hidden = 0}
    fails(function() return bad:infer_shape{data = {2, 3}} end, 'Symbol:infer_shape', 'num_hidden must be >= 1 (got 0)')
    assert.are.same({{2, 3}, {4, 3}, {4}, {2}}, (net:infer_shape{data = {2, 3}})) -- still usable
  end)

  it('JSON loading rejects missing, empty, truncated and foreign files', function()
    fails(function() return mx.sym.load('/nonexistent.json') end, 'mx.symbol.load', "cannot open '/nonexistent.json'")
    fails(function() return mx.sym.load(nil) end, 'mx.symbol.load', 'string expected, got nil')
    fails(function() return mx.sym.load_json(nil) end, 'mx.symbol.load_json', 'string expected, got nil')
    fails(function() return mx.sym.load_json('') end, 'mx.symbol.load_json')
    fails(function() return mx.sym.load_json('{') end, 'mx.symbol.load_json', 'line 1')
    fails(function() return mx.sym.load_json('{"nodes": []}') end, 'mx.symbol.load_json', 'not a symbol file')
    local json = mlp():tojson()
    fails(function() return mx.sym.load_json(json:sub(1, #json // 2)) end, 'mx.symbol.load_json')
    local empty = tmpfile('')
    fails(function() return mx.sym.load(empty) end, 'mx.symbol.load', empty)
    local foreign = tmpfile('\137PNG\r\n\26\n')
    fails(function() return mx.sym.load(foreign) end, 'mx.symbol.load', foreign)
    fails(function() return mx.sym.load_json('{"nodes": [{"op": "null", "name": "x", "inputs": []}], "arg_nodes": [0], ' ..
      '"heads": [[1e300, 0, 0]]}') end, 'mx.symbol.load_json', 'does not come before it')
    os.remove(empty)
    os.remove(foreign)
  end)
end)

describe('bind, forward and backward errors', function()
  local net = mlp()
  local exe = net:simple_bind{ctx = mx.cpu(), data = {2, 3}}

  it('bind rejects missing shapes, bad contexts, huge sizes and missing or misshapen arrays', function()
    fails(function() return net:simple_bind{ctx = mx.cpu()} end, 'Symbol:simple_bind', 'cannot infer the shapes of data')
    fails(function() return net:simple_bind{ctx = 'cpu', data = {2, 3}} end, 'Symbol:simple_bind', 'Context')
    fails(function() return net:simple_bind{ctx = mx.cpu(), data = {1e9, 1e9}} end, 'Symbol:simple_bind', 'too large')
    fails(function() return net:simple_bind{ctx = mx.cpu(), data = {1e6, 1e7}} end, 'Symbol:simple_bind', 'cannot allocate')
    fails(function() return net:simple_bind{ctx = mx.cpu(), data = {2, 3}, grad_req = 'foo'} end,
      'Symbol:simple_bind', "bad grad_req 'foo'")
    fails(function() return net:bind{ctx = mx.cpu(), args = {}} end, 'Symbol:bind', "no array for argument 'data'")
    fails(function()
      return net:bind(mx.cpu(), {data = mx.nd.ones{2, 3}, fc_weight = mx.nd.ones{5, 3}, fc_bias = mx.nd.ones{4},
                                 softmax_label = mx.nd.ones{2}})
    end, 'Symbol:bind', 'weight has shape (5,3), expected (4,3)')
  end)

  it('forward and backward reject bad arguments, and the executor still runs', function()
    local fresh = net:simple_bind{ctx = mx.cpu(), data = {2, 3}}
    fails(function() return fresh:backward() end, 'Executor:backward', 'call forward first')
    fails(function() return exe:forward(3) end, 'Executor:forward', 'a table')
    fails(function() return exe:forward{is_train = true, foo = mx.nd.ones{2}} end, 'Executor:forward', "no argument named 'foo'")
    fails(function() return exe:forward{data = mx.nd.ones{5, 5}} end, 'Executor:forward', "argument 'data'")
    fails(function() return exe:forward{data = 'x'} end, 'Executor:forward', "argument 'data'")
    exe:forward{is_train = true, data = mx.nd.ones{2, 3}}
    fails(function() return exe:backward('x') end, 'Executor:backward', 'got string')
    fails(function() return exe:copy_params_from(3) end, 'Executor:copy_params_from', 'got number')
    fails(function() return exe:copy_params_from{nope = mx.nd.ones{1}} end, 'Executor:copy_params_from', "'nope'")
    fails(function() return exe:set_monitor_callback(3) end, 'Executor:set_monitor_callback', 'function expected')
    exe:forward{is_train = true, data = mx.nd.ones{2, 3}}
    exe:backward()
    assert.are.same({2, 4}, exe.outputs[1]:shape())
  end)

  it('non-finite inputs flow through forward without a crash', function()
    exe:forward{is_train = false, data = mx.nd.array{{0 / 0, 1, 2}, {math.huge, -math.huge, 0}}}
    assert.are.same({2, 4}, exe.outputs[1]:shape())
  end)
end)

describe('iterator errors', function()
  it('NDArrayIter rejects missing data, bad sizes, mismatched labels and unknown options', function()
    fails(function() return mx.io.NDArrayIter(nil) end, 'mx.io.NDArrayIter', 'data is required')
    fails(function() return mx.io.NDArrayIter{batch_size = 2} end, 'mx.io.NDArrayIter', 'data is required')
    fails(function() return mx.io.NDArrayIter(5) end, 'mx.io.NDArrayIter', 'table of options')
    fails(function() return mx.io.NDArrayIter{data = mx.nd.ones{4, 2}, batch_size = 0} end, 'mx.io.NDArrayIter', '(got 0)')
    fails(function() return mx.io.NDArrayIter{data = mx.nd.ones{4, 2}, batch_size = -3} end, 'mx.io.NDArrayIter', '(got -3)')
    fails(function() return mx.io.NDArrayIter{data = mx.nd.ones{4, 2}, batch_size = 1.5} end, 'mx.io.NDArrayIter', '1.5')
    fails(function() return mx.io.NDArrayIter{data = mx.nd.ones{4, 2}, label = mx.nd.ones{3}, batch_size = 2} end,
      'mx.io.NDArrayIter', 'has 3 rows but data data has 4')
    fails(function() return mx.io.NDArrayIter{data = mx.nd.ones{4, 2}, batch_size = 2, shufle = true} end,
      'mx.io.NDArrayIter', "unknown option 'shufle' (closest valid option: 'shuffle')")
    fails(function() return mx.io.NDArrayIter{data = mx.nd.ones{4, 2}, last_batch_handle = 'x'} end,
      'mx.io.NDArrayIter', "'pad', 'discard' or 'roll_over'")
  end)

  it('MNISTIter rejects missing, empty, truncated and foreign files', function()
    fails(function() return mx.io.MNISTIter{image = '/nonexistent', label = '/nonexistent2', batch_size = 2} end,
      'mx.io.MNISTIter', '/nonexistent')
    local empty = tmpfile('')
    local trunc = tmpfile(string.pack('>I4>I4>I4>I4', 0x803, 10, 28, 28) .. string.rep('\0', 100))
    local labels = tmpfile(string.pack('>I4>I4', 0x801, 10) .. string.rep('\1', 10))
    local foreign = tmpfile('hello, this is not an IDX file at all')
    fails(function() return mx.io.MNISTIter{image = empty, label = labels, batch_size = 2} end, 'mx.io.MNISTIter', 'truncated')
    fails(function() return mx.io.MNISTIter{image = trunc, label = labels, batch_size = 2} end, 'mx.io.MNISTIter', 'truncated')
    fails(function() return mx.io.MNISTIter{image = foreign, label = labels, batch_size = 2} end, 'mx.io.MNISTIter', 'magic')
    fails(function() return mx.io.MNISTIter{image = labels, label = labels, batch_size = 2} end, 'mx.io.MNISTIter', 'magic')
    for _, p in ipairs{empty, trunc, labels, foreign} do os.remove(p) end
  end)
end)

describe('optimizer, scheduler, initializer and metric errors', function()
  it('optimizers reject unknown names and non-finite or negative hyper-parameters', function()
    fails(function() return mx.optimizer.create('foo') end, 'mx.optimizer.create', 'unknown optimizer foo')
    fails(function() return mx.optimizer.create('sgd', {learning_rate = -1}) end, 'mx.optimizer.SGD', 'learning_rate must be >= 0')
    fails(function() return mx.optimizer.SGD{momentum = 'x'} end, 'mx.optimizer.SGD', 'momentum must be a finite number')
    fails(function() return mx.optimizer.SGD{learning_rate = 0 / 0} end, 'mx.optimizer.SGD', 'learning_rate must be a finite')
    fails(function() return mx.optimizer.Adam{wd = math.huge} end, 'mx.optimizer.Adam', 'wd must be a finite number')
    fails(function() return mx.optimizer.SGD(3) end, 'mx.optimizer.SGD', 'table of options')
    local sgd = mx.optimizer.SGD{learning_rate = 0.1}
    local w, g = mx.nd.ones{3}, mx.nd.ones{3}
    sgd:update(1, w, g, sgd:create_state(1, w))
    assert.is_true(math.abs(w:sum():asscalar() - 2.7) < 1e-5)
  end)

  it('schedulers, initializers and callbacks reject bad arguments', function()
    fails(function() return mx.lr_scheduler.FactorScheduler(0) end, 'mx.lr_scheduler.FactorScheduler', 'got 0')
    fails(function() return mx.init.Xavier{factor_type = 'foo'} end, 'mx.init.Xavier', "'avg', 'in' or 'out'")
    fails(function() return mx.callback.Speedometer(0) end, 'mx.callback.Speedometer', 'positive integers')
    fails(function() return mx.callback.Speedometer(10, -1) end, 'mx.callback.Speedometer', 'positive integers')
    fails(function() return mx.callback.do_checkpoint(nil) end, 'mx.callback.do_checkpoint', 'non-empty string')
    fails(function() return mx.callback.do_checkpoint('x', 1.5) end, 'mx.callback.do_checkpoint', 'integer')
  end)

  it('metrics reject unknown names and mismatched labels and predictions', function()
    fails(function() return mx.metric.create('foo') end, 'mx.metric.create', 'unknown metric foo')
    local acc = mx.metric.create('acc')
    fails(function() return acc:update(3, 4) end, 'mx.metric.Accuracy:update', 'lists of NDArrays')
    fails(function() return acc:update({mx.nd.ones{3}}, {mx.nd.ones{4, 2}}) end, 'mx.metric.Accuracy',
      'labels (3,) do not match predictions (4,2)')
    acc:update({mx.nd.array{1, 0}}, {mx.nd.array{{0.2, 0.8}, {0.9, 0.1}}})
    local _, v = acc:get()
    assert.are.equal(1, v)
  end)
end)

describe('FeedForward, checkpoint and Monitor errors', function()
  it('FeedForward rejects a missing symbol, bad contexts, bad data and unusable checkpoints', function()
    fails(function() return mx.model.FeedForward{} end, 'mx.model.FeedForward', 'symbol is required')
    fails(function() return mx.model.FeedForward{symbol = mlp(), ctx = 'x'} end, 'mx.model.FeedForward', 'ctx must be a Context')
    local m = mx.model.FeedForward{symbol = mlp(), num_epoch = 1}
    fails(function() return m:fit{} end, 'mx.model.FeedForward', 'X must be a DataIter or an NDArray (got nil)')
    fails(function() return m:fit{X = 3} end, 'mx.model.FeedForward', '(got number)')
    fails(function() return m:fit(3) end, 'mx.model.FeedForward:fit', 'table of arguments')
    fails(function() return m:predict(mx.nd.ones{2, 3}) end, 'mx.model.FeedForward:predict', 'no parameters')
    fails(function() return mx.model.FeedForward.load('/nonexistent/x', 1) end, 'mx.model.load_checkpoint',
      "cannot open '/nonexistent/x-symbol.json'")
    -- a checkpoint whose params file is empty, truncated or foreign
    local prefix = os.tmpname()
    mx.model.save_checkpoint(prefix, 1, mlp(), {fc_weight = mx.nd.ones{4, 3}, fc_bias = mx.nd.zeros{4}}, {})
    local params = prefix .. '-0001.params'
    local f = assert(io.open(params, 'rb'))
    local whole = f:read('a')
    f:close()
    for _, bytes in ipairs{'', whole:sub(1, #whole - 7), 'PK\3\4 not a params file'} do
      f = assert(io.open(params, 'wb'))
      f:write(bytes)
      f:close()
      fails(function() return mx.model.load_checkpoint(prefix, 1) end, 'mx.model.load_checkpoint', params)
    end
    fails(function() return mx.model.load_checkpoint(prefix, 2) end, 'mx.model.load_checkpoint', 'cannot open')
    os.remove(params)
    os.remove(prefix .. '-symbol.json')
    os.remove(prefix)
    -- the model still trains
    m:fit{X = mx.nd.ones{4, 3}, y = mx.nd.zeros{4}, logger = {info = function() end}}
    assert.are.same({4, 3}, m.arg_params.fc_weight:shape())
  end)

  it('Monitor rejects bad intervals, statistics, patterns and executors', function()
    fails(function() return mx.mon.Monitor(0) end, 'mx.mon.Monitor', 'interval must be a positive integer')
    fails(function() return mx.mon.Monitor(1, 3) end, 'mx.mon.Monitor', 'stat_func must be a function')
    fails(function() return mx.mon.Monitor{interval = 1, pattern = '('} end, 'mx.mon.Monitor', "bad regular expression '('")
    fails(function() return mx.mon.Monitor(1):install(3) end, 'mx.mon.Monitor:install', 'expected an Executor')
  end)
end)

describe('custom operator and viz errors', function()
  it('operator registration rejects bad names and classes', function()
    fails(function() return mx.operator.register(nil) end, 'mx.operator.register', 'operator name')
    fails(function() return mx.operator.register('') end, 'mx.operator.register', 'operator name')
    fails(function() return mx.operator.register('x_bad', 3) end, 'mx.operator.register')
  end)

  it('viz rejects non-symbols and bad shapes', function()
    fails(function() return mx.viz.plot_network(3) end, 'mx.viz.plot_network', 'expected a Symbol (got number)')
    fails(function() return mx.viz.print_summary(3) end, 'mx.viz.print_summary')
    fails(function() return mx.viz.print_summary(mlp(), {data = 'x'}) end, 'Symbol:infer_shape', 'got string')
    fails(function() return mx.viz.decode_png('not a png') end, 'mx.viz.decode_png')
    fails(function() return mx.viz.read_png('/nonexistent.png') end, 'mx.viz.read_png', '/nonexistent.png')
  end)
end)

describe('web handler errors', function()
  local h = handler.new{classify = function() local p = {} for i = 1, 10 do p[i] = 0.1 end return p end,
                        model_info = {name = 'm'}, page = '<html></html>'}
  local function post(body) return h{method = 'POST', path = '/api/classify', headers = {}, body = body} end
  local function answers(resp, status, pattern)
    cases = cases + 1
    assert.are.equal(status, resp.status, resp.body)
    if pattern then assert.is_truthy(resp.body:find(pattern, 1, true), resp.body) end
  end

  it('answers bad requests with an error status and message, and goes on serving', function()
    answers(h{method = 'GET', path = '/nope', headers = {}}, 404, 'no such path')
    answers(h{method = 'DELETE', path = '/api/classify', headers = {}}, 405, 'not allowed')
    answers(post('{'), 400, 'malformed JSON')
    answers(post(''), 400, 'malformed JSON')
    answers(post('[1, 2]'), 400, 'JSON object')
    answers(post('{}'), 400, 'must hold')
    answers(post('{"pixels": 3, "width": 1, "height": 1}'), 400, 'pixels')
    answers(post('{"pixels": [1], "width": 0, "height": 1}'), 400, '1 to 1024 pixels')
    answers(post('{"pixels": [1], "width": -5, "height": 1}'), 400, '1 to 1024 pixels')
    answers(post('{"pixels": [1], "width": 100000, "height": 100000}'), 400, '1 to 1024 pixels')
    answers(post('{"pixels": [1, 2], "width": 3, "height": 1}'), 400)
    answers(post('{"pixels": ["a"], "width": 1, "height": 1}'), 400)
    answers(post('{"pixels": [0, 0, 0, 0], "width": 2, "height": 2}'), 422, 'blank')
    answers(post('{"png": "!!!"}'), 400)
    answers(post('{"png": "aGVsbG8="}'), 400)
    answers(post('{"png": "data:image/jpeg;base64,aGVsbG8="}'), 415)
    answers(post('{"png": 5}'), 400)
    answers(post('{"pixels": [1e999, 1], "width": 2, "height": 1}'), 400)
    answers(h{method = 'GET', path = '/api/model', headers = {}}, 200)
    answers(post('{"pixels": [0, 1, 1, 0], "width": 2, "height": 2}'), 200, '"digit"')
  end)
end)

describe('errors_api_spec', function()
  it('counts its cases', function()
    print(('\n# errors_api_spec: %d bad inputs tried'):format(cases))
    assert.is_true(cases > 100)
  end)
end)
