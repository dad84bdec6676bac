-- hostile_spec: one test per class of hostile input that once crashed, hung or fooled the
-- engine: size arithmetic that overflows, Lua code run while C holds a pointer,
-- graphs deep enough to exhaust recursion, unchecked index data, NaN, misspelled options,
-- bent symbol attributes, files that are not what a save or load expects.
local mx = require 'mx'

local function fails(f, ...)
  local ok, err = pcall(f)
  assert.is_false(ok, 'expected an error')
  assert.is_string(err)
  for _, want in ipairs{...} do
    assert.is_truthy(err:find(want, 1, true), ('expected %q in: %s'):format(want, err))
  end
  return err
end

describe('size arithmetic', function()
  it('refuses a nested table whose element count overflows', function()
    local t = 0
    for _ = 1, 4 do
      local n = {}
      for i = 1, 65536 do n[i] = t end
      t = n
    end
    fails(function() return mx.nd.array(t) end, 'mx.nd.array', 'too large')
    local a = mx.nd.zeros{2}
    fails(function() return a:set(t) end, 'NDArray:set', 'too large')
  end)

  it('refuses shapes whose size passes 2^48 elements, at bind and at creation', function()
    fails(function() return mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 1 << 62} end,
          'num_hidden', 'expected an integer in')
    local s = mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 1 << 30}
    fails(function() return s:simple_bind{x = {1, 1 << 20}} end, 'simple_bind', 'too large')
    fails(function() return mx.nd.zeros{1 << 31, 1 << 31} end, 'mx.nd.zeros', 'too large')
    fails(function() return mx.nd.zeros{math.maxinteger, 2} end, 'mx.nd.zeros', 'too large')
  end)

  it('keeps Bytes:fill and fill_crop inside the rows with extreme integers', function()
    local path = os.tmpname()
    local f = assert(io.open(path, 'wb'))
    f:write('\0\0\8\2', '\0\0\0\3', '\0\0\0\4', ('\1\2\3\4'):rep(3))
    f:close()
    local b = mx.core.bytes_load_idx{path}
    os.remove(path)
    local d, u = mx.nd.zeros{4}, mx.nd.zeros{2}
    for _, first in ipairs{math.maxinteger, math.mininteger, 0, -1, 1 << 62, 4} do
      fails(function() return b:fill(d, first) end, 'mx.Bytes:fill', 'out of')
      fails(function() return b:fill_crop(d, first, 1, 2, 2, 0, u) end, 'mx.Bytes:fill_crop', 'out of')
    end
    for _, hw in ipairs{{math.maxinteger, 2}, {1 << 32, 1 << 32}, {1 << 62, 4}, {math.mininteger, -1}} do
      fails(function() return b:fill_crop(d, 1, 1, hw[1], hw[2], 0, u) end, 'mx.Bytes:fill_crop', 'not images')
    end
    -- crop corners come from draws in [0, 1]: NaN or +-inf would make them any integer
    for _, v in ipairs{0 / 0, math.huge, -math.huge, -0.5, 1.5, 1e30} do
      fails(function() return b:fill_crop(d, 1, 1, 2, 2, 1, mx.nd.array{v, 0.5}) end, 'mx.Bytes:fill_crop',
            'is not in [0, 1]')
    end
    assert.are.same({1, 2, 3, 4}, b:fill(d, 3):totable())
  end)
end)

describe('Lua code while C holds a pointer', function()
  it('reads shapes raw: a metamethod closing the array never runs', function()
    local a = mx.nd.ones{3, 3}
    local ran = false
    local hostile = setmetatable({}, {
      __len = function() ran = true; return 2 end,
      __index = function(_, k) ran = true; a:close(); collectgarbage(); return k == 1 and 9 or 1 end})
    fails(function() return a:reshape(hostile) end, 'reshape')
    fails(function() return mx.nd.zeros(hostile) end, 'mx.nd.zeros')
    assert.is_false(ran)
    assert.are.same({9, 1}, a:reshape(setmetatable({9, 1}, {__index = function() a:close() end})):shape())
  end)
end)

