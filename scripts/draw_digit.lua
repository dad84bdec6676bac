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
local cli = require 'mx.cli'
local lfs = require 'lfs'

local parser = cli.parser('draw_digit', [[
A web page where a person writes a digit and the trained MNIST model reads it; trains the
tutorial's network first when no checkpoint exists.]], [[
The page is at http://HOST:PORT/; POST /api/classify, GET /api/model. Ctrl-C stops.]])
parser:option('--prefix', "checkpoint prefix (P-symbol.json, P-%04d.params): by default the one "
  .. "scripts/train_mnist.lua saves in this script's checkout; `mnist` for the tutorial's "
  .. "model:save('mnist', 10)", DEFAULT_PREFIX):argname('P')
cli.data(parser)
parser:option('--epoch', 'checkpoint epoch to load, or epochs to train', '10', cli.integer('--epoch')):argname('N')
parser:option('--port', 'port to listen on (0: any free port)', '8080', cli.integer('--port')):argname('N')
parser:option('--host', 'address to listen on', '127.0.0.1'):argname('H')
parser:flag('--quiet', 'no line per request')

local function parse_args(argv)
  local opts = cli.parse(parser, argv)
  if opts.epoch < 1 then cli.fail(parser, '--epoch must be at least 1') end
  if opts.port < 0 or opts.port > 65535 then cli.fail(parser, '--port must be in 0..65535') end
  return opts
end

local function exists(path) return lfs.attributes(path, 'mode') == 'file' end

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
