-- viz_spec: mx.viz pictures: plot_network (DOT text, MXNet's labels, palette and
-- edges; rendered by Graphviz), print_summary (layers, shapes, parameter counts)
-- and plot_history (PNG and SVG).
local mx = require 'mx'

local function tutorial_mlp()
  local data = mx.symbol.Variable('data')
  local fc1 = mx.symbol.FullyConnected { data = data, name = 'fc1', num_hidden = 128 }
  local act1 = mx.symbol.Activation { data = fc1, name = 'relu1', act_type = 'relu' }
  local fc2 = mx.symbol.FullyConnected { data = act1, name = 'fc2', num_hidden = 64 }
  local act2 = mx.symbol.Activation { data = fc2, name = 'relu2', act_type = 'relu' }
  local fc3 = mx.symbol.FullyConnected { data = act2, name = 'fc3', num_hidden = 10 }
  return mx.symbol.SoftmaxOutput { data = fc3, name = 'softmax' }
end

local function tmpfile(suffix)
  local name = os.tmpname()
  os.remove(name)
  return name .. suffix
end

local function read_all(file)
  local f = assert(io.open(file, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end

-- The attributes of a node statement `"name" [k="v" ...]` in DOT text.
local function node_attrs(src, name)
  local line = src:match('\n\t"' .. name:gsub('%p', '%%%0') .. '" (%b[])')
  if not line then return nil end
  local attrs = {}
  for k, v in line:gmatch('(%w+)="(.-)"') do attrs[k] = v end
  return attrs
end

local function edge_attrs(src, from, to)
  local line = src:match('\n\t"' .. from .. '" %-> "' .. to .. '" (%b[])')
  if not line then return nil end
  local attrs = {}
  for k, v in line:gmatch('(%w+)="(.-)"') do attrs[k] = v end
  return attrs
end

describe('mx.viz.plot_network', function()
  local mlp = tutorial_mlp()

  it('draws one node per operator with MXNet\'s label and colour', function()
    local src = mx.viz.plot_network(mlp):source()
    assert.matches('^digraph "plot" {', src)
    assert.same({ label = 'FullyConnected\\n128', fillcolor = '#fb8072' }, node_attrs(src, 'fc1'))
    assert.same({ label = 'FullyConnected\\n64', fillcolor = '#fb8072' }, node_attrs(src, 'fc2'))
    assert.same({ label = 'Activation\\nrelu', fillcolor = '#ffffb3' }, node_attrs(src, 'relu1'))
    assert.same({ label = 'SoftmaxOutput', fillcolor = '#fccde5' }, node_attrs(src, 'softmax'))
    assert.same({ label = 'data', fillcolor = '#8dd3c7', shape = 'oval' }, node_attrs(src, 'data'))
    assert.is_nil(node_attrs(src, 'fc1_weight'))
    assert.is_nil(node_attrs(src, 'fc1_bias'))
    -- MXNet's default node look
    assert.matches('node %[fixedsize="true" fontsize="12" height="0.8034" shape="box" style="filled" width="1.3"%]',
      src)
  end)

  it('draws edges from consumer to producer, pointing back', function()
    local src = mx.viz.plot_network(mlp):source()
    for _, e in ipairs { { 'fc1', 'data' }, { 'relu1', 'fc1' }, { 'fc2', 'relu1' }, { 'softmax', 'fc3' } } do
      assert.same({ dir = 'back', arrowtail = 'open' }, edge_attrs(src, e[1], e[2]))
    end
    assert.is_nil(edge_attrs(src, 'fc1', 'fc1_weight'))
    local n = 0
    for _ in src:gmatch(' %-> ') do n = n + 1 end
    assert.equal(7, n) -- data->fc1->relu1->fc2->relu2->fc3->softmax, and softmax_label
  end)

  it('labels edges with the output shapes, batch axis dropped', function()
    local src = mx.viz.plot_network(mlp, { shape = { data = { 100, 784 } } }):source()
    assert.equal('784', edge_attrs(src, 'fc1', 'data').label)
    assert.equal('128', edge_attrs(src, 'relu1', 'fc1').label)
    assert.equal('128', edge_attrs(src, 'fc2', 'relu1').label) -- relu1's output
    assert.equal('64', edge_attrs(src, 'relu2', 'fc2').label)
    assert.equal('10', edge_attrs(src, 'softmax', 'fc3').label)
  end)

  it('shows the weights when hide_weights is false, and takes node attributes and a title', function()
    local src = mx.viz.plot_network(mlp, { hide_weights = false, title = 'mlp', node_attrs = { fixedsize = 'false' } })
      :source()
    assert.matches('^digraph "mlp"', src)
    assert.is_not_nil(node_attrs(src, 'fc1_weight'))
    assert.is_not_nil(edge_attrs(src, 'fc1', 'fc1_weight'))
    assert.matches('fixedsize="false"', src)
  end)

  it('labels convolution and pooling as MXNet does, with their shapes', function()
    local data = mx.symbol.Variable('data')
    local c1 = mx.symbol.Convolution { data = data, kernel = { 5, 5 }, num_filter = 20, name = 'conv1' }
    local p1 = mx.symbol.Pooling { data = c1, pool_type = 'max', kernel = { 2, 2 }, stride = { 2, 2 }, name = 'pool1' }
    local f = mx.symbol.Flatten { data = p1, name = 'flat' }
    local src = mx.viz.plot_network(f, { shape = { data = { 8, 1, 28, 28 } } }):source()
    assert.same({ label = 'Convolution\\n5x5/1, 20', fillcolor = '#fb8072' }, node_attrs(src, 'conv1'))
    assert.same({ label = 'Pooling\\nmax, 2x2/2x2', fillcolor = '#80b1d3' }, node_attrs(src, 'pool1'))
    assert.same({ label = 'Flatten', fillcolor = '#fdb462' }, node_attrs(src, 'flat'))
    assert.equal('20x24x24', edge_attrs(src, 'pool1', 'conv1').label)
    local total = mx.viz.print_summary(f, { data = { 8, 1, 28, 28 } }, { print = function() end })
    assert.equal(20 * 1 * 5 * 5 + 20, total)
  end)

  it('labels a custom operator with its op_type, a LuaOp with its class', function()
    local Square = mx.operator.LuaOp:extend('Square')
    function Square.forward(_, in_data, out_data) out_data[1]:set(in_data[1] * in_data[1]) end
    local sq = Square() { data = mx.symbol.Variable('data'), name = 'sq' }
    assert.same({ label = 'Square', fillcolor = '#fccde5' }, node_attrs(mx.viz.plot_network(sq):source(), 'sq'))
  end)

  it('renders SVG and PNG through Graphviz', function()
    local base = tmpfile('')
    local svg = mx.viz.plot_network(mlp):render(base, 'svg')
    assert.equal(base .. '.svg', svg)
    local text = read_all(svg)
    assert.matches('<svg', text)
    assert.matches('FullyConnected', text)
    assert.matches('#fb8072', text)
    local png = mx.viz.plot_network(mlp):render(base .. '.png', 'png')
    assert.equal(base .. '.png', png)
    local gray = mx.viz.read_png(png)
    assert.is_true(gray:shape()[1] > 300) -- six boxes stacked
    os.remove(svg)
    os.remove(png)
  end)

  it('gives clear errors', function()
    assert.has_error(function() mx.viz.plot_network(42) end, 'mx.viz.plot_network: expected a Symbol (got number)')
    assert.has_error(function() mx.viz.plot_network(mlp):render(tmpfile(''), 'svg;rm') end,
      "mx.viz.plot_network:render: bad format 'svg;rm'")
    local ok, err = pcall(function() mx.viz.plot_network(mlp):render('/nonexistent/dir/x', 'svg') end)
    assert.is_false(ok)
    assert.matches("Graphviz's dot failed writing '/nonexistent/dir/x.svg'", err)
  end)
end)

describe('mx.viz.print_summary', function()
  it('lists the layers, output shapes and parameter counts', function()
    local lines = {}
    local total = mx.viz.print_summary(tutorial_mlp(), { data = { 100, 784 } },
      { print = function(l) lines[#lines + 1] = l end })
    local fc1 = 784 * 128 + 128
    local fc2 = 128 * 64 + 64
    local fc3 = 64 * 10 + 10
    assert.equal(fc1 + fc2 + fc3, total)
    local text = table.concat(lines, '\n')
    local function row(layer)
      for _, l in ipairs(lines) do
        if l:sub(1, #layer) == layer then
          local fields = {}
          for f in l:gmatch('%S+') do fields[#fields + 1] = f end
          return fields
        end
      end
    end
    assert.same({ 'data(null)', '784', '0' }, row('data(null)'))
    assert.same({ 'fc1(FullyConnected)', '128', tostring(fc1), 'data' }, row('fc1(FullyConnected)'))
    assert.same({ 'relu1(Activation)', '128', '0', 'fc1' }, row('relu1(Activation)'))
    assert.same({ 'fc3(FullyConnected)', '10', tostring(fc3), 'relu2' }, row('fc3(FullyConnected)'))
    assert.same({ 'softmax(SoftmaxOutput)', '10', '0', 'fc3' }, row('softmax(SoftmaxOutput)'))
    assert.matches('Total params: ' .. (fc1 + fc2 + fc3), text)
    assert.equal(120, #lines[1])
  end)

  it('needs the input shapes', function()
    assert.has_error(function() mx.viz.print_summary(tutorial_mlp()) end,
      'mx.viz.print_summary: expected the input shapes, e.g. {data = {100, 784}}')
  end)
end)

describe('mx.viz.plot_history', function()
  local history = {
    ['Train-accuracy'] = { 0.743333, 0.957733, 0.970017 },
    ['Validation-accuracy'] = { 0.9508, 0.9594, 0.963 },
  }

  it('draws a PNG: white background, the series in colour', function()
    local file = tmpfile('.png')
    assert.equal(file, mx.viz.plot_history(history, file))
    local gray = mx.viz.read_png(file)
    assert.same({ 320, 720 }, gray:shape())
    assert.near(1, gray:max():asscalar(), 1e-6)
    assert.near(0, gray:min():asscalar(), 1e-6) -- black axes and text
    os.remove(file)
  end)

  it('adds a loss panel when the history has losses', function()
    local file = tmpfile('.png')
    local h = { ['Train-accuracy'] = { 0.5, 0.9 }, ['Train-cross-entropy'] = { 1.2, 0.4 } }
    mx.viz.plot_history(h, file)
    assert.same({ 640, 720 }, mx.viz.read_png(file):shape())
    os.remove(file)
  end)

  it('writes SVG with one line per segment and the legend', function()
    local file = tmpfile('.svg')
    mx.viz.plot_history(history, file)
    local text = read_all(file)
    assert.matches('^<svg xmlns="http://www.w3.org/2000/svg" width="720" height="320"', text)
    assert.matches('>Train%-accuracy</text>', text)
    assert.matches('>Validation%-accuracy</text>', text)
    local blue = 0
    for _ in text:gmatch('stroke="#1f77b4" stroke%-width="2"') do blue = blue + 1 end
    assert.equal(2 + 1, blue) -- two segments and the legend mark
    os.remove(file)
  end)

  it('accepts per-epoch records', function()
    local file = tmpfile('.svg')
    mx.viz.plot_history({ { epoch = 0, train = { accuracy = 0.7 }, eval = { accuracy = 0.9 } },
                          { epoch = 1, train = { accuracy = 0.95 }, eval = { accuracy = 0.96 } } }, file)
    local text = read_all(file)
    assert.matches('>Train%-accuracy</text>', text)
    assert.matches('>Validation%-accuracy</text>', text)
    os.remove(file)
  end)

  it('draws what a FeedForward model recorded while training', function()
    -- two separable classes, a tiny network, three epochs
    local x, y = {}, {}
    for i = 1, 40 do
      local c = i % 2
      x[i] = { c * 2 - 1 + (i % 7) / 20, (i % 5) / 10 }
      y[i] = c
    end
    local data = mx.symbol.Variable('data')
    local fc = mx.symbol.FullyConnected { data = data, name = 'fc', num_hidden = 2 }
    local net = mx.symbol.SoftmaxOutput { data = fc, name = 'softmax' }
    local iter = mx.io.NDArrayIter { data = mx.nd.array(x), label = mx.nd.array(y), batch_size = 10 }
    local eval_iter = mx.io.NDArrayIter { data = mx.nd.array(x), label = mx.nd.array(y), batch_size = 10 }
    local model = mx.model.FeedForward { ctx = mx.cpu(), symbol = net, num_epoch = 3, learning_rate = 0.1 }
    mx.log.config { level = 'warning' }
    model:fit { X = iter, eval_data = eval_iter }
    mx.log.config { level = 'info' }
    assert.equal(3, #model.history)
    local file = tmpfile('.svg')
    mx.viz.plot_history(model, file)
    local text = read_all(file)
    assert.matches('>Train%-accuracy</text>', text)
    assert.matches('>Validation%-accuracy</text>', text)
    local segments = 0
    for _ in text:gmatch('stroke="#1f77b4" stroke%-width="2"') do segments = segments + 1 end
    assert.equal(2 + 1, segments) -- three epochs: two segments, and the legend mark
    os.remove(file)
  end)

  it('leaves gaps where a value is not finite', function()
    local file = tmpfile('.svg')
    mx.viz.plot_history({ ['Train-accuracy'] = { 0.5, 0 / 0, 0.9, 0.95 } }, file)
    local segments = 0
    for _ in read_all(file):gmatch('stroke="#1f77b4" stroke%-width="2"') do segments = segments + 1 end
    assert.equal(1 + 1, segments) -- only 0.9 -> 0.95, and the legend mark
    os.remove(file)
  end)

  it('gives clear errors', function()
    assert.has_error(function() mx.viz.plot_history(history, 'x.gif') end,
      "mx.viz.plot_history: unsupported picture format 'gif' (expected .png or .svg)")
    assert.has_error(function() mx.viz.plot_history({}, tmpfile('.png')) end,
      'mx.viz.plot_history: the history holds no series (train/validation values per epoch)')
  end)
end)