describe('argument lists', function()
  it('bind refuses lists of arrays that are not tables instead of reading them', function()
    local net = mx.sym.FullyConnected{data = mx.sym.Variable('data'), num_hidden = 2}
    for _, v in ipairs{1, 'x', true, mx.nd.ones{2}} do
      fails(function() return net:_bind(mx.cpu(), v) end, 'Symbol:bind', 'args must be a list of NDArrays')
      fails(function() return net:_bind(mx.cpu(), {}, v) end, 'Symbol:bind', 'args_grad must be a list')
      fails(function() return net:_bind(mx.cpu(), {}, nil, nil, v) end, 'Symbol:bind', 'aux_states must be a list')
    end
  end)
end)

describe('deep graphs', function()
  it('frees a 300,000-node chain and walks a 40,000-node one', function()
    local x = mx.sym.Variable('x')
    for _ = 1, 300000 do x = mx.sym.BlockGrad{data = x} end
    x = nil -- luacheck: ignore 311
    collectgarbage(); collectgarbage()
    local y = mx.sym.Variable('y')
    for _ = 1, 40000 do y = mx.sym.BlockGrad{data = y} end
    assert.are.same({'y'}, y:list_arguments())
    assert.are.equal(40000, #y:get_internals():list_outputs() - 1)
  end)

  it('binds a chain in time linear in its length (planning scanned every entry at every step)', function()
    local function bind_time(n)
      local x = mx.sym.Variable('x')
      for _ = 1, n do x = mx.sym.BlockGrad{data = x} end
      x = mx.sym.load_json(x:tojson()) -- a loaded graph as well as a built one
      local t0 = os.clock()
      local e = x:simple_bind{x = {2}}
      local dt = os.clock() - t0
      e:forward{x = mx.nd.array{1, 2}}
      assert.are.same({1, 2}, e.outputs[1]:totable())
      e:close()
      return dt
    end
    local t10, t40 = bind_time(10000), bind_time(40000)
    -- linear: about 4x; the quadratic planner took 13x (0.13 s, then 1.67 s)
    assert.is_true(t40 < 8 * t10 + 0.05, ('10,000 nodes: %.3f s, 40,000: %.3f s'):format(t10, t40))
  end)

  it('binds a chain for training in time linear in its length (every output kept for backward)', function()
    -- each relu's output lives until its backward: as many arena blocks as nodes, which a
    -- best-fit search over every block made quadratic (10,000: 0.33 s, 40,000: 5.6 s)
    local function bind_time(n)
      local x = mx.sym.Variable('x')
      for _ = 1, n do x = mx.sym.Activation{data = x, act_type = 'relu'} end
      local t0 = os.clock()
      local e = x:simple_bind{x = {2, 2}, grad_req = {x = 'write'}}
      local dt = os.clock() - t0
      e:close()
      return dt
    end
    local t5, t40 = bind_time(5000), bind_time(40000)
    -- linear: about 8x; quadratic: 64x
    assert.is_true(t40 < 24 * t5 + 0.05, ('5,000 nodes: %.3f s, 40,000: %.3f s'):format(t5, t40))
  end)
end)

describe('files', function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(require('lfs').mkdir(dir))
  end)
  after_each(function()
    for f in require('lfs').dir(dir) do
      if f ~= '.' and f ~= '..' then os.remove(dir .. '/' .. f) end
    end
    os.remove(dir)
  end)

  it('saves replace only regular files: through a link, never a device, folder or dangling link', function()
    local a = {w = mx.nd.ones{2}}
    fails(function() return mx.nd.save('/dev/null', a) end, 'mx.nd.save', '/dev/null', 'character device')
    fails(function() return mx.nd.save(dir, a) end, 'mx.nd.save', 'folder')
    assert.is_true(require('lfs').link('target', dir .. '/link', true))
    assert.is_true(require('lfs').link('nothing', dir .. '/dangling', true))
    local f = assert(io.open(dir .. '/target', 'w'))
    f:write('old')
    f:close()
    mx.nd.save(dir .. '/link', a)
    assert.are.equal('link', require('lfs').symlinkattributes(dir .. '/link').mode)
    assert.are.same({1, 1}, mx.nd.load(dir .. '/target').w:totable())
    fails(function() return mx.nd.save(dir .. '/dangling', a) end, 'mx.nd.save', 'symbolic link to nothing')
    fails(function() return mx.sym.Variable('x'):save('/dev/null') end, '/dev/null', 'character device')
  end)

  it('loaders refuse what is not a regular file instead of reading forever', function()
    fails(function() return mx.nd.load('/dev/zero') end, 'mx.nd.load', 'character device')
    fails(function() return mx.sym.load('/dev/zero') end, 'character device')
    fails(function() return mx.nd.load(dir) end, 'mx.nd.load', 'folder')
    fails(function() return mx.io.MNISTIter{image = '/dev/zero', label = '/dev/zero'} end, 'character device')
  end)

  it('no existence check opens a FIFO (which waits for a writer): checkpoint states, the MNIST files', function()
    local net = mx.sym.FullyConnected{data = mx.sym.Variable('data'), num_hidden = 2, name = 'fc'}
    mx.model.save_checkpoint(dir .. '/m', 1, net, {fc_weight = mx.nd.ones{2, 2}, fc_bias = mx.nd.zeros{2}}, {})
    local fifo, fifo2 = dir .. '/m-0001.states', dir .. '/train-images-idx3-ubyte'
    assert.is_true(os.execute('mkfifo ' .. fifo .. ' ' .. fifo2))
    -- writers after 3 s end the waits, should a check open a FIFO after all (then it took > 3 s)
    for _, f in ipairs{fifo, fifo2} do
      os.execute('(sleep 3; timeout 5 sh -c ": > ' .. f .. '") >/dev/null 2>&1 &')
    end
    local t0 = os.time()
    local m = mx.model.FeedForward.load(dir .. '/m', 1)
    assert.are.equal(fifo, m._resume_states) -- found; the states loader then refuses the pipe, naming it:
    fails(function() return mx.core.params_load(fifo) end, 'is a pipe')
    fails(function() return mx.test_utils.get_mnist(dir) end, 'get_mnist')
    assert.is_true(os.time() - t0 < 3, 'an existence check opened the FIFO')
  end)
end)

