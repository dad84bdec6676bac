-- train_mnist.lua: the tutorial's training (Data loading, Training, Evaluation) as a
-- script: the 128-64-10 MLP (or MXNet's LeNet, --network lenet) on MNIST with FeedForward,
-- MXNet's log lines, the test accuracy, and a checkpoint. `--help` lists the flags (mx.cli).
local mx = rawget(_G, 'mx') or require 'mx'

local cli = require 'mx.cli'

local DEFAULT_SAVE = mx.test_utils.checkout_path('build/mnist')
local parser = cli.parser('train_mnist', [[
The tutorial's training on MNIST: the 128-64-10 MLP or LeNet with FeedForward, MXNet's log
lines, the test accuracy, and a checkpoint.]])
parser:option('--network', [[
the 128-64-10 MLP (default) or LeNet (conv 5x5x20, tanh, max-pool 2/2,
conv 5x5x50, tanh, max-pool 2/2, fc 500, tanh, fc 10; Xavier initial weights)]], 'mlp')
      :argname('mlp|lenet'):show_default(false)
cli.ctx(parser, nil, 'gpu when one is there, else cpu')
parser:option('--epochs', 'epochs', '10', cli.integer('--epochs')):argname('N')
parser:option('--batch-size', 'batch size', '100', cli.integer('--batch-size')):argname('N')
parser:option('--lr', 'learning rate', '0.1', cli.number('--lr')):argname('X')
parser:option('--lr-factor', 'multiply the learning rate by X after each epoch (default 1 for mlp, 0.8 for lenet)',
              nil, cli.number('--lr-factor')):argname('X')
parser:option('--momentum', 'SGD momentum', '0.9', cli.number('--momentum')):argname('X')
parser:option('--pad', [[
(augmentation) train on random crops of the images padded with N zeros,
shifts of up to N pixels, as MXNet's pad + rand_crop (default 2 for lenet,
0 for mlp and with --float-data)]], nil, cli.integer('--pad')):argname('N')
parser:option('--wd', 'weight decay', '1e-5', cli.number('--wd')):argname('X')
parser:option('--seed', 'seed of the data permutation and the initial weights', '1234', cli.integer('--seed'))
      :argname('N')
parser:option('--save', ([[
checkpoint prefix (default build/mnist in this script's checkout, here
%s: %s-symbol.json, %s-0010.params, %s-0010.states)]]):format(DEFAULT_SAVE, DEFAULT_SAVE, DEFAULT_SAVE,
              DEFAULT_SAVE), DEFAULT_SAVE):argname('PREFIX'):show_default(false)
cli.data(parser)
parser:flag('--progress', 'draw a progress bar on the terminal as well')
parser:flag('--float-data', "hold MNIST as get_mnist's float32 arrays (the tutorial's way) instead of bytes")
parser:flag('--report-memory', 'print the peak resident memory (VmHWM) at the end')
parser:option('--kvstore', [[
local|device|nccl|mpi: with mpi, run under `mpirun -np N`; each process
trains on its 1/N of the training set with batch-size examples per step,
gradients summed over the processes; rank 0 logs, evaluates and saves]]):argname('NAME')
local opts = cli.parse(parser)
local function fail(msg) cli.fail(parser, msg) end

if opts.epochs < 1 or opts.batch_size < 1 then fail('--epochs and --batch-size must be positive') end
if opts.network ~= 'mlp' and opts.network ~= 'lenet' then
  fail('--network must be mlp or lenet (got ' .. opts.network .. ')')
end
local lr_factor = opts.lr_factor or (opts.network == 'lenet' and 0.8 or 1)
if not (lr_factor > 0 and lr_factor <= 1) then fail('--lr-factor must be in (0, 1] (got ' .. lr_factor .. ')') end
local pad = opts.pad or ((opts.network == 'lenet' and not opts.float_data) and 2 or 0)
if pad < 0 or pad > 13 then fail('--pad must be in 0..13 (got ' .. pad .. ')') end
if pad > 0 and opts.network ~= 'lenet' then fail('--pad needs --network lenet (images, not rows)') end
if pad > 0 and opts.float_data then fail('--pad crops the byte images: not with --float-data') end

-- With --kvstore mpi: one process per rank; only rank 0 logs, evaluates and saves
local kv, rank, num_workers = nil, 0, 1
if opts.kvstore == 'mpi' or opts.kvstore == 'dist_sync' then
  local ok, k = pcall(mx.kvstore.create, opts.kvstore)
  if not ok then fail(tostring(k)) end
  kv, rank, num_workers = k, k.rank, k.num_workers
  if rank ~= 0 then mx.log.set_level('warning') end
elseif opts.kvstore ~= nil then
  kv = opts.kvstore
end

local use_gpu = opts.ctx == 'gpu' or (opts.ctx == nil and mx.core.gpu_count() > 0)
local ctx = use_gpu and mx.gpu(0) or mx.cpu()

-- Network definition
local data = mx.symbol.Variable('data')
local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp  = mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}

