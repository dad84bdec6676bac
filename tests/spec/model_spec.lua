-- model_spec: FeedForward on real MNIST (one epoch of the tutorial network to
-- >= 0.94 validation accuracy, with MXNet's log lines), save/load/predict identity,
-- exact resume from a checkpoint, a .params file written byte by byte, no
-- allocation per batch in steady state, and the argument errors.
local mx = require 'mx'

local dir = os.tmpname()
os.remove(dir)
assert(os.execute('mkdir -p ' .. dir))
teardown(function() os.execute('rm -rf ' .. dir) end)

local function mlp(h1, h2)
  local data = mx.symbol.Variable('data')
  local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = h1}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = h2}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
end

-- The tutorial's data: 70,000 images permuted with seed 1234, split 60,000 / 10,000.
local mnist = mx.test_utils.get_mnist()
mx.random.seed(1234)
local X = mx.nd.concat{mnist.train_data, mnist.test_data}
local Y = mx.nd.concat{mnist.train_label, mnist.test_label}
local perm = mx.nd.random_permutation(X:shape()[1])
X, Y = X:take(perm), Y:take(perm)
local X_train, X_test = X:slice(1, 60000), X:slice(60001, 70000)
local Y_train, Y_test = Y:slice(1, 60000), Y:slice(60001, 70000)

-- Runs fn with the log in a file; returns its lines.
local function logged(fn)
  local path = dir .. '/log.txt'
  assert(io.open(path, 'w')):close()
  mx.log.config{file = path}
  local ok, err = pcall(fn)
  mx.log.config{file = false}
  assert(ok, err)
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  return lines
end

local function small_iters(n, bs)
  return mx.io.NDArrayIter{data = X_train:slice(1, n), label = Y_train:slice(1, n), batch_size = bs},
         mx.io.NDArrayIter{data = X_test:slice(1, 500), label = Y_test:slice(1, 500), batch_size = bs}
end