describe('index data', function()
  it('one_hot refuses indices out of range, negative or fractional, as take does', function()
    for _, bad in ipairs{3, -1, 0.5, 0 / 0, math.huge} do
      fails(function() return mx.nd.one_hot(mx.nd.array{0, bad}, 3) end, 'mx.nd.one_hot', 'out of range for depth 3')
    end
    assert.are.same({{0, 1, 0}, {0, 0, 1}}, mx.nd.one_hot(mx.nd.array{1, 2}, 3):totable())
  end)

  it('SoftmaxOutput refuses labels out of range, NaN or fractional in backward', function()
    local net = mx.sym.SoftmaxOutput{data = mx.sym.FullyConnected{data = mx.sym.Variable('data'), num_hidden = 3,
                                                                  name = 'fc'}, name = 'sm'}
    local exe = net:simple_bind{data = {2, 3}}
    for _, bad in ipairs{3, -1, 0 / 0, 0.5, 1e30} do
      exe:forward{is_train = true, data = mx.nd.ones{2, 3}, sm_label = mx.nd.array{0, bad}}
      fails(function() return exe:backward() end, 'Executor:backward', 'out of range for 3 classes', 'position 1')
    end
    exe:forward{is_train = true, data = mx.nd.ones{2, 3}, sm_label = mx.nd.array{0, 2}}
    exe:backward()
    local ign = mx.sym.SoftmaxOutput{data = mx.sym.FullyConnected{data = mx.sym.Variable('data'), num_hidden = 3,
                                                                  name = 'fc'}, name = 'sm', use_ignore = true,
                                     ignore_label = -1}:simple_bind{data = {2, 3}}
    ign:forward{is_train = true, data = mx.nd.ones{2, 3}, sm_label = mx.nd.array{0, -1}}
    ign:backward() -- the ignored label is allowed
  end)

  it('MNISTIter refuses a label byte past 9', function()
    local dir = os.tmpname()
    local function idx(path, magic, dims, body)
      local f = assert(io.open(path, 'wb'))
      f:write(string.pack('>I4', magic))
      for _, d in ipairs(dims) do f:write(string.pack('>I4', d)) end
      f:write(body)
      f:close()
    end
    idx(dir .. 'i', 0x803, {2, 2, 2}, ('\0'):rep(8))
    idx(dir .. 'l', 0x801, {2}, '\1\255')
    local err = fails(function() return mx.io.MNISTIter{image = dir .. 'i', label = dir .. 'l', silent = true} end,
                      'mx.io.MNISTIter', 'label 255 out of range')
    os.remove(dir .. 'i'); os.remove(dir .. 'l'); os.remove(dir)
    assert.is_string(err)
  end)

  it('Accuracy, TopKAccuracy and CrossEntropy refuse labels out of range, NaN or fractional', function()
    local pred = mx.nd.array{{0.2, 0.3, 0.5}, {0.3, 0.3, 0.4}}
    for _, bad in ipairs{3, -1, 0 / 0, math.huge, 1.5, 1e30} do
      local label = mx.nd.array{2, bad}
      fails(function() return mx.metric.Accuracy():update({label}, {pred}) end, 'out of range for 3 classes',
            'position 1')
      fails(function() return mx.metric.TopKAccuracy{top_k = 2}:update({label}, {pred}) end,
            'out of range for 3 classes', 'position 1')
      fails(function() return mx.metric.CrossEntropy():update({label}, {pred}) end, 'CrossEntropy',
            'out of range for 3 classes', 'position 1')
    end
    local acc = mx.metric.Accuracy()
    acc:update({mx.nd.array{2, 0}}, {pred})
    assert.are.same({'accuracy', 0.5}, {acc:get()})
  end)

  it('Embedding clips ids to its rows, NaN and values past int64 included, the same on every device', function()
    local s = mx.sym.Embedding{data = mx.sym.Variable('data'), input_dim = 3, output_dim = 1, name = 'emb'}
    local e = s:simple_bind{data = {6}}
    e.arg_dict.emb_weight:set(mx.nd.array{{10}, {20}, {30}})
    e:forward{data = mx.nd.array{0 / 0, 1e30, -1e30, math.huge, 1.5, 2}}
    assert.are.same({10, 30, 10, 30, 20, 30}, e.outputs[1]:reshape{6}:totable())
    e:close()
  end)
end)

