-- monitor_spec: mx.mon.Monitor: what it sees (outputs, gradients, weights after the
-- update), its regex pattern, interval, sort, printed lines, and check_finite.
-- luacheck: no unused args (operator methods keep MXNet's full signatures)
local mx = require 'mx'

-- A small network: fc (3 -> 2) then SoftmaxOutput, bound for a batch of 4.
local function small_exe()
  local data = mx.symbol.Variable('data')
  local fc = mx.symbol.FullyConnected { data = data, name = 'fc', num_hidden = 2 }
  local net = mx.symbol.SoftmaxOutput { data = fc, name = 'softmax' }
  local exe = net:simple_bind { ctx = mx.cpu(), data = { 4, 3 } }
  exe.arg_dict.data:set(mx.nd.array { { 1, 2, 3 }, { -1, 0, 1 }, { 0.5, 0.5, -2 }, { 2, -1, 0 } })
  exe.arg_dict.fc_weight:set(mx.nd.array { { 0.1, -0.2, 0.3 }, { 0.05, 0.4, -0.1 } })
  exe.arg_dict.fc_bias:set(mx.nd.array { 0.01, -0.02 })
  exe.arg_dict.softmax_label:set(mx.nd.array { 0, 1, 1, 0 })
  return exe, net
end

local function batch(mon, exe)
  mon:tic()
  exe:forward { is_train = true }
  exe:backward()
  return mon:toc()
end

-- norm(x) / sqrt(size), by a plain loop over the values.
local function by_hand(arr)
  local values = arr:reshape { arr:size() }:totable()
  local s = 0
  for _, v in ipairs(values) do s = s + v * v end
  return math.sqrt(s) / math.sqrt(#values)
end

describe('mx.mon.Monitor', function()
  it('sees every output, every gradient and the arguments, with the default statistic', function()
    local exe = small_exe()
    local mon = mx.mon.Monitor(1)
    mon:install(exe)
    local res = batch(mon, exe)
    local seen = {}
    for _, r in ipairs(res) do
      assert.equal(1, r[1])
      seen[r[2]] = tonumber((r[3]:gsub('\t$', '')))
    end
    for _, name in ipairs { 'fc_output', 'softmax_output', 'fc_backward_weight', 'fc_backward_bias',
                            'fc_weight', 'fc_bias', 'data', 'softmax_label' } do
      assert.is_not_nil(seen[name], name .. ' was not seen')
    end
    assert.near(by_hand(exe.arg_dict.fc_weight), seen.fc_weight, 1e-5)
    assert.near(by_hand(exe.grad_dict.fc_weight), seen.fc_backward_weight, 1e-5)
    assert.near(by_hand(exe.outputs[1]), seen.softmax_output, 1e-5)
  end)

  it('matches the pattern from the start of the name (POSIX extended)', function()
    local exe = small_exe()
    local mon = mx.mon.Monitor(1, nil, '.*weight')
    mon:install(exe)
    local names = {}
    for _, r in ipairs(batch(mon, exe)) do names[#names + 1] = r[2] end
    table.sort(names)
    assert.same({ 'fc_backward_weight', 'fc_weight' }, names)
    mon = mx.mon.Monitor(1, nil, 'weight')
    mon:install(exe)
    assert.same({}, batch(mon, exe))
    mon = mx.mon.Monitor(1, nil, 'fc_(weight|bias)$')
    mon:install(exe)
    names = {}
    for _, r in ipairs(batch(mon, exe)) do names[#names + 1] = r[2] end
    table.sort(names)
    assert.same({ 'fc_bias', 'fc_weight' }, names)
  end)

  it('is active every interval batches: 1, 4, 7 for an interval of 3', function()
    local exe = small_exe()
    local mon = mx.mon.Monitor(3, nil, 'fc_weight')
    mon:install(exe)
    local active = {}
    for _ = 1, 7 do
      for _, r in ipairs(batch(mon, exe)) do active[#active + 1] = r[1] end
    end
    assert.same({ 1, 4, 7 }, active)
  end)

  it('sorts by name when asked, and uses the given statistic', function()
    local exe = small_exe()
    local mon = mx.mon.Monitor(1, function(x) return x:size() end, '.*', true)
    mon:install(exe)
    local res = batch(mon, exe)
    for i = 2, #res do assert.is_true(res[i - 1][2] <= res[i][2]) end
    for _, r in ipairs(res) do
      if r[2] == 'fc_weight' then assert.equal('6\t', r[3]) end
    end
  end)

  it('prints MXNet\'s lines', function()
    local exe = small_exe()
    local mon = mx.mon.Monitor(1, nil, 'fc_weight')
    mon:install(exe)
    local file = os.tmpname()
    mx.log.config { file = file }
    mon:tic()
    exe:forward { is_train = true }
    exe:backward()
    mon:toc_print()
    mx.log.config { file = false }
    local f = assert(io.open(file))
    local text = f:read('a')
    f:close()
    os.remove(file)
    local value = string.format('%g', by_hand(exe.arg_dict.fc_weight))
    local want = string.format('Batch: %7d %-30s %s', 1, 'fc_weight', value)
    assert.truthy(text:find(want, 1, true), 'expected a line "' .. want .. '" in:\n' .. text)
  end)

  it('formats values as %g', function()
    local exe = small_exe()
    local mon = mx.mon.Monitor(1, function() return mx.nd.array { 0.000519617 } end, 'fc_weight')
    mon:install(exe)
    assert.equal('0.000519617\t', batch(mon, exe)[1][3])
  end)

  it('keeps a statistic that is the array itself (a copy: the array is only lent)', function()
    local exe = small_exe()
    local mon = mx.mon.Monitor(1, function(x) return x end, 'fc_output')
    mon:install(exe)
    local res = batch(mon, exe)
    assert.equal(1, #res)
    assert.matches('^%[.*%]\t$', res[1][3])
  end)

  it('rejects bad arguments', function()
    assert.has_error(function() mx.mon.Monitor(0) end, 'mx.mon.Monitor: interval must be a positive integer')
    assert.has_error(function() mx.mon.Monitor(1, 'x') end, 'mx.mon.Monitor: stat_func must be a function')
    local ok, err = pcall(mx.mon.Monitor, 1, nil, '((')
    assert.is_false(ok)
    assert.matches("bad regular expression '%(%('", err)
    assert.has_error(function() mx.mon.Monitor(1):install({}) end, 'mx.mon.Monitor:install: expected an Executor')
  end)

  describe('check_finite', function()
    it('stops at the first NaN, naming the array, the batch and the operator', function()
      local exe = small_exe()
      local mon = mx.mon.Monitor { interval = 100, check_finite = true }
      mon:install(exe)
      batch(mon, exe)
      batch(mon, exe)
      exe.arg_dict.data:set(mx.nd.array { { 0 / 0, 2, 3 }, { -1, 0, 1 }, { 0.5, 0.5, -2 }, { 2, -1, 0 } })
      local ok, err = pcall(batch, mon, exe)
      assert.is_false(ok)
      assert.matches('fc_output holds NaN', err)
      assert.matches('at batch 3', err)
      assert.matches('operator fc %(FullyConnected%)', err)
    end)

    it('names an Inf in a weight after the update', function()
      local exe = small_exe()
      local mon = mx.mon.Monitor { interval = 1, pattern = 'nothing', check_finite = true }
      mon:install(exe)
      mon:tic()
      exe:forward { is_train = true }
      exe:backward()
      exe.arg_dict.fc_bias:set(mx.nd.array { 1 / 0, 0 })
      local ok, err = pcall(mon.toc, mon)
      assert.is_false(ok)
      assert.matches('fc_bias holds Inf %(element 1 of 2%) at batch 1', err)
    end)

    it('stops fit at the batch that brings a NaN in', function()
      local data = mx.symbol.Variable('data')
      local fc = mx.symbol.FullyConnected { data = data, name = 'fc', num_hidden = 3 }
      local net = mx.symbol.SoftmaxOutput { data = fc, name = 'softmax' }
      local rows = {}
      for i = 1, 20 do rows[i] = { i / 20, -i / 40, 0.5, (i % 3) / 3 } end
      rows[8][2] = 0 / 0 -- in the second batch of five
      local labels = {}
      for i = 1, 20 do labels[i] = i % 3 end
      local iter = mx.io.NDArrayIter { data = mx.nd.array(rows), label = mx.nd.array(labels), batch_size = 5 }
      local model = mx.model.FeedForward { ctx = mx.cpu(), symbol = net, num_epoch = 1, learning_rate = 0.1 }
      local mon = mx.mon.Monitor { interval = 100, pattern = 'nothing', check_finite = true }
      local ok, err = pcall(function()
        model:fit { X = iter, monitor = mon, logger = { info = function() end } }
      end)
      assert.is_false(ok)
      assert.matches('fc_output holds NaN %(element %d+ of 15%) at batch 2, produced by operator fc %(FullyConnected%)',
        err)
    end)

    it('lets finite training go on', function()
      local exe = small_exe()
      local mon = mx.mon.Monitor { interval = 1, pattern = 'fc_weight', check_finite = true }
      mon:install(exe)
      for _ = 1, 3 do batch(mon, exe) end
    end)
  end)
end)