describe('mx.model.FeedForward', function()
  it('trains the tutorial network one epoch on MNIST to >= 0.94 validation accuracy, logging as MXNet', function()
    local train_iter = mx.io.NDArrayIter{data = X_train, label = Y_train, batch_size = 100}
    local test_iter = mx.io.NDArrayIter{data = X_test, label = Y_test, batch_size = 100}
    local model = mx.model.FeedForward{ctx = mx.cpu(), symbol = mlp(128, 64), num_epoch = 1,
                                       learning_rate = 0.1, momentum = 0.9, wd = 0.00001}
    local lines = logged(function()
      model:fit{X = train_iter, eval_data = test_iter, batch_end_callback = mx.callback.Speedometer(100, 200)}
    end)
    assert.equal(8, #lines)
    assert.equal('INFO Start training with [cpu(0)]', lines[1])
    for k, b in ipairs{200, 400, 600} do
      assert.truthy(lines[k + 1]:match('^INFO Epoch%[0%] Batch %[' .. b .. '%]\tSpeed: %d+%.%d%d samples/sec\t'
                                       .. 'Train%-accuracy=0%.%d%d%d%d%d%d$'), lines[k + 1])
    end
    assert.equal('INFO Epoch[0] Resetting Data Iterator', lines[5])
    local train_acc = tonumber(lines[6]:match('^INFO Epoch%[0%] Train%-accuracy=(0%.%d%d%d%d%d%d)$'))
    assert.truthy(lines[7]:match('^INFO Epoch%[0%] Time cost=%d+%.%d%d%d$'), lines[7])
    local val = tonumber(lines[8]:match('^INFO Epoch%[0%] Validation%-accuracy=(0%.%d%d%d%d%d%d)$'))
    -- a band, not a figure: the digits depend on the GEMM kernel and its threads (one epoch gave
    -- 0.9503 with BLIS and 0.9508 with OpenBLAS on a Zen 5 EPYC); 0.94 leaves 20 times that spread
    -- and still fails a network that learns badly (chance is 0.1)
    assert.is_true(val >= 0.94, lines[8])
    -- the metric is cumulative: Batch [600] shows the epoch's train accuracy
    assert.equal(lines[6]:match('=(.*)$'), lines[4]:match('Train%-accuracy=(.*)$'))
    assert.near(train_acc, model.history[1].train.accuracy, 1e-6)
    assert.near(val, model.history[1].validation.accuracy, 1e-6)
    assert.equal(0, model.history[1].epoch)

    -- score agrees with the validation line, and with a plain count over predict's rows
    assert.near(val, model:score(test_iter), 1e-6)
    local probs = model:predict(X_test):totable()
    local labels = Y_test:totable()
    assert.equal(10000, #probs)
    local hits = 0
    for i, row in ipairs(probs) do
      local best = 1
      for c = 2, 10 do if row[c] > row[best] then best = c end end
      if best - 1 == labels[i] then hits = hits + 1 end
    end
    assert.near(val, hits / 10000, 1e-6)
    local first = model:predict(X_test:slice(1, 1))
    assert.same({1, 10}, first:shape())
    assert.equal(labels[1], first:argmax(2):asscalar()) -- the first test digit is recognised
  end)

  it('saves MXNet checkpoints; load then predict gives identical outputs', function()
    local train_iter, test_iter = small_iters(2000, 50)
    mx.random.seed(3)
    local model = mx.model.FeedForward{symbol = mlp(32, 16), num_epoch = 1, learning_rate = 0.1, momentum = 0.9}
    logged(function() model:fit{X = train_iter} end)
    local prefix = dir .. '/ck'
    local lines = logged(function() model:save(prefix) end)
    assert.same({('INFO Saved checkpoint to "%s-0001.params"'):format(prefix)}, lines)
    for _, f in ipairs{'-symbol.json', '-0001.params', '-0001.states'} do
      assert.truthy(io.open(prefix .. f), prefix .. f)
    end
    local p = io.popen('ls ' .. dir)
    local listing = p:read('a')
    p:close()
    assert.falsy(listing:find('.tmp.', 1, true)) -- atomic writes leave no temporary file
    -- the .params file holds arg:<name> keys with the model's values
    local saved = mx.nd.load(prefix .. '-0001.params')
    local keys = {}
    for k in pairs(saved) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({'arg:fc1_bias', 'arg:fc1_weight', 'arg:fc2_bias', 'arg:fc2_weight', 'arg:fc3_bias', 'arg:fc3_weight'},
                keys)
    assert.same(model.arg_params.fc2_weight:totable(), saved['arg:fc2_weight']:totable())
    assert.equal(model.symbol:tojson(), assert(io.open(prefix .. '-symbol.json')):read('a'))

    local again = mx.model.FeedForward.load(prefix, 1, {ctx = mx.cpu()})
    assert.equal(1, again.begin_epoch)
    assert.same(model:predict(test_iter):totable(), again:predict(test_iter):totable())
    assert.equal(model:score(test_iter), again:score(test_iter))
  end)

  it('resumes from a checkpoint exactly as an uninterrupted run', function()
    local kw = {learning_rate = 0.1, momentum = 0.9, wd = 0.0001,
                lr_scheduler = nil}
    local function fresh(num_epoch, sched)
      local opts = {symbol = mlp(32, 16), num_epoch = num_epoch}
      for k, v in pairs(kw) do opts[k] = v end
      opts.lr_scheduler = sched and mx.lr_scheduler.FactorScheduler(30, 0.5)
      return opts
    end
    local function run_straight()
      mx.random.seed(9)
      local it = small_iters(1500, 50)
      local m = mx.model.FeedForward(fresh(3, true))
      logged(function() m:fit{X = it} end)
      return m
    end
    local straight = run_straight()

    mx.random.seed(9)
    local it1 = small_iters(1500, 50)
    local first = mx.model.FeedForward(fresh(1, true))
    local prefix = dir .. '/resume'
    logged(function()
      first:fit{X = it1}
      first:save(prefix)
    end)
    local opts = fresh(3, true)
    opts.symbol = nil
    local resumed = mx.model.FeedForward.load(prefix, 1, opts)
    local it2 = small_iters(1500, 50)
    local lines = logged(function() resumed:fit{X = it2} end)
    local first_epoch
    for _, l in ipairs(lines) do first_epoch = first_epoch or l:match('^INFO Epoch%[(%d+)%]') end
    assert.equal('1', first_epoch) -- it goes on at epoch 1
    for name, arr in pairs(straight.arg_params) do
      assert.same(arr:totable(), resumed.arg_params[name]:totable(), name)
    end
    assert.near(straight.history[3].train.accuracy, resumed.history[2].train.accuracy, 0)

    -- without the optimizer state (MXNet's own checkpoints) the momentum restarts and the run differs
    os.remove(prefix .. '-0001.states')
    local lost = mx.model.FeedForward.load(prefix, 1, fresh(3, true))
    logged(function() lost:fit{X = small_iters(1500, 50)} end)
    assert.are_not.same(straight.arg_params.fc1_weight:totable(), lost.arg_params.fc1_weight:totable())
  end)

  it('do_checkpoint saves the optimizer state too: resuming from its files is exact', function()
    local prefix = dir .. '/cb'
    local function opts(n)
      return {symbol = mlp(16, 16), num_epoch = n, learning_rate = 0.1, momentum = 0.9, wd = 0.0001}
    end
    mx.random.seed(12)
    local straight = mx.model.FeedForward(opts(2))
    logged(function()
      straight:fit{X = small_iters(1000, 50), epoch_end_callback = mx.callback.do_checkpoint(prefix)}
    end)
    for _, f in ipairs{'-0001.params', '-0001.states', '-0002.params', '-0002.states'} do
      assert.truthy(io.open(prefix .. f), prefix .. f)
    end
    local o = opts(2)
    o.symbol = nil
    local resumed = mx.model.FeedForward.load(prefix, 1, o)
    logged(function() resumed:fit{X = small_iters(1000, 50)} end)
    for name, arr in pairs(straight.arg_params) do
      assert.same(arr:totable(), resumed.arg_params[name]:totable(), name)
    end
  end)

  it('loads a .params file written byte by byte from the format description', function()
    local data = mx.symbol.Variable('data')
    local fc = mx.symbol.FullyConnected{data = data, name = 'fc', num_hidden = 2}
    local net = mx.symbol.SoftmaxOutput{data = fc, name = 'softmax'}
    local prefix = dir .. '/bytes'
    assert(io.open(prefix .. '-symbol.json', 'w')):write(net:tojson()):close()
    -- legacy (2016) records: u32 ndim, u32 dims, i32 dev_type, i32 dev_id, i32 type_flag, float32 data
    local function legacy(dims, values)
      local parts = {string.pack('<I4', #dims)}
      for _, d in ipairs(dims) do parts[#parts + 1] = string.pack('<I4', d) end
      parts[#parts + 1] = string.pack('<i4i4i4', 1, 0, 0)
      for _, v in ipairs(values) do parts[#parts + 1] = string.pack('<f', v) end
      return table.concat(parts)
    end
    local W, b = {1, 0, -1, 0.5, 2, 0}, {0.25, -0.5}
    local names = {'arg:fc_weight', 'arg:fc_bias'}
    local bytes = {string.pack('<I8I8I8', 0x112, 0, 2), legacy({2, 3}, W), legacy({2}, b), string.pack('<I8', 2)}
    for _, n in ipairs(names) do bytes[#bytes + 1] = string.pack('<I8', #n) .. n end
    assert(io.open(prefix .. '-0003.params', 'wb')):write(table.concat(bytes)):close()

    local model = mx.model.FeedForward.load(prefix, 3)
    assert.same({{1, 0, -1}, {0.5, 2, 0}}, model.arg_params.fc_weight:totable())
    local x = {0.2, -0.4, 1}
    local out = model:predict(mx.nd.array{x}):totable()[1]
    -- by hand: z = W x + b, then softmax
    local z1 = 1 * 0.2 + 0 * -0.4 + -1 * 1 + 0.25
    local z2 = 0.5 * 0.2 + 2 * -0.4 + 0 * 1 - 0.5
    local e1, e2 = math.exp(z1), math.exp(z2)
    assert.near(e1 / (e1 + e2), out[1], 1e-6)
    assert.near(e2 / (e1 + e2), out[2], 1e-6)
  end)

  it('allocates no storage per batch in steady state', function()
    local train_iter = small_iters(1000, 50)
    local counts = {}
    local model = mx.model.FeedForward{symbol = mlp(32, 16), num_epoch = 2, learning_rate = 0.1, momentum = 0.9}
    logged(function()
      model:fit{X = train_iter, batch_end_callback = function()
        counts[#counts + 1] = mx.core.alloc_stats().requests
      end}
    end)
    assert.equal(40, #counts)
    for k = 3, 40 do assert.equal(counts[2], counts[k], 'batch ' .. k) end
  end)

  it('fits from arrays (roll_over, shuffled) and through create', function()
    mx.random.seed(4)
    local m = mx.model.FeedForward.create{symbol = mlp(16, 16), X = X_train:slice(1, 1200), y = Y_train:slice(1, 1200),
                                          num_epoch = 4, numpy_batch_size = 100, learning_rate = 0.1, momentum = 0.9,
                                          initializer = mx.init.Xavier(), logger = {info = function() end}}
    assert.equal(4, #m.history)
    -- a constant answer scores at most 0.12 on these 1200 images and an untrained net about 0.1;
    -- these four epochs reach about 0.86 (0.863 with seed 4), so 0.5 tells learning from none
    assert.is_true(m.history[4].train.accuracy > 0.5, tostring(m.history[4].train.accuracy))
    assert.is_true(m.history[4].train.accuracy > m.history[1].train.accuracy)
  end)

  it('runs epoch_size batches per epoch, resetting only at the end of the data', function()
    local train_iter = small_iters(500, 50) -- 10 batches
    local counts = {}
    local model = mx.model.FeedForward{symbol = mlp(8, 8), num_epoch = 3, epoch_size = 4, learning_rate = 0.1}
    local lines = logged(function()
      model:fit{X = train_iter, batch_end_callback = function(p) counts[p.epoch + 1] = p.nbatch end}
    end)
    assert.same({4, 4, 4}, counts)
    local resets = {}
    for _, l in ipairs(lines) do
      local e = l:match('^INFO Epoch%[(%d)%] Resetting Data Iterator$')
      if e then resets[#resets + 1] = tonumber(e) end
    end
    assert.same({2}, resets) -- batches 1-4, 5-8, then 9, 10 (reset) and 1, 2 in epoch 2
  end)

  it('predicts with the padding dropped, and returns the data on request', function()
    mx.random.seed(6)
    local model = mx.model.FeedForward{symbol = mlp(8, 8), num_epoch = 1, learning_rate = 0.1, numpy_batch_size = 64}
    logged(function() model:fit{X = small_iters(200, 50)} end)
    local x = X_test:slice(1, 150) -- batches of 64: 64, 64, 22 (+42 padding)
    local out, data = model:predict(x, {return_data = true})
    assert.same({150, 10}, out:shape())
    assert.same(x:totable(), data:totable())
    local one_by_one = {}
    for i = 1, 150, 50 do
      for _, row in ipairs(model:predict(x:slice(i, i + 49)):totable()) do one_by_one[#one_by_one + 1] = row end
    end
    local all = out:totable()
    for i = 1, 150 do
      for c = 1, 10 do assert.near(one_by_one[i][c], all[i][c], 1e-6) end
    end
  end)

  it('rejects bad arguments clearly', function()
    assert.has_error(function() mx.model.FeedForward{num_epoch = 1} end, 'mx.model.FeedForward: symbol is required')
    assert.has_error(function() mx.model.FeedForward{symbol = mlp(4, 4), ctx = 'cpu'} end,
      'mx.model.FeedForward: ctx must be a Context or a list of Contexts (got string)')
    local m = mx.model.FeedForward{symbol = mlp(4, 4)}
    assert.has_error(function() m:fit{X = small_iters(100, 50)} end, 'mx.model.FeedForward:fit: num_epoch is not set')
    assert.has_error(function() m:predict(X_test:slice(1, 2)) end,
      'mx.model.FeedForward:predict: the model has no parameters (fit or load it first)')
    if mx.core.gpu_count() == 0 then
      local g = mx.model.FeedForward{symbol = mlp(4, 4), ctx = mx.gpu(0), num_epoch = 1}
      local ok, err = pcall(g.fit, g, {X = small_iters(100, 50), logger = {info = function() end}})
      assert.is_false(ok)
      assert.truthy(err:find('mx.model.FeedForward: gpu(0): ', 1, true), err)
    end
  end)
end)

describe('scripts/train_mnist.lua', function()
  local root = os.getenv('MXLUA_ROOT') or '.'
  local function run(args)
    local p = io.popen(('cd %s && build/mxlua scripts/train_mnist.lua %s 2>&1; echo "exit=$?"'):format(root, args))
    local out = p:read('a')
    p:close()
    return out
  end

  it('lists its flags and rejects unknown ones', function()
    local help = run('--help')
    for _, flag in ipairs{'--ctx', '--epochs', '--batch-size', '--lr', '--momentum', '--wd', '--seed', '--save',
                          '--data', '--help'} do
      assert.truthy(help:find(flag, 1, true), flag)
    end
    assert.truthy(help:find('exit=0', 1, true))
    local bad = run('--epochs two')
    assert.truthy(bad:find('train_mnist: --epochs expects an integer (got two)', 1, true), bad)
    assert.truthy(bad:find('exit=2', 1, true))
    assert.truthy(run('--optimizer adam'):find('train_mnist: unknown option --optimizer', 1, true))
  end)

  it('trains, prints the test accuracy and saves a checkpoint', function()
    local prefix = dir .. '/script'
    local out = run('--ctx cpu --epochs 1 --batch-size 200 --save ' .. prefix)
    assert.truthy(out:find('INFO Start training with [cpu(0)]', 1, true), out)
    assert.truthy(out:find('INFO Epoch[0] Validation-accuracy=', 1, true), out)
    local acc = tonumber(out:match('Accuracy: (%d+%.%d%d) %%'))
    -- A constant answer scores at most 11.35% on the test set and a broken network near that; one
    -- epoch of 300 batches reaches about 93% (93.19 with seed 1234): 80 tells them apart with room.
    assert.is_true(acc > 80, out)
    assert.truthy(out:find(('Saved checkpoint to "%s-0001.params"'):format(prefix), 1, true), out)
    assert.truthy(out:find('exit=0', 1, true))
    assert.truthy(io.open(prefix .. '-symbol.json'))
  end)
end)
