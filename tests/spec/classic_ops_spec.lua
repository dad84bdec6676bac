-- classic_ops_spec: the operators and parameters classic MXNet models carry:
-- SoftmaxActivation, SliceChannel/split, Reshape's special codes, Pooling's
-- count_include_pad, Dropout's mode, Activation softsign/log_sigmoid, each forward
-- against plain loops and backward against finite differences; the parameters MXNet
-- 1.x writes (accepted, honoured, or refused naming the node); a Gluon-style export.
local mx = require 'mx'
local G = require 'gradcheck'
local S = mx.symbol

local function run(sym, inputs, is_train)
  local exe = sym:bind{ctx = mx.cpu(), args = inputs}
  exe:forward{is_train = is_train or false}
  return exe.outputs
end

local function fails(f, ...)
  local ok, err = pcall(f)
  assert.is_false(ok)
  for _, pattern in ipairs{...} do assert.matches(pattern, err, 1, true) end
end

describe('SoftmaxActivation', function()
  local x = S.Variable('x')

  it('instance mode: softmax over all of each sample; channel mode: over axis 1 at each position', function()
    local v = G.random({2, 3, 2, 2}, -2, 2)
    local f = G.flat(v)
    local inst = G.flat(run(S.SoftmaxActivation{data = x}, {x = v})[1])
    local chan = G.flat(run(S.SoftmaxActivation{data = x, mode = 'channel'}, {x = v})[1])
    for n = 0, 1 do
      local sum = 0
      for i = 1, 12 do sum = sum + math.exp(f[n * 12 + i]) end
      for i = 1, 12 do assert.is_true(G.near(inst[n * 12 + i], math.exp(f[n * 12 + i]) / sum, 1e-5)) end
      for pos = 1, 4 do
        local s = 0
        for c = 0, 2 do s = s + math.exp(f[n * 12 + c * 4 + pos]) end
        for c = 0, 2 do
          local i = n * 12 + c * 4 + pos
          assert.is_true(G.near(chan[i], math.exp(f[i]) / s, 1e-5))
        end
      end
    end
  end)

  it('gradients match finite differences in both modes', function()
    G.check_symbol(S.SoftmaxActivation{data = x}, {x = G.random({3, 5}, -2, 2)})
    G.check_symbol(S.SoftmaxActivation{data = x, mode = 'channel'}, {x = G.random({2, 3, 2, 3}, -2, 2)})
  end)

  it('refuses an unknown mode naming the node', function()
    fails(function() S.SoftmaxActivation{data = x, mode = 'pixel', name = 'sm'} end, 'sm', "bad value 'pixel'")
  end)
end)

