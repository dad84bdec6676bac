-- soak.lua: memory over long runs. Trains the tutorial's 128-64-10 MLP on MNIST for N epochs,
-- printing the process's resident memory (RSS) and the engine's bytes in use after each epoch;
-- --repl K instead creates and drops arrays, symbols and executors K times, as a REPL session does.
-- `mxlua scripts/soak.lua --help` lists the flags (mx.cli).
local mx = rawget(_G, 'mx') or require 'mx'
local cli = require 'mx.cli'

local parser = cli.parser('soak', [[
Memory over long runs: trains the 128-64-10 MLP on MNIST, or (--repl) creates and drops
arrays, symbols and executors as a REPL session does.]], [[
Prints "epoch E rss_kb R engine_bytes B" (or "round K ...") lines,
then "rss_first R1 rss_last R2 growth_kb G".]])
parser:option('--epochs', 'epochs to train', '50', cli.integer('--epochs')):argname('N')
parser:option('--train', 'training images used, from the start of the set', '60000', cli.integer('--train'))
      :argname('N')
parser:option('--batch-size', 'batch size', '100', cli.integer('--batch-size')):argname('N')
parser:option('--repl', 'no training: K rounds of REPL-style create-and-drop (arrays, symbols, executors)', nil,
              cli.integer('--repl')):argname('K')
cli.data(parser)
local opts = cli.parse(parser)

-- The resident set size in kB (Linux /proc/self/status).
local function rss_kb()
  local f = io.open('/proc/self/status', 'r')
  if not f then return 0 end
  local s = f:read('a')
  f:close()
  return tonumber(s:match('VmRSS:%s*(%d+)')) or 0
end

local function engine_bytes()
  collectgarbage()
  collectgarbage()
  return mx.core.alloc_stats().bytes_in_use
end

local function mlp()
  local data = mx.symbol.Variable('data')
  local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2 = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3 = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
end

local samples = {}
local function record(label, k)
  local r, b = rss_kb(), engine_bytes()
  samples[#samples + 1] = r
  print(('%s %d rss_kb %d engine_bytes %d'):format(label, k, r, b))
  io.stdout:flush()
end

if opts.repl then
  -- what a user does at the prompt: arrays, arithmetic, printing, symbols, binds, forward/backward
  for round = 1, opts.repl do
    for _ = 1, 20 do
      local a = mx.nd.ones{100, 100} * 3
      local b = mx.random.uniform(0, 1, {100, 100})
      local c = mx.nd.dot(a, b):sum(1)
      local _ = tostring(c) .. tostring(a:slice(1, 2))
    end
    local net = mlp()
    local exe = net:simple_bind{ctx = mx.cpu(), data = {10, 784}}
    exe:forward{is_train = true}
    exe:backward()
    local _ = net:tojson()
    local ok = pcall(function() return mx.nd.ones{2} + mx.nd.ones{3} end) -- errors too
    assert(not ok)
    if round == 1 or round % math.max(1, opts.repl // 10) == 0 then record('round', round) end
  end
else
  local mnist = mx.test_utils.get_mnist(opts.data)
  local n = math.min(opts.train, 60000)
  local X, Y = mnist.train_data:slice(1, n), mnist.train_label:slice(1, n)
  local bs = opts.batch_size
  local model = mx.model.FeedForward{ctx = mx.cpu(), symbol = mlp(), num_epoch = opts.epochs,
                                     learning_rate = 0.1, momentum = 0.9, wd = 1e-5}
  model:fit{X = mx.io.NDArrayIter{data = X, label = Y, batch_size = bs},
            logger = {info = function() end, warning = function() end},
            epoch_end_callback = function(epoch) record('epoch', epoch + 1) end}
end
print(('rss_first %d rss_last %d growth_kb %d'):format(samples[1], samples[#samples], samples[#samples] - samples[1]))