describe('NaN', function()
  local nan = 0 / 0
  local function isnan(x) return x ~= x end
  it('maximum and minimum propagate NaN from either side, max() and min() too, sign(NaN) is NaN', function()
    for _, f in ipairs{mx.nd.maximum, mx.nd.minimum} do
      local r = f(mx.nd.array{nan, 1}, mx.nd.array{1, nan}):totable()
      assert.is_true(isnan(r[1]) and isnan(r[2]))
    end
    assert.is_true(isnan(mx.nd.array{1, nan, 3}:max():asscalar()))
    assert.is_true(isnan(mx.nd.array{1, nan, 3}:min():asscalar()))
    local s = mx.nd.sign(mx.nd.array{nan, -2, 0, 2}):totable()
    assert.is_true(isnan(s[1]))
    assert.are.same({-1, 0, 1}, {s[2], s[3], s[4]})
    assert.are.same({3, 1}, mx.nd.maximum(mx.nd.array{3, 1}, mx.nd.array{1, 0}):totable())
  end)

  it('relu (max(x, 0)) and max pooling keep NaN as maximum does; pooling routes its gradient to the NaN', function()
    local r = mx.nd.relu(mx.nd.array{nan, -1, 2}):totable()
    assert.is_true(isnan(r[1]))
    assert.are.same({0, 2}, {r[2], r[3]})
    local d = mx.sym.Variable('data')
    local net = mx.sym.Group{mx.sym.Activation{data = d, act_type = 'relu'},
                             mx.sym.Pooling{data = d, pool_type = 'max', kernel = {1, 2}, stride = {1, 2}}}
    local e = net:simple_bind{data = {1, 1, 1, 6}, grad_req = {data = 'write'}}
    e:forward{is_train = true, data = mx.nd.array{{{{1, nan, nan, 5, 3, 2}}}}}
    local relu, pool = e.outputs[1]:reshape{6}:totable(), e.outputs[2]:reshape{3}:totable()
    assert.is_true(isnan(relu[2]) and isnan(pool[1]) and isnan(pool[2]))
    assert.are.equal(3, pool[3])
    e:backward{mx.nd.zeros{1, 1, 1, 6}, mx.nd.array{{{{10, 20, 30}}}}}
    local g = e.grad_dict.data:reshape{6}:totable()
    assert.are.same({0, 10, 20, 0, 30, 0}, g) -- the first NaN of each window, else the first largest
    e:close()
  end)
end)

