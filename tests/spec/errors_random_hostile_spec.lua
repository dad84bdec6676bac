-- errors_random_hostile_spec: hostile arguments into every binding (mx.core's C functions and the
-- NDArray, Symbol and Executor methods) and the Lua library's entry points: tables whose
-- metamethods close the very array or executor being worked on and collect garbage, extreme
-- numbers (math.maxinteger, math.mininteger, 2^62, NaN, +-inf), deep nesting, strings with NUL
-- bytes, callbacks that close things or raise. Each call succeeds or raises a string error: no
-- crash, no hang (a call over MXLUA_HOSTILE_LIMIT = 10 s of CPU fails the spec, a Lua loop is
-- stopped there by a count hook), no memory held afterwards. Seeded by MXLUA_RANDOM_SEED; the
-- count is MXLUA_HOSTILE_CALLS (default 4000; make test-asan runs 20000); MXLUA_HOSTILE_TRACE=1
-- writes each call to stderr, to find the one that crashed.
local mx = require 'mx'
local core = mx.core

describe('entry points under hostile arguments', function()
  it('raise or succeed, never crash or hang, and leak nothing', function()
    local data = mx.sym.Variable('data')
    local function make_net()
      return mx.sym.SoftmaxOutput{data = mx.sym.FullyConnected{data = mx.sym.Variable('data'), num_hidden = 3,
                                                               name = 'fc'}, name = 'softmax'}
    end
    local net = make_net()
    -- the victims: what hostile metamethods and callbacks close; remade once closed
    local victim = {}
    local function renew()
      if not (victim.array and core.nd.is_ndarray(victim.array)) then victim.array = mx.nd.ones{3, 4} end
      if not (victim.exe and victim.exe.close and pcall(victim.exe.memory, victim.exe)) then
        victim.exe = make_net():simple_bind{ctx = mx.cpu(), data = {2, 4}}
      end
      if not pcall(net.list_arguments, net) then net = make_net() end
      if not pcall(data.list_arguments, data) then data = mx.sym.Variable('data') end
    end
    local function strike()
      if victim.array then victim.array:close() end
      if victim.exe then victim.exe:close() end
      collectgarbage()
    end
    local function hostile_table(base)
      return setmetatable(base or {}, {
        __len = function() strike(); return 2 end,
        -- a finite sequence (as __len says): an __index that answers every integer is an endless
        -- sequence, which ipairs walks forever in any Lua code; that is the caller's loop, not a bug
        __index = function(_, k)
          strike()
          if math.type(k) == 'integer' and (k < 1 or k > 2) then return nil end
          return k == 1 and 6 or 2
        end,
        __newindex = function() strike() end,
        __pairs = function(t) strike(); return next, t, nil end,
        __tostring = function() strike(); return 'hostile' end,
        __call = function() strike(); error('hostile call') end,
        __eq = function() strike(); return true end,
        __lt = function() strike(); return true end,
        __le = function() strike(); return true end,
        __concat = function() strike(); return 'x' end,
        __close = function() strike() end,
        __gc = function() pcall(strike) end,
      })
    end
    local function deep(n, leaf)
      local t = leaf
      for _ = 1, n do t = {t} end
      return t
    end
    local nan = 0 / 0
    local vals = {
      function() return nil end, function() return math.maxinteger end, function() return math.mininteger end,
      function() return 1 << 62 end, function() return 2.0 ^ 62 end, function() return nan end,
      function() return math.huge end, function() return -math.huge end, function() return -0.0 end,
      -- 2^40 + 1 and -2^40 - 2^31 wrap to 1 and INT_MIN as 32-bit ints (a bare +-2^31 would be an
      -- honest 8 GB request, from zeros or arange, that the machine may grant)
      function() return (1 << 40) + 1 end, function() return -(1 << 40) - (1 << 31) end, function() return 1e308 end,
      function() return 0 end, function() return -1 end, function() return 2 end, function() return 0.5 end,
      function() return 'a\0b' end, function() return '\0' end, function() return ('x'):rep(5000) end,
      function() return '(2,5,' end, function() return '1e999' end, function() return 'relu' end,
      function() return hostile_table() end, function() return hostile_table{1, 2} end,
      function() return hostile_table{data = data} end, function() return hostile_table{mx.nd.ones{2}} end,
      function() return deep(200, 1) end, function() return deep(7, 1) end, function() return deep(3, nan) end,
      function() return {math.maxinteger, math.maxinteger} end, function() return {1 << 31, 1 << 31} end,
      function() return {nan, 1} end, function() return {-1, 2} end, function() return {0, 3} end,
      function() return {{1, 2}, {3}} end, function() return {data = {1 << 40, 1 << 40}} end,
      function() return {data = {2, 4}, ctx = mx.cpu()} end, function() return {2, 4} end,
      function() return function() strike(); error('hostile callback') end end,
      function() return function() strike() end end,
      function() return function() return hostile_table() end end,
      function() renew(); return victim.array end, function() renew(); return victim.exe end,
      function() local a = mx.nd.ones{2}; a:close(); return a end,
      function() return mx.nd.array{nan, math.huge, -1, 1e30} end, function() return mx.nd.ones{2, 4} end,
      function() return data end, function() return net end, function() return mx.cpu() end,
      function() return true end, function() return {} end, function() return coroutine.create(print) end,
    }
    local skip = {
      -- write files, start processes or long work, or wait: not random-call material
      save = true, plot_network = true, plot_history = true, imshow_grid = true, write_atomic = true,
      save_checkpoint = true, do_checkpoint = true, fit = true, predict = true, score = true, create = false,
      file_write_atomic = true, params_save = true, image_draw_png = true, image_write_grid = true,
      register = true, Custom = true, LuaOp = true, NumpyOp = true, CustomOp = true, CustomOpProp = true,
      custom_op_register = true, kvstore = true, ProgressBar = true, mkdir_p = true,
      dist_init = true, dist_abort = true, dist_allreduce = true, dist_barrier = true, dist_broadcast = true,
      dist_overlap = true, nccl_allreduce = true, sigint_catch = true, sigint_release = true, waitall = true,
      alloc_trim = true, seed = true,
    }
    local fns = {}
    local function add(prefix, t, as_method)
      for k, f in pairs(t) do
        local callable = type(f) == 'function' or (type(f) == 'table' and getmetatable(f) and getmetatable(f).__call)
        if callable and not skip[k] then fns[#fns + 1] = {prefix .. k, f, as_method} end
      end
    end
    add('core.', core)
    add('core.nd.', core.nd)
    add('core.symbol.', core.symbol)
    add('core.random.', core.random)
    add('NDArray:', core.NDArray_methods, 'array')
    add('Symbol:', core.Symbol_methods, 'symbol')
    add('Executor:', core.Executor_methods, 'exe')
    for _, m in ipairs{'nd', 'sym', 'io', 'optimizer', 'metric', 'mon', 'viz', 'init', 'callback', 'lr_scheduler'} do
      add('mx.' .. m .. '.', mx[m])
    end
    table.sort(fns, function(a, b) return a[1] < b[1] end)
    collectgarbage(); collectgarbage()
    local before = core.alloc_stats().bytes_in_use -- before the victims, which are closed at the end
    renew()
    math.randomseed(tonumber(os.getenv('MXLUA_RANDOM_SEED')) or 1919)
    local calls = tonumber(os.getenv('MXLUA_HOSTILE_CALLS')) or 4000
    local tried, raised, slow, hangs, hung = {}, {}, 0, 0, {}
    local limit = tonumber(os.getenv('MXLUA_HOSTILE_LIMIT')) or 10
    local trace = os.getenv('MXLUA_HOSTILE_TRACE') -- each call (and its value numbers) to stderr
    for _ = 1, calls do
      local pick = fns[math.random(#fns)]
      local args, n = {}, math.random(0, 4)
      local picked = {}
      for i = 1, n do
        picked[i] = math.random(#vals)
        args[i] = vals[picked[i]]()
      end
      if pick[3] then -- a method: self is the live victim (or a symbol) most of the time
        renew()
        local self = ({array = victim.array, exe = victim.exe, symbol = net})[pick[3]]
        if math.random() < 0.8 then table.insert(args, 1, self); n = n + 1 end
      end
      if trace then io.stderr:write(pick[1], ' ', n, ' vals ', table.concat(picked, ','), '\n'); io.stderr:flush() end
      local t0 = os.clock()
      -- a Lua loop that does not end is stopped at the limit and counted as a hang, named
      debug.sethook(function()
        if os.clock() - t0 > limit then error('hostile spec: call over the time limit', 2) end
      end, '', 100000)
      local ok, err = pcall(pick[2], table.unpack(args, 1, n))
      debug.sethook()
      local dt = os.clock() - t0
      if trace and dt > 0.2 then io.stderr:write(('  took %.2f s\n'):format(dt)) end
      if dt > limit then
        hangs = hangs + 1
        hung[#hung + 1] = pick[1]
      end
      if dt > 1 then slow = slow + 1 end
      tried[pick[1]] = (tried[pick[1]] or 0) + 1
      if not ok then
        raised[pick[1]] = (raised[pick[1]] or 0) + 1
        assert.is_string(err, pick[1] .. ' raised a non-string error')
      end
    end
    -- the engine still works
    renew()
    victim.exe:forward{is_train = true, data = mx.nd.ones{2, 4}}
    victim.exe:backward()
    assert.are.same({2, 3}, victim.exe.outputs[1]:shape())
    victim.exe:close(); victim.array:close()
    victim.exe, victim.array = nil, nil
    collectgarbage(); collectgarbage()
    local total_raised, per = 0, {}
    for _, f in ipairs(fns) do
      if tried[f[1]] then
        total_raised = total_raised + (raised[f[1]] or 0)
        per[#per + 1] = ('%s %d/%d'):format(f[1], raised[f[1]] or 0, tried[f[1]])
      end
    end
    print(('\n# errors_random_hostile_spec: %d hostile inputs tried over %d entry points, 0 crashes, %d hangs '
      .. '(%d calls over 1 s), %d raised'):format(calls, #per, hangs, slow, total_raised))
    if os.getenv('MXLUA_HOSTILE_VERBOSE') then
      print('# per entry point (raised/tried): ' .. table.concat(per, ', '))
    end
    assert.are.same({}, hung)
    assert.are.equal(0, hangs)
    assert.are.equal(before, core.alloc_stats().bytes_in_use)
  end)
end)