describe('SliceChannel / split', function()
  local x = S.Variable('x')

  it('cuts axis 1 into equal parts, output0.. named as MXNet', function()
    local s = S.SliceChannel{data = x, num_outputs = 3, name = 'sl'}
    assert.are.same({'sl_output0', 'sl_output1', 'sl_output2'}, s:list_outputs())
    local v = mx.nd.array({{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}})
    local out = run(s, {x = v})
    assert.are.same({{1, 2}, {7, 8}}, out[1]:totable())
    assert.are.same({{5, 6}, {11, 12}}, out[3]:totable())
  end)

  it("axis and squeeze_axis: parts one wide lose the axis; a file's 'split' is the same operator", function()
    local v = G.random({2, 3, 4})
    local f = G.flat(v)
    local split = mx.sym.load_json([==[{"nodes": [{"op": "null", "name": "x", "inputs": []},
      {"op": "split", "name": "s", "attrs": {"num_outputs": "3", "axis": "1", "squeeze_axis": "True"},
       "inputs": [[0, 0, 0]]}], "arg_nodes": [0], "heads": [[1, 0, 0], [1, 1, 0], [1, 2, 0]]}]==])
    local out = run(split, {x = v})
    for p = 1, 3 do
      assert.are.same({2, 4}, out[p]:shape())
      local got = G.flat(out[p])
      for n = 0, 1 do
        for k = 1, 4 do assert.are.equal(f[n * 12 + (p - 1) * 4 + k], got[n * 4 + k]) end
      end
    end
    local last = run(S.SliceChannel{data = x, num_outputs = 2, axis = -1}, {x = v})
    assert.are.same({2, 3, 2}, last[2]:shape())
    assert.are.equal(f[3], G.flat(last[2])[1])
  end)

  it('gradients match finite differences, an unused part included', function()
    local parts = S.SliceChannel{data = x, num_outputs = 3, axis = 2, name = 'sl'}
    G.check_symbol(parts, {x = G.random({2, 2, 6})})
    local two = S.Group{S.Activation{data = parts[1], act_type = 'tanh'}, parts[3]}
    G.check_symbol(two, {x = G.random({2, 2, 6})})
  end)

  it('a size that does not split, or squeeze_axis on wide parts, is refused naming the node', function()
    local s = S.SliceChannel{data = x, num_outputs = 4, name = 'cut'}
    fails(function() s:infer_shape{x = {2, 6}} end, 'SliceChannel cut', '(2,6)')
    local q = S.SliceChannel{data = x, num_outputs = 2, squeeze_axis = true, name = 'sq'}
    fails(function() q:infer_shape{x = {2, 6}} end, 'SliceChannel sq', 'squeeze_axis')
  end)
end)

describe("Reshape's special codes", function()
  local x = S.Variable('x')
  local function out_shape(params, shape)
    params.data = x
    local _, outs = S.Reshape(params):infer_shape{x = shape}
    return outs[1]
  end

  it('0 keeps, -1 infers, -2 keeps the rest, -3 merges two, -4 splits one (MXNet examples)', function()
    assert.are.same({2, 3, 4}, out_shape({shape = {0, 0, -1}}, {2, 3, 4}))
    assert.are.same({2, 12}, out_shape({shape = {0, -1}}, {2, 3, 4}))
    assert.are.same({2, 3, 4}, out_shape({shape = {-2}}, {2, 3, 4}))
    assert.are.same({2, 3, 4, 1, 1}, out_shape({shape = {-2, 1, 1}}, {2, 3, 4}))
    assert.are.same({6, 4}, out_shape({shape = {-3, 4}}, {2, 3, 4}))
    assert.are.same({6, 20}, out_shape({shape = {-3, -3}}, {2, 3, 4, 5}))
    assert.are.same({2, 12}, out_shape({shape = {0, -3}}, {2, 3, 4}))
    assert.are.same({6, 1, 4}, out_shape({shape = {-3, -2}}, {2, 3, 1, 4}))
    assert.are.same({1, 2, 3, 4}, out_shape({shape = {-4, 1, 2, -2}}, {2, 3, 4}))
    assert.are.same({2, 1, 3, 4}, out_shape({shape = {2, -4, -1, 3, -2}}, {2, 3, 4}))
  end)

  it('reverse matches from the right; the deprecated target_shape and keep_highest still read', function()
    assert.are.same({40, 5}, out_shape({shape = {-1, 0}}, {10, 5, 4}))
    assert.are.same({50, 4}, out_shape({shape = {-1, 0}, reverse = true}, {10, 5, 4}))
    assert.are.same({4, 6}, out_shape({target_shape = {4, 0}}, {2, 3, 4}))
    assert.are.same({2, 12}, out_shape({target_shape = {7, 0}, keep_highest = true}, {2, 3, 4}))
  end)

  it('the data is unchanged and the gradient passes through', function()
    local v = G.random({2, 3, 4})
    local s = S.Reshape{data = x, shape = {-4, 1, 2, -3}}
    local out = run(s, {x = v})[1]
    assert.are.same({1, 2, 12}, out:shape())
    assert.are.same(G.flat(v), G.flat(out))
    G.check_symbol(s, {x = v})
  end)

  it('codes that do not fit are refused naming the node and the shapes', function()
    fails(function() out_shape({shape = {-3, -3}, name = 'r'}, {2, 3, 4}) end, 'Reshape', '(2,3,4)', '-3')
    fails(function() out_shape({shape = {-4, 5, -1}}, {2, 3, 4}) end, '-4')
  end)
end)

