-- gemm_plan.lua: what `make bench` prints above its tables: the CPU (/proc/cpuinfo), the GEMM libraries
-- built in (OpenBLAS's core, BLIS's sub-configuration, libxsmm's target) and the GEMM plan this
-- process made for the shapes of the benchmark's networks (the tutorial's MLP at batch 100, one
-- training step and one inference pass; LeNet's with --lenet), each shape's choice and the
-- microseconds per call each candidate measured. Usage: mxlua scripts/bench/gemm_plan.lua [--lenet]
local mx = rawget(_G, 'mx') or require 'mx'
local cli = require 'mx.cli'

local parser = cli.parser('bench/gemm_plan',
                          "The CPU, the GEMM libraries built in and the GEMM plan for the MLP's shapes.")
parser:flag('--lenet', "LeNet's shapes as well")
local opts = cli.parse(parser)

-- The CPU as lscpu names it, read from /proc/cpuinfo (no shell: the first processor's fields).
local function cpu()
  local f = io.open('/proc/cpuinfo')
  local text = f and f:read('a') or ''
  if f then f:close() end
  local first = text:match('^(.-)\n\n') or text
  local function field(name) return first:match('\n' .. name .. '%s*:%s*([^\n]*)') or '?' end
  local count = 0
  for _ in text:gmatch('%f[^\n%z]processor%s*:') do count = count + 1 end
  local flags = ' ' .. field('flags') .. ' '
  local has = {}
  for _, f_ in ipairs{'avx2', 'fma', 'avx512f'} do
    has[#has + 1] = f_ .. (flags:find(' ' .. f_ .. ' ', 1, true) and ' yes' or ' no')
  end
  return string.format('%s, cpu family %s, model %s, %d CPUs; %s', field('model name'), field('cpu family'),
                       field('model'), count, table.concat(has, ', '))
end

local function step(net, shapes)
  local exe = net:simple_bind(shapes)
  for name, a in pairs(exe.arg_dict) do
    if name:match('weight$') then a:set(mx.nd.ones(a:shape()) * 0.01) end
  end
  exe:forward{is_train = true}
  exe:backward()
  exe:forward{is_train = false}
end

local function mlp()
  local x = mx.sym.Variable('data')
  x = mx.sym.Activation{data = mx.sym.FullyConnected{data = x, name = 'fc1', num_hidden = 128}, act_type = 'relu'}
  x = mx.sym.Activation{data = mx.sym.FullyConnected{data = x, name = 'fc2', num_hidden = 64}, act_type = 'relu'}
  return mx.sym.SoftmaxOutput{data = mx.sym.FullyConnected{data = x, name = 'fc3', num_hidden = 10}, name = 'softmax'}
end

local function lenet()
  local x = mx.sym.Variable('data')
  x = mx.sym.Convolution{data = x, kernel = {5, 5}, num_filter = 20}
  local function pool(y)
    return mx.sym.Pooling{data = mx.sym.Activation{data = y, act_type = 'tanh'}, pool_type = 'max', kernel = {2, 2},
                          stride = {2, 2}}
  end
  x = pool(x)
  x = pool(mx.sym.Convolution{data = x, kernel = {5, 5}, num_filter = 50})
  x = mx.sym.FullyConnected{data = mx.sym.Flatten{data = x}, num_hidden = 500}
  x = mx.sym.Activation{data = x, act_type = 'tanh'}
  return mx.sym.SoftmaxOutput{data = mx.sym.FullyConnected{data = x, num_hidden = 10}, name = 'softmax'}
end

step(mlp(), {data = {100, 784}, softmax_label = {100}})
if opts.lenet then step(lenet(), {data = {100, 1, 28, 28}, softmax_label = {100}}) end

local plan = mx.core.gemm_plan()
print('## GEMM plan (mx.core.gemm_plan(), MXLUA_GEMM_PLAN=' .. plan.mode .. ')')
print()
print('- CPU: ' .. cpu())
for _, name in ipairs{'openblas', 'blis', 'libxsmm'} do
  local l = plan.libraries[name]
  print(string.format('- %s: %s%s', name, l.built and l.detail or 'not built in',
                      l.generic and ' (its CPU detection fell back to generic kernels)' or ''))
end
print()
print('| m x n x k | op(A), op(B) | threads | chosen | openblas us | blis us | libxsmm us | why |')
print('|---|---|---|---|---|---|---|---|')
local function us(s, lib)
  local v = s.us[lib]
  return v and string.format('%.1f (%d thr)', v, s.lib_threads[lib]) or '-'
end
for _, s in ipairs(plan.shapes) do
  print(string.format('| %d x %d x %d | %s, %s | %d | %s | %s | %s | %s | %s |', s.m, s.n, s.k,
                      s.transpose_a and 'T' or 'N', s.transpose_b and 'T' or 'N', s.threads, s.library,
                      us(s, 'openblas'), us(s, 'blis'), us(s, 'libxsmm'), s.why))
end
