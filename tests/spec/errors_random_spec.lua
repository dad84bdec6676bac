-- errors_random_spec: random arguments into the public Lua entry points beyond NDArray
-- (symbol constructors and methods, executors, iterators, optimizers, metrics, initializers,
-- schedulers, callbacks, FeedForward, Monitor, viz): each call succeeds or raises a string
-- error, never crashes, and the engine holds no more memory afterwards. Entry points that write
-- files or start long work (save, plot_network, fit...) are left out.
local mx = require 'mx'

describe('entry points under random arguments', function()
  it('raise or succeed, never crash, and leak nothing (3000 calls, fixed seed)', function()
    local data = mx.sym.Variable('data')
    local net = mx.sym.SoftmaxOutput{data = mx.sym.FullyConnected{data = data, num_hidden = 3, name = 'fc'},
                                     name = 'softmax'}
    local exe = net:simple_bind{ctx = mx.cpu(), data = {2, 4}}
    local vals = {
      function() return nil end, function() return 0 end, function() return -1 end, function() return 3 end,
      function() return 2.5 end, function() return 1e18 end, function() return 0 / 0 end,
      function() return math.huge end, function() return 'x' end, function() return 'relu' end,
      function() return true end, function() return {} end, function() return {2, 4} end,
      function() return {-1, 0} end, function() return {data = {2, 4}} end, function() return {data = data} end,
      function() return {data = data, num_hidden = 2} end, function() return {1, 'a', {}} end,
      function() return mx.cpu() end, function() return mx.nd.ones{2, 4} end, function() return mx.nd.ones{3} end,
      function() return data end, function() return net end, function() return exe end,
      function() return {mx.nd.ones{2}} end, function() return {name = 'n', foo = 1} end,
      function() return {learning_rate = 0 / 0} end, function() return function() error('cb') end end,
      function() return math.mininteger end, function() return string.rep('z', 300) end,
    }
    local skip = {save = true, load = true, plot_network = true, plot_history = true, imshow_grid = true,
                  read_png = true, write_atomic = true, save_checkpoint = true, load_checkpoint = true,
                  register = true, fit = true, create = false, do_checkpoint = true, ProgressBar = true,
                  Custom = true, LuaOp = true, NumpyOp = true, CustomOp = true, CustomOpProp = true,
                  iter_class = true, class = true, get_updater = true, kvstore = true, _param_text = true,
                  predict = true, score = true, simple_bind = true, bind = true, FeedForward = false,
                  set_monitor_callback = true, debug_str = true, tojson = true}
    local fns = {}
    local function add(prefix, t)
      for k, f in pairs(t) do
        local callable = type(f) == 'function' or (type(f) == 'table' and getmetatable(f) and getmetatable(f).__call)
        if callable and not skip[k] then fns[#fns + 1] = {prefix .. k, f} end
      end
    end
    for _, m in ipairs{'sym', 'io', 'optimizer', 'metric', 'mon', 'viz', 'init', 'callback', 'lr_scheduler'} do
      add('mx.' .. m .. '.', mx[m])
    end
    fns[#fns + 1] = {'mx.model.FeedForward', mx.model.FeedForward}
    for _, k in ipairs{'infer_shape', 'infer_shape_partial', 'list_arguments', 'list_outputs', 'get_internals',
                       'attr', 'list_attr', '__add', '__mul', '__call', 'get_output'} do
      local f = net[k] or getmetatable(net)[k]
      if f then fns[#fns + 1] = {'Symbol:' .. k, f} end
    end
    for _, k in ipairs{'forward', 'backward', 'copy_params_from'} do
      fns[#fns + 1] = {'Executor:' .. k, exe[k]}
    end
    table.sort(fns, function(a, b) return a[1] < b[1] end)
    collectgarbage(); collectgarbage()
    local before = mx.core.alloc_stats().bytes_in_use
    math.randomseed(tonumber(os.getenv('MXLUA_RANDOM_SEED')) or 4242)
    local errors = 0
    local calls = tonumber(os.getenv('MXLUA_RANDOM_CALLS')) or 3000
    for _ = 1, calls do
      local pick, args, n = fns[math.random(#fns)], {}, math.random(0, 3)
      for i = 1, n do args[i] = vals[math.random(#vals)]() end
      local ok, err = pcall(pick[2], table.unpack(args, 1, n))
      if not ok then
        errors = errors + 1
        assert.is_string(err, pick[1] .. ' raised a non-string error')
      end
    end
    exe:forward{is_train = true, data = mx.nd.ones{2, 4}}
    exe:backward()
    assert.are.same({2, 3}, exe.outputs[1]:shape())
    collectgarbage(); collectgarbage()
    print(('\n# errors_random_spec: %d calls over %d entry points, %d raised'):format(calls, #fns, errors))
    assert.are.equal(before, mx.core.alloc_stats().bytes_in_use)
  end)
end)
