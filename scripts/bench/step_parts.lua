-- step_parts.lua: where one training step of the tutorial's MLP (batch 100) spends its CPU time,
-- phase by phase (input, forward, backward, SGD), with FeedForward's fast paths: batches fed in
-- place, one fused SGD call. CPU time (os.clock), so it holds up on a busy machine with one BLAS
-- thread. Usage: OPENBLAS_NUM_THREADS=1 mxlua scripts/bench/step_parts.lua [steps]
local mx = rawget(_G, 'mx') or require 'mx'

local B = 100
local data = mx.symbol.Variable('data')
local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2 = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
local fc3 = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp = mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
local exe = mlp:simple_bind{ctx = mx.cpu(), data = {B, 784}, softmax_label = {B}}
for _, n in ipairs{'fc1_weight', 'fc2_weight', 'fc3_weight'} do
  exe.arg_dict[n]:set(mx.nd.ones(exe.arg_dict[n]:shape()) * 0.01)
end
local nbatch = 600
local X, Y = mx.nd.ones{nbatch * B, 784}, mx.nd.zeros{nbatch * B}
local xs, ys = {}, {}
for j = 0, nbatch - 1 do xs[j], ys[j] = X:slice(j * B + 1, (j + 1) * B), Y:slice(j * B + 1, (j + 1) * B) end
local names = mlp:list_arguments()
local data_pos, label_pos, params, grads = nil, nil, {}, {}
for k, n in ipairs(names) do
  if n == 'data' then
    data_pos = k
  elseif n == 'softmax_label' then
    label_pos = k
  else
    params[#params + 1], grads[#grads + 1] = exe.arg_arrays[k], exe.grad_arrays[k]
  end
end
local updater = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9, wd = 0.00001,
                                                          rescale_grad = 1 / B})
local cli = require 'mx.cli'
local parser = cli.parser('bench/step_parts', "Where one training step of the MLP spends its CPU time, phase by phase.")
parser:argument('steps', 'steps timed', '1000', cli.integer('STEPS')):argname('STEPS')
local steps = cli.parse(parser).steps
local t = {input = 0, forward = 0, backward = 0, sgd = 0}
local clock = os.clock
for i = 0, steps - 1 do
  local j = i % nbatch
  local t0 = clock()
  exe:_feed(data_pos, xs[j])
  exe:_feed(label_pos, ys[j])
  local t1 = clock()
  exe:forward(true)
  local t2 = clock()
  exe:backward()
  local t3 = clock()
  updater:update_all(grads, params)
  local t4 = clock()
  t.input, t.forward = t.input + t1 - t0, t.forward + t2 - t1
  t.backward, t.sgd = t.backward + t3 - t2, t.sgd + t4 - t3
end
local total = t.input + t.forward + t.backward + t.sgd
for _, k in ipairs{'input', 'forward', 'backward', 'sgd'} do
  io.write(('%s %.1f us  '):format(k, t[k] / steps * 1e6))
end
print(('total %.1f us per step (CPU time), %.0f samples/s, OPENBLAS_NUM_THREADS=%s'):format(
  total / steps * 1e6, B * steps / total, os.getenv('OPENBLAS_NUM_THREADS') or 'unset'))