describe('misspelled options', function()
  it('are refused everywhere, naming the closest valid option', function()
    local x = mx.sym.Variable('x')
    local cases = {
      {function() return mx.io.MNISTIter{batch_szie = 10} end, 'batch_size'},
      {function() return mx.io.NDArrayIter{data = mx.nd.ones{2}, shufle = true} end, 'shuffle'},
      {function() return mx.model.FeedForward{symbol = x, learnin_rate = 0.1} end, 'learning_rate'},
      {function() return mx.model.FeedForward{symbol = x, num_epoc = 1} end, 'num_epoch'},
      {function() return mx.optimizer.SGD{momentun = 0.9} end, 'momentum'},
      {function() return mx.optimizer.create('adam', {beta_1 = 0.9}) end, 'beta1'},
      {function() return mx.init.Xavier{magnitud = 2} end, 'magnitude'},
      {function() return mx.metric.TopKAccuracy{topk = 2} end, 'top_k'},
      {function() return mx.mon.Monitor{interval = 1, patern = 'x'} end, 'pattern'},
      {function() return mx.sym.Variable('v', {shap = {1}}) end, 'shape'},
      {function() return mx.viz.print_summary(x, {x = {1}}, {line_lenght = 3}) end, 'line_length'},
      {function() return mx.log.config{levle = 'info'} end, 'level'},
      {function() return mx.callback.ProgressBar(10, {forse = true}) end, 'force'},
      {function() return mx.init.Uniform{scal = 2} end, 'scale'},
      {function() return mx.init.Normal{sigm = 2} end, 'sigma'},
      {function() return mx.init.Constant{valeu = 2} end, 'value'},
      {function() return mx.lr_scheduler.FactorScheduler{stepp = 10} end, 'step'},
      {function() return mx.lr_scheduler.MultiFactorScheduler{step = {2, 3}, factr = 0.5} end, 'factor'},
    }
    for _, c in ipairs(cases) do
      fails(c[1], 'unknown option', ("closest valid option: '%s'"):format(c[2]))
    end
    mx.model.FeedForward{symbol = x, learning_rate = 0.1, momentum = 0.9} -- valid: the optimizer's
  end)

  it('an option inside a shape table is refused, not dropped (mx.nd.zeros{2, 2, ctx = mx.gpu()})', function()
    fails(function() return mx.nd.zeros{2, 2, ctx = mx.cpu()} end, 'mx.nd.zeros', "shape has a key 'ctx'")
    fails(function() return mx.nd.ones{2, [4] = 1} end, 'mx.nd.ones', "shape has a key '4' beyond its 1 sizes")
    fails(function() return mx.nd.ones{3}:reshape{3, dtype = 'int32'} end, 'reshape', "shape has a key 'dtype'")
    assert.are.same({2, 2}, mx.nd.zeros{2, 2}:shape())
  end)
end)