describe('Pooling count_include_pad', function()
  local x = S.Variable('x')

  it('False divides by the data inside the window, True (the default) by the padded window', function()
    local v = G.random({1, 2, 3, 3})
    local f = G.flat(v)
    local function pooled(include)
      return G.flat(run(S.Pooling{data = x, kernel = {2, 2}, stride = {2, 2}, pad = {1, 1}, pool_type = 'avg',
        count_include_pad = include}, {x = v})[1])
    end
    local excl, incl = pooled(false), pooled(true)
    for c = 0, 1 do
      for oy = 0, 1 do
        for ox = 0, 1 do
          local s, n = 0, 0
          for i = 2 * oy - 1, 2 * oy do
            for j = 2 * ox - 1, 2 * ox do
              if i >= 0 and i < 3 and j >= 0 and j < 3 then
                s, n = s + f[c * 9 + i * 3 + j + 1], n + 1
              end
            end
          end
          local k = c * 4 + oy * 2 + ox + 1
          assert.is_true(G.near(excl[k], s / n, 1e-6))
          assert.is_true(G.near(incl[k], s / 4, 1e-6))
        end
      end
    end
  end)

  it('gradient matches finite differences', function()
    G.check_symbol(S.Pooling{data = x, kernel = {3, 3}, stride = {2, 2}, pad = {1, 1}, pool_type = 'avg',
      count_include_pad = false}, {x = G.random({2, 2, 5, 4})})
  end)
end)

describe('Dropout mode and Activation softsign / log_sigmoid', function()
  local x = S.Variable('x')

  it("mode 'always' drops at inference too; 'training' is the identity there", function()
    local v = mx.nd.ones({1000})
    local always = G.flat(run(S.Dropout{data = x, p = 0.5, mode = 'always'}, {x = v})[1])
    local zeros = 0
    for _, y in ipairs(always) do
      assert.is_true(y == 0 or y == 2)
      if y == 0 then zeros = zeros + 1 end
    end
    assert.is_true(zeros > 350 and zeros < 650, 'about half dropped (got ' .. zeros .. ')')
    assert.are.same(G.flat(v), G.flat(run(S.Dropout{data = x, p = 0.5}, {x = v})[1]))
  end)

  it('softsign x/(1+|x|) and log_sigmoid log(1/(1+e^-x)), forward and gradient', function()
    local v = G.random({4, 5}, -4, 4)
    local f = G.flat(v)
    local ss = G.flat(run(S.Activation{data = x, act_type = 'softsign'}, {x = v})[1])
    local ls = G.flat(run(S.Activation{data = x, act_type = 'log_sigmoid'}, {x = v})[1])
    for i, xi in ipairs(f) do
      assert.is_true(G.near(ss[i], xi / (1 + math.abs(xi)), 1e-6))
      assert.is_true(G.near(ls[i], math.log(1 / (1 + math.exp(-xi))), 1e-5))
    end
    G.check_symbol(S.Activation{data = x, act_type = 'softsign'}, {x = v})
    G.check_symbol(S.Activation{data = x, act_type = 'log_sigmoid'}, {x = v})
  end)
end)

