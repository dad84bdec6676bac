-- draw_digit.lua: a web page where a person writes a digit and the trained MNIST
-- model reads it. `mxlua scripts/draw_digit.lua [--prefix build/mnist] [--epoch 10] [--port 8080]
-- [--host 127.0.0.1] [--data DIR] [--quiet]`; trains the tutorial's network first when no checkpoint exists.
local mx = rawget(_G, 'mx') or require 'mx'
-- The demo's own modules: scripts/draw_digit/*.lua, and its C module built into build/draw_digit/.
package.path = mx.test_utils.checkout_path('scripts/?.lua') .. ';' .. package.path
package.cpath = mx.test_utils.checkout_path((os.getenv('MXLUA_BUILD_DIR') or 'build') .. '/?.so') .. ';'
  .. package.cpath
local server = require 'draw_digit.server'
local handler = require 'draw_digit.handler'

local DEFAULT_PREFIX = mx.test_utils.checkout_path('build/mnist')
local USAGE = [[
usage: mxlua scripts/draw_digit.lua [options]
  --prefix P   checkpoint prefix (P-symbol.json, P-%04d.params)   [build/mnist in this script's checkout:
               PREFIX] (the one scripts/train_mnist.lua saves; `mnist` for the tutorial's
               model:save('mnist', 10) in the current folder)
  --data DIR   the MNIST folder, to train on and to score     [$MXLUA_DATA, data/mnist, the checkout's]
  --epoch N    checkpoint epoch to load, or epochs to train        [10]
  --port N     port to listen on (0: any free port)                [8080]
  --host H     address to listen on                                [127.0.0.1]
  --quiet      no line per request
  --help       this text
The page is at http://HOST:PORT/; POST /api/classify, GET /api/model. Ctrl-C stops.]]
USAGE = USAGE:gsub('PREFIX', (DEFAULT_PREFIX:gsub('%%', '%%%%')))

local function parse_args(argv)
  local opts = {prefix = DEFAULT_PREFIX, data = false, epoch = 10, port = 8080, host = '127.0.0.1', quiet = false}
  local numeric = {epoch = true, port = true}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local key, value = a:match('^%-%-([%w_]+)=(.*)$')
    if not key then key = a:match('^%-%-([%w_]+)$') end
    if key == 'help' then
      print(USAGE)
      os.exit(0)
    elseif key == 'quiet' then
      opts.quiet = true
    elseif key and opts[key] ~= nil then
      if not value then
        i = i + 1
        value = argv[i]
      end
      if value == nil then error('draw_digit: --' .. key .. ' needs a value', 0) end
      if numeric[key] then
        value = math.tointeger(tonumber(value))
        if not value or value < 0 then error('draw_digit: --' .. key .. ' needs a whole number', 0) end
      end
      opts[key] = value
    else
      error('draw_digit: unknown argument ' .. a .. '\n' .. USAGE, 0)
    end
    i = i + 1
  end
  if opts.epoch < 1 then error('draw_digit: --epoch must be at least 1', 0) end
  return opts
end

local function exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() end
  return f ~= nil
end

-- The tutorial's network: 784 -> 128 -> 64 -> 10.
local function tutorial_mlp()
  local data = mx.symbol.Variable('data')
  local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2 = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3 = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
end

-- Trains the tutorial's network for `epochs` epochs on MNIST and saves it.
local function train(opts, mnist)
  print(string.format('No checkpoint %s-%04d.params: training the tutorial network for %d epoch%s first.',
    opts.prefix, opts.epoch, opts.epoch, opts.epoch == 1 and '' or 's'))
  mx.random.seed(1234)
  local batch_size = 100
  local train_iter = mx.io.NDArrayIter{data = mnist.train_data, label = mnist.train_label,
                                       batch_size = batch_size, shuffle = true}
  local test_iter = mx.io.NDArrayIter{data = mnist.test_data, label = mnist.test_label, batch_size = batch_size}
  local model = mx.model.FeedForward{ctx = mx.cpu(), symbol = tutorial_mlp(), num_epoch = opts.epoch,
                                     learning_rate = 0.1, momentum = 0.9, wd = 0.00001}
  local nbatch = math.ceil(mnist.train_data:shape()[1] / batch_size)
  model:fit{X = train_iter, eval_data = test_iter,
            batch_end_callback = mx.callback.ProgressBar(nbatch, {batch_size = batch_size})}
  local dir = opts.prefix:match('^(.*)/[^/]*$')
  if dir and dir ~= '' then mx.io.mkdir_p(dir) end
  model:save(opts.prefix, opts.epoch)
  print(string.format('Saved %s-symbol.json and %s-%04d.params', opts.prefix, opts.prefix, opts.epoch))
  return model
end

-- What GET /api/model answers: the checkpoint, its layers and parameter count, test accuracy.
local function describe(opts, model, mnist)
  local info = {name = opts.prefix, epoch = opts.epoch, input = {1, 784}, classes = 10, context = 'cpu(0)',
                preprocessing = 'crop to the ink, fit 20x20 (area averaging, aspect kept), ' ..
                  'centre of mass at the centre of 28x28', layers = {}, parameters = 0}
  for _, name in ipairs(model.symbol:list_arguments()) do
    local p = model.arg_params[name]
    if p then
      local s = p:shape()
      info.parameters = info.parameters + p:size()
      if name:match('_weight$') and #s == 2 then
        info.layers[#info.layers + 1] = string.format('%s (%d→%d)', name:gsub('_weight$', ''), s[2], s[1])
      end
    end
  end
  if mnist then
    local test_iter = mx.io.NDArrayIter{data = mnist.test_data, label = mnist.test_label, batch_size = 100}
    info.test_accuracy = model:score(test_iter)
  end
  return info
end

local function main(argv)
  local opts = parse_args(argv)
  local found, missing = mx.test_utils.mnist_files(opts.data or nil)
  local mnist = found and mx.test_utils.get_mnist(opts.data or nil)
  local model
  if exists(string.format('%s-%04d.params', opts.prefix, opts.epoch)) then
    model = mx.model.FeedForward.load(opts.prefix, opts.epoch, {ctx = mx.cpu()})
    print(string.format('Loaded %s-%04d.params', opts.prefix, opts.epoch))
  else
    if not mnist then
      error(('draw_digit: no checkpoint %s-%04d.params (give another with --prefix P) and no MNIST data to '
             .. 'train on: %s'):format(opts.prefix, opts.epoch, missing), 0)
    end
    model = train(opts, mnist)
  end
  local info = describe(opts, model, mnist)
  if info.test_accuracy then print(string.format('Test accuracy: %.2f %%', info.test_accuracy * 100)) end

  local function classify(img)
    return model:predict(img:reshape{1, 784}):totable()[1]
  end
  local log = not opts.quiet and function(line) print(os.date('%H:%M:%S ') .. line) end or nil
  local srv = server.new{host = opts.host, port = opts.port, log = log,
                         handler = handler.new{classify = classify, model_info = info}}
  print(string.format('Serving the draw-a-digit page on %s (Ctrl-C stops)', srv:url()))
  local reason = srv:serve()
  print(string.format('Stopped (%s).', reason))
end

io.stdout:setvbuf('line')
main(arg or {})