-- LeNet (MXNet's example/image-classification/symbol_lenet.py), on 1x28x28 images
local function lenet()
  local conv1 = mx.symbol.Convolution{data = data, kernel = {5, 5}, num_filter = 20}
  local tanh1 = mx.symbol.Activation{data = conv1, act_type = 'tanh'}
  local pool1 = mx.symbol.Pooling{data = tanh1, pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
  local conv2 = mx.symbol.Convolution{data = pool1, kernel = {5, 5}, num_filter = 50}
  local tanh2 = mx.symbol.Activation{data = conv2, act_type = 'tanh'}
  local pool2 = mx.symbol.Pooling{data = tanh2, pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
  local flat  = mx.symbol.Flatten{data = pool2}
  local fc_1  = mx.symbol.FullyConnected{data = flat, num_hidden = 500}
  local tanh3 = mx.symbol.Activation{data = fc_1, act_type = 'tanh'}
  local fc_2  = mx.symbol.FullyConnected{data = tanh3, num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc_2, name = 'softmax'}
end
local net = opts.network == 'lenet' and lenet() or mlp

-- Data loading: the 70,000 images permuted, then 60,000 to train and 10,000 to test.
-- The images stay bytes (55 MB, not 219 MB of float32), permuted in place; each batch
-- is converted to float32 (x/255, as get_mnist) by mx.io.ByteIter. --float-data: as the tutorial,
-- get_mnist's float arrays (same order, same results).
local ByteIter = require 'mx.byteiter'
local mnist_paths, missing = mx.test_utils.mnist_files(opts.data)
if not mnist_paths then
  io.stderr:write('train_mnist: ', missing, '\n')
  os.exit(2)
end
local files = not opts.float_data and {mnist_paths.train_data, mnist_paths.test_data, mnist_paths.train_label,
                                      mnist_paths.test_label}
local batch_size = opts.batch_size
local train_iter, test_iter, X_test, Y_test
mx.random.seed(opts.seed)
if files then
  local images = mx.core.bytes_load_idx{files[1], files[2]}
  local Y = mx.nd.concat{mx.core.idx_load(files[3], 1, 1), mx.core.idx_load(files[4], 1, 1)}
  local p = mx.nd.random_permutation(images:rows())
  local perm = {}
  for k, v in ipairs(p:totable()) do perm[k] = math.tointeger(v) end
  images:permute_rows(perm)
  mx.core.nd.permute_rows(Y, perm)
  local shape = opts.network == 'lenet' and {1, 28, 28} or {784}
  local Y_train
  Y_train, Y_test = Y:slice(1, 60000), Y:slice(60001, 70000)
  train_iter = ByteIter{bytes = images, first = 1, count = 60000, label = Y_train, batch_size = batch_size,
                        scale = 1 / 255, shape = shape, num_parts = num_workers, part_index = rank,
                        pad = pad, rand_crop = pad > 0}
  test_iter = ByteIter{bytes = images, first = 60001, count = 10000, label = Y_test, batch_size = batch_size,
                       scale = 1 / 255, shape = shape}
  X_test = mx.nd.empty(opts.network == 'lenet' and {1, 1, 28, 28} or {1, 784})
  images:fill(X_test, 60001, 1 / 255)
else
  -- the tutorial's way: held once (the parts dropped after concat, the rows permuted in place)
  local mnist = mx.test_utils.get_mnist(opts.data)
  local X = mx.nd.concat{mnist.train_data, mnist.test_data}
  local Y = mx.nd.concat{mnist.train_label, mnist.test_label}
  mnist = nil -- luacheck: ignore
  collectgarbage()
  local p = mx.nd.random_permutation(X:shape()[1])
  if mx.core.nd.permute_rows and X:context().device_type == 'cpu' then
    local perm = {}
    for k, v in ipairs(p:totable()) do perm[k] = math.tointeger(v) end
    mx.core.nd.permute_rows(X, perm)
    mx.core.nd.permute_rows(Y, perm)
  else
    X, Y = X:take(p), Y:take(p)
  end
  local X_train, Y_train
  X_train, X_test = X:slice(1, 60000), X:slice(60001, 70000)
  Y_train, Y_test = Y:slice(1, 60000), Y:slice(60001, 70000)
  if opts.network == 'lenet' then
    X_train, X_test = X_train:reshape{60000, 1, 28, 28}, X_test:reshape{10000, 1, 28, 28}
  end
  train_iter = mx.io.NDArrayIter{data = X_train, label = Y_train, batch_size = batch_size,
                                 num_parts = num_workers, part_index = rank}
  test_iter  = mx.io.NDArrayIter{data = X_test,  label = Y_test,  batch_size = batch_size}
end

-- Training
local model = mx.model.FeedForward{
  ctx = ctx,
  symbol = net,
  initializer = opts.network == 'lenet' and mx.init.Xavier{factor_type = 'in', magnitude = 2.34} or nil,
  num_epoch = opts.epochs,
  learning_rate = opts.lr,
  momentum = opts.momentum,
  wd = opts.wd,
  lr_scheduler = lr_factor < 1
    and mx.lr_scheduler.FactorScheduler(math.ceil(train_iter.num_data / batch_size), lr_factor) or nil,
}
local callbacks = {mx.callback.Speedometer(batch_size, 200)}
if opts.progress then
  callbacks[2] = mx.callback.ProgressBar(train_iter.num_data // batch_size +
                                         (train_iter.num_data % batch_size > 0 and 1 or 0),
                                         {batch_size = batch_size})
end
model:fit{
  X = train_iter,
  eval_data = rank == 0 and test_iter or nil,
  batch_end_callback = callbacks,
  kvstore = kv,
}
if rank ~= 0 then return end

-- Evaluation
print('Result:', math.tointeger(model:predict(X_test:slice(1, 1)):argmax(2):asscalar()), '(label ' ..
      math.tointeger(Y_test:slice(1, 1):asscalar()) .. ')')
print(('Accuracy: %.2f %%'):format(model:score(test_iter) * 100))
local dir = opts.save:match('^(.*)/[^/]*$')
if dir and dir ~= '' then mx.io.mkdir_p(dir) end
model:save(opts.save, opts.epochs)
if opts.report_memory then
  local f = io.open('/proc/self/status')
  local hwm = f and f:read('a'):match('VmHWM:%s*(%d+) kB')
  if f then f:close() end
  print(('Peak memory: %s MiB'):format(hwm and ('%.1f'):format(tonumber(hwm) / 1024) or '?'))
end
