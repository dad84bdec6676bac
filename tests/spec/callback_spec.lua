-- callback_spec: Speedometer's MXNet line and timing rules, log_train_metric,
-- do_checkpoint, ProgressBar (live on a terminal, quiet otherwise), mx.log.
local mx = require 'mx'

local logf = os.tmpname()

-- Runs fn with the log going to a file; returns the lines written.
local function logged(fn, opts)
  local f = assert(io.open(logf, 'w'))
  f:close()
  mx.log.config{file = logf, level = 'info', time = opts and opts.time or false}
  local ok, err = pcall(fn)
  mx.log.config{file = false, time = false}
  assert(ok, err)
  local lines = {}
  for line in io.lines(logf) do lines[#lines + 1] = line end
  return lines
end

-- Runs fn with mx.core.now() reading a clock that stands still until step(seconds) moves it,
-- so that a speed is an exact number, whatever the machine's load.
local function with_clock(fn)
  local real, t = mx.core.now, 1000
  mx.core.now = function() return t end
  local ok, err = pcall(fn, function(seconds) t = t + seconds end)
  mx.core.now = real
  assert(ok, err)
end

teardown(function() os.remove(logf) end)

describe('mx.callback.Speedometer', function()
  it('logs MXNet\'s line every `frequent` batches, the first call only starting the timer', function()
    local acc = mx.metric.Accuracy()
    acc:update({mx.nd.array{1, 0}}, {mx.nd.array{{0.1, 0.9}, {0.2, 0.8}}})
    local sp = mx.callback.Speedometer(100, 2)
    local lines = logged(function()
      with_clock(function(step)
        for n = 1, 5 do
          sp{epoch = 3, nbatch = n, eval_metric = acc}
          step(n < 3 and 0.01 or 0.04)
        end
      end)
    end)
    assert.equal(2, #lines) -- at batches 2 and 4
    local b, speed, rest = lines[1]:match('^INFO Epoch%[3%] Batch %[(%d+)%]\tSpeed: ([%d.]+) samples/sec\t(.*)$')
    assert.equal('2', b)
    assert.equal('Train-accuracy=0.500000', rest)
    -- MXNet's rule: frequent * batch_size over the time since the last line (the first call started
    -- the timer): 200 samples in the 0.01 s from batch 1 to 2, then in the 0.05 s from batch 2 to 4
    assert.equal('20000.00', speed)
    assert.equal('INFO Epoch[3] Batch [4]\tSpeed: 4000.00 samples/sec\tTrain-accuracy=0.500000', lines[2])
  end)

  it('restarts with a new epoch, and has a line without metric', function()
    local sp = mx.callback.Speedometer(10, 1)
    local lines = logged(function()
      sp{epoch = 0, nbatch = 1}
      sp{epoch = 0, nbatch = 2}
      sp{epoch = 1, nbatch = 1} -- nbatch went down: only restarts the timer
      sp{epoch = 1, nbatch = 2}
    end)
    assert.equal(2, #lines)
    assert.truthy(lines[1]:match('^INFO Iter%[0%] Batch %[2%]\tSpeed: [%d.]+ samples/sec$'))
    assert.truthy(lines[2]:match('^INFO Iter%[1%] Batch %[2%]'))
  end)
end)

describe('mx.callback.log_train_metric', function()
  it('logs every period batches and can reset the metric', function()
    local acc = mx.metric.Accuracy()
    acc:update({mx.nd.array{1}}, {mx.nd.array{{0.1, 0.9}}})
    local cb = mx.callback.log_train_metric(2, true)
    local lines = logged(function()
      cb{epoch = 0, nbatch = 1, eval_metric = acc}
      cb{epoch = 0, nbatch = 2, eval_metric = acc}
    end)
    assert.same({'INFO Iter[0] Batch[2] Train-accuracy=1.000000'}, lines)
    assert.equal(0, acc.num_inst)
  end)
end)

describe('mx.callback.ProgressBar', function()
  it('draws a bar with counts, speed and ETA when forced (or on a terminal)', function()
    local out = io.tmpfile()
    local bar = mx.callback.ProgressBar(4, 8, {batch_size = 10, file = out, force = true})
    for n = 1, 4 do bar{epoch = 0, nbatch = n} end
    out:seek('set')
    local text = out:read('a')
    assert.truthy(text:find('\r[==------]  25% 1/4', 1, true))
    assert.truthy(text:find('\r[========] 100% 4/4', 1, true))
    assert.truthy(text:find('samples/s  ETA 0:00', 1, true))
    assert.equal('\n', text:sub(-1))
    assert.equal('[====----]  50% 2/4  20.00 samples/s  ETA 0:01', bar.render(2, 1, 2)) -- 0.5 s a batch, 2 to go
  end)

  it('stays quiet when the output is not a terminal', function()
    local out = io.tmpfile()
    local bar = mx.callback.ProgressBar(4, {file = out})
    assert.is_false(bar.live)
    bar{epoch = 0, nbatch = 1}
    out:seek('set')
    assert.equal('', out:read('a'))
  end)
end)

describe('mx.log', function()
  it('puts a level prefix, or a time prefix, and filters by level', function()
    local lines = logged(function()
      mx.log.info('a %d', 1)
      mx.log.debug('hidden')
      mx.log.warning('100%')
    end)
    assert.same({'INFO a 1', 'WARNING 100%'}, lines)
    lines = logged(function() mx.log.info('t') end, {time = true})
    assert.truthy(lines[1]:match('^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d INFO t$'))
    assert.has_error(function() mx.log.config{level = 'loud'} end)
  end)
end)

describe('mx.callback.do_checkpoint', function()
  it('is an epoch-end callback that saves epoch + 1 every period', function()
    local saved = {}
    local model = require 'mx.model'
    local real = model.save_checkpoint
    model.save_checkpoint = function(prefix, epoch) saved[#saved + 1] = prefix .. ':' .. epoch end
    local cb = mx.callback.do_checkpoint('p', 2)
    for epoch = 0, 3 do cb(epoch, nil, {}, {}) end
    model.save_checkpoint = real
    assert.same({'p:2', 'p:4'}, saved)
  end)
end)
