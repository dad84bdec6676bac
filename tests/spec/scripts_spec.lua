-- scripts_spec: each tutorial script, run with `mxlua` in a short form (few examples,
-- one epoch), prints what the tutorial printed and writes its pictures.
local mx = require 'mx'

local root = os.getenv('MXLUA_ROOT') or '.'
local mxlua = root .. '/build/mxlua'

local function run(script, args)
  local cmd = string.format('cd %s && %s scripts/%s %s 2>&1', root, mxlua, script, args or '')
  local p = assert(io.popen(cmd))
  local out = p:read('a')
  local ok, _, code = p:close()
  return out, ok, code
end

local function tmpdir()
  local name = os.tmpname()
  os.remove(name)
  os.execute('mkdir -p ' .. name)
  return name
end

describe('tutorial scripts', function()
  it('plot_mnist.lua draws the network, prints the summary and writes the digits', function()
    local dir = tmpdir()
    local out, ok = run('plot_mnist.lua', '--out ' .. dir)
    assert.is_true(ok, out)
    assert.matches('wrote ' .. dir .. '/mlp.svg', out, 1, true)
    assert.matches('Total params: 109386', out)
    assert.matches('arguments: data, fc1_weight, fc1_bias, fc2_weight, fc2_bias, fc3_weight, fc3_bias, softmax_label',
      out)
    local f = assert(io.open(dir .. '/mlp.svg'))
    local svg = f:read('a')
    f:close()
    assert.matches('FullyConnected', svg)
    local digits = mx.viz.read_png(dir .. '/digits.png')
    assert.same({ 28 * 2 + 4, 10 * 28 * 2 + 11 * 2 }, digits:shape()) -- ten digits, scale 2, pad 2
    local first = mx.viz.read_png(dir .. '/first.png')
    assert.same({ 28 * 4 + 4, 28 * 4 + 4 }, first:shape())
    os.execute('rm -rf ' .. dir)
  end)

  it('monitor_mnist.lua prints the weight statistics every interval batches, sorted', function()
    local out, ok = run('monitor_mnist.lua', '--limit 2000 --interval 10')
    assert.is_true(ok, out)
    local names = {}
    for batch, name, value in out:gmatch('Batch:%s+(%d+) (%S+)%s+(%S+)') do
      assert.is_not_nil(tonumber(value), value)
      if batch == '1' then names[#names + 1] = name end
    end
    assert.same({ 'fc1_backward_weight', 'fc1_weight', 'fc2_backward_weight', 'fc2_weight',
                  'fc3_backward_weight', 'fc3_weight' }, names)
    assert.matches('Batch:      11 fc1_backward_weight', out)
    assert.matches('Epoch%[0%] Validation%-accuracy=', out)
  end)

  it('custom_loop.lua trains with simple_bind, the updater and the metric', function()
    local out, ok = run('custom_loop.lua', '--epochs 3 --limit 10000')
    assert.is_true(ok, out)
    assert.matches("input_shapes {'softmax_label': %(100,%), 'data': %(100, 784%)}", out)
    local acc = {}
    for e, a in out:gmatch("epoch: (%d) iter: 100 metric: %('accuracy', ([%d.]+)%)") do
      acc[tonumber(e) + 1] = tonumber(a)
    end
    assert.equal(3, #acc, out)
    -- A model that always answers one digit scores at most 0.113 (the share of 1s in MNIST), and
    -- a wrong gradient stays near that; this run reaches about 0.9 in its third epoch (0.906 with
    -- seed 1234). 0.6 sits far from both, so neither a BLAS's rounding nor a broken update decides it.
    assert.is_true(acc[3] > 0.6, out)
    assert.is_true(acc[3] > acc[1] + 0.3, out)
  end)

  it('custom_softmax.lua trains MNIST with the softmax written in Lua: 2 epochs, > 0.9', function()
    -- the whole tutorial cell (it printed 0.9572): 1200 batches, a few seconds. A constant answer
    -- scores at most 0.114 and a wrong softmax gradient near that; 0.9 leaves the correct run a
    -- margin of 0.05, far beyond what a BLAS's rounding moves it.
    local plot = os.tmpname() .. '.png'
    local out, ok = run('custom_softmax.lua', '--plot ' .. plot)
    assert.is_true(ok, out)
    assert.matches('Epoch%[1%] Batch %[600%]', out)
    local acc = tonumber(out:match('Validation accuracy with the Lua softmax: ([%d.]+)'))
    assert.is_not_nil(acc, out)
    assert.is_true(acc > 0.9, out)
    assert.same({ 320, 720 }, mx.viz.read_png(plot):shape())
    os.remove(plot)
  end)
end)
