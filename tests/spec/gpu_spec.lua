-- gpu_spec: the CUDA backend against the CPU. Every NDArray function and every
-- operator's forward and backward run on random inputs on mx.cpu() and mx.gpu(0)
-- and are compared (relative error < 1e-5 element-wise, < 1e-4 GEMM work), plus
-- the optimizers' fused updates and a short MNIST training run on the GPU.
-- Without a CUDA device every test is pending ("skipped: no CUDA device"), unless
-- MXLUA_REQUIRE_GPU=1 (make test-gpu), where each one fails. MXLUA_GPU_SPEC_ON_CPU=1
-- runs the whole suite with cpu(1) standing in for the GPU (checks the spec itself).
-- luacheck: no unused args (operator methods keep MXNet's signatures)
local mx = require 'mx'

local on_cpu = os.getenv('MXLUA_GPU_SPEC_ON_CPU') == '1'
local cpu = mx.cpu(0)
local gpu = on_cpu and mx.cpu(1) or mx.gpu(0)
-- it() where the device is there (or cpu(1) stands in); else a visible skip, or a failure under make test-gpu
local gpu_it = require('gpu_it')(on_cpu or nil)

---- helpers ----

-- why a test that only a real device can run is skipped under MXLUA_GPU_SPEC_ON_CPU=1
local NEEDS_REAL_GPU = 'skipped: needs a real GPU, not cpu(1) standing in (MXLUA_GPU_SPEC_ON_CPU=1)'

-- The elements of x (any context) as a flat Lua list.
local function flat(x)
  local h = x:context() == cpu and x or x:copyto(cpu)
  return h:reshape{h:size()}:totable()
end

-- Fails unless got (on the GPU) and want (on the CPU) have one shape and every
-- element agrees: |g - w| <= tol * (|w| + floor). Element-wise work uses a small
-- floor (values near zero compare absolutely); GEMM work passes the mean
-- magnitude of want as floor, since sums of products cancel.
local function assert_close(got, want, tol, floor, what)
  what = what or 'result'
  assert.are.same(want:shape(), got:shape(), what .. ': shapes differ')
  assert.are.equal(gpu, got:context(), what .. ': not on the GPU')
  local g, w = flat(got), flat(want)
  floor = floor or 1e-3
  for i = 1, #w do
    local ok = math.abs(g[i] - w[i]) <= tol * (math.abs(w[i]) + floor)
    if w[i] ~= w[i] then ok = g[i] ~= g[i] end -- NaN on both sides
    if not ok then
      error(string.format('%s: element %d is %.9g on the GPU and %.9g on the CPU (tolerance %g)', what, i, g[i], w[i],
        tol), 2)
    end
  end
end
local EW, GEMM = 1e-5, 1e-4

local function mean_abs(x)
  local t, s = flat(x), 0
  for i = 1, #t do s = s + math.abs(t[i]) end
  return #t > 0 and s / #t or 0
end

-- A random CPU array, values uniform in [lo, hi); its copy on the GPU.
local function pair(shape, lo, hi)
  local c = mx.random.uniform(lo or -1, hi or 1, shape)
  return c, c:copyto(gpu)
end

-- f(args on the CPU) against f(the same args on the GPU); arrays among args are copied.
local function both(f, args, tol, floor, what)
  local ga = {}
  for i, a in ipairs(args) do ga[i] = mx.nd.is_ndarray(a) and a:copyto(gpu) or a end
  local want, got = f(table.unpack(args)), f(table.unpack(ga))
  assert_close(got, want, tol or EW, floor, what)
  return got, want
end

---- NDArray functions ----

describe('NDArray functions on the GPU against the CPU #gpu', function()
  gpu_it('creates arrays: zeros, ones, full, array, arange, empty', function()
    assert_close(mx.nd.zeros({3, 4}, gpu), mx.nd.zeros({3, 4}), 0, nil, 'zeros')
    assert_close(mx.nd.ones({2, 3}, gpu), mx.nd.ones({2, 3}), 0, nil, 'ones')
    assert_close(mx.nd.full({5}, 2.5, gpu), mx.nd.full({5}, 2.5), 0, nil, 'full')
    assert_close(mx.nd.array({{1, 2, 3}, {4, 5, 6}}, gpu), mx.nd.array({{1, 2, 3}, {4, 5, 6}}), 0, nil, 'array')
    assert_close(mx.nd.arange(0.5, 1000, 0.37, gpu), mx.nd.arange(0.5, 1000, 0.37), 0, nil, 'arange')
    local e = mx.nd.empty({7, 3}, gpu)
    assert.are.same({7, 3}, e:shape())
    assert.are.equal(gpu, e:context())
  end)

  gpu_it('draws the same random numbers on both contexts for one seed (Philox kernels)', function()
    -- normal goes through double log/cos/sin, which may differ in the last bit before rounding to float
    for _, case in ipairs{{mx.random.uniform, -2, 3, 0}, {mx.random.normal, 1, 2, 1e-6}} do
      local f, p1, p2, tol = table.unpack(case)
      for _, n in ipairs{1, 2, 3, 5, 1001, 4096} do
        mx.random.seed(42)
        local c1, c2 = f(p1, p2, {n}), f(p1, p2, {7, 3})
        mx.random.seed(42)
        local g1, g2 = f(p1, p2, {n}, gpu), f(p1, p2, {7, 3}, gpu) -- the stream goes on from the same place
        assert_close(g1, c1, tol, nil, 'random ' .. n)
        assert_close(g2, c2, tol, nil, 'random after ' .. n)
      end
    end
    mx.random.seed(7)
    local c = mx.nd.random_permutation(500)
    mx.random.seed(7)
    assert_close(mx.nd.random_permutation(500, gpu), c, 0, nil, 'random_permutation')
  end)

  gpu_it('copies between contexts, small and large (pinned staging, several chunks)', function()
    for _, n in ipairs{1, 1000, 16385, 3 * 1024 * 1024 + 17} do
      local c = mx.random.uniform(-1, 1, {n})
      local g = c:copyto(gpu)
      assert.are.equal(gpu, g:context())
      local back = g:copyto(cpu)
      local a, b = flat(c), back:totable()
      for i = 1, n, math.max(1, n // 997) do assert.are.equal(a[i], b[i]) end
      assert.are.equal(a[n], b[n])
      assert_close(g:copy(), c, 0, nil, 'copy on the device')
      assert_close(g:as_in_context(gpu), c, 0, nil, 'as_in_context')
    end
  end)

  gpu_it('reads and writes elements, set and slices', function()
    local c, g = pair({4, 5})
    assert.are.equal(flat(c)[7], g[2][2])
    g[2][2] = 3.25
    c[2][2] = 3.25
    assert_close(g, c, 0, nil, 'element write')
    g:set(1.5)
    c:set(1.5)
    assert_close(g, c, 0, nil, 'set')
    local s = mx.random.uniform(0, 1, {4, 5})
    g:set(s:copyto(gpu))
    assert_close(g, s, 0, nil, 'set from an array')
    assert_close(g:slice(2, 3), s:slice(2, 3), 0, nil, 'slice')
  end)

  local unary = {exp = {-3, 3}, log = {0.01, 10}, sqrt = {0, 10}, abs = {-2, 2}, negative = {-2, 2},
                 square = {-3, 3}, relu = {-1, 1}, sigmoid = {-6, 6}, tanh = {-4, 4}, sign = {-1, 1},
                 softrelu = {-30, 30}, reciprocal = {0.1, 5}}
  for name, range in pairs(unary) do
    gpu_it('mx.nd.' .. name, function()
      both(mx.nd[name], {mx.random.uniform(range[1], range[2], {37, 29})}, EW, nil, name)
    end)
  end

  gpu_it('mx.nd.clip', function()
    both(function(x) return mx.nd.clip(x, -0.3, 0.4) end, {mx.random.uniform(-1, 1, {1000})}, EW, nil, 'clip')
  end)

  local binary = {'add', 'subtract', 'multiply', 'divide', 'maximum', 'minimum', 'power', 'equal', 'not_equal',
                  'greater', 'greater_equal', 'lesser', 'lesser_equal'}
  for _, name in ipairs(binary) do
    gpu_it('mx.nd.' .. name .. ': same shapes, broadcasting, scalars', function()
      local lo = name == 'power' and 0.1 or -2
      local a, b = mx.random.uniform(lo, 2, {6, 7}), mx.random.uniform(0.5, 2, {6, 7})
      if name:match('equal') then b = mx.nd.clip(mx.nd.sign(b - 1.2), 0, 1) * a end -- some equal pairs
      both(mx.nd[name], {a, b}, EW, nil, name)
      -- (3,1,4) with (5,1): (3,5,4); (2,3) with (3,): a row; (4,1) with (1,6)
      for _, s in ipairs{{{3, 1, 4}, {5, 1}}, {{2, 3}, {3}}, {{4, 1}, {1, 6}}, {{1}, {2, 2, 2}}} do
        both(mx.nd[name], {mx.random.uniform(lo, 2, s[1]), mx.random.uniform(0.5, 2, s[2])}, EW, nil,
          name .. ' broadcast')
      end
      both(mx.nd[name], {a, 1.5}, EW, nil, name .. ' scalar')
    end)
  end

  gpu_it('arithmetic operators and reversed scalar forms', function()
    local fs = {function(x) return x + 2 end, function(x) return x - 2 end, function(x) return 2 - x end,
                function(x) return x * 3 end, function(x) return x / 3 end, function(x) return 3 / x end,
                function(x) return x ^ 2 end, function(x) return -x end}
    for i, f in ipairs(fs) do both(f, {mx.random.uniform(0.5, 2, {10, 10})}, EW, nil, 'operator ' .. i) end
  end)

  gpu_it('in-place add_, sub_, mul_, div_ with arrays, broadcast rows and scalars', function()
    for _, m in ipairs{'add_', 'sub_', 'mul_', 'div_'} do
      local c, g = pair({5, 6}, 0.5, 2)
      local row = mx.random.uniform(0.5, 2, {6})
      local full = mx.random.uniform(0.5, 2, {5, 6})
      for _, arg in ipairs{full, row, 1.75} do
        c[m](c, arg)
        g[m](g, mx.nd.is_ndarray(arg) and arg:copyto(gpu) or arg)
      end
      assert_close(g, c, EW, nil, m)
    end
  end)

  local reductions = {'sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'norm'}
  for _, name in ipairs(reductions) do
    gpu_it('mx.nd.' .. name .. ' over all axes and each axis, keepdims', function()
      -- positive values: sums do not cancel, so float rounding stays relative
      local x = mx.random.uniform(0.5, 1.5, {7, 33, 5})
      both(mx.nd[name], {x}, EW, nil, name .. ' all')
      for axis = 1, 3 do
        both(function(a) return mx.nd[name](a, axis) end, {x}, EW, nil, name .. ' axis ' .. axis)
        both(function(a) return mx.nd[name](a, axis, true) end, {x}, EW, nil, name .. ' keepdims')
      end
      local long = mx.random.uniform(0.5, 1.5, {3, 100003})
      both(function(a) return mx.nd[name](a, 2) end, {long}, EW, nil, name .. ' long rows')
      both(mx.nd[name], {long}, EW, nil, name .. ' long all')
    end)
  end

  gpu_it('argmax and argmin keep the first of equal values', function()
    local x = mx.nd.array({{1, 3, 3, 0}, {2, 2, 2, 2}, {0, -1, 5, 5}})
    both(function(a) return mx.nd.argmax(a, 2) end, {x}, 0, nil, 'argmax')
    both(function(a) return mx.nd.argmin(a, 2) end, {x}, 0, nil, 'argmin')
    both(function(a) return mx.nd.argmax(a, 1) end, {x}, 0, nil, 'argmax axis 1')
  end)

  gpu_it('mx.nd.dot: 2-D with transposes, 1-D (cuBLAS, row-major)', function()
    local a, b = mx.random.uniform(-1, 1, {37, 53}), mx.random.uniform(-1, 1, {53, 29})
    local want = mx.nd.dot(a, b)
    both(mx.nd.dot, {a, b}, GEMM, mean_abs(want), 'dot')
    both(function(x, y) return mx.nd.dot(x, y, {transpose_a = true}) end,
      {mx.random.uniform(-1, 1, {53, 37}), b}, GEMM, mean_abs(want), 'dot transpose_a')
    both(function(x, y) return mx.nd.dot(x, y, {transpose_b = true}) end,
      {a, mx.random.uniform(-1, 1, {29, 53})}, GEMM, mean_abs(want), 'dot transpose_b')
    both(function(x, y) return mx.nd.dot(x, y, {transpose_a = true, transpose_b = true}) end,
      {mx.random.uniform(-1, 1, {53, 37}), mx.random.uniform(-1, 1, {29, 53})}, GEMM, mean_abs(want), 'dot both')
    local v = mx.random.uniform(-1, 1, {53})
    both(mx.nd.dot, {a, v}, GEMM, 1, 'matrix-vector')
    both(mx.nd.dot, {v, b}, GEMM, 1, 'vector-matrix')
    both(mx.nd.dot, {v, v}, GEMM, 1, 'vector-vector')
    both(mx.nd.dot, {mx.random.uniform(-1, 1, {100, 784}), mx.random.uniform(-1, 1, {784, 128})}, GEMM, 5,
      'tutorial-sized')
  end)

  gpu_it('mx.nd.one_hot; an index outside [0, depth) or not whole is the same error on both', function()
    local idx = mx.nd.array({0, 3, 9, 2, 5})
    both(function(i) return mx.nd.one_hot(i, 10) end, {idx}, 0, nil, 'one_hot')
    both(function(i) return mx.nd.one_hot(i, 10, 0.9, 0.01) end, {idx}, 0, nil, 'one_hot values')
    for _, bad in ipairs{-1, 10, 2.5} do -- refused as take refuses them (issue 19), not rows of zeros
      for _, ctx in ipairs{cpu, gpu} do
        local ok, err = pcall(mx.nd.one_hot, mx.nd.array({0, bad}):copyto(ctx), 10)
        assert.is_false(ok)
        local want = ('mx.nd.one_hot: one_hot: index %g (at position 1) out of range for depth 10'):format(bad)
        assert.is_truthy(tostring(err):find(want, 1, true), tostring(err))
      end
    end
  end)

  gpu_it('reshape, transpose, expand_dims, squeeze, slice_axis, concat', function()
    local x = mx.random.uniform(-1, 1, {4, 5, 6})
    both(function(a) return a:reshape{20, 6} end, {x}, 0, nil, 'reshape')
    both(mx.nd.transpose, {x}, 0, nil, 'transpose')
    both(function(a) return mx.nd.transpose(a, {2, 3, 1}) end, {x}, 0, nil, 'transpose axes')
    both(function(a) return mx.nd.expand_dims(a, 2) end, {x}, 0, nil, 'expand_dims')
    both(function(a) return mx.nd.squeeze(mx.nd.expand_dims(a, 1)) end, {x}, 0, nil, 'squeeze')
    for axis = 1, 3 do
      both(function(a) return mx.nd.slice_axis(a, axis, 2, 3) end, {x}, 0, nil, 'slice_axis ' .. axis)
    end
    local y = mx.random.uniform(-1, 1, {4, 2, 6})
    both(function(a, b) return mx.nd.concat{a, b, axis = 2} end, {x, y}, 0, nil, 'concat axis 2')
    both(function(a, b) return mx.nd.concat{a, b, a} end, {x, x}, 0, nil, 'concat axis 1')
  end)

  gpu_it('take gathers rows and reports a bad index', function()
    local x = mx.random.uniform(-1, 1, {10, 3, 2})
    local idx = mx.nd.array({{9, 0}, {3, 3}, {5, 1}})
    both(mx.nd.take, {x, idx}, 0, nil, 'take')
    local bad = mx.nd.array({1, 2, 10, 4, -1}, gpu)
    assert.has_error(function() mx.nd.take(x:copyto(gpu), bad) end, 'mx.nd.take: take: index 10 (at position 2) '
      .. 'out of range for axis 0 of shape (10,3,2) (expected an integer in 0..9)')
    -- the device goes on working after the error
    both(mx.nd.take, {x, idx}, 0, nil, 'take after an error')
  end)

  gpu_it('names the device in errors', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local n = mx.context.num_gpus()
    local ok, msg = mx.context.check(mx.gpu(n))
    assert.is_falsy(ok)
    assert.matches('out of range', msg)
    local ok2, err = pcall(mx.nd.add, mx.nd.ones({2}), mx.nd.ones({2}, gpu))
    assert.is_false(ok2)
    assert.matches('mx.nd.add: arrays on cpu%(0%) and gpu%(0%)', err)
  end)

  gpu_it('reports running out of device memory as an error, and goes on', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local ok, err = pcall(mx.nd.zeros, {1024, 1024, 1024, 1024}, gpu) -- 4 TiB
    assert.is_false(ok)
    assert.matches('mx.nd.zeros: ', err)
    assert.matches('gpu%(0%)', err)
    assert_close(mx.nd.ones({3}, gpu) * 2, mx.nd.ones({3}) * 2, 0, nil, 'after out-of-memory')
  end)
end)

---- the fused optimizer updates ----

describe('optimizer updates on the GPU against the CPU #gpu', function()
  local cases = {
    {'SGD', {learning_rate = 0.1, momentum = 0.9, wd = 1e-4, rescale_grad = 0.5, clip_gradient = 0.3}},
    {'SGD', {learning_rate = 0.1, wd = 1e-4}},
    {'Adam', {learning_rate = 0.01, wd = 1e-4, clip_gradient = 1}},
    {'RMSProp', {learning_rate = 0.01}},
    {'RMSProp', {learning_rate = 0.01, centered = true}},
    {'AdaGrad', {learning_rate = 0.05, wd = 1e-3}},
  }
  for i, case in ipairs(cases) do
    gpu_it(case[1] .. ' #' .. i .. ': three steps match', function()
      local w, gw = pair({13, 17})
      local oc, og = mx.optimizer.create(case[1], case[2]), mx.optimizer.create(case[1], case[2])
      local uc, ug = mx.optimizer.get_updater(oc), mx.optimizer.get_updater(og)
      for _ = 1, 3 do
        local g = mx.random.uniform(-2, 2, {13, 17})
        uc(1, g, w)
        ug(1, g:copyto(gpu), gw)
      end
      assert_close(gw, w, EW, nil, case[1])
    end)
  end
end)

---- operators: forward and backward through executors on both contexts ----

-- Binds `s` on ctx with copies of inputs {name = CPU NDArray}, gradients for
-- every argument but those in `no_grad` (request `req`: 'write' or 'add' onto
-- ones), runs forward (training) and backward with `heads` (nil for loss layers).
local function run_op(s, ctx, inputs, heads, req, no_grad)
  local args, grads, reqs = {}, {}, {}
  for _, n in ipairs(s:list_arguments()) do
    assert(inputs[n], 'no input for ' .. n)
    args[n] = inputs[n]:copyto(ctx)
    reqs[n] = (no_grad and no_grad[n]) and 'null' or req
    grads[n] = req == 'add' and mx.nd.ones(inputs[n]:shape(), ctx) or mx.nd.zeros(inputs[n]:shape(), ctx)
  end
  local exe = s:bind{ctx = ctx, args = args, args_grad = grads, grad_req = reqs}
  exe:forward{is_train = true}
  local hg
  if heads then
    hg = {}
    for i, h in ipairs(heads) do hg[i] = h:copyto(ctx) end
  end
  exe:backward(hg)
  return exe.outputs, grads
end

-- The operator on both contexts with 'write' and 'add' requests; outputs and gradients compared.
local function check_op(s, inputs, opts)
  opts = opts or {}
  local tol = opts.tol or EW
  local heads
  if not opts.loss then
    local shapes = {}
    for n, v in pairs(inputs) do shapes[n] = v:shape() end
    local _, out_shapes = s:infer_shape(shapes)
    heads = {}
    for i, shape in ipairs(out_shapes) do heads[i] = mx.random.uniform(-1, 1, shape) end
  end
  for _, req in ipairs{'write', 'add'} do
    local seed = math.random(1, 1 << 30)
    mx.random.seed(seed) -- Dropout draws its mask from the generator: the same one on both
    local outs_c, grads_c = run_op(s, cpu, inputs, heads, req, opts.no_grad)
    mx.random.seed(seed)
    local outs_g, grads_g = run_op(s, gpu, inputs, heads, req, opts.no_grad)
    for i = 1, #outs_c do
      assert_close(outs_g[i], outs_c[i], tol, opts.floor and mean_abs(outs_c[i]) or nil, 'output ' .. i)
    end
    for n, g in pairs(grads_c) do
      assert_close(grads_g[n], g, tol, opts.floor and mean_abs(g) + 1e-3 or nil, req .. ' gradient of ' .. n)
    end
  end
end

local S = mx.symbol
local tested = {}
local function op_it(op_names, name, fn)
  for _, n in ipairs(op_names) do tested[n] = true end
  gpu_it(name, fn)
end

describe('operators on the GPU against the CPU #gpu', function()
  local x = S.Variable('x')

  op_it({'FullyConnected'}, 'FullyConnected: bias, no_bias, flatten = false (cuBLAS)', function()
    local fc = S.FullyConnected{data = x, num_hidden = 13, name = 'fc'}
    check_op(fc, {x = mx.random.uniform(-1, 1, {11, 3, 7}), fc_weight = mx.random.uniform(-1, 1, {13, 21}),
                  fc_bias = mx.random.uniform(-1, 1, {13})}, {tol = GEMM, floor = true})
    local nb = S.FullyConnected{data = x, num_hidden = 5, no_bias = true, name = 'fc'}
    check_op(nb, {x = mx.random.uniform(-1, 1, {4, 9}), fc_weight = mx.random.uniform(-1, 1, {5, 9})},
      {tol = GEMM, floor = true})
    local nf = S.FullyConnected{data = x, num_hidden = 3, flatten = false, name = 'fc'}
    check_op(nf, {x = mx.random.uniform(-1, 1, {2, 3, 4}), fc_weight = mx.random.uniform(-1, 1, {3, 4}),
                  fc_bias = mx.random.uniform(-1, 1, {3})}, {tol = GEMM, floor = true})
    local big = S.FullyConnected{data = x, num_hidden = 128, name = 'fc'}
    check_op(big, {x = mx.random.uniform(0, 1, {100, 784}), fc_weight = mx.random.uniform(-0.07, 0.07, {128, 784}),
                   fc_bias = mx.random.uniform(-1, 1, {128})}, {tol = GEMM, floor = true})
  end)

  for _, act in ipairs{'relu', 'sigmoid', 'tanh', 'softrelu', 'softsign', 'log_sigmoid'} do
    op_it({'Activation'}, 'Activation ' .. act, function()
      check_op(S.Activation{data = x, act_type = act}, {x = mx.random.uniform(-3, 3, {17, 23})})
    end)
  end

  op_it({'SoftmaxOutput', 'Softmax'}, 'SoftmaxOutput: plain, grad_scale, the old name Softmax', function()
    local inputs = {x = mx.random.uniform(-3, 3, {19, 10}), softmax_label = mx.nd.array({0, 1, 2, 3, 4, 5, 6, 7, 8,
      9, 0, 1, 2, 3, 4, 5, 6, 7, 8})}
    check_op(S.SoftmaxOutput{data = x, name = 'softmax'}, inputs, {loss = true, no_grad = {softmax_label = true}})
    check_op(S.SoftmaxOutput{data = x, name = 'softmax', grad_scale = 0.25}, inputs,
      {loss = true, no_grad = {softmax_label = true}})
    check_op(S.Softmax{data = x, name = 'softmax'}, inputs, {loss = true, no_grad = {softmax_label = true}})
  end)

  op_it({'SoftmaxOutput'}, 'SoftmaxOutput: normalization batch and valid with ignored labels', function()
    local inputs = {x = mx.random.uniform(-3, 3, {8, 5}), softmax_label = mx.nd.array({0, -1, 2, 4, -1, 1, 3, 0})}
    for _, norm in ipairs{'null', 'batch', 'valid'} do
      check_op(S.SoftmaxOutput{data = x, name = 'softmax', use_ignore = true, ignore_label = -1,
        normalization = norm}, inputs, {loss = true, no_grad = {softmax_label = true}})
    end
    -- 'valid' also counts labels equal to ignore_label when use_ignore is off (a real class here:
    -- labels out of range are refused)
    inputs.softmax_label = mx.nd.array({0, 4, 2, 4, 1, 1, 3, 0})
    check_op(S.SoftmaxOutput{data = x, name = 'softmax', ignore_label = 4, normalization = 'valid'}, inputs,
      {loss = true, no_grad = {softmax_label = true}})
  end)

  op_it({'SoftmaxOutput'}, 'SoftmaxOutput: multi_output, preserve_shape, label distributions, out_grad', function()
    local lab = mx.nd.array({{0, 1, 2}, {3, 0, 1}})
    check_op(S.SoftmaxOutput{data = x, name = 'softmax', multi_output = true},
      {x = mx.random.uniform(-2, 2, {2, 4, 3}), softmax_label = lab}, {loss = true, no_grad = {softmax_label = true}})
    check_op(S.SoftmaxOutput{data = x, name = 'softmax', preserve_shape = true},
      {x = mx.random.uniform(-2, 2, {2, 3, 4}), softmax_label = mx.nd.array({{0, 1, 2}, {3, 0, 1}})},
      {loss = true, no_grad = {softmax_label = true}})
    local p = mx.random.uniform(0, 1, {6, 4})
    p = p / mx.nd.sum(p, 2, true)
    check_op(S.SoftmaxOutput{data = x, name = 'softmax', normalization = 'valid'},
      {x = mx.random.uniform(-2, 2, {6, 4}), softmax_label = p}, {loss = true, no_grad = {softmax_label = true}})
    check_op(S.SoftmaxOutput{data = x, name = 'softmax', out_grad = true},
      {x = mx.random.uniform(-2, 2, {5, 4}), softmax_label = mx.nd.array({0, 1, 2, 3, 0})},
      {no_grad = {softmax_label = true}})
  end)

  op_it({'softmax', 'log_softmax'}, 'softmax and log_softmax over each axis', function()
    local v = mx.random.uniform(-3, 3, {3, 4, 5})
    for _, axis in ipairs{-1, 0, 1, 2} do
      check_op(S.softmax{data = x, axis = axis}, {x = v})
      check_op(S.log_softmax{data = x, axis = axis}, {x = v})
    end
  end)

  op_it({'LinearRegressionOutput', 'LogisticRegressionOutput', 'MAERegressionOutput'},
    'LinearRegressionOutput, LogisticRegressionOutput, MAERegressionOutput', function()
      for _, op in ipairs{'LinearRegressionOutput', 'LogisticRegressionOutput', 'MAERegressionOutput'} do
        check_op(S[op]{data = x, name = 'reg', grad_scale = 0.5},
          {x = mx.random.uniform(-2, 2, {6, 3}), reg_label = mx.random.uniform(-1, 1, {6, 3})}, {loss = true})
        check_op(S[op]{data = x, name = 'reg'}, {x = mx.random.uniform(-2, 2, {7, 1}),
          reg_label = mx.random.uniform(-1, 1, {7})}, {loss = true})
      end
    end)

  op_it({'Flatten', 'Reshape', 'BlockGrad'}, 'Flatten, Reshape, BlockGrad', function()
    local v = mx.random.uniform(-1, 1, {3, 4, 5})
    check_op(S.Flatten{data = x}, {x = v})
    check_op(S.Reshape{data = x, shape = {0, -1, 2}}, {x = mx.random.uniform(-1, 1, {3, 4, 6})})
    check_op(S.BlockGrad{data = x}, {x = v})
    -- inside a graph, where the planner may share memory
    local net = S.Flatten{data = S.Activation{data = S.Reshape{data = x, shape = {-1, 10}}, act_type = 'tanh'}}
    check_op(net, {x = v})
  end)

  op_it({'Dropout'}, 'Dropout: the same mask for one seed, and the identity outside training', function()
    check_op(S.Dropout{data = x, p = 0.3}, {x = mx.random.uniform(-1, 1, {31, 17})})
    check_op(S.Dropout{data = x, p = 0}, {x = mx.random.uniform(-1, 1, {5, 5})})
    local exe = S.Dropout{data = x, p = 0.5}:bind{ctx = gpu, args = {x = mx.nd.ones({100}, gpu)}}
    exe:forward{is_train = false}
    assert_close(exe.outputs[1], mx.nd.ones({100}), 0, nil, 'Dropout at inference')
  end)

  op_it({'Concat'}, 'Concat along dim 0, 1 and 2', function()
    local y, z = S.Variable('y'), S.Variable('z')
    for _, dim in ipairs{0, 1, 2} do
      local sa, sb, sc = {2, 3, 4}, {2, 3, 4}, {2, 3, 4}
      sb[dim + 1], sc[dim + 1] = 5, 1
      check_op(S.Concat{x, y, z, num_args = 3, dim = dim}, {x = mx.random.uniform(-1, 1, sa),
        y = mx.random.uniform(-1, 1, sb), z = mx.random.uniform(-1, 1, sc)})
    end
  end)

  op_it({'_Plus', '_Minus', '_Mul', '_Div'}, 'element-wise symbol arithmetic: +, -, *, /, and x + x', function()
    local y = S.Variable('y')
    local inputs = {x = mx.random.uniform(0.5, 2, {6, 7}), y = mx.random.uniform(0.5, 2, {6, 7})}
    check_op(x + y, inputs)
    check_op(x - y, inputs)
    check_op(x * y, inputs)
    check_op(x / y, inputs)
    check_op(x + x, {x = inputs.x}) -- both gradients into one array
    check_op(x * x, {x = inputs.x})
  end)

  op_it({'_PlusScalar', '_MinusScalar', '_RMinusScalar', '_MulScalar', '_DivScalar', '_RDivScalar'},
    'scalar symbol arithmetic: x + 2, x - 2, 2 - x, x * 3, x / 3, 3 / x', function()
      local inputs = {x = mx.random.uniform(0.5, 2, {9, 4})}
      for _, s in ipairs{x + 2, x - 2, 2 - x, x * 3, x / 3, 3 / x} do check_op(s, inputs) end
    end)

  local unary_ops = {'negative', 'exp', 'log', 'sqrt', 'abs', 'square', 'relu', 'sigmoid', 'tanh', 'sign',
                     'reciprocal', 'softrelu'}
  op_it(unary_ops, "mx.nd's element-wise functions as operators (exp, relu, ...)", function()
    local inputs = {x = mx.random.uniform(0.5, 2, {9, 4})}
    for _, name in ipairs(unary_ops) do check_op(S[name]{data = x}, inputs) end
    inputs = {x = mx.random.uniform(-2, 2, {9, 4})}
    for _, name in ipairs{'negative', 'abs', 'relu', 'sigmoid', 'tanh', 'sign', 'softrelu'} do
      check_op(S[name]{data = x}, inputs)
    end
  end)

  local broadcast_ops = {}
  for _, name in ipairs{'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'power', 'equal', 'not_equal', 'greater',
                        'greater_equal', 'lesser', 'lesser_equal'} do
    broadcast_ops[#broadcast_ops + 1] = 'broadcast_' .. name
  end
  op_it(broadcast_ops, 'broadcast_* operators, gradients summed over the broadcast axes', function()
    local y = S.Variable('y')
    for _, shapes in ipairs{{{3, 4, 5}, {4, 1}}, {{1, 4, 1}, {3, 1, 5}}, {{6, 7}, {6, 7}}} do
      local inputs = {x = mx.random.uniform(0.5, 2, shapes[1]), y = mx.random.uniform(0.5, 2, shapes[2])}
      for _, name in ipairs(broadcast_ops) do
        -- a broadcast input's gradient is a sum, in another order on the GPU: GEMM's tolerance
        check_op(S[name]{lhs = x, rhs = y}, inputs, {tol = GEMM, floor = true})
      end
    end
  end)

  local scalar_ops = {}
  for _, name in ipairs{'maximum', 'minimum', 'power', 'rpower', 'equal', 'not_equal', 'greater', 'greater_equal',
                        'lesser', 'lesser_equal'} do
    scalar_ops[#scalar_ops + 1] = '_' .. name .. '_scalar'
  end
  op_it(scalar_ops, '_maximum_scalar ... _lesser_equal_scalar', function()
    local inputs = {x = mx.random.uniform(0.5, 2, {9, 4})}
    for _, name in ipairs(scalar_ops) do check_op(S[name]{data = x, scalar = 1.25}, inputs) end
  end)

  op_it({'Custom'}, 'Custom: a Lua operator on a GPU executor gets GPU arrays and runs mx.nd on the GPU', function()
    local Softmax = mx.operator.LuaOp:extend('GpuSpecSoftmax')
    function Softmax:init() mx.operator.LuaOp.init(self, {need_top_grad = false}) end
    function Softmax:list_arguments() return {'data', 'label'} end
    function Softmax:list_outputs() return {'output'} end
    function Softmax:infer_shape(in_shape) return {in_shape[1], {in_shape[1][1]}}, {in_shape[1]} end
    local seen = {}
    function Softmax:forward(in_data, out_data)
      seen[#seen + 1] = in_data[1]:context()
      local v, y = in_data[1], out_data[1]
      y:set(mx.nd.exp(v - v:max(2, true)))
      y:div_(y:sum(2, true))
    end
    function Softmax:backward(_, in_data, out_data, in_grad)
      local y, dx = out_data[1], in_grad[1]
      dx:set(y)
      dx:sub_(mx.nd.one_hot(in_data[2], y:shape()[2]))
    end
    local net = Softmax(){data = x, name = 'softmax'}
    check_op(net, {x = mx.random.uniform(-2, 2, {6, 5}), softmax_label = mx.nd.array({0, 4, 1, 3, 2, 2})},
      {loss = true, no_grad = {softmax_label = true}})
    assert.are.equal(cpu, seen[1])
    assert.are.equal(gpu, seen[2])
  end)

  op_it({'Convolution'}, 'Convolution: 2-D with stride, pad, dilate, groups; 1-D; no_bias (im2col + cuBLAS)', function()
    local w = S.Variable('w')
    for _, case in ipairs{
      {data = {2, 3, 9, 8}, kernel = {3, 3}, stride = {2, 1}, pad = {1, 2}, dilate = {1, 2}, num_filter = 4, group = 1},
      {data = {3, 4, 7, 7}, kernel = {3, 2}, stride = {1, 1}, pad = {0, 0}, dilate = {1, 1}, num_filter = 6, group = 2},
      {data = {2, 3, 11}, kernel = {3}, stride = {2}, pad = {1}, dilate = {1}, num_filter = 5, group = 1},
    } do
      local conv = S.Convolution{data = x, weight = w, name = 'cv', kernel = case.kernel, stride = case.stride,
                                 pad = case.pad, dilate = case.dilate, num_filter = case.num_filter,
                                 num_group = case.group}
      local arg_shapes = conv:infer_shape{x = case.data}
      local names, inputs = conv:list_arguments(), {}
      for i, n in ipairs(names) do inputs[n] = mx.random.uniform(-1, 1, arg_shapes[i]) end
      check_op(conv, inputs, {tol = GEMM, floor = true})
    end
    local nb = S.Convolution{data = x, name = 'cv', kernel = {2, 2}, num_filter = 3, no_bias = true}
    check_op(nb, {x = mx.random.uniform(-1, 1, {2, 2, 5, 5}), cv_weight = mx.random.uniform(-1, 1, {3, 2, 2, 2})},
      {tol = GEMM, floor = true})
  end)

  op_it({'Deconvolution'}, 'Deconvolution: stride, pad, adj, target_shape, groups, bias', function()
    for _, case in ipairs{
      {{data = x, name = 'dc', kernel = {3, 3}, stride = {2, 2}, pad = {1, 1}, adj = {1, 1}, num_filter = 4,
        no_bias = false}, {2, 3, 4, 5}},
      {{data = x, name = 'dc', kernel = {4, 4}, stride = {2, 2}, target_shape = {8, 9}, num_filter = 4, num_group = 2},
       {2, 4, 4, 4}},
      {{data = x, name = 'dc', kernel = {3}, stride = {2}, num_filter = 2}, {3, 2, 6}},
    } do
      local s = S.Deconvolution(case[1])
      local arg_shapes = s:infer_shape{x = case[2]}
      local inputs = {}
      for i, n in ipairs(s:list_arguments()) do inputs[n] = mx.random.uniform(-1, 1, arg_shapes[i]) end
      check_op(s, inputs, {tol = GEMM, floor = true})
    end
  end)

  op_it({'SoftmaxActivation'}, 'SoftmaxActivation: instance and channel modes', function()
    local v = mx.random.uniform(-3, 3, {3, 4, 2, 5})
    check_op(S.SoftmaxActivation{data = x}, {x = v})
    check_op(S.SoftmaxActivation{data = x, mode = 'channel'}, {x = v})
  end)

  op_it({'SliceChannel'}, 'SliceChannel: axes, squeeze_axis, an unused part', function()
    local v = mx.random.uniform(-1, 1, {4, 6, 3})
    check_op(S.SliceChannel{data = x, num_outputs = 3}, {x = v})
    check_op(S.SliceChannel{data = x, num_outputs = 4, axis = 0, squeeze_axis = true}, {x = v})
    check_op(S.SliceChannel{data = x, num_outputs = 3, axis = -1}, {x = v})
    local parts = S.SliceChannel{data = x, num_outputs = 2, axis = 1}
    check_op(S.Group{S.Activation{data = parts[2], act_type = 'tanh'}}, {x = v})
  end)

  op_it({'expand_dims', 'Cast', 'clip', 'slice_axis', 'transpose'},
    'expand_dims, Cast, clip, slice_axis, transpose (the kernel table on the GPU)', function()
      local v = mx.random.uniform(-2, 2, {3, 4, 5})
      check_op(S.expand_dims{data = x, axis = 1}, {x = v})
      check_op(S.Cast{data = x, dtype = 'float32'}, {x = v})
      check_op(S.clip{data = x, a_min = -0.5, a_max = 1}, {x = v})
      check_op(S.slice_axis{data = x, axis = 1, begin = 1, ['end'] = -1}, {x = v})
      check_op(S.transpose{data = x, axes = {2, 0, 1}}, {x = v})
    end)

  op_it({'Crop', 'UpSampling', 'L2Normalization', 'InstanceNorm', 'LRN'},
    'Crop, UpSampling, L2Normalization, InstanceNorm, LRN (the kernel table on the GPU)', function()
      local v = mx.random.uniform(-1, 1, {2, 5, 4, 6})
      check_op(S.Crop{x, num_args = 1, offset = {1, 2}, h_w = {2, 3}}, {x = v})
      check_op(S.Crop{x, S.Variable('like'), num_args = 2, center_crop = true}, {x = v, like = mx.nd.zeros{1, 1, 3, 3}})
      check_op(S.UpSampling{x, scale = 2, sample_type = 'nearest'}, {x = v})
      -- these three sum over groups, in another order on the GPU: the reductions' tolerance
      for _, mode in ipairs{'instance', 'channel', 'spatial'} do
        check_op(S.L2Normalization{data = x, mode = mode}, {x = v}, {tol = GEMM})
      end
      check_op(S.InstanceNorm{data = x, gamma = S.Variable('g'), beta = S.Variable('b')},
        {x = v, g = mx.random.uniform(-1, 1, {5}), b = mx.random.uniform(-1, 1, {5})}, {tol = GEMM})
      check_op(S.LRN{data = x, alpha = 0.5, nsize = 3}, {x = v}, {tol = GEMM})
    end)

  op_it({'sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'norm'}, 'the reductions over axes with keepdims', function()
    local v = mx.nd.random_permutation(60):reshape{3, 4, 5} / 10
    check_op(S.sum{data = x, axis = 1}, {x = v})
    check_op(S.mean{data = x, axis = {1, 2}, keepdims = true}, {x = v})
    check_op(S.max{data = x, axis = -1}, {x = v})
    check_op(S.sum{data = x}, {x = v})
    check_op(S.min{data = x, axis = 0}, {x = v})
    check_op(S.argmax{data = x, axis = 2, keepdims = true}, {x = v})
    check_op(S.argmin{data = x, axis = {0, 1}}, {x = v})
    check_op(S.norm{data = x, axis = 1}, {x = v})
    check_op(S.norm{data = x}, {x = v})
  end)

  op_it({'Pooling'}, 'Pooling: avg without the padding (count_include_pad = false)', function()
    check_op(S.Pooling{data = x, pool_type = 'avg', kernel = {3, 3}, stride = {2, 2}, pad = {1, 1},
      count_include_pad = false}, {x = mx.random.uniform(-1, 1, {2, 3, 7, 6})})
  end)

  op_it({'Dropout'}, "Dropout mode 'always': the same mask at inference", function()
    local exe = S.Dropout{data = x, p = 0.5, mode = 'always'}:bind{ctx = gpu, args = {x = mx.nd.ones({1000}, gpu)}}
    exe:forward{is_train = false}
    local zeros = 0
    for _, v in ipairs(flat(exe.outputs[1])) do
      assert.is_true(v == 0 or v == 2)
      if v == 0 then zeros = zeros + 1 end
    end
    assert.is_true(zeros > 350 and zeros < 650)
  end)

  op_it({'Pooling'}, 'Pooling: max, avg, sum with stride, pad, full convention, global, 1-D', function()
    local v = mx.random.uniform(-1, 1, {2, 3, 9, 8})
    for _, type in ipairs{'max', 'avg', 'sum'} do
      check_op(S.Pooling{data = x, pool_type = type, kernel = {3, 3}, stride = {2, 2}, pad = {1, 1}}, {x = v})
      check_op(S.Pooling{data = x, pool_type = type, kernel = {2, 3}, stride = {2, 2},
                         pooling_convention = 'full'}, {x = v})
      check_op(S.Pooling{data = x, pool_type = type, global_pool = true, kernel = {1, 1}}, {x = v})
      check_op(S.Pooling{data = x, pool_type = type, kernel = {3}, stride = {2}},
        {x = mx.random.uniform(-1, 1, {2, 3, 10})})
    end
  end)

  op_it({'BatchNorm'}, 'BatchNorm: training statistics, fix_gamma, channel axis, use_global_stats', function()
    for _, case in ipairs{{{}, {4, 3, 5, 2}}, {{fix_gamma = false}, {6, 4}},
                          {{fix_gamma = false, axis = -1}, {3, 2, 5}},
                          {{fix_gamma = false, use_global_stats = true}, {4, 3, 2}}} do
      local opts = {data = x, name = 'bn'}
      for k, v in pairs(case[1]) do opts[k] = v end
      local s = S.BatchNorm(opts)
      local arg_shapes = s:infer_shape{x = case[2]}
      local inputs = {}
      for i, n in ipairs(s:list_arguments()) do inputs[n] = mx.random.uniform(0.5, 1.5, arg_shapes[i]) end
      check_op(s, inputs, {tol = 1e-4, floor = true})
    end
  end)

  op_it({'LeakyReLU'}, 'LeakyReLU: leaky, elu, prelu (gamma gradient), rrelu (same slopes for one seed)', function()
    local v = mx.random.uniform(-2, 2, {4, 3, 5})
    for _, act in ipairs{'leaky', 'elu', 'rrelu'} do
      check_op(S.LeakyReLU{data = x, act_type = act, slope = 0.3}, {x = v})
    end
    check_op(S.LeakyReLU{data = x, act_type = 'prelu', name = 'pr'}, {x = v, pr_gamma = mx.random.uniform(0, 0.5, {3})})
  end)

  op_it({'Embedding'}, 'Embedding: rows by id (clipped), the weight gradient adding repeated ids', function()
    check_op(S.Embedding{data = x, name = 'emb', input_dim = 7, output_dim = 5},
      {x = mx.nd.array({{0, 3, 3}, {6, 1, 3}, {9, -2, 0}}), emb_weight = mx.random.uniform(-1, 1, {7, 5})})
  end)

  op_it({'SwapAxis'}, 'SwapAxis of every pair of axes', function()
    local v = mx.random.uniform(-1, 1, {2, 3, 4, 5})
    for d1 = 0, 3 do
      for d2 = 0, 3 do check_op(S.SwapAxis{data = x, dim1 = d1, dim2 = d2}, {x = v}) end
    end
  end)

  op_it({'ElementWiseSum'}, 'ElementWiseSum of three inputs, and of one input twice', function()
    local y, z = S.Variable('y'), S.Variable('z')
    local shape = {4, 6}
    check_op(S.ElementWiseSum{x, y, z, num_args = 3}, {x = mx.random.uniform(-1, 1, shape),
      y = mx.random.uniform(-1, 1, shape), z = mx.random.uniform(-1, 1, shape)})
    check_op(S.ElementWiseSum{x, x, num_args = 2}, {x = mx.random.uniform(-1, 1, shape)})
  end)

  -- (floor: errors measured against the results' mean size, as FullyConnected's: a GEMM result
  -- that cancels to near 0 keeps only the absolute error of its terms; seen failing without it)
  op_it({'dot', 'one_hot'}, 'dot with each transpose and 1-D sides (cuBLAS); one_hot with its values', function()
    local y = S.Variable('y')
    local m, k, n = 7, 13, 5
    for _, t in ipairs{{false, false}, {true, false}, {false, true}, {true, true}} do
      check_op(S.dot{lhs = x, rhs = y, transpose_a = t[1], transpose_b = t[2]},
        {x = mx.random.uniform(-1, 1, t[1] and {k, m} or {m, k}),
         y = mx.random.uniform(-1, 1, t[2] and {n, k} or {k, n})},
        {tol = GEMM, floor = true})
    end
    local v, w = mx.random.uniform(-1, 1, {k}), mx.random.uniform(-1, 1, {k, n})
    check_op(S.dot{lhs = x, rhs = y}, {x = v, y = w}, {tol = GEMM, floor = true})
    check_op(S.dot{lhs = x, rhs = y, transpose_a = true}, {x = w, y = v}, {tol = GEMM, floor = true})
    check_op(S.dot{lhs = x, rhs = y}, {x = v, y = mx.random.uniform(-1, 1, {k})}, {tol = GEMM, floor = true})
    check_op(S.one_hot{indices = x, depth = 6, on_value = 0.9, off_value = 0.01},
      {x = mx.nd.array({{0, 5, 2}, {3, 3, 1}})})
  end)

  op_it({'take'}, 'take of rows and of elements, repeated ids (the gradient scatter-adds, a GEMM)', function()
    local y = S.Variable('y')
    check_op(S.take{a = x, indices = y},
      {x = mx.random.uniform(-1, 1, {9, 4, 3}), y = mx.nd.array({{8, 0, 8}, {3, 8, 1}})}, {tol = GEMM, floor = true})
    check_op(S.take{a = x, indices = y}, {x = mx.random.uniform(-1, 1, {6}), y = mx.nd.array({5, 5, 0, 2})},
      {tol = GEMM, floor = true})
  end)

  gpu_it('every registered operator is covered here', function()
    local missing = {}
    for name in pairs(S._ops) do
      if not tested[name] then missing[#missing + 1] = name end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)
end)

---- training ----

describe('training on the GPU #gpu', function()
  local function mlp(act_type)
    local data = S.Variable('data')
    local fc1 = S.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
    local act1 = S.Activation{data = fc1, name = 'relu1', act_type = act_type or 'relu'}
    local fc2 = S.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
    local act2 = S.Activation{data = fc2, name = 'relu2', act_type = act_type or 'relu'}
    local fc3 = S.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
    return S.SoftmaxOutput{data = fc3, name = 'softmax'}
  end

  gpu_it('FeedForward{ctx = mx.gpu(0)} learns MNIST as the CPU does', function()
    local mnist = mx.test_utils.get_mnist()
    local X, Y = mnist.train_data:slice(1, 20000), mnist.train_label:slice(1, 20000)
    local Xt, Yt = mnist.test_data:slice(1, 2000), mnist.test_label:slice(1, 2000)
    local acc = {}
    for _, ctx in ipairs{cpu, gpu} do
      mx.random.seed(1234)
      local model = mx.model.FeedForward{ctx = ctx, symbol = mlp(), num_epoch = 2, learning_rate = 0.1,
                                         momentum = 0.9, wd = 1e-5}
      mx.log.config{file = os.tmpname()}
      model:fit{X = mx.io.NDArrayIter{data = X, label = Y, batch_size = 100}}
      mx.log.config{file = false}
      acc[#acc + 1] = model:score(mx.io.NDArrayIter{data = Xt, label = Yt, batch_size = 100})
    end
    assert.is_true(acc[1] > 0.9, 'CPU accuracy ' .. acc[1])
    assert.is_true(acc[2] > 0.9, 'GPU accuracy ' .. acc[2])
    assert.is_true(math.abs(acc[1] - acc[2]) < 0.01, string.format('CPU %.4f, GPU %.4f', acc[1], acc[2]))
  end)

  gpu_it('simple_bind{ctx = mx.gpu(0)}: a raw training loop matches the CPU step by step', function()
    -- tanh, not relu: the two devices' GEMMs round differently (the CPU's plan may pick another
    -- library in each process), and a pre-activation near 0 that crosses it on one device only
    -- moves a relu network's weights by a whole step (seen: 1.6e-3 relative after 10 steps)
    local net = mlp('tanh')
    local exes, params = {}, {}
    mx.random.seed(5)
    for _, n in ipairs(net:list_arguments()) do
      if n:match('weight') or n:match('bias') then params[n] = false end
    end
    local init = {}
    for i, ctx in ipairs{cpu, gpu} do
      local exe = net:simple_bind{ctx = ctx, data = {100, 784}}
      for n in pairs(params) do
        init[n] = init[n] or mx.random.uniform(-0.07, 0.07, exe.arg_dict[n]:shape())
        exe.arg_dict[n]:set(i == 1 and init[n] or init[n]:copyto(gpu))
      end
      exes[i] = exe
    end
    local mnist = mx.test_utils.get_mnist()
    for step = 0, 9 do
      local xb = mnist.train_data:slice(step * 100 + 1, step * 100 + 100):reshape{100, 784}
      local yb = mnist.train_label:slice(step * 100 + 1, step * 100 + 100)
      for i, exe in ipairs(exes) do
        exe.arg_dict.data:set(i == 1 and xb or xb:copyto(gpu))
        exe.arg_dict.softmax_label:set(i == 1 and yb or yb:copyto(gpu))
        exe:forward{is_train = true}
        exe:backward()
        for n in pairs(params) do
          local w, g = exe.arg_dict[n], exe.grad_dict[n]
          w:sub_(g * 0.01)
        end
      end
    end
    for n in pairs(params) do
      assert_close(exes[2].arg_dict[n], exes[1].arg_dict[n], GEMM, mean_abs(exes[1].arg_dict[n]), n)
    end
    assert_close(exes[2].outputs[1], exes[1].outputs[1], GEMM, 0.01, 'probabilities')
  end)
end)

---- CUDA graphs ----

describe('CUDA graphs #gpu', function()
  local function mlp_exe()
    local data = S.Variable('data')
    local fc1 = S.FullyConnected{data = data, name = 'fc1', num_hidden = 32}
    local act = S.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
    local fc2 = S.FullyConnected{data = act, name = 'fc2', num_hidden = 10}
    local net = S.SoftmaxOutput{data = fc2, name = 'softmax'}
    return net:simple_bind{ctx = gpu, data = {50, 784}}, net:list_arguments()
  end

  gpu_it('a recorded training step (forward, backward, updates) replays as the step itself', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local mnist = mx.test_utils.get_mnist()
    local runs = {}
    for r = 1, 2 do
      local exe, names = mlp_exe()
      mx.random.seed(3)
      for _, n in ipairs(names) do
        if n ~= 'data' and n ~= 'softmax_label' then
          exe.arg_dict[n]:set(mx.random.uniform(-0.07, 0.07, exe.arg_dict[n]:shape()))
        end
      end
      local updater = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9,
                                                                rescale_grad = 1 / 50})
      local function compute()
        exe:forward{is_train = true}
        exe:backward()
        for k, n in ipairs(names) do
          if n ~= 'data' and n ~= 'softmax_label' then updater(k, exe.grad_arrays[k], exe.arg_arrays[k]) end
        end
      end
      local graph
      for step = 0, 5 do
        exe.arg_dict.data:set(mnist.train_data:slice(step * 50 + 1, step * 50 + 50):reshape{50, 784}:copyto(gpu))
        exe.arg_dict.softmax_label:set(mnist.train_label:slice(step * 50 + 1, step * 50 + 50):copyto(gpu))
        if graph then graph:launch() else compute() end
        if r == 2 and step == 0 then graph = mx.core.cuda_graph(gpu, compute) end -- states exist now
      end
      runs[r] = exe
    end
    for _, n in ipairs{'fc1_weight', 'fc1_bias', 'fc2_weight', 'fc2_bias'} do
      assert_close(runs[2].arg_dict[n], runs[1].arg_dict[n]:copyto(cpu), EW, nil, n)
    end
  end)

  gpu_it('refuses to record allocations, host copies and waits, and the device goes on', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local ok, err = pcall(mx.core.cuda_graph, gpu, function() return mx.nd.zeros({3}, gpu) end)
    assert.is_false(ok)
    assert.matches('allocat', err) -- "allocated while recording", or cudaMalloc refused during the capture
    ok, err = pcall(mx.core.cuda_graph, gpu, function() mx.nd.waitall() end)
    assert.is_false(ok)
    assert.matches('while a CUDA graph is being recorded', err)
    local a = mx.nd.ones({4}, gpu)
    ok, err = pcall(mx.core.cuda_graph, gpu, function() a:set(mx.nd.ones({4})) end)
    assert.is_false(ok)
    assert.matches('while a CUDA graph is being recorded', err)
    ok, err = pcall(mx.core.cuda_graph, gpu, function() mx.random.uniform(0, 1, a) end)
    assert.is_false(ok)
    assert.matches('random numbers cannot be recorded in a CUDA graph', err)
    ok, err = pcall(mx.core.cuda_graph, gpu, function() error('mine') end)
    assert.is_false(ok)
    assert.matches('mine', err)
    assert_close(mx.nd.ones({3}, gpu) + 1, mx.nd.ones({3}) + 1, 0, nil, 'after refused recordings')
  end)

  -- issue 22: the recorded update kernels read their hyper-parameters when they run, so a
  -- replay sees the learning rate of its own step. Each compared with the same update in Lua
  -- (doubles), step by step, with a new gradient before each launch.
  local function grad_at(step, n) -- a gradient that changes from step to step
    local t = {}
    for i = 1, n do t[i] = math.sin(0.7 * step + 1.3 * i) end
    return t
  end
  local function replay(opt, w0, steps)
    local n = #w0
    local w, g = mx.nd.array(w0):copyto(gpu), mx.nd.zeros({n}, gpu)
    local updater = mx.optimizer.get_updater(opt)
    g:set(mx.nd.array(grad_at(1, n)))
    updater(1, g, w) -- step 1 runs: the optimizer's states exist, nothing is allocated below
    local graph = mx.core.cuda_graph(gpu, function() updater(1, g, w) end)
    for step = 2, steps do
      g:set(mx.nd.array(grad_at(step, n)))
      graph:launch()
    end
    return w
  end

  gpu_it('replays of an SGD step follow an lr_scheduler, as the same steps in Lua (issue 22)', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local sched = setmetatable({}, {__call = function(_, num_update) return 0.5 / (1 + num_update) end})
    local w0 = {0.5, -1, 2, 0.25, -0.75}
    local steps, mom, wd, rescale = 20, 0.9, 0.1, 0.5
    local got = replay(mx.optimizer.SGD{learning_rate = 0.5, lr_scheduler = sched, momentum = mom, wd = wd,
                                        rescale_grad = rescale}, w0, steps)
    local w, m = {}, {}
    for i = 1, #w0 do w[i], m[i] = w0[i], 0 end
    for step = 1, steps do
      local lr, grad = 0.5 / step, grad_at(step, #w0) -- the scheduler sees num_update = step - 1
      for i = 1, #w do
        m[i] = mom * m[i] - lr * (rescale * grad[i] + wd * w[i])
        w[i] = w[i] + m[i]
      end
    end
    assert_close(got, mx.nd.array(w), 1e-4, 1e-3, 'SGD weights after 20 steps, 19 of them replays')
  end)

  gpu_it("replays of an Adam step advance its bias correction, as the same steps in Lua (issue 22)", function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local w0 = {1, -2, 0.5, 3}
    local steps, lr, b1, b2, eps = 12, 0.05, 0.9, 0.999, 1e-8
    local got = replay(mx.optimizer.Adam{learning_rate = lr, beta1 = b1, beta2 = b2, epsilon = eps}, w0, steps)
    local w, m, v = {}, {}, {}
    for i = 1, #w0 do w[i], m[i], v[i] = w0[i], 0, 0 end
    for t = 1, steps do
      local grad, lr_t = grad_at(t, #w0), lr * math.sqrt(1 - b2 ^ t) / (1 - b1 ^ t)
      for i = 1, #w do
        m[i] = b1 * m[i] + (1 - b1) * grad[i]
        v[i] = b2 * v[i] + (1 - b2) * grad[i] ^ 2
        w[i] = w[i] - lr_t * m[i] / (math.sqrt(v[i]) + eps)
      end
    end
    assert_close(got, mx.nd.array(w), 1e-4, 1e-3, 'Adam weights after 12 steps, 11 of them replays')
  end)

  gpu_it('the fused SGD of update_all follows the lr_scheduler through replays too (issue 22)', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local sched = setmetatable({}, {__call = function(_, num_update) return 1 / (2 + num_update) end})
    local ws = {mx.nd.array({1, 2}):copyto(gpu), mx.nd.array({-1, 0.5, 4}):copyto(gpu)}
    local gs = {mx.nd.ones({2}, gpu), mx.nd.full({3}, -2, gpu)}
    local updater = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 1, lr_scheduler = sched})
    updater:update_all(gs, ws)
    local graph = mx.core.cuda_graph(gpu, function() updater:update_all(gs, ws) end)
    for _ = 2, 10 do graph:launch() end
    -- w -= lr * g, lr = 1 / (2 + num_update): at step s, num_update is s - 1 for the first
    -- weight and s for the second (the first one's update counted already)
    local s1, s2 = 0, 0
    for step = 1, 10 do s1, s2 = s1 + 1 / (1 + step), s2 + 1 / (2 + step) end
    assert_close(ws[1], mx.nd.array({1 - s1, 2 - s1}), 1e-5, 1e-3, 'first weight')
    assert_close(ws[2], mx.nd.array({-1 + 2 * s2, 0.5 + 2 * s2, 4 + 2 * s2}), 1e-5, 1e-3, 'second weight')
  end)

  gpu_it('arrays used by a graph and then dropped by Lua stay its own through collectgarbage (issue 22)', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local n = 3000
    local out = mx.nd.zeros({n}, gpu)
    local inc, acc = mx.nd.ones({n}, gpu), mx.nd.zeros({n}, gpu)
    local graph = mx.core.cuda_graph(gpu, function()
      acc:add_(inc) -- acc and inc: dropped below
      out:add_(acc)
    end)
    inc, acc = nil, nil
    collectgarbage()
    collectgarbage()
    -- with the GPU pool on, these take the blocks inc and acc had, were they freed
    local others = {mx.nd.full({n}, 7, gpu), mx.nd.full({n}, 7, gpu)}
    for _ = 1, 3 do graph:launch() end
    assert_close(out, mx.nd.full({n}, 6), 0, nil, 'out after three launches: 1 + 2 + 3')
    for k = 1, 2 do assert_close(others[k], mx.nd.full({n}, 7), 0, nil, 'an array made after the collection') end
    graph:close() -- lets the arrays go: a later collection frees them
    collectgarbage()
    assert_close(out + 0, mx.nd.full({n}, 6), 0, nil, 'out after the graph was closed')
  end)

  gpu_it('a rerun that makes other updates than its recording did fails the launch, clearly (issue 22)', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local w, grad = mx.nd.ones({3}, gpu), mx.nd.ones({3}, gpu)
    local opt, runs = mx.optimizer.SGD{learning_rate = 0.5}, 0
    local graph = mx.core.cuda_graph(gpu, function()
      mx.core.cuda_graph_rerun(function()
        runs = runs + 1
        if runs == 1 then opt:update(1, w, grad) end -- recorded once, never again
      end)
    end)
    graph:launch() -- the first launch is the recorded step itself
    assert.has_error(function() graph:launch() end,
      'CudaGraph:launch: the rerun made 0 optimizer updates on gpu(0) where the recording made 1: ' ..
      'the graph replays the recorded ones only')
    assert_close(w, mx.nd.full({3}, 0.5), 0, nil, 'the weight after one update of 0.5')
    local ran = 0
    mx.core.cuda_graph_rerun(function() ran = ran + 1 end) -- no recording: runs once
    assert.are.equal(1, ran)
  end)

  gpu_it('CudaGraph: launch replays in place, close, printing', function()
    if on_cpu then pending(NEEDS_REAL_GPU) end
    local a = mx.nd.zeros({5}, gpu)
    local g = mx.core.cuda_graph(gpu, function() a:add_(1) end)
    assert_close(a, mx.nd.zeros({5}), 0, nil, 'recorded, not run')
    for _ = 1, 3 do g:launch() end
    assert_close(a, mx.nd.full({5}, 3), 0, nil, 'three launches')
    assert.matches('CudaGraph%(gpu%(0%)%)', tostring(g))
    g:close()
    g:close()
    assert.has_error(function() g:launch() end, 'CudaGraph:launch: the graph is closed')
  end)
end)

describe('Lua operators on the GPU #gpu', function()
  -- Swish (y = x * sigmoid(beta * x)) as a LuaOp; the contexts its arrays are lent on are noted
  local contexts = {}
  local Swish = mx.operator.LuaOp:extend('GpuSpecSwish')
  function Swish:init(beta)
    mx.operator.LuaOp.init(self)
    self.beta = beta
  end
  function Swish:forward(in_data, out_data)
    local x = in_data[1]
    contexts[#contexts + 1] = tostring(x:context()) .. ' ' .. tostring(out_data[1]:context())
    out_data[1]:set(x * mx.nd.sigmoid(x * self.beta))
  end
  function Swish:backward(out_grad, in_data, out_data, in_grad)
    contexts[#contexts + 1] = tostring(out_grad[1]:context()) .. ' ' .. tostring(in_grad[1]:context())
    local s = mx.nd.sigmoid(in_data[1] * self.beta)
    in_grad[1]:set(out_grad[1] * (s + out_data[1] * (1 - s) * self.beta))
  end

  gpu_it('Swish on gpu(0) gives the CPU\'s outputs and gradients, its arrays staying on the device', function()
    local x = mx.random.uniform(-3, 3, { 16, 32 }, cpu)
    local head = mx.random.uniform(-1, 1, { 16, 32 }, cpu)
    local results = {}
    for _, ctx in ipairs { cpu, gpu } do
      contexts = {}
      local fc = mx.sym.FullyConnected { data = mx.sym.Variable('data'), num_hidden = 32, name = 'fc' }
      local net = Swish(1.5) { data = fc, name = 'act' }
      local exe = net:simple_bind { ctx = ctx, data = { 16, 32 }, grad_req = { data = 'write' } }
      exe.arg_dict.data:set(x:copyto(ctx))
      exe.arg_dict.fc_weight:set(mx.nd.ones { 32, 32 }:copyto(ctx) * 0.05)
      exe.arg_dict.fc_bias:set(0.1)
      exe:forward { is_train = true }
      exe:backward { head:copyto(ctx) }
      local where = tostring(ctx)
      assert.same({ where .. ' ' .. where, where .. ' ' .. where }, contexts)
      results[#results + 1] = { exe.outputs[1]:copyto(cpu), exe.grad_dict.data:copyto(cpu) }
    end
    mx.test_utils.assert_almost_equal(results[2][1], results[1][1], 1e-5, 1e-6, { 'gpu', 'cpu' })
    mx.test_utils.assert_almost_equal(results[2][2], results[1][2], 1e-4, 1e-5, { 'gpu', 'cpu' })
  end)
end)

describe('NaN and extreme ids on the GPU as on the CPU #gpu (issue 19)', function()
  gpu_it('relu and max pooling keep NaN, pooling routes to the first NaN, Embedding clips 1e30 and NaN', function()
    local nan = 0 / 0
    local function run(ctx)
      local d = mx.sym.Variable('data')
      local net = mx.sym.Group{mx.sym.Activation{data = d, act_type = 'relu'},
                               mx.sym.Pooling{data = d, pool_type = 'max', kernel = {1, 2}, stride = {1, 2}},
                               mx.sym.Embedding{data = mx.sym.Reshape{data = d, shape = {6}}, input_dim = 3,
                                                output_dim = 1, name = 'emb'}}
      local e = net:simple_bind{ctx = ctx, data = {1, 1, 1, 6}, grad_req = {data = 'write'}}
      e.arg_dict.emb_weight:set(mx.nd.array{{10}, {20}, {30}})
      e:forward{is_train = true, data = mx.nd.array{{{{1, nan, nan, 5, 1e30, -1e30}}}}}
      e:backward{mx.nd.zeros{1, 1, 1, 6}, mx.nd.array{{{{10, 20, 30}}}}, mx.nd.zeros{6, 1}}
      local out = {}
      for i = 1, 3 do out[i] = e.outputs[i]:reshape{-1}:totable() end
      out[4] = e.grad_dict.data:reshape{-1}:totable()
      e:close()
      return out
    end
    local function text(t) -- NaN compares unequal: compare the printed values
      local s = {}
      for i, row in ipairs(t) do
        local r = {}
        for j, v in ipairs(row) do r[j] = v ~= v and 'nan' or ('%.9g'):format(v) end
        s[i] = table.concat(r, ',')
      end
      return table.concat(s, ' | ')
    end
    local c = run(cpu)
    assert.are.equal('1,nan,nan,5,1.00000002e+30,0 | nan,nan,1.00000002e+30 | 20,10,10,30,30,10 | 0,10,20,0,30,0',
                     text(c))
    assert.are.equal(text(c), text(run(gpu)))
  end)
end)