describe('symbol attributes', function()
  it('are refused, not clamped, cut, half-parsed or overridden', function()
    fails(function() return mx.sym.Variable('x', {shape = {1, 2, 3, 4, 5, 6, 7}}) end, 'bad shape')
    fails(function() return mx.sym.Variable('x', {shape = '(2,5,'}) end, "bad shape '(2,5,'")
    local v = mx.sym.Variable('x', {shape = {2, 5}})
    local f = mx.sym.FullyConnected{data = v, num_hidden = 2}
    fails(function() return f:simple_bind{x = {3, 5}} end, 'simple_bind', 'given shape (3,5) but declares (2,5)')
    fails(function() return mx.sym.Concat{mx.sym.Variable('a'), mx.sym.Variable('b'), dim = (1 << 32) + 1} end,
          'parameter dim', 'expected an integer in')
    fails(function() return mx.nd.concat{mx.nd.ones{2}, mx.nd.ones{2}, axis = (1 << 32) + 1} end, 'axis 4294967297')
    fails(function() return f:get_output(1 << 40) end, 'index 1099511627776')
    for _, n in ipairs{'1000000000', '-1', '0'} do
      fails(function()
        return mx.sym.load_json(('{"nodes":[{"op":"null","name":"a","inputs":[]},{"op":"Concat","name":"c",'
          .. '"param":{"num_args":"%s"},"inputs":[[0,0]]}],"arg_nodes":[0],"heads":[[1,0]]}'):format(n))
      end, 'num_args', 'expected an integer in 1..64')
    end
  end)

  it('SliceChannel num_outputs past 64 is refused, not cut to 64 (or to 1 from JSON)', function()
    fails(function() return mx.sym.SliceChannel{data = mx.sym.Variable('x'), num_outputs = 1000000} end,
          'num_outputs', "bad value '1000000'")
    fails(function()
      return mx.sym.load_json('{"nodes":[{"op":"null","name":"a","inputs":[]},{"op":"SliceChannel","name":"n",'
        .. '"attrs":{"num_outputs":"65"},"inputs":[[0,0,0]]}],"arg_nodes":[0],"heads":[[1,0,0]]}')
    end, 'num_outputs', "bad value '65'")
    assert.are.equal(64, #mx.sym.SliceChannel{data = mx.sym.Variable('x'), num_outputs = 64}:list_outputs())
  end)

  it('.params files with a name twice or a NUL in a name are refused', function()
    local path = os.tmpname()
    mx.nd.save(path, {a = mx.nd.ones{1}, b = mx.nd.zeros{1}})
    local f = assert(io.open(path, 'rb'))
    local s = f:read('a')
    f:close()
    local function write(text)
      local g = assert(io.open(path, 'wb'))
      g:write(text)
      g:close()
    end
    write((s:gsub('\1\0\0\0\0\0\0\0b', '\1\0\0\0\0\0\0\0a')))
    fails(function() return mx.nd.load(path) end, "the name 'a' is used twice")
    write((s:gsub('\1\0\0\0\0\0\0\0b', '\1\0\0\0\0\0\0\0\0')))
    fails(function() return mx.nd.load(path) end, 'holds a NUL byte')
    fails(function() return mx.nd.save(path, {['a\0b'] = mx.nd.ones{1}}) end, 'NUL byte')
    os.remove(path)
  end)
end)

describe('the REPL', function()
  it('completes names with raw reads only: a hostile __index or __pairs cannot hang it', function()
    local bin = os.getenv('MXLUA_BIN') or 'build/mxlua'
    local script = os.tmpname()
    local f = assert(io.open(script, 'w'))
    f:write([[
t = setmetatable({}, {__index = function() while true do end end, __pairs = function() while true do end end})
u = setmetatable({}, {__index = {alpha = 1, beta = {gamma = 1}}})
for _, h in pairs(debug.getregistry()) do if type(h) == 'table' and rawget(h, 'complete') then
  print('got', #h.complete('t.foo.'), #h.complete('t.'), table.concat(h.complete('u.beta.g'), ',')) end end
]])
    f:close()
    local p = io.popen('timeout 20 ' .. bin .. ' < ' .. script .. ' 2>&1; echo "exit=$?"')
    local out = p:read('a')
    p:close()
    os.remove(script)
    assert.truthy(out:find('got\t0\t0\tu.beta.gamma', 1, true), out)
    assert.truthy(out:find('exit=0', 1, true), out)
  end)
end)

describe('no shell sees a user string', function()
  local lfs = require 'lfs'
  it('mkdir_p and the Graphviz call take names with quotes, spaces and $(...) as they are', function()
    local base = os.tmpname()
    os.remove(base)
    local odd = base .. "/it's a $(touch PWNED) `x`"
    mx.io.mkdir_p(odd .. '/deeper')
    assert.are.equal('directory', lfs.attributes(odd .. '/deeper', 'mode'))
    assert.is_nil(lfs.attributes('PWNED'))
    if os.execute('command -v dot >/dev/null 2>&1') then
      local file = mx.viz.plot_network(mx.sym.Variable('x')):render(odd .. '/net "q"', 'svg')
      assert.are.equal('file', lfs.attributes(file, 'mode'))
      os.remove(file)
    end
    assert.is_nil(lfs.attributes('PWNED'))
    os.remove(odd .. '/deeper'); os.remove(odd); os.remove(base)
  end)

  it('lua/ and scripts/ build no shell command but the quoted Graphviz call', function()
    local root = os.getenv('MXLUA_ROOT') or '.'
    local found = {}
    for _, dir in ipairs{'lua/mx', 'scripts', 'scripts/draw_digit'} do
      for f in lfs.dir(root .. '/' .. dir) do
        if f:match('%.lua$') then
          local h = assert(io.open(root .. '/' .. dir .. '/' .. f))
          for line in h:lines() do
            if line:find('os%.execute') or line:find('io%.popen') then found[#found + 1] = dir .. '/' .. f end
          end
          h:close()
        end
      end
    end
    assert.are.same({'lua/mx/viz.lua'}, found) -- once: Plot:render's dot, its arguments quoted
  end)
end)
