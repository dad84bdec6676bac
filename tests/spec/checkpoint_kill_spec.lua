-- checkpoint_kill_spec: a training process that checkpoints every epoch (do_checkpoint: params
-- and optimizer state) is killed with SIGKILL at random moments, many times; after each kill every
-- checkpoint file present loads, the last complete one resumes training, and the next process
-- goes on from it. MXLUA_KILLS sets the number of kills (default 30).
local mx = require 'mx'

local KILLS = tonumber(os.getenv('MXLUA_KILLS')) or 30

local CHILD = [[
local mx = require 'mx'
local prefix, start = arg[1], math.tointeger(tonumber(arg[2]))
local data = mx.symbol.Variable('data')
local fc1 = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 32}
local act = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
local fc2 = mx.symbol.FullyConnected{data = act, name = 'fc2', num_hidden = 3}
local net = mx.symbol.SoftmaxOutput{data = fc2, name = 'softmax'}
mx.random.seed(3)
local X = mx.random.uniform(0, 1, {40, 64})
local y = {}
for i = 1, 40 do y[i] = i % 3 end
local iter = mx.io.NDArrayIter{data = X, label = mx.nd.array(y), batch_size = 20}
local opts = {ctx = mx.cpu(), num_epoch = 1000000, learning_rate = 0.05, momentum = 0.9}
local m
if start > 0 then
  m = mx.model.FeedForward.load(prefix, start, opts)
else
  opts.symbol = net
  m = mx.model.FeedForward(opts)
end
io.stdout:write('started ', start, '\n')
io.stdout:flush()
m:fit{X = iter, epoch_end_callback = mx.callback.do_checkpoint(prefix),
      logger = {info = function() end, warning = function() end}}
]]

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read('a')
  p:close()
  return out
end

-- Epoch numbers of the files prefix-NNNN.<ext> in dir.
local function epochs(dir, base, ext)
  local out = {}
  for name in sh('ls -1 "' .. dir .. '"'):gmatch('[^\n]+') do
    local e = name:match('^' .. base .. '%-(%d%d%d%d)%.' .. ext .. '$')
    if e then out[#out + 1] = tonumber(e) end
  end
  table.sort(out)
  return out
end

local function all_finite(params)
  for _, a in pairs(params) do
    if (a * 0):sum():asscalar() ~= 0 then return false end
  end
  return true
end

describe('checkpoints under SIGKILL', function()
  it('every kill leaves a checkpoint that loads and resumes (' .. KILLS .. ' kills)', function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute('mkdir -p "' .. dir .. '"'))
    local base = 'net'
    local prefix = dir .. '/' .. base
    local child = dir .. '/child.lua'
    local f = assert(io.open(child, 'w'))
    f:write(CHILD)
    f:close()
    math.randomseed(20261125)
    local last, survived, mid_write, resumed = 0, 0, 0, 0
    for k = 1, KILLS do
      local pid = sh(('exec lua5.4 "%s" "%s" %d >/dev/null 2>&1 & echo $!'):format(child, prefix, last))
      pid = assert(tonumber(pid:match('%d+')), 'no child pid')
      os.execute(('sleep %.3f'):format(0.25 + math.random() * 0.5))
      os.execute('kill -9 ' .. pid .. ' 2>/dev/null')
      os.execute(('i=0; while kill -0 %d 2>/dev/null && ! grep -q "^State:.*Z" /proc/%d/status 2>/dev/null ' ..
                  '&& [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done'):format(pid, pid)) -- gone, or a zombie
      -- a temporary file left beside the checkpoints: the kill landed inside an atomic write
      local tmps = sh('ls -1 "' .. dir .. '" | grep -c "\\.tmp\\." || true')
      if tonumber(tmps:match('%d+')) > 0 then mid_write = mid_write + 1 end
      os.execute('rm -f "' .. dir .. '"/*.tmp.*')
      -- every params file present loads, whole and finite
      local params = epochs(dir, base, 'params')
      for _, e in ipairs(params) do
        local ok, sym, arg = pcall(mx.model.load_checkpoint, prefix, e)
        assert.is_true(ok, 'checkpoint ' .. e .. ' after kill ' .. k .. ': ' .. tostring(sym))
        assert.is_true(all_finite(arg))
        assert.is_not_nil(arg.fc1_weight)
      end
      -- the last complete checkpoint (params and optimizer state) never goes back
      local states, have = epochs(dir, base, 'states'), {}
      for _, e in ipairs(states) do have[e] = true end
      local complete = 0
      for _, e in ipairs(params) do if have[e] then complete = e end end
      assert.is_true(complete >= last, ('kill %d: last checkpoint went back from %d to %d'):format(k, last, complete))
      if complete > last then resumed = resumed + 1 end
      last = complete
      -- keep the folder small: drop all but the last two checkpoints
      for _, e in ipairs(params) do
        if e < last - 1 then
          os.remove(('%s-%04d.params'):format(prefix, e))
          os.remove(('%s-%04d.states'):format(prefix, e))
        end
      end
      survived = survived + 1
    end
    -- the last checkpoint resumes here too: one more epoch of training from it
    assert.is_true(last > 0, 'no checkpoint was ever completed')
    local m = mx.model.FeedForward.load(prefix, last, {ctx = mx.cpu(), num_epoch = last + 1, learning_rate = 0.05,
                                                      momentum = 0.9})
    mx.random.seed(3)
    local X = mx.random.uniform(0, 1, {40, 64})
    m:fit{X = mx.io.NDArrayIter{data = X, label = mx.nd.zeros{40}, batch_size = 20},
          logger = {info = function() end, warning = function() end}}
    assert.is_true(all_finite(m.arg_params))
    print(('\n# checkpoint kills: %d survived, %d inside an atomic write, %d resumed further, last epoch %d')
      :format(survived, mid_write, resumed, last))
    os.execute('rm -rf "' .. dir .. '"')
  end)
end)
