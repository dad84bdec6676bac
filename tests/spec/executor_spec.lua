-- executor_spec.lua: mx.Executor: simple_bind and bind, the arrays it exposes,
-- forward/backward, gradient requests, copy_params_from, the monitor, closing,
-- and zero allocations over a thousand steps of the tutorial's MLP.
local mx = require 'mx'
local G = require 'gradcheck'

local function tutorial_mlp()
  local data = mx.symbol.Variable('data')
  local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
end

local function small_mlp()
  local fc1 = mx.sym.FullyConnected{data = mx.sym.Variable('data'), name = 'fc1', num_hidden = 5}
  local act = mx.sym.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2 = mx.sym.FullyConnected{data = act, name = 'fc2', num_hidden = 3}
  return mx.sym.SoftmaxOutput{data = fc2, name = 'softmax'}
end

describe('simple_bind', function()
  it('exposes arrays in list_arguments order, with no gradient for data and label', function()
    local mlp = tutorial_mlp()
    local exe = mlp:simple_bind{ctx = mx.cpu(), data = {100, 784}, softmax_label = {100}}
    assert.are.equal(8, #exe.arg_arrays)
    assert.are.equal(8, exe.grad_arrays.n)
    assert.is_nil(exe.grad_arrays[1])
    assert.is_nil(exe.grad_arrays[8])
    assert.are.same({128, 784}, exe.grad_arrays[2]:shape())
    assert.are.same({100, 784}, exe.arg_dict.data:shape())
    assert.are.same({100}, exe.arg_dict.softmax_label:shape())
    assert.are.same({10}, exe.grad_dict.fc3_bias:shape())
    assert.is_nil(exe.grad_dict.data)
    assert.are.equal(1, #exe.outputs)
    assert.are.same({100, 10}, exe.outputs[1]:shape())
    assert.are.equal(0, #exe.aux_arrays)
    local visited = 0
    for _, w in ipairs(exe.arg_arrays) do visited = visited + (w and 1 or 0) end
    assert.are.equal(8, visited)
    -- all zeros at first
    assert.are.equal(0, exe.arg_dict.fc1_weight:sum():asscalar())
    assert.matches('^%[Executor: 1 outputs, 8 arguments', tostring(exe))
  end)

  it("grad_req 'null' everywhere plans less memory than training", function()
    local mlp = tutorial_mlp()
    local train = mlp:simple_bind{data = {100, 784}, softmax_label = {100}}
    local infer = mlp:simple_bind{data = {100, 784}, softmax_label = {100}, grad_req = 'null'}
    local arena_t, naive_t = train:memory()
    local arena_i = infer:memory()
    assert.is_true(arena_t < naive_t)
    assert.is_true(arena_i < arena_t)
    assert.is_nil(infer.grad_arrays[2])
  end)

  it('a table grad_req can ask for the data gradient', function()
    local exe = small_mlp():simple_bind{data = {2, 4}, softmax_label = {2}, grad_req = {data = 'write'}}
    assert.are.same({2, 4}, exe.grad_dict.data:shape())
    assert.is_nil(exe.grad_dict.softmax_label)
  end)

  it('fails clearly on missing shapes and bad requests', function()
    local ok, err = pcall(function() return small_mlp():simple_bind{softmax_label = {2}} end)
    assert.is_false(ok)
    assert.matches('Symbol:simple_bind: .*data', err)
    ok, err = pcall(function() return small_mlp():simple_bind{data = {2, 4}, grad_req = 'sometimes'} end)
    assert.is_false(ok)
    assert.matches("bad grad_req 'sometimes'", err)
  end)
end)

describe('forward and backward', function()
  it("writes into the executor's own arrays and reads them", function()
    local exe = small_mlp():simple_bind{data = {2, 4}, softmax_label = {2}}
    local args = exe.arg_dict
    mx.random.seed(3)
    for name, arr in pairs(args) do
      if name ~= 'data' and name ~= 'softmax_label' then arr:set(mx.random.uniform(-1, 1, arr:shape())) end
    end
    args.data:set(mx.nd.array{{1, 2, 3, 4}, {0, -1, 0, 1}})
    args.softmax_label:set(mx.nd.array{0, 2})
    exe:forward{is_train = true}
    local p = exe.outputs[1]:totable()
    for i = 1, 2 do
      local s = 0
      for j = 1, 3 do s = s + p[i][j] end
      assert.is_true(math.abs(s - 1) < 1e-5)
    end
    exe:backward()
    local g = exe.grad_dict.fc2_bias:totable()
    -- the bias gradient is the column sum of softmax - onehot
    local want = {p[1][1] - 1 + p[2][1], p[1][2] + p[2][2], p[1][3] + p[2][3] - 1}
    for j = 1, 3 do assert.is_true(math.abs(g[j] - want[j]) < 1e-5) end
    -- forward{name = array} copies into the argument
    exe:forward{is_train = false, data = mx.nd.zeros{2, 4}}
    assert.are.equal(0, exe.arg_dict.data:sum():asscalar())
    local ok, err = pcall(exe.forward, exe, {nosuch = mx.nd.zeros{2}})
    assert.is_false(ok)
    assert.matches("no argument named 'nosuch'", err)
  end)

  it('a head that is not a loss needs out_grads', function()
    local fc = mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 2, name = 'fc'}
    local exe = fc:simple_bind{x = {3, 4}, grad_req = {x = 'write'}}
    exe:forward{is_train = true}
    local ok, err = pcall(exe.backward, exe)
    assert.is_false(ok)
    assert.matches('Executor:backward: .*fc_output', err)
    exe:backward{mx.nd.ones{3, 2}}
    -- d sum(out) / d x = column sums of the weight
    local w, gx = exe.arg_dict.fc_weight:totable(), exe.grad_dict.x:totable()
    for i = 1, 3 do for j = 1, 4 do assert.is_true(math.abs(gx[i][j] - (w[1][j] + w[2][j])) < 1e-6) end end
  end)
end)

describe('bind', function()
  it('takes lists or name tables; without args_grad there is no gradient', function()
    local s = small_mlp()
    local shapes = s:infer_shape{data = {2, 4}}
    local args, grads = {}, {}
    for i, sh in ipairs(shapes) do args[i] = G.random(sh) end
    args[6] = mx.nd.array{1, 0}
    for i = 2, 5 do grads[i] = mx.nd.zeros(shapes[i]) end
    local exe = s:bind(mx.cpu(), args, grads)
    exe:forward{is_train = true}
    exe:backward()
    assert.is_true(grads[2]:norm():asscalar() > 0)
    assert.is_nil(exe.grad_arrays[1])
    -- the executor uses the given arrays themselves
    args[3]:set(5)
    assert.are.equal(5, exe.arg_arrays[3]:totable()[1])
    local names = s:list_arguments()
    local byname = {}
    for i, n in ipairs(names) do byname[n] = args[i] end
    local e2 = s:bind{ctx = mx.cpu(), args = byname}
    e2:forward()
    assert.is_nil(e2.grad_arrays[2])
    local ok, err = pcall(function() return s:bind{ctx = mx.cpu(), args = {data = args[1]}} end)
    assert.is_false(ok)
    assert.matches("Symbol:bind: no array for argument 'fc1_weight'", err)
  end)

  it('refuses two different variables of one name', function()
    local s = mx.sym.Variable('x') + mx.sym.Variable('x')
    local ok, err = pcall(s.simple_bind, s, {x = {2}})
    assert.is_false(ok)
    assert.matches("two different variables are named 'x'", err)
  end)

  it("grad_req 'add' accumulates, 'write' overwrites, 'null' leaves alone", function()
    local s = small_mlp()
    local shapes = s:infer_shape{data = {3, 4}}
    local args = {}
    for i, sh in ipairs(shapes) do args[i] = G.random(sh) end
    args[6] = mx.nd.array{0, 1, 2}
    local g_write, g_add, g_null = mx.nd.zeros(shapes[2]), mx.nd.ones(shapes[2]), mx.nd.full(shapes[4], 7)
    local exe = s:bind{ctx = mx.cpu(), args = args, args_grad = {fc1_weight = g_add, fc2_weight = g_null},
      grad_req = {fc1_weight = 'add', fc2_weight = 'null'}}
    local ref = s:bind{ctx = mx.cpu(), args = args, args_grad = {fc1_weight = g_write}}
    for _ = 1, 3 do
      exe:forward{is_train = true}
      exe:backward()
      ref:forward{is_train = true}
      ref:backward()
    end
    local a, w = G.flat(g_add), G.flat(g_write)
    for i = 1, #a do assert.is_true(math.abs(a[i] - (1 + 3 * w[i])) < 1e-4) end
    for _, v in ipairs(G.flat(g_null)) do assert.are.equal(7, v) end
  end)

  it('copy_params_from copies by name', function()
    local exe = small_mlp():simple_bind{data = {2, 4}, softmax_label = {2}}
    exe:copy_params_from({fc1_bias = mx.nd.full({5}, 2)}, {})
    assert.are.equal(10, exe.arg_dict.fc1_bias:sum():asscalar())
    local ok, err = pcall(exe.copy_params_from, exe, {nosuch = mx.nd.zeros{1}})
    assert.is_false(ok)
    assert.matches('nosuch', err)
    exe:copy_params_from({nosuch = mx.nd.zeros{1}}, nil, true)
  end)
end)

describe('monitor', function()
  it('sees every output in forward and every gradient in backward, only while set', function()
    local exe = small_mlp():simple_bind{data = {2, 4}, softmax_label = {2}}
    local seen = {}
    exe:set_monitor_callback(function(name, arr)
      seen[#seen + 1] = name
      assert.is_true(arr:size() > 0)
    end)
    exe:forward{is_train = true}
    exe:backward()
    assert.are.same({'fc1_output', 'relu1_output', 'fc2_output', 'softmax_output',
      'softmax_backward_data', 'fc2_backward_data', 'fc2_backward_weight', 'fc2_backward_bias',
      'relu1_backward_data', 'fc1_backward_weight', 'fc1_backward_bias'}, seen)
    exe:set_monitor_callback(nil)
    exe:forward{is_train = true}
    assert.are.equal(11, #seen)
  end)

  it('an error in the callback becomes an error of forward', function()
    local exe = small_mlp():simple_bind{data = {2, 4}, softmax_label = {2}}
    exe:set_monitor_callback(function() error('boom') end)
    local ok, err = pcall(exe.forward, exe, {is_train = true})
    assert.is_false(ok)
    assert.matches('boom', err)
  end)
end)

describe('lifetime', function()
  it('<close> releases the executor at once', function()
    local closed
    do
      local exe <close> = small_mlp():simple_bind{data = {2, 4}, softmax_label = {2}}
      exe:forward()
      closed = exe
    end
    local ok, err = pcall(closed.forward, closed)
    assert.is_false(ok)
    assert.matches('closed', err)
    assert.are.equal('[Executor (closed)]', tostring(closed))
  end)

  it('closing frees the arena at once, even while its arrays are held; they are then dead', function()
    collectgarbage()
    local before = mx.core.alloc_stats().bytes_in_use
    local held
    do
      local exe <close> = tutorial_mlp():simple_bind{data = {100, 784}, softmax_label = {100}}
      held = exe.arg_dict.fc1_weight
      assert.is_true(mx.core.alloc_stats().bytes_in_use >= before + 1000000)
    end
    assert.are.equal(before, mx.core.alloc_stats().bytes_in_use)
    assert.has_error(function() return held:sum() end)
  end)

  it('arrays given to bind stay alive after close', function()
    local x, w = mx.nd.ones{2, 3}, mx.nd.ones{4, 3}
    local fc = mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 4, no_bias = true, name = 'fc'}
    local exe = fc:bind{ctx = mx.cpu(), args = {x = x, fc_weight = w}}
    exe:forward()
    exe:close()
    exe:close() -- idempotent
    assert.are.equal(12, w:sum():asscalar())
  end)
end)

describe('allocation', function()
  it('a thousand forward+backward steps of the tutorial MLP allocate nothing', function()
    local exe = tutorial_mlp():simple_bind{ctx = mx.cpu(), data = {100, 784}, softmax_label = {100}}
    for name, arr in pairs(exe.arg_dict) do
      if name ~= 'data' and name ~= 'softmax_label' then arr:set(mx.random.uniform(-0.05, 0.05, arr:shape())) end
    end
    exe:forward{is_train = true}
    exe:backward()
    local before = mx.core.alloc_stats()
    for _ = 1, 1000 do
      exe:forward{is_train = true}
      exe:backward()
    end
    local after = mx.core.alloc_stats()
    assert.are.equal(before.requests, after.requests)
    assert.are.equal(before.system_allocs, after.system_allocs)
  end)

  it('so do steps through Dropout, Concat, Reshape, element-wise and regression operators', function()
    local net = mx.sym.FullyConnected{data = mx.sym.Variable('data'), num_hidden = 8, name = 'f'}
    net = mx.sym.Dropout{data = net, p = 0.3}
    net = mx.sym.Concat{net, mx.sym.Activation{data = net, act_type = 'tanh'}, dim = 1}
    net = mx.sym.Reshape{data = net, shape = {0, -1}}
    net = mx.sym.LinearRegressionOutput{data = net * 2 + 1, name = 'out'}
    local exe = net:simple_bind{data = {4, 5}, out_label = {4, 16}}
    exe:forward{is_train = true}
    exe:backward()
    local before = mx.core.alloc_stats()
    for _ = 1, 50 do
      exe:forward{is_train = true}
      exe:backward()
    end
    local after = mx.core.alloc_stats()
    assert.are.equal(before.requests, after.requests)
  end)
end)
