-- speed_spec: the fast paths of the training step: the fused
-- multi-parameter SGD (updater:update_all, core.optim_sgd_update_multi) against MXNet's
-- formula in a plain loop, its checks; inputs read in place (Executor:_feed); and a training
-- step that allocates nothing.
local mx = require 'mx'

-- MXNet's SGD on plain Lua numbers: g = clip(rescale*grad); mom = momentum*mom - lr*(g + wd*w);
-- w += mom (without momentum: w -= lr*(g + wd*w)). float32 rounding is left to the tolerance.
local function sgd_by_hand(w, g, mom, lr, wd, rescale, clip, momentum)
  for i = 1, #w do
    local gi = g[i] * rescale
    if clip and clip > 0 then gi = math.max(-clip, math.min(clip, gi)) end
    if mom then
      mom[i] = momentum * mom[i] - lr * (gi + wd * w[i])
      w[i] = w[i] + mom[i]
    else
      w[i] = w[i] - lr * (gi + wd * w[i])
    end
  end
end

local function flat(a)
  local t = a:reshape{a:size()}:totable()
  return t
end

local function near_list(expected, got, tol)
  assert.equal(#expected, #got)
  for i = 1, #expected do assert.near(expected[i], got[i], tol or 1e-5) end
end

describe('updater:update_all (fused SGD)', function()
  it('equals MXNet SGD per parameter: momentum, wd (none for biases), lr_mult, clipping, 3 steps', function()
    local idx2name = {'fc_weight', 'fc_bias', 'out_weight'}
    local opt = mx.optimizer.SGD{learning_rate = 0.2, momentum = 0.9, wd = 0.01, rescale_grad = 0.5,
                                 clip_gradient = 0.8, param_idx2name = idx2name}
    opt:set_lr_mult{out_weight = 0.5}
    local up = mx.optimizer.get_updater(opt)
    local w0 = {{0.5, -1, 2, 0.25, -0.75, 1.5}, {0.1, -0.2}, {3, -3, 1}}
    local g0 = {{1, -4, 0.5, 2, -0.1, 3}, {-1, 0.6}, {0.2, 5, -2}}
    local shapes = {{2, 3}, {2}, {3}}
    local W, G = {}, {}
    for i = 1, 3 do
      W[i] = mx.nd.array(w0[i]):reshape(shapes[i])
      G[i] = mx.nd.array(g0[i]):reshape(shapes[i])
    end
    local ew, em = {}, {}
    for i = 1, 3 do
      ew[i] = {table.unpack(w0[i])}
      em[i] = {}
      for j = 1, #w0[i] do em[i][j] = 0 end
    end
    local lrs, wds = {0.2, 0.2, 0.1}, {0.01, 0, 0.01} -- the bias has no wd, out_weight lr_mult 0.5
    for _ = 1, 3 do
      up:update_all(G, W)
      for i = 1, 3 do sgd_by_hand(ew[i], g0[i], em[i], lrs[i], wds[i], 0.5, 0.8, 0.9) end
    end
    for i = 1, 3 do
      near_list(ew[i], flat(W[i]))
      near_list(em[i], flat(up.states[i]))
    end
    assert.equal(3, opt.num_update)
  end)

  it('without momentum keeps no state; a nil gradient is skipped', function()
    local up = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 0.5})
    local W = {mx.nd.array{1, 2}, mx.nd.array{3}, mx.nd.array{4, 5, 6}}
    local G = {mx.nd.array{2, -2}, nil, mx.nd.array{1, 1, 1}}
    up:update_all(G, W)
    near_list({0, 3}, W[1]:totable())
    near_list({3}, W[2]:totable())
    near_list({3.5, 4.5, 5.5}, W[3]:totable())
    assert.is_false(up.states[1])
    assert.is_nil(up.states[2])
  end)

  it('saved states equal those of one updater call per parameter', function()
    local function run(fused)
      local opt = mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9}
      local up = mx.optimizer.get_updater(opt)
      local W, G = {mx.nd.array{1, 2}, mx.nd.array{3}}, {mx.nd.array{0.5, 0.5}, mx.nd.array{-1}}
      for _ = 1, 2 do
        if fused then up:update_all(G, W) else for i = 1, 2 do up(i, G[i], W[i]) end end
      end
      local arrays, names = up:get_states()
      local out = {}
      for i, a in ipairs(arrays) do out[names[i]] = a:totable() end
      return out, W[1]:totable()
    end
    local a, wa = run(true)
    local b, wb = run(false)
    assert.same(b, a)
    assert.same(wb, wa)
  end)

  it('other optimizers update one parameter at a time (Adam by hand)', function()
    -- Adam, one step, lr 0.1, b1 0.9, b2 0.999: m = 0.1*g, v = 0.001*g^2, bias-corrected
    -- lr = 0.1*sqrt(1-0.999)/(1-0.9); w -= lr*m/(sqrt(v)+eps) = w - 0.1*sign(g) (nearly)
    local up = mx.optimizer.get_updater(mx.optimizer.Adam{learning_rate = 0.1})
    local W, G = {mx.nd.array{1, -1}}, {mx.nd.array{2, -3}}
    up:update_all(G, W)
    near_list({0.9, -0.9}, W[1]:totable(), 1e-4)
  end)

  it('checks every array before it updates any', function()
    local up = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 1, momentum = 0.5})
    local W = {mx.nd.array{1, 2}, mx.nd.array{3, 4}}
    local G = {mx.nd.array{1, 1}, mx.nd.array{1, 1, 1}}
    local ok, err = pcall(up.update_all, up, G, W)
    assert.is_false(ok)
    assert.matches('mx.optimizer.SGD: gradient shape %(3,%) does not match weight shape %(2,%)', err)
    assert.same({1, 2}, W[1]:totable())
    assert.same({3, 4}, W[2]:totable())
  end)

  it('core.optim_sgd_update_multi: list errors', function()
    local w = mx.nd.array{1}
    assert.has_error(function() mx.core.optim_sgd_update_multi({w}, {w, w}, nil, {1}, {0}) end,
      'mx.optimizer.SGD: weights, grads, lrs and wds must be lists of one length')
    local ok, err = pcall(mx.core.optim_sgd_update_multi, {w}, {'x'}, nil, {1}, {0})
    assert.is_false(ok)
    assert.matches('weight and gradient 1 must be NDArrays', err)
  end)
