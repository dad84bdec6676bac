-- GPU kernels a reading of the .cu code expects to be slow, each beside a bandwidth-bound
-- reference of the same bytes (an element-wise copy), for the first GPU that is lent:
--   sum of one long row (reduce_rows_kernel: one block for the whole row);
--   FullyConnected's bias gradient (a column sum over the batch, serial per column);
--   softmax over 10,000 classes (one thread per row).
-- Usage: mxlua scripts/bench/gpu_kernels.lua [SCALE]; prints one JSON line of
-- milliseconds per call ("skipped" when no CUDA device is there). SCALE (default 1)
-- shrinks the shapes, e.g. 0.001 to try it on the emulated GPU (make gpu-emu).
local mx = rawget(_G, 'mx') or require 'mx'

local cli = require 'mx.cli'

local parser = cli.parser('bench/gpu_kernels',
                          'Milliseconds per call of GPU kernels expected to be slow, beside a copy.')
parser:argument('scale', 'shrinks the shapes (0.001 for the emulated GPU)', '1', cli.number('SCALE'))
      :argname('SCALE')
local scale = cli.parse(parser).scale
local gpu = mx.gpu(0)
local ok, why = mx.context.check(gpu)
if not ok then
  print(string.format('{"runner": "gpu_kernels", "skipped": "no CUDA device (%s)"}', tostring(why):gsub('"', "'")))
  return
end

local function n(x) return math.max(1, math.floor(x * scale)) end

-- milliseconds per call of f, after a warm-up, over enough calls for 0.2 s
local function time_ms(f)
  f()
  mx.nd.waitall()
  local calls, t0 = 0, mx.core.now()
  repeat
    f()
    calls = calls + 1
    mx.nd.waitall()
  until mx.core.now() - t0 > 0.2
  return (mx.core.now() - t0) * 1000 / calls
end

local results = {}
local function bench(name, f, ref)
  results[#results + 1] = string.format('"%s_ms": %.4f, "%s_copy_ms": %.4f', name, time_ms(f), name, time_ms(ref))
end

-- one long row: 1 x 16M summed, against copying it
local row = mx.random.uniform(-1, 1, {1, n(16 * 1024 * 1024)}, gpu)
bench('sum_long_row', function() return mx.nd.sum(row, 2) end, function() return row:copy() end)

-- FullyConnected backward at batch 1024, 4096 -> 4096: the bias gradient is a column sum
local S = mx.symbol
local batch, hidden = n(1024), n(4096)
local fc = S.FullyConnected{data = S.Variable('data'), num_hidden = hidden, name = 'fc'}
local exe = fc:simple_bind{ctx = gpu, data = {batch, hidden}}
local head = mx.random.uniform(-1, 1, {batch, hidden}, gpu)
exe:forward{is_train = true}
bench('fc_backward', function() exe:backward{head} end, function() return head:copy() end)

-- softmax over 10,000 classes at batch 256
local logits = mx.random.uniform(-5, 5, {n(256), 10000}, gpu)
local sm = S.softmax{data = S.Variable('data')}:simple_bind{ctx = gpu, data = logits:shape(), grad_req = 'null'}
sm.arg_dict.data:set(logits)
bench('softmax_10000', function() sm:forward{is_train = false} end, function() return logits:copy() end)

print('{"runner": "gpu_kernels", "scale": ' .. scale .. ', ' .. table.concat(results, ', ') .. '}')
