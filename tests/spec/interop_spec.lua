-- interop_spec: files written by Apache MXNet itself (../shared/interop, see its
-- SOURCES.md) load with their known contents, and each model runs forward: MTCNN's
-- PNet against a plain-Lua computation of the same layers, go_test through predict with
-- a data-only iterator, insightface on 112x112. And what mxlua writes has MXNet's byte
-- layout, read back by a reader written here from SOURCES.md (and lua-cjson), not by
-- the engine.
local mx = require 'mx'
local G = require 'gradcheck'
local json_decode = require('cjson').decode

-- The folder: $MXLUA_INTEROP, else <checkout>/../shared/interop, else /work/shared/interop.
local function interop_dir()
  local root = os.getenv('MXLUA_ROOT') or '.'
  for _, d in ipairs{os.getenv('MXLUA_INTEROP') or false, root .. '/../shared/interop', '/work/shared/interop'} do
    if d then
      local f = io.open(d .. '/SOURCES.md', 'r')
      if f then
        f:close()
        return d
      end
    end
  end
end
local D = interop_dir()

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end
local function sorted_keys(t)
  local k = {}
  for name in pairs(t) do k[#k + 1] = name end
  table.sort(k)
  return k
end

---- an independent reader of MXNet's NDArray list file (SOURCES.md's byte layout) ----