end)

describe('Executor:_feed (inputs read in place)', function()
  -- y = data * w^T with w = {{1, 2}, {3, 4}}: by hand per row
  local function small_exe()
    local data = mx.symbol.Variable('data')
    local fc = mx.symbol.FullyConnected{data = data, name = 'fc', num_hidden = 2, no_bias = true}
    local exe = fc:simple_bind{ctx = mx.cpu(), data = {2, 2}}
    exe.arg_dict.fc_weight:set{{1, 2}, {3, 4}}
    return exe
  end

  it('forward reads the fed array; feeding nil gives the argument its own memory back', function()
    local exe = small_exe()
    exe.arg_dict.data:set{{1, 1}, {1, 1}}
    local big = mx.nd.array{{1, 0}, {0, 1}, {2, -1}, {5, 5}}
    exe:_feed(1, big:slice(3, 4)) -- rows {2, -1}, {5, 5}
    exe:forward()
    assert.same({{0, 2}, {15, 35}}, exe.outputs[1]:totable())
    assert.same({{2, -1}, {5, 5}}, exe.arg_dict.data:totable()) -- the argument shows the fed rows
    exe:_feed(1, big:slice(1, 2))
    exe:forward()
    assert.same({{1, 3}, {2, 4}}, exe.outputs[1]:totable())
    exe:_feed(1, nil)
    assert.same({{1, 1}, {1, 1}}, exe.arg_dict.data:totable()) -- untouched by the feeds
    exe:forward()
    assert.same({{3, 7}, {3, 7}}, exe.outputs[1]:totable())
    assert.same({{1, 0}, {0, 1}, {2, -1}, {5, 5}}, big:totable()) -- the source is only read
  end)

  it('backward with a fed input: the weight gradient uses the fed rows', function()
    local exe = small_exe()
    exe:_feed(1, mx.nd.array{{1, 2}, {3, 4}})
    exe:forward{is_train = true}
    exe:backward{mx.nd.ones{2, 2}}
    -- dW = dY^T X = {{1+3, 2+4}, {1+3, 2+4}}
    assert.same({{4, 6}, {4, 6}}, exe.grad_dict.fc_weight:totable())
  end)

  it('the fed array outlives its last Lua reference, the executor too', function()
    local exe = small_exe()
    exe:_feed(1, mx.nd.array{{1, 0}, {0, 1}})
    collectgarbage('collect')
    exe:forward()
    assert.same({{1, 3}, {2, 4}}, exe.outputs[1]:totable())
    exe:close()
    collectgarbage('collect')
  end)

  it('errors: shape, index, type', function()
    local exe = small_exe()
    local ok, err = pcall(exe._feed, exe, 1, mx.nd.zeros{3, 2})
    assert.is_false(ok)
    assert.matches('Executor:feed: array of shape %(3,2%) fed to an argument of shape %(2,2%)', err)
    ok, err = pcall(exe._feed, exe, 3, mx.nd.zeros{2, 2})
    assert.is_false(ok)
    assert.matches('Executor:feed: .*argument 3 out of range %(expected 1..2%)', err)
    assert.has_error(function() exe:_feed(1, 'x') end)
  end)
end)

