-- custom_swish.lua: an activation written in Lua, Swish (y = x * sigmoid(beta * x)), as a
-- LuaOp class: gradient-checked, used twice in an MNIST MLP, saved and loaded back.
-- `mxlua scripts/custom_swish.lua --help` lists the flags (mx.cli).
local mx = rawget(_G, 'mx') or require 'mx'
local cli = require 'mx.cli'
-- luacheck: no unused args (the operator's methods keep MXNet's signatures)

local parser = cli.parser('custom_swish', [[
An activation written in Lua, Swish (y = x * sigmoid(beta * x)), as a LuaOp class:
gradient-checked, used twice in an MNIST MLP, saved and loaded back.]])
parser:option('--epochs', 'epochs', '1', cli.integer('--epochs')):argname('N')
parser:option('--limit', 'training images used', '60000', cli.integer('--limit')):argname('N')
parser:option('--beta', "Swish's beta", '1.0', cli.number('--beta')):argname('X')
cli.data(parser)
parser:flag('--compare', [[
time one Swish layer, (100, 128) forward + backward: the Lua op, the
same function built from symbols, and relu; no training]])
local opts = cli.parse(parser)

-- The operator. Its constructor's argument (beta) is saved with the symbol.
local Swish = mx.operator.LuaOp:extend('Swish')
function Swish:init(beta)
  mx.operator.LuaOp.init(self)
  self.beta = beta
end
-- forward keeps s = sigmoid(beta * x) for backward, as the symbol-built Swish reuses its
-- sigmoid's output (an array the op made itself: lent arrays expire with the call). The
-- results are computed in place in the output arrays (set, mul_, add_): no temporaries.
function Swish:forward(in_data, out_data)
  local x, y = in_data[1], out_data[1]
  self.s = mx.nd.sigmoid(x * self.beta)
  y:set(x)
  y:mul_(self.s)
end
function Swish:backward(out_grad, in_data, out_data, in_grad)
  -- dx = dy * (s + beta * y * (1 - s))
  local s, dx = self.s or mx.nd.sigmoid(in_data[1] * self.beta), in_grad[1]
  dx:set(s)
  dx:mul_(-self.beta)
  dx:add_(self.beta) -- beta (1 - s)
  dx:mul_(out_data[1])
  dx:add_(s)
  dx:mul_(out_grad[1])
end

local beta = opts.beta + 0.0

-- The same function from symbols, to compare with.
local function symbol_swish(x, name)
  return x * mx.sym.Activation{data = x * beta, act_type = 'sigmoid', name = name .. '_sig'}
end

if opts.compare then
  -- one layer alone, (100, 128): forward + backward, median of 7 rounds of 2000
  local function per_call(make)
    local exe = make(mx.sym.Variable('data')):simple_bind{data = {100, 128}, grad_req = {data = 'write'}}
    exe.arg_dict.data:set(mx.random.uniform(-3, 3, {100, 128}))
    local head = {mx.nd.ones{100, 128}}
    local times = {}
    for r = 1, 7 do
      local t0 = mx.core.now()
      for _ = 1, 2000 do
        exe:forward{is_train = true}
        exe:backward(head)
      end
      times[r] = (mx.core.now() - t0) / 2000
    end
    table.sort(times)
    return times[4] * 1e6
  end
  local lua_us = per_call(function(x) return Swish(beta){data = x, name = 'act'} end)
  local sym_us = per_call(function(x) return symbol_swish(x, 'act') end)
  local relu_us = per_call(function(x) return mx.sym.Activation{data = x, act_type = 'relu'} end)
  print(string.format('One Swish layer, (100, 128), forward + backward: Lua op %.1f us, built from symbols %.1f us '
                      .. '(Lua / symbols = %.2fx), relu %.1f us', lua_us, sym_us, lua_us / sym_us, relu_us))
  return
end

-- The gradient check users reach for.
mx.test_utils.check_numeric_gradient(Swish(beta){data = mx.sym.Variable('data')},
                                     {data = mx.random.uniform(-2, 2, {4, 5})})
print('Swish passes check_numeric_gradient')

local epochs, limit = opts.epochs, opts.limit
local data = mx.sym.Variable('data')
local fc1 = mx.sym.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = Swish(beta){data = fc1, name = 'act1'}
local fc2 = mx.sym.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = Swish(beta){data = fc2, name = 'act2'}
local fc3 = mx.sym.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp = mx.sym.SoftmaxOutput{data = fc3, name = 'softmax'}

local mnist = mx.test_utils.get_mnist(opts.data)
local n_test = math.min(10000, limit)
local train_iter = mx.io.NDArrayIter{data = mnist.train_data:slice(1, limit), label = mnist.train_label:slice(1, limit),
                                    batch_size = 100, shuffle = true}
local test_iter = mx.io.NDArrayIter{data = mnist.test_data:slice(1, n_test), label = mnist.test_label:slice(1, n_test),
                                   batch_size = 100}
mx.random.seed(42)
local model = mx.model.FeedForward{symbol = mlp, num_epoch = epochs, learning_rate = 0.1, momentum = 0.9}
model:fit{X = train_iter, eval_data = test_iter}
local prefix = os.tmpname()
model:save(prefix, epochs)
local loaded = mx.model.FeedForward.load(prefix, epochs) -- a fresh process would require this file's class first
print(string.format('Test accuracy: %.4f; loaded back from %s: %.4f', model:score(test_iter), prefix,
                    loaded:score(test_iter)))
