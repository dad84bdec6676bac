-- gpu_parity_spec: GPU defects found by reading the .cu code, each a
-- test that the emulated GPU (make test-gpu-emu) or a real one runs: tanh at its edges,
-- NaN in max/min/argmax/argmin, softmax over wide rows, arrays of two GPUs in one
-- operator, and an allocation while recording a CUDA graph. (The graphs' changing learning
-- rate and collected arrays are in gpu_spec.lua's 'CUDA graphs' block.)
local mx = require 'mx'

local cpu, gpu = mx.cpu(0), mx.gpu(0)
local gpu_it = require('gpu_it')()

local function flat(x)
  local h = x:copyto(cpu)
  return h:reshape{h:size()}:totable()
end

-- got (GPU) against want (CPU) element-wise: |g - w| <= tol * (|w| + 1e-3), NaN only against NaN
local function close(got, want, tol, what)
  local g, w = flat(got), flat(want)
  assert.are.equal(#w, #g, what)
  for i = 1, #w do
    local ok = math.abs(g[i] - w[i]) <= tol * (math.abs(w[i]) + 1e-3)
    if w[i] ~= w[i] or g[i] ~= g[i] then ok = (w[i] ~= w[i]) == (g[i] ~= g[i]) end
    if not ok then error(('%s: element %d is %.9g on the GPU and %.9g on the CPU'):format(what, i, g[i], w[i]), 2) end
  end
end

-- forward output and input gradient of symbol s (one input 'x') on ctx
local function fwd_bwd(s, x, head, ctx)
  local exe = s:simple_bind{ctx = ctx, x = x:shape()}
  exe.arg_dict.x:set(x:copyto(ctx))
  exe:forward{is_train = true}
  exe:backward{head:copyto(ctx)}
  return exe.outputs[1], exe.grad_dict.x
end

local S = mx.symbol

describe('GPU parity with the CPU #gpu', function()
  gpu_it('tanh forward and gradient at +-0, +-1e-4, +-3, +-9, +-20', function()
    local x = mx.nd.array({0, -0.0, 1e-4, -1e-4, 3, -3, 9, -9, 20, -20, 0.5, -0.99})
    local head = mx.nd.array({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.3, -2})
    local s = S.Activation{data = S.Variable('x'), act_type = 'tanh'}
    local yc, gc = fwd_bwd(s, x, head, cpu)
    local yg, gg = fwd_bwd(s, x, head, gpu)
    close(yg, yc, 1e-6, 'tanh')
    close(gg, gc, 1e-5, 'tanh gradient')
    close(mx.nd.tanh(x:copyto(gpu)), mx.nd.tanh(x), 1e-6, 'mx.nd.tanh')
  end)

  gpu_it('max, min, argmax and argmin agree with NaN in the row', function()
    local nan = 0 / 0
    local x = mx.nd.array({{1, nan, 3}, {nan, 2, 1}, {4, 5, nan}, {1, 2, 3}})
    for _, f in ipairs{'max', 'min', 'argmax', 'argmin'} do
      for _, axis in ipairs{2, 1} do
        close(mx.nd[f](x:copyto(gpu), axis), mx.nd[f](x, axis), 0, ('%s over axis %d'):format(f, axis))
      end
    end
    close(mx.nd.max(x:copyto(gpu)), mx.nd.max(x), 0, 'max of all')
    -- and both as MXNet and numpy: NaN propagates in max/min, arg* give the first NaN
    local m = mx.nd.max(x:copyto(gpu), 2):copyto(cpu):totable()
    assert.is_true(m[1] ~= m[1] and m[2] ~= m[2] and m[3] ~= m[3] and m[4] == 3)
    assert.are.same({1, 0, 2, 2}, mx.nd.argmax(x:copyto(gpu), 2):copyto(cpu):totable())
    assert.are.same({1, 0, 2, 0}, mx.nd.argmin(x:copyto(gpu), 2):copyto(cpu):totable())
  end)

  gpu_it('softmax and log_softmax with a spread of +-80, rows of 1 and of 10,000, and their gradients', function()
    for _, shape in ipairs{{4, 7}, {3, 1}, {2, 10000}} do
      local x = mx.random.uniform(-80, 80, shape)
      local head = mx.random.uniform(-1, 1, shape)
      for _, op in ipairs{'softmax', 'log_softmax'} do
        local s = S[op]{data = S.Variable('x')}
        local yc, gc = fwd_bwd(s, x, head, cpu)
        local yg, gg = fwd_bwd(s, x, head, gpu)
        local what = ('%s of shape (%d, %d)'):format(op, shape[1], shape[2])
        close(yg, yc, 1e-5, what)
        close(gg, gc, 1e-4, what .. ', gradient')
      end
    end
  end)

  gpu_it('an operator given arrays of gpu(0) and gpu(1) says so (no pointer of the wrong device)', function()
    if mx.context.num_gpus() < 2 then return end
    local a, b = mx.nd.ones({3}, mx.gpu(0)), mx.nd.ones({3}, mx.gpu(1))
    local ok, err = pcall(function() return a + b end)
    assert.is_false(ok)
    assert.matches('gpu%(1%)', tostring(err))
    assert.matches('gpu%(0%)', tostring(err))
  end)

  gpu_it('an allocation while recording a CUDA graph fails at once and leaves the pool as it was', function()
    collectgarbage()
    mx.core.alloc_trim() -- no block from earlier specs may serve the recording's allocation
    assert(mx.nd.zeros({1000}, gpu)) -- collected: a block for the pool (unless MXLUA_GPU_POOL=0)
    collectgarbage()
    local before = mx.core.alloc_stats().bytes_pooled
    local ok, err = pcall(mx.core.cuda_graph, gpu, function() return mx.nd.zeros({3000}, gpu) end)
    assert.is_false(ok)
    assert.matches('while a CUDA graph is being recorded', tostring(err))
    assert.are.equal(before, mx.core.alloc_stats().bytes_pooled)
    assert.are.same({1, 1}, (mx.nd.ones({2}, gpu)):copyto(cpu):totable())
  end)
end)
