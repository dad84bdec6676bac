-- kvstore_spec: mx.kvstore ('local' sums and updates, errors), FeedForward over two CPU
-- contexts against one context with the whole batch, and 'mpi' under `mpirun -np 2`
-- (the same weights as one process; a rank that dies or fails ends the job quickly).
-- luacheck: no unused args (the spy operator's methods keep MXNet's full signatures)
local mx = require 'mx'

local root = os.getenv('MXLUA_ROOT') or '.'
local dir = os.tmpname()
os.remove(dir)
assert(os.execute('mkdir -p ' .. dir))
teardown(function() os.execute('rm -rf ' .. dir) end)

local function close_tables(a, b, tol, what)
  assert.are.equal(#a, #b, what)
  for i = 1, #a do
    if type(a[i]) == 'table' then close_tables(a[i], b[i], tol, what)
    else
      local d = math.abs(a[i] - b[i])
      assert(d <= tol * (1 + math.abs(b[i])), ('%s: element %d: %.9g vs %.9g'):format(what, i, a[i], b[i]))
    end
  end
end

-- The data kvstore_mpi_job.lua uses: 32 rows of 6 features, 3 classes.
local function dataset(order)
  local x, y = {}, {}
  for k, i in ipairs(order) do
    x[k] = {}
    for j = 1, 6 do x[k][j] = math.sin(i * 0.37 + j * 0.11) end
    y[k] = (i * 7) % 3
  end
  return mx.nd.array(x), mx.nd.array(y)
end
local function range(a, b)
  local t = {}
  for i = a, b do t[#t + 1] = i end
  return t
end

-- The rows each context's executor saw in training forwards, as dataset row numbers (spy_op's log).
local seen = {}
local SpyOp = mx.operator.CustomOp:extend('KvSpyOp')
function SpyOp:forward(is_train, req, in_data, out_data, aux)
  if is_train then
    local rows = {}
    for r, x in ipairs(in_data[1]:totable()) do
      rows[r] = x[1] -- sin(i * 0.37 + 0.11), mapped back to i by row_numbers
    end
    seen[self.ctx] = seen[self.ctx] or {}
    table.insert(seen[self.ctx], rows)
  end
  self:assign(out_data[1], req[1], in_data[1])
end
function SpyOp:backward(req, out_grad, in_data, out_data, in_grad, aux)
  self:assign(in_grad[1], req[1], out_grad[1])
end
local SpyProp = mx.operator.CustomOpProp:extend('KvSpyProp')
function SpyProp:init() mx.operator.CustomOpProp.init(self, {need_top_grad = true}) end
function SpyProp:list_arguments() return {'data'} end
function SpyProp:infer_shape(in_shape) return in_shape, {in_shape[1]}, {} end
function SpyProp:create_operator(ctx)
  local op = SpyOp()
  op.ctx = tostring(ctx)
  return op
end
mx.operator.register('kvstore_spec_spy', SpyProp)

local function net(spy)
  local data = mx.sym.Variable('data')
  if spy then data = mx.sym.Custom{data = data, op_type = 'kvstore_spec_spy', name = 'spy'} end
  local fc1 = mx.sym.FullyConnected{data = data, name = 'fc1', num_hidden = 5}
  local act = mx.sym.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2 = mx.sym.FullyConnected{data = act, name = 'fc2', num_hidden = 3}
  return mx.sym.SoftmaxOutput{data = fc2, name = 'softmax'}
end

-- Trains `steps` batches of batch_size from (X, Y) in order; returns the weights as tables.
local function train(X, Y, batch_size, steps, opts)
  local level = mx.log.get_level()
  mx.log.set_level('warning')
  mx.random.seed(7)
  local model = mx.model.FeedForward{symbol = net(opts.spy), ctx = opts.ctx, num_epoch = 1, epoch_size = steps,
                                     initializer = mx.init.Uniform(0.5), learning_rate = 1, momentum = 0.9,
                                     wd = 0.01}
  local ok, err = pcall(model.fit, model, {X = mx.io.NDArrayIter{data = X, label = Y, batch_size = batch_size},
                                           kvstore = opts.kvstore, work_load_list = opts.work_load_list})
  mx.log.set_level(level)
  assert(ok, err)
  local out = {}
  for k, v in pairs(model.arg_params) do out[k] = v:totable() end
  return out
end

describe('mx.kvstore', function()
  it("'local': push sums the values of the contexts, pull copies the stored value", function()
    local kv = mx.kvstore.create('local')
    assert.are.equal('local', kv.type)
    assert.are.equal(0, kv.rank)
    assert.are.equal(1, kv.num_workers)
    kv:init(3, mx.nd.array{1, 2, 3})
    local out = mx.nd.zeros{3}
    kv:pull(3, out)
    assert.are.same({1, 2, 3}, out:totable())
    kv:push(3, {mx.nd.array{1, 1, 1}, mx.nd.array{10, 20, 30}, mx.nd.array{0.5, 0.5, 0.5}})
    local outs = {mx.nd.zeros{3}, mx.nd.zeros{3}}
    kv:pull(3, outs)
    for _, o in ipairs(outs) do assert.are.same({11.5, 21.5, 31.5}, o:totable()) end
    -- several keys at once
    kv:init({'a', 'b'}, {mx.nd.zeros{2}, mx.nd.zeros{1}})
    kv:push({'a', 'b'}, {mx.nd.array{1, 2}, {mx.nd.array{4}, mx.nd.array{5}}})
    local a, b = mx.nd.zeros{2}, mx.nd.zeros{1}
    kv:pull({'a', 'b'}, {a, b})
    assert.are.same({1, 2}, a:totable())
    assert.are.same({9}, b:totable())
    kv:barrier() -- nothing to wait for
  end)

  it('set_optimizer: push updates the stored value with the summed gradient', function()
    local kv = mx.kvstore.create('device')
    kv:set_optimizer(mx.optimizer.create('sgd', {learning_rate = 0.5, rescale_grad = 0.25}))
    kv:init(1, mx.nd.array{1, 2})
    kv:push(1, {mx.nd.array{2, 4}, mx.nd.array{6, 8}})
    local w = mx.nd.zeros{2}
    kv:pull(1, w)
    -- w - lr * rescale * (g1 + g2), by hand: 1 - 0.5*0.25*8 = 0, 2 - 0.5*0.25*12 = 0.5
    close_tables(w:totable(), {0, 0.5}, 1e-6, 'sgd')
  end)

  it('fails clearly on unknown types, keys not initialized and bad values', function()
    assert.has_error(function() mx.kvstore.create('dist_async') end,
      "mx.kvstore.create: unknown kvstore type dist_async (expected 'local', 'device', 'nccl' or 'mpi')")
    local kv = mx.kvstore.create()
    assert.has_error(function() kv:push(7, mx.nd.zeros{2}) end,
      'mx.kvstore.push: key 7 is not initialized (call init first)')
    assert.has_error(function() kv:pull(7, mx.nd.zeros{2}) end,
      'mx.kvstore.pull: key 7 is not initialized (call init first)')
    kv:init(1, mx.nd.zeros{2})
    assert.has_error(function() kv:init(1, mx.nd.zeros{2}) end, 'mx.kvstore.init: key 1 is already initialized')
    assert.has_error(function() kv:push(1, 'x') end,
      'mx.kvstore.push: the value of key 1 must be an NDArray or a list of NDArrays')
    assert.has_error(function() kv:push(1, {mx.nd.zeros{3}}) end,
      'mx.kvstore.push: array 0 has shape (3,) (expected (2,))')
    assert.has_error(function() kv:set_optimizer(3) end,
      'mx.kvstore.set_optimizer: expected an optimizer (mx.optimizer.create(...))')
    if not mx.core.nccl_compiled() then
      assert.has_error(function() mx.kvstore.create('nccl') end)
    end
  end)
end)

describe('FeedForward over several contexts', function()
  it("two CPU contexts through 'local' give the weights of one context with the whole batch", function()
    local X, Y = dataset(range(1, 32))
    local one = train(X, Y, 16, 2, {ctx = mx.cpu(0)})
    local two = train(X, Y, 16, 2, {ctx = {mx.cpu(0), mx.cpu(1)}, kvstore = 'local'})
    local uneven = train(X, Y, 16, 2, {ctx = {mx.cpu(0), mx.cpu(1)}, kvstore = 'local', work_load_list = {1, 3}})
    local device = train(X, Y, 16, 2, {ctx = {mx.cpu(0), mx.cpu(1), mx.cpu(2)}, kvstore = 'device'})
    local moved = 0
    for name, w in pairs(one) do
      close_tables(two[name], w, 1e-5, name)
      close_tables(uneven[name], w, 1e-5, name .. ' (work_load_list {1, 3})')
      close_tables(device[name], w, 1e-5, name .. " (three contexts, 'device')")
      moved = moved + 1
    end
    assert.are.equal(4, moved)
  end)

  -- Equal weights alone cannot tell this from one context trained on the whole batch.
  it('each context trains on its own slice of every batch (equal parts, work_load_list, three contexts)', function()
    local order = range(1, 32)
    local X, Y = dataset(order)
    -- the dataset row number of each value that spy_op logged
    local function row_numbers(rows)
      local out = {}
      for r, v in ipairs(rows) do
        for _, i in ipairs(order) do
          if math.abs(math.sin(i * 0.37 + 0.11) - v) < 1e-6 then out[r] = i end
        end
      end
      return out
    end
    local function check(ctx, work_load_list, want)
      seen = {}
      local weights = train(X, Y, 16, 2, {ctx = ctx, kvstore = 'local', work_load_list = work_load_list, spy = true})
      for k, c in ipairs(ctx) do
        local got = {}
        for b, rows in ipairs(seen[tostring(c)] or {}) do got[b] = row_numbers(rows) end
        assert.same(want[k], got, tostring(c))
      end
      return weights
    end
    -- MXNet's _split_input_slice: 8 + 8; 4 + 12 for work_load_list {1, 3}; 5 + 5 + 6 for three
    check({mx.cpu(0), mx.cpu(1)}, nil, {{range(1, 8), range(17, 24)}, {range(9, 16), range(25, 32)}})
    check({mx.cpu(0), mx.cpu(1)}, {1, 3}, {{range(1, 4), range(17, 20)}, {range(5, 16), range(21, 32)}})
    local spied = check({mx.cpu(0), mx.cpu(1), mx.cpu(2)}, nil,
      {{range(1, 5), range(17, 21)}, {range(6, 10), range(22, 26)}, {range(11, 16), range(27, 32)}})
    -- the spy passes the data through unchanged: the weights are those of one context
    local one = train(X, Y, 16, 2, {ctx = mx.cpu(0)})
    for name, w in pairs(one) do close_tables(spied[name], w, 1e-5, name .. ' (with the spy)') end
  end)

  it('a batch too small for the contexts fails clearly', function()
    local X, Y = dataset(range(1, 4))
    assert.has_error(function() train(X, Y, 2, 1, {ctx = {mx.cpu(0), mx.cpu(1), mx.cpu(2)}}) end)
  end)
end)

local have_mpirun = os.execute('command -v mpirun >/dev/null 2>&1') and mx.core.dist_compiled()
local MPIRUN = 'cd ' .. root .. ' && timeout 120 mpirun -np 2 --allow-run-as-root --oversubscribe build/mxlua '
             .. 'tests/spec/kvstore_mpi_job.lua '

describe("kvstore 'mpi' under mpirun -np 2", function()
  if not have_mpirun then
    pending("mpirun or an MPI build is missing (make deps && make)")
    return
  end

  -- the all-reduce overlapped with backward (the default), in one bucket or in buckets of at
  -- most 16 floats, and after backward (MXLUA_MPI_OVERLAP=0)
  for _, case in ipairs{{'', 0}, {'', 16}, {'-x MXLUA_MPI_OVERLAP=0 ', 16}} do
    it(('trains to the weights of one process with the two halves of each batch (%sbucket %d)'):format(
      case[1], case[2]), function()
      local out = dir .. '/mpi.params'
      os.remove(out)
      local cmd = MPIRUN:gsub('mpirun ', 'mpirun ' .. case[1])
      local ok = os.execute(cmd .. 'step ' .. out .. ' ' .. case[2] .. ' > ' .. dir .. '/step.log 2>&1')
      assert(ok, 'mpirun failed: ' .. (io.open(dir .. '/step.log'):read('a')))
      local got = mx.nd.load(out)
      -- rank 0 reads rows 1..16 (batches 1-8, 9-16), rank 1 rows 17..32; one process sees
      -- each step's two halves as one batch of 16
      local order = {}
      for _, r in ipairs{range(1, 8), range(17, 24), range(9, 16), range(25, 32)} do
        for _, i in ipairs(r) do order[#order + 1] = i end
      end
      local X, Y = dataset(order)
      local want = train(X, Y, 16, 2, {ctx = mx.cpu(0)})
      local n = 0
      for name, w in pairs(want) do
        close_tables(got[name]:totable(), w, 1e-5, name)
        n = n + 1
      end
      assert.are.equal(4, n)
    end)
  end

  it('train_mnist.lua --kvstore mpi: one epoch on two processes learns; only rank 0 logs and saves', function()
    local log = dir .. '/train.log'
    local ok = os.execute('cd ' .. root .. ' && OPENBLAS_NUM_THREADS=1 timeout 300 mpirun -np 2 --allow-run-as-root ' ..
                          '--oversubscribe build/mxlua scripts/train_mnist.lua --kvstore mpi --epochs 1 --save ' ..
                          dir .. '/mnist > ' .. log .. ' 2>&1')
    local text = io.open(log):read('a')
    assert(ok, text)
    local _, starts = text:gsub('Start training with', '')
    local _, results = text:gsub('Accuracy: ', '')
    assert.are.equal(1, starts, text)
    assert.are.equal(1, results, text)
    local acc = tonumber(text:match('Accuracy: ([%d.]+) %%'))
    assert(acc and acc > 90, text) -- a band: one epoch reaches about 95 % on any GEMM kernel; chance is 10
    assert.truthy(io.open(dir .. '/mnist-0001.params'))
  end)

  for _, mode in ipairs{'kill', 'error'} do
    it(('a rank that %s ends the other within seconds'):format(mode == 'kill' and 'is killed (SIGKILL)' or 'fails'),
      function()
        local ok, _, code = os.execute(MPIRUN .. mode .. ' > ' .. dir .. '/' .. mode .. '.log 2>&1')
        local log = io.open(dir .. '/' .. mode .. '.log'):read('a')
        assert.is_falsy(ok)
        -- the surviving rank would wait for ever in its all-reduce: `timeout 120` ending the job
        -- (status 124) is the failure; how fast it ends is no test's business on a shared machine
        assert.are_not.equal(124, code, 'timed out: ' .. log)
        if mode == 'error' then
          assert.truthy(log:find('rank 1 fails on purpose', 1, true))
          assert.truthy(log:find('rank 1 of 2 exits with status 1: aborting every rank', 1, true))
        else
          assert.truthy(log:find('exited on signal 9', 1, true))
        end
      end)
  end
end)

-- 'nccl' and 'device' over the GPUs in the GPU suite (make test-gpu; make test-gpu-emu has
-- two emulated GPUs): a single GPU still runs NCCL's all-reduce.
for _, kind in ipairs{'nccl', 'device'} do
  describe(("kvstore '%s' #gpu"):format(kind), function()
    local ngpu = mx.context.num_gpus()
    local usable = ngpu > 0 and (kind ~= 'nccl' or mx.core.nccl_compiled())
    local gpu_it = require('gpu_it')(usable, 'none, or no NCCL in this build')

    gpu_it('push sums the values of the GPUs; pull copies the sum to each, on its own device', function()
      local kv = mx.kvstore.create(kind)
      local n = math.min(ngpu, 4)
      kv:init(1, mx.nd.zeros({4}, mx.gpu(0)))
      local vals, outs, want = {}, {}, {0, 0, 0, 0}
      for g = 1, n do
        vals[g] = mx.nd.array({g, 2 * g, 3 * g, 4 * g}, mx.gpu(g - 1))
        outs[g] = mx.nd.zeros({4}, mx.gpu(g - 1))
        for j = 1, 4 do want[j] = want[j] + j * g end
      end
      kv:push(1, vals)
      kv:pull(1, outs)
      for g = 1, n do
        assert.are.equal(mx.gpu(g - 1), outs[g]:context())
        assert.are.same(want, outs[g]:copyto(mx.cpu()):totable())
      end
    end)

    gpu_it(("FeedForward on the GPUs through '%s' gives the weights of one GPU with the whole batch"):format(kind),
      function()
        local X, Y = dataset(range(1, 32))
        local ctxs = {}
        for g = 1, math.min(ngpu, 2) do ctxs[g] = mx.gpu(g - 1) end
        local one = train(X, Y, 16, 2, {ctx = mx.gpu(0)})
        local many = train(X, Y, 16, 2, {ctx = ctxs, kvstore = mx.kvstore.create(kind)})
        for name, w in pairs(one) do close_tables(many[name], w, 1e-4, name) end
      end)
  end)
end
