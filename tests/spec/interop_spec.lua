-- interop_spec: .params / NDArray lists and -symbol.json files written by Apache MXNet itself
-- (../shared/interop/, see its SOURCES.md), read with the values and shapes they are known to
-- hold. mxlua's own round trips cannot see a change made alike to a writer and its reader;
-- these files can. Skipped, saying so, where the folder is absent ($MXLUA_INTEROP overrides it).
local mx = require 'mx'

local root = os.getenv('MXLUA_ROOT') or '.'
local dir = os.getenv('MXLUA_INTEROP') or (root .. '/../shared/interop')
local present = io.open(dir .. '/SOURCES.md') ~= nil

local function interop_it(name, fn)
  if present then
    it(name, fn)
  else
    pending('skipped: no MXNet-written files in ' .. dir .. ' (set MXLUA_INTEROP)')
  end
end

local function shape_str(s) return '(' .. table.concat(s, ',') .. ')' end

describe('files written by MXNet', function()
  interop_it("NDArray lists: legacy (MXNet's own legacy_ndarray.v0) and V3 (numpy mode), named and not", function()
    local legacy = mx.nd.load(dir .. '/mxnet-legacy-ndarray-v0/legacy_ndarray.v0')
    assert.are.equal(6, #legacy)
    for i = 1, 6 do
      local t = legacy[i]:totable()
      assert.are.equal(128, #t)
      for k = 1, 128 do assert.are.equal(k - 1, t[k]) end
    end
    local one = mx.nd.load(dir .. '/d2l-npx-v3/x-file')
    assert.are.same({{0, 1, 2, 3}}, {one[1]:totable()})
    local two = mx.nd.load(dir .. '/d2l-npx-v3/x-files')
    assert.are.same({{0, 1, 2, 3}, {0, 0, 0, 0}}, {two[1]:totable(), two[2]:totable()})
    local named = mx.nd.load(dir .. '/d2l-npx-v3/mydict')
    assert.are.same({0, 1, 2, 3}, named.x:totable())
    assert.are.same({0, 0, 0, 0}, named.y:totable())
    local mlp = mx.nd.load(dir .. '/d2l-npx-v3/mlp.params')
    local shapes = {}
    for k, v in pairs(mlp) do shapes[k] = shape_str(v:shape()) end
    assert.are.same({['hidden.weight'] = '(256,20)', ['hidden.bias'] = '(256)', ['output.weight'] = '(10,256)',
                     ['output.bias'] = '(10)'}, shapes)
  end)

  interop_it("ImageRecordIter's mean.bin: one named (3, 299, 299) array of pixel means", function()
    local m = mx.nd.load(dir .. '/go-mxnet-predictor-meanbin/mean.bin')
    assert.are.same({3, 299, 299}, m.mean_img:shape())
    local lo, hi = math.huge, -math.huge
    for _, v in ipairs(m.mean_img:reshape{-1}:totable()) do lo, hi = math.min(lo, v), math.max(hi, v) end
    assert.is_true(lo >= 0 and hi <= 255 and hi > lo, ('%g .. %g'):format(lo, hi))
  end)

  interop_it('an early-NNVM checkpoint (0.9.4, "attr"): the symbol and its parameters, values as written', function()
    local s = mx.sym.load(dir .. '/go-mxnet-predictor-test/go_test-symbol.json')
    assert.are.same({'data', 'pred_weight', 'pred_bias', 'softmax_label'}, s:list_arguments())
    local p = mx.nd.load(dir .. '/go-mxnet-predictor-test/go_test-0001.params')
    assert.are.same({10, 1}, p['arg:pred_weight']:shape())
    assert.are.same({0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, p['arg:pred_bias']:totable())
    -- the first weights in the file (float32), as written
    local w = p['arg:pred_weight']:reshape{-1}:totable()
    for i, v in ipairs{0.00097627006471157, 0.0018568923696876, 0.0043037869036198, -0.0015269042924047} do
      assert.near(v, w[i == 4 and 9 or i], 1e-12)
    end
  end)

  interop_it('an MXNet 0.8 symbol (save_000800.json): arguments, auxiliary states, shapes', function()
    local s = mx.sym.load(dir .. '/mxnet-symbol-json-000800/save_000800.json')
    assert.are.same({'data', 'fc1_weight', 'fc1_bias', 'fc2_weight', 'fc2_bias', 'fc3_weight', 'fc3_bias',
                     'batchnorm0_gamma', 'batchnorm0_beta', 'softmax_label'}, s:list_arguments())
    assert.are.same({'batchnorm0_moving_mean', 'batchnorm0_moving_var'}, s:list_auxiliary_states())
    local args = s:infer_shape{data = {2, 10}}
    assert.are.equal(10, #args)
    -- written again and read back, the same graph
    local again = mx.sym.load_json(s:tojson())
    assert.are.same(s:list_arguments(), again:list_arguments())
  end)

  interop_it('a Module checkpoint (1.3.0, V2 .params): every parameter has the shape the symbol infers', function()
    local s = mx.sym.load(dir .. '/insightface-gender-age/model-symbol.json')
    local p = mx.nd.load(dir .. '/insightface-gender-age/model-0000.params')
    local args, _, aux = s:infer_shape{data = {1, 3, 112, 112}}
    local n = 0
    for i, name in ipairs(s:list_arguments()) do
      local a = p['arg:' .. name]
      if a then
        assert.are.equal(shape_str(args[i]), shape_str(a:shape()), name)
        n = n + 1
      end
    end
    for i, name in ipairs(s:list_auxiliary_states()) do
      local a = assert(p['aux:' .. name], name)
      assert.are.equal(shape_str(aux[i]), shape_str(a:shape()), name)
      n = n + 1
      -- a moving variance read from the right bytes is not negative, and finite (dead channels give 0)
      if name:match('moving_var$') then
        for _, v in ipairs(a:totable()) do assert.is_true(v >= 0 and v < math.huge, name .. ' ' .. v) end
      end
    end
    assert.are.equal(146, n)
  end)
end)