-- -> {arrays = {{magic, stype, shape, dev_type, dev_id, type_flag, values}}, names = {...}}
local function read_ndarray_file(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('a')
  f:close()
  local pos = 1
  local function take(fmt)
    local v
    v, pos = string.unpack(fmt, s, pos)
    return v
  end
  assert(take('<I8') == 0x112, 'list magic')
  assert(take('<I8') == 0, 'reserved word')
  local out = {arrays = {}, names = {}}
  for i = 1, take('<I8') do
    local a = {magic = take('<I4')}
    assert(a.magic == 0xF993FAC9, ('array %d: V2 magic expected, got 0x%x'):format(i, a.magic))
    a.stype = take('<i4')
    local ndim = take('<I4')
    a.shape = {}
    for d = 1, ndim do a.shape[d] = take('<i8') end
    a.dev_type, a.dev_id, a.type_flag = take('<i4'), take('<i4'), take('<i4')
    local n = 1
    for _, d in ipairs(a.shape) do n = n * d end
    a.values = {}
    for k = 1, n do a.values[k] = take('<f') end
    out.arrays[i] = a
  end
  for i = 1, take('<I8') do out.names[i] = take('<s8') end
  assert(pos == #s + 1, 'bytes left after the names')
  return out
end

---- plain-Lua layers for MTCNN's PNet (flat lists, (c, h, w) row-major) ----

local function conv(x, c, h, w, weight, bias, f, k)
  local oh, ow, y = h - k + 1, w - k + 1, {}
  for o = 0, f - 1 do
    for i = 0, oh - 1 do
      for j = 0, ow - 1 do
        local s = bias[o + 1]
        for ci = 0, c - 1 do
          for ki = 0, k - 1 do
            for kj = 0, k - 1 do
              s = s + weight[((o * c + ci) * k + ki) * k + kj + 1] * x[(ci * h + i + ki) * w + j + kj + 1]
            end
          end
        end
        y[(o * oh + i) * ow + j + 1] = s
      end
    end
  end
  return y, oh, ow
end

local function prelu(x, hw, gamma)
  local y = {}
  for i = 1, #x do
    local ch = (i - 1) // hw + 1
    y[i] = x[i] > 0 and x[i] or gamma[ch] * x[i]
  end
  return y
end

-- 2x2 max pooling, stride 2, MXNet's 'full' convention (ceil; windows clipped to the data)
local function maxpool_full(x, c, h, w)
  local oh, ow, y = (h - 2 + 1) // 2 + 1, (w - 2 + 1) // 2 + 1, {}
  for ch = 0, c - 1 do
    for i = 0, oh - 1 do
      for j = 0, ow - 1 do
        local m = -math.huge
        for a = 2 * i, math.min(2 * i + 1, h - 1) do
          for b = 2 * j, math.min(2 * j + 1, w - 1) do m = math.max(m, x[(ch * h + a) * w + b + 1]) end
        end
        y[(ch * oh + i) * ow + j + 1] = m
      end
    end
  end
  return y, oh, ow
end

local function pnet_reference(p, img, h, w)
  local x, oh, ow = conv(img, 3, h, w, p.conv1_weight, p.conv1_bias, 10, 3)
  x = prelu(x, oh * ow, p.prelu1_gamma)
  x, oh, ow = maxpool_full(x, 10, oh, ow)
  x, oh, ow = conv(x, 10, oh, ow, p.conv2_weight, p.conv2_bias, 16, 3)
  x = prelu(x, oh * ow, p.prelu2_gamma)
  x, oh, ow = conv(x, 16, oh, ow, p.conv3_weight, p.conv3_bias, 32, 3)
  x = prelu(x, oh * ow, p.prelu3_gamma)
  local box = conv(x, 32, oh, ow, p.conv4_2_weight, p.conv4_2_bias, 4, 1)
  local score = conv(x, 32, oh, ow, p.conv4_1_weight, p.conv4_1_bias, 2, 1)
  local prob = {}
  for i = 1, oh * ow do -- softmax over the 2 channels at each position
    local a, b = score[i], score[oh * ow + i]
    local m = math.max(a, b)
    local ea, eb = math.exp(a - m), math.exp(b - m)
    prob[i], prob[oh * ow + i] = ea / (ea + eb), eb / (ea + eb)
  end
  return box, prob, oh, ow
end

local function flat_params(arg_params)
  local p = {}
  for k, v in pairs(arg_params) do p[k] = G.flat(v) end
  return p
end

if not D then
  describe('MXNet interop files', function()
    pending('skipped: no interop folder ($MXLUA_INTEROP, <checkout>/../shared/interop or /work/shared/interop)')
  end)
  return
end

describe('NDArray files written by MXNet', function()
  it("legacy_ndarray.v0 (MXNet's own fixture): 6 unnamed arrays, each arange(128)", function()
    local t = mx.nd.load(D .. '/mxnet-legacy-ndarray-v0/legacy_ndarray.v0')
    assert.are.equal(6, #t)
    assert.are.equal(6, count(t))
    for i = 1, 6 do
      assert.are.same({128}, t[i]:shape())
      local v = G.flat(t[i])
      for k = 1, 128 do assert.are.equal(k - 1, v[k]) end
    end
  end)

  it("V3 (numpy-shape) files: x-file [0,1,2,3], x-files [x, zeros], mydict {x, y}", function()
    local x = mx.nd.load(D .. '/d2l-npx-v3/x-file')
    assert.are.equal(1, #x)
    assert.are.same({0, 1, 2, 3}, G.flat(x[1]))
    local xs = mx.nd.load(D .. '/d2l-npx-v3/x-files')
    assert.are.equal(2, #xs)
    assert.are.same({0, 1, 2, 3}, G.flat(xs[1]))
    assert.are.same({0, 0, 0, 0}, G.flat(xs[2]))
    local d = mx.nd.load(D .. '/d2l-npx-v3/mydict')
    assert.are.same({'x', 'y'}, sorted_keys(d))
    assert.are.same({0, 1, 2, 3}, G.flat(d.x))
    assert.are.same({0, 0, 0, 0}, G.flat(d.y))
  end)

  it('V3 Gluon parameters (mlp.params): names and shapes of Dense(256) + Dense(10) on 20 inputs', function()
    local p = mx.nd.load(D .. '/d2l-npx-v3/mlp.params')
    assert.are.same({'hidden.bias', 'hidden.weight', 'output.bias', 'output.weight'}, sorted_keys(p))
    assert.are.same({256, 20}, p['hidden.weight']:shape())
    assert.are.same({256}, p['hidden.bias']:shape())
    assert.are.same({10, 256}, p['output.weight']:shape())
    assert.are.same({10}, p['output.bias']:shape())
    for _, v in ipairs(G.flat(p['hidden.weight'])) do assert.is_true(v == v and math.abs(v) < 1) end
  end)

  it("mean.bin (ImageRecordIter's mean image, legacy): one array mean_img (3,299,299) of pixel means", function()
    local t = mx.nd.load(D .. '/go-mxnet-predictor-meanbin/mean.bin')
    assert.are.same({'mean_img'}, sorted_keys(t))
    assert.are.same({3, 299, 299}, t.mean_img:shape())
    local lo, hi = mx.nd.min(t.mean_img):asscalar(), mx.nd.max(t.mean_img):asscalar()
    assert.is_true(lo >= 0 and hi <= 255 and hi > lo, ('pixel means in [0, 255] (got %g..%g)'):format(lo, hi))
  end)

  it('insightface params (V2): 146 arrays, 58 of them aux: BatchNorm statistics', function()
    local t = mx.nd.load(D .. '/insightface-gender-age/model-0000.params')
    local n, aux = 0, 0
    for k in pairs(t) do
      n = n + 1
      if k:match('^aux:') then aux = aux + 1 end
    end
    assert.are.equal(146, n)
    assert.are.equal(58, aux)
  end)
end)

describe('symbols and checkpoints written by MXNet', function()
  it('save_000800.json (MXNet 0.8): the MLP, with lr_mult / wd_mult acting in the optimizer as in MXNet', function()
    local s = mx.sym.load(D .. '/mxnet-symbol-json-000800/save_000800.json')
    assert.are.same({'data', 'fc1_weight', 'fc1_bias', 'fc2_weight', 'fc2_bias', 'fc3_weight', 'fc3_bias',
                     'batchnorm0_gamma', 'batchnorm0_beta', 'softmax_label'}, s:list_arguments())
    assert.are.same({'batchnorm0_moving_mean', 'batchnorm0_moving_var'}, s:list_auxiliary_states())
    local internals, attrs = s:get_internals(), {}
    for i, n in ipairs(internals:list_outputs()) do attrs[n] = internals:get_output(i):list_attr() end
    assert.are.equal('0.01', attrs.fc2_weight.__lr_mult__)
    assert.are.equal('0.3', attrs.fc1_weight.__wd_mult__)
    -- SGD, no momentum: w -= lr * lr_mult * (g + wd * wd_mult * w)
    local opt = mx.optimizer.SGD{learning_rate = 0.5, wd = 0.1, sym = s,
                                 param_idx2name = {'fc1_weight', 'fc2_weight', 'fc3_weight'}}
    for i, want in ipairs{1 - 0.5 * (1 + 0.1 * 0.3 * 1), 1 - 0.5 * 0.01 * (1 + 0.1 * 1), 1 - 0.5 * (1 + 0.1)} do
      local w = mx.nd.ones({2})
      opt:update(i, w, mx.nd.ones({2}), nil)
      assert.is_true(G.near(G.flat(w)[1], want, 1e-6), ('param %d: got %g, expected %g'):format(i, G.flat(w)[1], want))
    end
    local exe = s:simple_bind{ctx = mx.cpu(), data = {5, 20}, grad_req = 'null'}
    exe:forward{is_train = false}
    assert.are.same({5, 10}, exe.outputs[1]:shape())
  end)

  local mtcnn = D .. '/mtcnn-pangyupo/'

  it('MTCNN PNet (det1, 0.8 JSON, legacy params) matches the same layers computed in plain Lua', function()
    local m = mx.model.FeedForward.load(mtcnn .. 'det1', 1)
    assert.are.same({}, m.aux_params)
    local p = flat_params(m.arg_params)
    for _, hw in ipairs{{12, 12}, {16, 13}} do
      local h, w = hw[1], hw[2]
      local x = mx.random.uniform(-1, 1, {1, 3, h, w})
      local out = m:predict(mx.io.NDArrayIter{data = x, batch_size = 1})
      local box, prob, oh, ow = pnet_reference(p, G.flat(x), h, w)
      assert.are.same({1, 4, oh, ow}, out[1]:shape())
      assert.are.same({1, 2, oh, ow}, out[2]:shape())
      G.assert_all_near(G.flat(out[1]), box, 1e-4)
      G.assert_all_near(G.flat(out[2]), prob, 1e-4)
      local pr = G.flat(out[2])
      for i = 1, oh * ow do assert.is_true(G.near(pr[i] + pr[oh * ow + i], 1, 1e-6), 'face + background = 1') end
    end
  end)

  it('MTCNN RNet, ONet and LNet (SliceChannel) run forward on inputs of their sizes', function()
    local cases = {
      {'det2', {3, 3, 24, 24}, {{3, 4}, {3, 2}}},
      {'det3', {2, 3, 48, 48}, {{2, 10}, {2, 4}, {2, 2}}},
      {'det4', {2, 15, 24, 24}, {{2, 2}, {2, 2}, {2, 2}, {2, 2}, {2, 2}}},
    }
    for _, c in ipairs(cases) do
      local m = mx.model.FeedForward.load(mtcnn .. c[1], 1)
      local out = m:predict(mx.io.NDArrayIter{data = mx.random.uniform(-1, 1, c[2]), batch_size = c[2][1]})
      assert.are.equal(#c[3], #out, c[1])
      for i, want in ipairs(c[3]) do
        assert.are.same(want, out[i]:shape(), c[1] .. ' output ' .. i)
        for _, v in ipairs(G.flat(out[i])) do assert.is_true(v == v and math.abs(v) < 1e6, c[1]) end
      end
      if c[1] ~= 'det4' then -- the last output is the face probability: rows sum to 1
        local pr = G.flat(out[#out])
        for r = 1, c[2][1] do assert.is_true(G.near(pr[2 * r - 1] + pr[2 * r], 1, 1e-6), c[1]) end
      end
    end
  end)

  it('go_test (MXNet 0.9.4): predict with a data-only iterator gives softmax(x w^T + b)', function()
    local m = mx.model.FeedForward.load(D .. '/go-mxnet-predictor-test/go_test', 1)
    assert.are.same({'pred_bias', 'pred_weight'}, sorted_keys(m.arg_params))
    local w, b = G.flat(m.arg_params.pred_weight), G.flat(m.arg_params.pred_bias)
    local x = mx.random.uniform(-2, 2, {10, 1})
    local out = m:predict(mx.io.NDArrayIter{data = x, batch_size = 4})
    assert.are.same({10, 10}, out:shape())
    local xs, got = G.flat(x), G.flat(out)
    for i = 1, 10 do
      local z, sum = {}, 0
      for j = 1, 10 do
        z[j] = math.exp(xs[i] * w[j] + b[j])
        sum = sum + z[j]
      end
      for j = 1, 10 do assert.is_true(G.near(got[(i - 1) * 10 + j], z[j] / sum, 1e-5)) end
    end
  end)

  it('insightface gender-age (MXNet 1.3): 112x112 faces give finite (n, 202) outputs; batches agree', function()
    local m = mx.model.FeedForward.load(D .. '/insightface-gender-age/model', 0)
    assert.are.equal(58, count(m.aux_params))
    assert.are.equal(88, count(m.arg_params))
    local x = mx.random.uniform(0, 255, {2, 3, 112, 112})
    local both = m:predict(mx.io.NDArrayIter{data = x, batch_size = 2})
    assert.are.same({2, 202}, both:shape())
    for _, v in ipairs(G.flat(both)) do assert.is_true(v == v and math.abs(v) < 1e6) end
    local second = m:predict(mx.io.NDArrayIter{data = x:slice(2, 2), batch_size = 1})
    G.assert_all_near(G.flat(second), G.flat(both:slice(2, 2)), 1e-4)
  end)
end)

describe('what mxlua writes, in the byte layout MXNet reads', function()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute('mkdir -p ' .. dir))
  teardown(function() os.execute('rm -rf ' .. dir) end)

  it('mx.nd.save: V2 records (magic, dense, int64 dims, cpu device, float32), then the names', function()
    local a, b = mx.nd.array({{1, 2, 3}, {4, 5, 6}}), mx.nd.array({-0.5})
    mx.nd.save(dir .. '/named', {alpha = a, beta = b})
    local f = read_ndarray_file(dir .. '/named')
    assert.are.equal(2, #f.arrays)
    local by_name = {}
    for i, n in ipairs(f.names) do by_name[n] = f.arrays[i] end
    assert.are.same({2, 3}, by_name.alpha.shape)
    assert.are.same({1, 2, 3, 4, 5, 6}, by_name.alpha.values)
    assert.are.same({1}, by_name.beta.shape)
    assert.are.same({-0.5}, by_name.beta.values)
    for _, r in ipairs(f.arrays) do
      assert.are.same({0, 1, 0, 0}, {r.stype, r.dev_type, r.dev_id, r.type_flag})
    end
    mx.nd.save(dir .. '/list', {a})
    local l = read_ndarray_file(dir .. '/list')
    assert.are.equal(1, #l.arrays)
    assert.are.same({}, l.names)
  end)

  it('save_checkpoint: NNVM JSON with mxnet_version 1.x, and arg:/aux: names in the params', function()
    local data = mx.sym.Variable('data')
    local net = mx.sym.SoftmaxOutput{data = mx.sym.BatchNorm{data = mx.sym.FullyConnected{data = data,
      num_hidden = 3, name = 'fc'}, name = 'bn'}, name = 'softmax'}
    local exe = net:simple_bind{ctx = mx.cpu(), data = {2, 4}}
    local args, aux = {}, {}
    for k, v in pairs(exe.arg_dict) do
      if k ~= 'data' and k ~= 'softmax_label' then args[k] = mx.random.uniform(-1, 1, v:shape()) end
    end
    for k, v in pairs(exe.aux_dict) do aux[k] = mx.random.uniform(0, 1, v:shape()) end
    mx.model.save_checkpoint(dir .. '/net', 3, net, args, aux)
    local f = assert(io.open(dir .. '/net-symbol.json'))
    local j = json_decode(f:read('a'))
    f:close()
    assert.are.equal('int', j.attrs.mxnet_version[1])
    local v = j.attrs.mxnet_version[2]
    assert.is_true(v >= 10000 and v < 20000, 'an MXNet 1.x version number')
    assert.are.equal(#j.nodes + 1, #j.node_row_ptr)
    for _, i in ipairs(j.arg_nodes) do assert.are.equal('null', j.nodes[i + 1].op) end
    local ops = {}
    for _, n in ipairs(j.nodes) do
      if n.op ~= 'null' then ops[n.name] = n end
      for _, e in ipairs(n.inputs) do assert.are.equal(3, #e) end
    end
    assert.are.equal('3', ops.fc.attrs.num_hidden)
    assert.are.same({'BatchNorm', 'FullyConnected', 'SoftmaxOutput'},
      {ops.bn.op, ops.fc.op, ops.softmax.op})
    local p = read_ndarray_file(dir .. '/net-0003.params')
    local want = {}
    for k, a in pairs(args) do want['arg:' .. k] = G.flat(a) end
    for k, a in pairs(aux) do want['aux:' .. k] = G.flat(a) end
    assert.are.equal(count(want), #p.names)
    for i, n in ipairs(p.names) do G.assert_all_near(p.arrays[i].values, want[n], 0) end
  end)

  it('Symbol:save writes the same NNVM JSON', function()
    local s = mx.sym.Activation{data = mx.sym.Variable('x'), act_type = 'tanh', name = 'act'}
    s:save(dir .. '/act.json')
    local f = assert(io.open(dir .. '/act.json'))
    local j = json_decode(f:read('a'))
    f:close()
    assert.are.same({'x', 'act'}, {j.nodes[1].name, j.nodes[2].name})
    assert.are.same({act_type = 'tanh'}, j.nodes[2].attrs)
    assert.are.same({{1, 0, 0}}, j.heads)
    assert.are.equal('int', j.attrs.mxnet_version[1])
  end)
end)

describe('MXNet files on the GPU #gpu', function()
  local gpu_it = require('gpu_it')()

  gpu_it('each model predicts on gpu(0) as on the CPU', function()
    local cases = {
      {'mtcnn-pangyupo/det1', 1, {2, 3, 30, 40}}, {'mtcnn-pangyupo/det2', 1, {3, 3, 24, 24}},
      {'mtcnn-pangyupo/det3', 1, {2, 3, 48, 48}}, {'mtcnn-pangyupo/det4', 1, {2, 15, 24, 24}},
      {'go-mxnet-predictor-test/go_test', 1, {6, 1}}, {'insightface-gender-age/model', 0, {2, 3, 112, 112}},
    }
    for _, c in ipairs(cases) do
      local x = mx.random.uniform(-1, 1, c[3])
      local outs = {}
      for k, ctx in ipairs{mx.cpu(), mx.gpu(0)} do
        local m = mx.model.FeedForward.load(D .. '/' .. c[1], c[2], {ctx = ctx})
        local o = m:predict(mx.io.NDArrayIter{data = x, batch_size = c[3][1]})
        outs[k] = mx.nd.is_ndarray(o) and {o} or o
      end
      for i = 1, #outs[1] do
        local a, b = G.flat(outs[1][i]), G.flat(outs[2][i]:copyto(mx.cpu()))
        G.assert_all_near(b, a, 1e-3)
      end
    end
  end)

  gpu_it('mx.nd.save of a gpu(0) array records device type 2, id 0, as MXNet does', function()
    local path = os.tmpname()
    mx.nd.save(path, {mx.nd.array({1, 2, 3}):copyto(mx.gpu(0))})
    local f = read_ndarray_file(path)
    os.remove(path)
    assert.are.same({2, 0}, {f.arrays[1].dev_type, f.arrays[1].dev_id})
    assert.are.same({1, 2, 3}, f.arrays[1].values)
  end)
end)
