-- gemm_plan_spec.lua: the CPU GEMM plan (mx.core.gemm_plan()): one record per shape, the choice
-- never a library that measured slower there than another candidate (a thread team only where it beat the
-- one-thread candidates by the plan's team_margin), products through it equal to a plain Lua computation, the
-- executor's GEMMs planned, and MXLUA_GEMM_PLAN's forced choices.
local mx = require 'mx'

local MODES = {measure = true, openblas = true, blis = true, libxsmm = true}

-- the mxlua host beside the mx.core module being tested (build*/lua/mx/core.so -> build*/mxlua)
local function host()
  local so = assert(package.searchpath('mx.core', package.cpath))
  return (so:gsub('lua/mx/core%.so$', 'mxlua'))
end

local function run(env, code)
  local err = os.tmpname()
  local p = io.popen(string.format("%s %s -e %q 2>%s", env, host(), code, err))
  local out = p:read('a')
  p:close()
  local f = io.open(err)
  local e = f:read('a')
  f:close()
  os.remove(err)
  return out, e
end

local function rand_matrix(rows, cols, seed)
  local t, x = {}, seed
  for i = 1, rows do
    t[i] = {}
    for j = 1, cols do
      x = (x * 1103515245 + 12345) % 2147483648
      t[i][j] = x / 2147483648 - 0.5
    end
  end
  return t
end

local function transpose(t)
  local r = {}
  for j = 1, #t[1] do
    r[j] = {}
    for i = 1, #t do r[j][i] = t[i][j] end
  end
  return r
end

local function matmul(a, b)
  local c = {}
  for i = 1, #a do
    c[i] = {}
    for j = 1, #b[1] do
      local s = 0
      for p = 1, #b do s = s + a[i][p] * b[p][j] end
      c[i][j] = s
    end
  end
  return c
end

local function find(plan, ta, tb, m, n, k)
  for _, s in ipairs(plan.shapes) do
    if s.transpose_a == ta and s.transpose_b == tb and s.m == m and s.n == n and s.k == k then return s end
  end
end

describe('the GEMM plan', function()
  it('computes products equal to a plain computation, whatever library each shape gets', function()
    for _, dims in ipairs{{3, 4, 5}, {17, 9, 33}, {100, 10, 64}} do
      local m, n, k = dims[1], dims[2], dims[3]
      local a, b = rand_matrix(m, k, m), rand_matrix(k, n, n)
      local want = matmul(a, b)
      local cases = {
        {mx.nd.array(a), mx.nd.array(b), {}},
        {mx.nd.array(transpose(a)), mx.nd.array(b), {transpose_a = true}},
        {mx.nd.array(a), mx.nd.array(transpose(b)), {transpose_b = true}},
        {mx.nd.array(transpose(a)), mx.nd.array(transpose(b)), {transpose_a = true, transpose_b = true}},
      }
      for _, c in ipairs(cases) do
        for _ = 1, 2 do -- planned, then through the plan
          local got = mx.nd.dot(c[1], c[2], c[3]):totable()
          for i = 1, m do
            for j = 1, n do assert.is_true(math.abs(got[i][j] - want[i][j]) < 1e-4) end
          end
        end
      end
    end
  end)

  it('keeps one record per shape, and never picks a library that measured slower there', function()
    mx.nd.dot(mx.nd.ones{31, 47}, mx.nd.ones{47, 29})
    mx.nd.dot(mx.nd.ones{31, 47}, mx.nd.ones{47, 29}) -- the same shape: no new record
    local plan = mx.core.gemm_plan()
    assert.is_true(MODES[plan.mode])
    assert.is_true(plan.libraries.openblas.built)
    local seen = {}
    for _, s in ipairs(plan.shapes) do
      local key = table.concat({tostring(s.transpose_a), tostring(s.transpose_b), s.m, s.n, s.k, s.lda, s.ldb,
                                s.ldc, s.beta, s.threads}, ',')
      assert.is_nil(seen[key], 'two records for ' .. key)
      seen[key] = true
      local lib = plan.libraries[s.library]
      assert.is_true(lib.built, s.library .. ' chosen but not built in')
      if plan.mode == 'measure' then
        assert.is_truthy(s.why:match('^measured'), s.why)
        -- where libxsmm could run split over the engine's team, both timings are given, and
        -- the split is what the plan keeps only where it beat one thread by team_margin
        local one, split, parts = s.why:match('libxsmm ([%d.-]+) us on 1 thread, ([%d.]+) on (%d+)')
        if split then
          one, split, parts = tonumber(one), tonumber(split), tonumber(parts)
          -- the why's figures are rounded to 0.1 us: a choice that close to the margin is not judged
          local edge = one and math.abs(split * plan.team_margin - one) < 0.1 * (1 + plan.team_margin)
          if not edge then
            local want_split = not one or split * plan.team_margin < one
            assert.are.equal(want_split and parts or 1, s.lib_threads.libxsmm, s.why)
          end
          local taken = s.lib_threads.libxsmm > 1 and split or one
          assert.is_true(math.abs(s.us.libxsmm - taken) < 0.051, s.why)
        end
        assert.is_true(s.us.openblas > 0)
        -- a one-thread choice may give way only to a team (lib_threads > 1) that was not
        -- team_margin times faster; a team's choice beat every one-thread candidate by that margin
        local chosen_team = s.lib_threads[s.library] > 1
        for other, us in pairs(s.us) do
          assert.is_true(plan.libraries[other].built)
          local other_team = s.lib_threads[other] > 1
          local bound = us
          if other_team and not chosen_team then bound = us * plan.team_margin end
          if chosen_team and not other_team then bound = us / plan.team_margin end
          assert.is_true(s.us[s.library] <= bound,
            string.format('%dx%dx%d: %s (%.1f us, %d threads) chosen over %s (%.1f us, %d threads)', s.m, s.n,
                          s.k, s.library, s.us[s.library], s.lib_threads[s.library], other, us,
                          s.lib_threads[other]))
          if lib.generic and other ~= s.library and other_team == chosen_team then
            assert.is_true(s.us[s.library] < us)
          end
        end
      elseif plan.mode == 'libxsmm' and s.library == 'openblas' then
        assert.matches('no kernel', s.why)
      else
        assert.are.equal(plan.mode, s.library)
        assert.matches('MXLUA_GEMM_PLAN', s.why)
      end
    end
  end)

  it("plans the executor's GEMMs: an MLP's forward and backward shapes appear", function()
    local data = mx.sym.Variable('data')
    local fc1 = mx.sym.FullyConnected{data = data, name = 'fc1', num_hidden = 7}
    local act = mx.sym.Activation{data = fc1, act_type = 'relu'}
    local fc2 = mx.sym.FullyConnected{data = act, name = 'fc2', num_hidden = 5}
    local net = mx.sym.SoftmaxOutput{data = fc2, name = 'softmax'}
    local exe = net:simple_bind{data = {11, 23}, softmax_label = {11}}
    mx.nd.array(rand_matrix(7, 23, 1)):copyto(exe.arg_dict.fc1_weight)
    mx.nd.array(rand_matrix(5, 7, 2)):copyto(exe.arg_dict.fc2_weight)
    exe:forward{is_train = true, data = mx.nd.array(rand_matrix(11, 23, 3))}
    exe:backward()
    local plan = mx.core.gemm_plan()
    -- forward: x (11, 23) times W^T; backward: the weight gradient dy^T x, and fc2's input gradient dy W
    assert.is_not_nil(find(plan, false, true, 11, 7, 23), 'fc1 forward')
    assert.is_not_nil(find(plan, false, true, 11, 5, 7), 'fc2 forward')
    assert.is_not_nil(find(plan, true, false, 7, 23, 11), 'fc1 weight gradient')
    assert.is_not_nil(find(plan, true, false, 5, 7, 11), 'fc2 weight gradient')
    assert.is_not_nil(find(plan, false, false, 11, 7, 5), 'fc2 input gradient')
  end)

  it('MXLUA_GEMM_PLAN forces a library, and says so when it cannot', function()
    local code = "mx.nd.dot(mx.nd.ones{8,9}, mx.nd.ones{9,10}) local p = mx.core.gemm_plan() "
              .. "io.write(p.mode, ' ', p.shapes[1].library, ' ', p.shapes[1].why)"
    local out = run('MXLUA_GEMM_PLAN=openblas', code)
    assert.are.equal('openblas openblas forced by MXLUA_GEMM_PLAN', out)
    local bad, err = run('MXLUA_GEMM_PLAN=fastest', code)
    assert.matches('MXLUA_GEMM_PLAN=fastest is not one of measure, openblas, blis, libxsmm', err)
    assert.matches('^measure ', bad)
    for _, lib in ipairs{'blis', 'libxsmm'} do
      local o, e = run('MXLUA_GEMM_PLAN=' .. lib, code)
      if mx.core.gemm_plan().libraries[lib].built then
        assert.matches('^' .. lib .. ' ' .. lib .. ' forced', o)
      else
        assert.matches('this build has no ' .. lib, e)
        assert.matches('^openblas openblas', o)
      end
    end
  end)
end)