describe('parameters MXNet 1.x writes', function()
  local x = S.Variable('x')

  it("kernel tuning (workspace, cudnn_tune, cudnn_off) is accepted and changes nothing", function()
    local v, w = G.random({1, 2, 5, 5}), G.random({3, 2, 3, 3})
    local plain = S.Convolution{data = x, kernel = {3, 3}, num_filter = 3, no_bias = true, name = 'c'}
    local tuned = S.Convolution{data = x, kernel = {3, 3}, num_filter = 3, no_bias = true, name = 'c',
      workspace = 512, cudnn_tune = 'fastest', cudnn_off = true, layout = 'NCHW'}
    assert.are.same(G.flat(run(plain, {x = v, c_weight = w})[1]), G.flat(run(tuned, {x = v, c_weight = w})[1]))
    S.Pooling{data = x, kernel = {2, 2}, cudnn_off = true, p_value = 2, layout = 'NCHW'}:infer_shape{x = {1, 1, 4, 4}}
    S.BatchNorm{data = x, cudnn_off = true, min_calib_range = -1, max_calib_range = 1}:infer_shape{x = {2, 3}}
    S.Dropout{data = x, cudnn_off = true}:infer_shape{x = {2, 3}}
    S._PlusScalar{data = x, scalar = 1, is_int = false}:infer_shape{x = {2}}
    S.softmax{data = x, temperature = 1, dtype = 'float32'}:infer_shape{x = {2, 3}}
  end)

  it('values mxlua cannot honour are refused naming the operator and the node', function()
    local cases = {
      {S.Convolution{data = x, kernel = {3, 3}, num_filter = 2, layout = 'NHWC', name = 'c1'}, 'Convolution c1',
       'NHWC'},
      {S.Pooling{data = x, kernel = {2, 2}, layout = 'NHWC', name = 'p1'}, 'Pooling p1', 'NHWC'},
      {S.Pooling{data = x, kernel = {2, 2}, pool_type = 'lp', p_value = 2, name = 'p2'}, 'Pooling p2', 'lp'},
      {S.Pooling{data = x, kernel = {2, 2}, pooling_convention = 'same', name = 'p3'}, 'Pooling p3', 'same'},
      {S.Dropout{data = x, axes = {2, 3}, name = 'd1'}, 'Dropout d1', 'axes'},
      {S.LeakyReLU{data = x, act_type = 'gelu', name = 'g1'}, 'LeakyReLU g1', 'gelu'},
      {S.Activation{data = x, act_type = 'mish', name = 'm1'}, 'Activation m1', 'mish'},
      {S.softmax{data = x, temperature = 2, name = 's1'}, 'softmax s1', 'temperature'},
      {S.softmax{data = x, dtype = 'float16', name = 's2'}, 'softmax s2', 'float16'},
      {S.SoftmaxOutput{data = x, smooth_alpha = 0.1, name = 's3'}, 'SoftmaxOutput s3', 'smooth_alpha'},
    }
    for _, c in ipairs(cases) do fails(function() c[1]:infer_shape{x = {1, 2, 6, 6}} end, c[2], c[3]) end
  end)

  it('a Gluon-style export (1.x attrs, __shape__ with 0, __dtype__, __init__, lr_mult) loads, binds, predicts',
    function()
      local json = [==[{
  "nodes": [
    {"op": "null", "name": "data", "attrs": {"__shape__": "(0, 3, 8, 8)", "__dtype__": "0",
      "__storage_type__": "0"}, "inputs": []},
    {"op": "null", "name": "c_weight", "attrs": {"__shape__": "(4, 0, 3, 3)", "__dtype__": "0",
      "__init__": "[\"xavier\", {}]", "__lr_mult__": "0.5", "__wd_mult__": "0"}, "inputs": []},
    {"op": "null", "name": "c_bias", "attrs": {"__shape__": "(4,)", "__dtype__": "0"}, "inputs": []},
    {"op": "Convolution", "name": "c", "attrs": {"kernel": "(3, 3)", "num_filter": "4", "layout": "NCHW",
      "workspace": "1024", "cudnn_tune": "None", "cudnn_off": "False", "dilate": "(1, 1)", "stride": "(1, 1)",
      "pad": "(1, 1)", "num_group": "1", "no_bias": "False"}, "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
    {"op": "Activation", "name": "relu", "attrs": {"act_type": "relu"}, "inputs": [[3, 0, 0]]},
    {"op": "Pooling", "name": "pool", "attrs": {"kernel": "(2, 2)", "stride": "(2, 2)", "pad": "(0, 0)",
      "pool_type": "avg", "global_pool": "False", "pooling_convention": "valid", "count_include_pad": "True",
      "layout": "NCHW", "cudnn_off": "False"}, "inputs": [[4, 0, 0]]},
    {"op": "null", "name": "fc_weight", "attrs": {"__shape__": "(5, 0)", "__dtype__": "0"}, "inputs": []},
    {"op": "null", "name": "fc_bias", "attrs": {"__shape__": "(5,)", "__dtype__": "0"}, "inputs": []},
    {"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "5", "flatten": "True", "no_bias": "False"},
      "inputs": [[5, 0, 0], [6, 0, 0], [7, 0, 0]]}
  ],
  "arg_nodes": [0, 1, 2, 6, 7],
  "node_row_ptr": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  "heads": [[8, 0, 0]],
  "attrs": {"mxnet_version": ["int", 10901]}
}]==]
      local s = mx.sym.load_json(json)
      local args, outs = s:infer_shape{data = {2, 3, 8, 8}}
      assert.are.same({4, 3, 3, 3}, args[2])
      assert.are.same({5, 64}, args[4])
      assert.are.same({2, 5}, outs[1])
      local internals = s:get_internals()
      local a = internals:get_output(2):list_attr()
      assert.are.same({'(4, 0, 3, 3)', '0', '[\"xavier\", {}]', '0.5'}, {a.__shape__, a.__dtype__, a.__init__,
        a.__lr_mult__})
      -- the attributes survive a save
      local again = mx.sym.load_json(s:tojson()):get_internals():get_output(2):list_attr()
      assert.are.same(a, again)
      local exe = s:simple_bind{ctx = mx.cpu(), data = {2, 3, 8, 8}, grad_req = 'null'}
      exe:forward{is_train = false}
      assert.are.same({2, 5}, exe.outputs[1]:shape())
      local opt = mx.optimizer.SGD{learning_rate = 1, sym = s, param_idx2name = {'c_weight'}}
      local w = mx.nd.ones({2})
      opt:update(1, w, mx.nd.ones({2}), nil)
      assert.are.same({0.5, 0.5}, G.flat(w))
    end)
end)

describe('expand_dims, Cast, clip, slice_axis, transpose, sum / mean / max', function()
  local x = S.Variable('x')

  it('expand_dims and Cast float32 keep the data; Cast to another type is refused naming the node', function()
    local v = G.random({2, 3})
    local e = run(S.expand_dims{data = x, axis = -1}, {x = v})[1]
    assert.are.same({2, 3, 1}, e:shape())
    assert.are.same(G.flat(v), G.flat(e))
    assert.are.same({2, 1, 3}, run(S.expand_dims{data = x, axis = 1}, {x = v})[1]:shape())
    assert.are.same(G.flat(v), G.flat(run(S.Cast{data = x, dtype = 'float32'}, {x = v})[1]))
    fails(function() S.Cast{data = x, dtype = 'float16', name = 'c16'}:infer_shape{x = {2}} end, 'Cast c16', 'float16')
    G.check_symbol(S.expand_dims{data = x, axis = 0}, {x = v})
  end)

  it('clip: forward against min/max, gradient only strictly inside', function()
    local v = G.random({4, 5}, -2, 2, 0.05)
    local f = G.flat(v)
    local got = G.flat(run(S.clip{data = x, a_min = -0.5, a_max = 0.7}, {x = v})[1])
    for i, xi in ipairs(f) do assert.is_true(G.near(got[i], math.min(math.max(xi, -0.5), 0.7), 1e-7)) end
    local away = G.flat(v)
    for i, xi in ipairs(away) do -- keep finite differences off the corners
      if math.abs(xi + 0.5) < 0.05 or math.abs(xi - 0.7) < 0.05 then away[i] = 0 end
    end
    G.check_symbol(S.clip{data = x, a_min = -0.5, a_max = 0.7}, {x = mx.nd.array(away):reshape{4, 5}})
  end)

  it('slice_axis: [begin, end) with negative values and end None, against loops', function()
    local v = G.random({3, 5, 2})
    local f = G.flat(v)
    local out = run(S.slice_axis{data = x, axis = 1, begin = -4, ['end'] = 4}, {x = v})[1]
    assert.are.same({3, 3, 2}, out:shape())
    local got = G.flat(out)
    for a = 0, 2 do
      for b = 0, 2 do
        for c = 0, 1 do assert.are.equal(f[(a * 5 + b + 1) * 2 + c + 1], got[(a * 3 + b) * 2 + c + 1]) end
      end
    end
    assert.are.same({2, 5, 2}, run(S.slice_axis{data = x, axis = 0, begin = 1}, {x = v})[1]:shape())
    G.check_symbol(S.slice_axis{data = x, axis = -1, begin = 1, ['end'] = 2}, {x = v})
    fails(function() S.slice_axis{data = x, axis = 1, begin = 4, ['end'] = 2, name = 'sa'}:infer_shape{x = {3, 5}} end,
      'slice_axis sa')
  end)

  it('transpose: output axis i is input axis axes[i]; default reverses', function()
    local v = G.random({2, 3, 4})
    local f = G.flat(v)
    local out = run(S.transpose{data = x, axes = {1, 2, 0}}, {x = v})[1]
    assert.are.same({3, 4, 2}, out:shape())
    local got = G.flat(out)
    for i = 0, 1 do
      for j = 0, 2 do
        for k = 0, 3 do assert.are.equal(f[(i * 3 + j) * 4 + k + 1], got[(j * 4 + k) * 2 + i + 1]) end
      end
    end
    assert.are.same({4, 3, 2}, run(S.transpose{data = x}, {x = v})[1]:shape())
    G.check_symbol(S.transpose{data = x, axes = {2, 0, 1}}, {x = v})
    fails(function() S.transpose{data = x, axes = {0, 0, 1}, name = 't'}:infer_shape{x = {2, 3, 4}} end, 'transpose t')
  end)

  it('sum, mean, max over axes with keepdims, against loops; gradients by finite differences', function()
    local v = G.random({2, 3, 4})
    local f = G.flat(v)
    local s = G.flat(run(S.sum{data = x, axis = 1}, {x = v})[1])
    local m = G.flat(run(S.mean{data = x, axis = {1, 2}, keepdims = true}, {x = v})[1])
    local mx_ = G.flat(run(S.max{data = x, axis = -1}, {x = v})[1])
    for i = 0, 1 do
      local all = 0
      for k = 0, 3 do
        local col = 0
        for j = 0, 2 do col = col + f[(i * 3 + j) * 4 + k + 1] end
        assert.is_true(G.near(s[i * 4 + k + 1], col, 1e-5))
        all = all + col
      end
      assert.is_true(G.near(m[i + 1], all / 12, 1e-5))
      for j = 0, 2 do
        local best = -math.huge
        for k = 0, 3 do best = math.max(best, f[(i * 3 + j) * 4 + k + 1]) end
        assert.are.equal(best, mx_[i * 3 + j + 1])
      end
    end
    assert.are.same({2, 1, 1}, run(S.mean{data = x, axis = {1, 2}, keepdims = true}, {x = v})[1]:shape())
    assert.are.same({1}, run(S.sum{data = x}, {x = v})[1]:shape())
    G.check_symbol(S.sum{data = x, axis = 1, keepdims = true}, {x = v})
    G.check_symbol(S.mean{data = x, axis = {0, 1}}, {x = v})
    -- values 0.1 apart, so that central differences never cross a tie
    local spaced = mx.nd.random_permutation(24):reshape{2, 3, 4} / 10 - 1.2
    G.check_symbol(S.max{data = x, axis = 2}, {x = spaced})
    fails(function() S.sum{data = x, axis = {0, 2}, name = 'r'}:infer_shape{x = {2, 3, 4}} end, 'sum r', 'adjacent')
  end)
end)

describe('Crop, UpSampling, L2Normalization, InstanceNorm, LRN', function()
  local x = S.Variable('x')
  -- the value of a flat NCHW table at (n, c, h, w), 1-based
  local function at(f, d, n, c, h, w) return f[(((n - 1) * d[2] + c - 1) * d[3] + h - 1) * d[4] + w] end

  it('Crop: the h_w window at offset, in the centre, or of a second input; others refused', function()
    local v = mx.random.uniform(-1, 1, {2, 3, 6, 7})
    local f, d = G.flat(v), v:shape()
    for _, case in ipairs{{{offset = {1, 2}, h_w = {3, 4}}, 1, 2}, {{h_w = {4, 3}, center_crop = true}, 1, 2}} do
      local params = {x, num_args = 1}
      for k, val in pairs(case[1]) do params[k] = val end
      local out = run(S.Crop(params), {x = v})[1]
      local o, want = out:shape(), {}
      local y0, x0 = case[2], case[3]
      if case[1].center_crop then y0, x0 = (6 - 4) // 2, (7 - 3) // 2 end
      for n = 1, o[1] do for c = 1, o[2] do for h = 1, o[3] do for w = 1, o[4] do
        want[#want + 1] = at(f, d, n, c, h + y0, w + x0)
      end end end end
      G.assert_all_near(G.flat(out), want, 0)
    end
    local like = S.Variable('like')
    local s = S.Crop{x, like, num_args = 2, offset = {2, 1}}
    local _, outs = s:infer_shape{x = {2, 3, 6, 7}, like = {9, 9, 2, 5}}
    assert.are.same({2, 3, 2, 5}, outs[1])
    G.check_symbol(S.Crop{x, num_args = 1, offset = {1, 2}, h_w = {3, 4}}, {x = v})
    G.check_symbol(s, {x = v, like = mx.nd.zeros{1, 1, 2, 5}})
    local bad = S.Crop{x, num_args = 1, offset = {4, 0}, h_w = {3, 4}, name = 'cr'}
    fails(function() bad:infer_shape{x = {2, 3, 6, 7}} end, 'Crop cr', 'does not fit data (2,3,6,7)')
  end)

  it('UpSampling nearest: each pixel repeated scale x scale times; bilinear refused naming the node', function()
    local v = mx.random.uniform(-1, 1, {2, 3, 4, 5})
    local out = run(S.UpSampling{x, scale = 3, sample_type = 'nearest'}, {x = v})[1]
    assert.are.same({2, 3, 12, 15}, out:shape())
    local f, d, o, want = G.flat(v), v:shape(), out:shape(), {}
    for n = 1, o[1] do for c = 1, o[2] do for h = 1, o[3] do for w = 1, o[4] do
      want[#want + 1] = at(f, d, n, c, (h - 1) // 3 + 1, (w - 1) // 3 + 1)
    end end end end
    G.assert_all_near(G.flat(out), want, 0)
    G.check_symbol(S.UpSampling{x, scale = 2, sample_type = 'nearest'}, {x = v})
    local bilinear = S.UpSampling{x, scale = 2, sample_type = 'bilinear', name = 'up'}
    fails(function() bilinear:infer_shape{x = {1, 1, 2, 2}} end, 'UpSampling up', "'bilinear' is not supported")
  end)

  it('L2Normalization: instance, channel and spatial groups against loops; gradients', function()
    local v = mx.random.uniform(-1, 1, {2, 3, 2, 2})
    local f, d = G.flat(v), v:shape()
    -- the group key of each element (1-based n, c, h, w) per mode
    local keys = {
      instance = function(n) return n end,
      channel = function(n, _, h, w) return n .. ':' .. h .. ':' .. w end,
      spatial = function(n, c) return n .. ':' .. c end,
    }
    for mode, key in pairs(keys) do
      local sums = {}
      for n = 1, 2 do for c = 1, 3 do for h = 1, 2 do for w = 1, 2 do
        local k = key(n, c, h, w)
        sums[k] = (sums[k] or 0) + at(f, d, n, c, h, w) ^ 2
      end end end end
      local want = {}
      for n = 1, 2 do for c = 1, 3 do for h = 1, 2 do for w = 1, 2 do
        want[#want + 1] = at(f, d, n, c, h, w) / math.sqrt(sums[key(n, c, h, w)] + 1e-10)
      end end end end
      G.assert_all_near(G.flat(run(S.L2Normalization{data = x, mode = mode}, {x = v})[1]), want, 1e-5)
      G.check_symbol(S.L2Normalization{data = x, mode = mode}, {x = v})
    end
  end)

  it('InstanceNorm: each (sample, channel) to mean 0 and variance 1 over its positions, then gamma, beta', function()
    local v, gamma, beta = mx.random.uniform(-2, 2, {2, 3, 4}), mx.nd.array{0.5, -1, 2}, mx.nd.array{0.1, 0.2, -0.3}
    local s = S.InstanceNorm{data = x, gamma = S.Variable('g'), beta = S.Variable('b'), eps = 1e-3}
    local out = G.flat(run(s, {x = v, g = gamma, b = beta})[1])
    local f, gf, bf, want = G.flat(v), G.flat(gamma), G.flat(beta), {}
    for n = 0, 1 do for c = 0, 2 do
      local m, var = 0, 0
      for p = 1, 4 do m = m + f[(n * 3 + c) * 4 + p] / 4 end
      for p = 1, 4 do var = var + (f[(n * 3 + c) * 4 + p] - m) ^ 2 / 4 end
      for p = 1, 4 do
        want[#want + 1] = gf[c + 1] * (f[(n * 3 + c) * 4 + p] - m) / math.sqrt(var + 1e-3) + bf[c + 1]
      end
    end end
    G.assert_all_near(out, want, 1e-5)
    G.check_symbol(s, {x = v, g = gamma, b = beta}, {rtol = 3e-2})
    fails(function() S.InstanceNorm{data = x, name = 'in'}:infer_shape{x = {2, 3}} end, 'InstanceNorm in', 'at least 3')
  end)

  it('LRN: x * (knorm + alpha / nsize * window sum of squares over channels)^-beta; gradients', function()
    local v = mx.random.uniform(-2, 2, {2, 5, 2, 3})
    local f, d = G.flat(v), v:shape()
    local alpha, beta, knorm, nsize = 0.3, 0.75, 2, 3
    local want = {}
    for n = 1, 2 do for c = 1, 5 do for h = 1, 2 do for w = 1, 3 do
      local sum = 0
      for j = math.max(1, c - 1), math.min(5, c + 1) do sum = sum + at(f, d, n, j, h, w) ^ 2 end
      want[#want + 1] = at(f, d, n, c, h, w) * (knorm + alpha / nsize * sum) ^ -beta
    end end end end
    local s = S.LRN{data = x, alpha = alpha, beta = beta, knorm = knorm, nsize = nsize}
    G.assert_all_near(G.flat(run(s, {x = v})[1]), want, 1e-5)
    G.check_symbol(s, {x = v})
    G.check_symbol(S.LRN{data = x, alpha = 1, beta = 0.5, nsize = 5}, {x = v})
    fails(function() S.LRN{data = x, nsize = 4, name = 'lrn'}:infer_shape{x = {1, 4, 2, 2}} end, 'LRN lrn', 'odd')
  end)
end)
