-- What the mxlua runners of the training benchmark share (mlp_mxlua.lua: the hand-written loop,
-- mlp_fit.lua: FeedForward:fit): the MLP, MNIST as rows, the initial weights, a wall clock.
local mx = rawget(_G, 'mx') or require 'mx'

local common = {BATCH = 100}
common.SHAPES = {
  {'fc1_weight', {128, 784}}, {'fc1_bias', {128}},
  {'fc2_weight', {64, 128}}, {'fc2_bias', {64}},
  {'fc3_weight', {10, 64}}, {'fc3_bias', {10}},
}

-- A wall clock: the engine's if it has one, else LuaSocket's.
common.now = (mx.core and mx.core.now) or (mx.time and mx.time.now)
if not common.now then
  local ok, socket = pcall(require, 'socket')
  assert(ok, 'mlp_common.lua: no wall clock (mx.core.now or LuaSocket)')
  common.now = socket.gettime
end

-- An initial parameter: a raw little-endian float32 file written by training.py.
function common.load_raw(dir, name, shape)
  local f = assert(io.open(dir .. '/' .. name .. '.f32', 'rb'))
  local bytes = f:read('a')
  f:close()
  local t, pos = {}, 1
  for i = 1, #bytes // 4 do
    t[i], pos = string.unpack('<f', bytes, pos)
  end
  return mx.nd.array(t):reshape(shape)
end

-- MNIST: images (n, 784) scaled to [0, 1], labels (n,) holding class ids 0-9.
function common.load_mnist(dir, prefix)
  local images = mx.core.idx_load(dir .. '/' .. prefix .. '-images-idx3-ubyte', 3, 1 / 255)
  local labels = mx.core.idx_load(dir .. '/' .. prefix .. '-labels-idx1-ubyte', 1, 1)
  return images:reshape{images:shape()[1], 784}, labels
end

-- This process's GEMM plan in one line (each runner measures its own): "mxk..: library/threads; ...".
function common.plan_summary()
  local parts = {}
  for _, e in ipairs(mx.core.gemm_plan().shapes) do
    parts[#parts + 1] = string.format('%dx%dx%d %s%s: %s/%d', e.m, e.n, e.k, e.transpose_a and 'T' or 'N',
                                      e.transpose_b and 'T' or 'N', e.library, e.lib_threads[e.library] or 1)
  end
  return table.concat(parts, '; ')
end

-- The tutorial's MLP 784-128-64-10.
function common.mlp()
  local data = mx.symbol.Variable('data')
  local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2 = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3 = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
end

return common