describe('FeedForward:fit steady state', function()
  it('a training batch makes no Lua garbage and asks the engine for no memory', function()
    mx.log.config{level = 'warning'}
    local data = mx.symbol.Variable('data')
    local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 16}
    local act = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
    local fc2 = mx.symbol.FullyConnected{data = act, name = 'fc2', num_hidden = 10}
    local net = mx.symbol.SoftmaxOutput{data = fc2, name = 'softmax'}
    local it = mx.io.NDArrayIter{data = mx.nd.ones{1000, 20}, label = mx.nd.zeros{1000}, batch_size = 50}
    local model = mx.model.FeedForward{symbol = net, num_epoch = 2, learning_rate = 0.1, momentum = 0.9}
    local kb, n, req22, req40 = {}, 0, nil, nil
    for i = 1, 64 do kb[i] = 0 end -- sized up front: the callback itself allocates nothing
    local ok, err = pcall(model.fit, model, {X = it, batch_end_callback = function()
      n = n + 1
      -- second epoch: a full collection at batch 1, the collector stopped at batch 2 (the batch
      -- right after a full collection regrows what it shrank, 64-128 bytes once, not per batch)
      if n == 21 then collectgarbage('collect') end
      if n == 22 then
        collectgarbage('stop')
        req22 = mx.core.alloc_stats().requests
      end
      kb[n] = collectgarbage('count')
      if n == 40 then req40 = mx.core.alloc_stats().requests end
    end})
    collectgarbage('restart')
    mx.log.config{level = 'info'}
    assert.is_true(ok, err)
    assert.equal(40, n)
    assert.equal(req22, req40) -- no engine allocation in 18 batches
    -- 18 batches: less than 64 bytes of Lua memory in all (nothing per batch)
    assert.is_true((kb[40] - kb[22]) * 1024 < 64, ('%.0f bytes'):format((kb[40] - kb[22]) * 1024))
  end)
end)

describe('core.nd.permute_rows (shuffling in place)', function()
  it('row i becomes old row p[i], cycles of every length, by hand', function()
    local x = mx.nd.array{{0, 0.5}, {1, 1.5}, {2, 2.5}, {3, 3.5}, {4, 4.5}, {5, 5.5}}
    local p = {2, 0, 1, 3, 5, 4} -- a 3-cycle, a fixed point, a swap
    local before = x:totable()
    local expected = {}
    for i = 1, 6 do expected[i] = before[p[i] + 1] end
    assert.equal(x, mx.core.nd.permute_rows(x, p))
    assert.same(expected, x:totable())
    local y = mx.nd.array{7, 8, 9}
    mx.core.nd.permute_rows(y, {2, 1, 0})
    assert.same({9, 8, 7}, y:totable())
  end)

  it('refuses what is not a permutation of the rows, leaving the array as it was', function()
    local x = mx.nd.array{1, 2, 3}
    assert.has_error(function() mx.core.nd.permute_rows(x, {0, 1}) end,
      'mx.nd.permute_rows: permutation of 2 positions for 3 rows')
    assert.has_error(function() mx.core.nd.permute_rows(x, {0, 0, 1}) end,
      'mx.nd.permute_rows: not a permutation of 0..2 (position 2 holds 0)')
    assert.has_error(function() mx.core.nd.permute_rows(x, {0, 1, 3}) end,
      'mx.nd.permute_rows: not a permutation of 0..2 (position 3 holds 3)')
    assert.same({1, 2, 3}, x:totable())
  end)
end)

describe('a Lua operator in the training step', function()
  it('asks the engine for no memory per batch, whatever the gradient requests', function()
    -- an op that writes in place only, so any allocation would be the machinery's own
    local Scale = mx.operator.LuaOp:extend('SpeedSpecScale')
    function Scale:forward(in_data, out_data) -- luacheck: no unused args
      out_data[1]:set(in_data[1])
      out_data[1]:mul_(2)
    end
    function Scale:backward(out_grad, in_data, out_data, in_grad) -- luacheck: no unused args
      in_grad[1]:set(out_grad[1])
      in_grad[1]:mul_(2)
    end
    for _, req in ipairs { 'write', 'add', 'null' } do
      local data = mx.symbol.Variable('data')
      -- the op reads `data`, so its gradient request is data's
      local net = mx.symbol.FullyConnected { data = Scale() { data = data, name = 's' }, name = 'fc', num_hidden = 4 }
      local exe = net:simple_bind { data = { 5, 3 }, grad_req = { data = req, fc_weight = 'write', fc_bias = 'write' } }
      local head = { mx.nd.ones { 5, 4 } }
      local before
      for i = 1, 6 do
        if i == 3 then before = mx.core.alloc_stats().requests end
        exe:forward { is_train = true }
        exe:backward(head)
      end
      assert.equal(before, mx.core.alloc_stats().requests, req)
    end
  end)
end)
