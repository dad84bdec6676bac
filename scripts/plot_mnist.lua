-- plot_mnist.lua: the tutorial's pictures. The network as Graphviz draws it (mlp.svg),
-- its summary table, the ten first digits (digits.png) and the first test digit (first.png).
-- `mxlua scripts/plot_mnist.lua --help` lists the flags (mx.cli).
local mx = rawget(_G, 'mx') or require 'mx'
local cli = require 'mx.cli'

local parser = cli.parser('plot_mnist', [[
The tutorial's pictures: the network as Graphviz draws it, its summary table, the ten first
digits and the first test digit.]])
parser:option('--out', 'the folder written to', '.'):argname('DIR')
parser:option('--format', "the network's picture format", 'svg'):argname('svg|png|pdf'):choices{'svg', 'png', 'pdf'}
cli.data(parser)
local opts = cli.parse(parser)
local out, format = opts.out, opts.format

-- Network definition
local data = mx.symbol.Variable('data')
local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
local mlp  = mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}

-- The network, as MXNet's plot_network draws it, then with the shapes on its edges
print('wrote ' .. mx.viz.plot_network(mlp):render(out .. '/mlp', format))
print('wrote ' .. mx.viz.plot_network(mlp, {shape = {data = {100, 784}}}):render(out .. '/mlp_shapes', format))
mx.viz.print_summary(mlp, {data = {100, 784}})

-- Variable naming
print('arguments: ' .. table.concat(mlp:list_arguments(), ', '))
print('outputs:   ' .. table.concat(mlp:list_outputs(), ', '))

-- Data loading: the same shuffled split as the tutorial's
local mnist = mx.test_utils.get_mnist(opts.data)
mx.random.seed(1234)
local X = mx.nd.concat{mnist.train_data, mnist.test_data}
local Y = mx.nd.concat{mnist.train_label, mnist.test_label}
local p = mx.nd.random_permutation(X:shape()[1])
X, Y = X:take(p), Y:take(p)

mx.viz.imshow_grid(X:slice(1, 10), {rows = 1, file = out .. '/digits.png'})
local labels = {}
for i, v in ipairs(Y:slice(1, 10):totable()) do labels[i] = string.format('%d', v) end
print('wrote ' .. out .. '/digits.png: the ten first digits, labelled ' .. table.concat(labels, ' '))

local X_test, Y_test = X:slice(60001, 70000), Y:slice(60001, 70000)
mx.viz.imshow_grid(X_test:slice(1, 1), {file = out .. '/first.png', scale = 4})
print(string.format('wrote %s/first.png: the first test digit, labelled %d', out, Y_test:slice(1, 1):asscalar()))
