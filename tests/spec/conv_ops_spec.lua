-- conv_ops_spec.lua: the convolutional network operators (Convolution, Deconvolution, Pooling,
-- BatchNorm, LeakyReLU, Embedding, SwapAxis): forward against direct loops written here,
-- backward against central finite differences, BatchNorm's auxiliary states, LeNet's JSON.
local mx = require 'mx'
local G = require 'gradcheck'

local sym = mx.symbol

local function near(a, b, tol)
  tol = tol or 1e-4
  return math.abs(a - b) <= tol * (1 + math.abs(b))
end

local function assert_all_near(got, want, tol)
  assert.are.equal(#want, #got)
  for i = 1, #want do
    if not near(got[i], want[i], tol) then
      error(string.format('element %d: got %.7g, expected %.7g', i, got[i], want[i]), 2)
    end
  end
end

local function run(s, inputs, is_train, aux)
  local exe = s:bind{ctx = mx.cpu(), args = inputs, aux_states = aux}
  exe:forward{is_train = is_train or false}
  return exe.outputs[1], exe
end

-- A 4-D array's element (n, c, y, x), all 0-based, from a flat 1-based list.
local function at(t, shape, n, c, y, x)
  return t[((n * shape[2] + c) * shape[3] + y) * shape[4] + x + 1]
end

-- Convolution by its definition: every output is a sum over its window.
local function conv_reference(x, xs, w, b, p)
  local kh, kw = p.kernel[1], p.kernel[2]
  local sh, sw = p.stride[1], p.stride[2]
  local dh, dw = p.dilate[1], p.dilate[2]
  local ph, pw = p.pad[1], p.pad[2]
  local f, grp = p.num_filter, p.num_group
  local cg, fg = xs[2] // grp, f // grp
  local oh = (xs[3] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
  local ow = (xs[4] + 2 * pw - dw * (kw - 1) - 1) // sw + 1
  local ws = {f, cg, kh, kw}
  local out = {}
  for n = 0, xs[1] - 1 do
    for o = 0, f - 1 do
      local g = o // fg
      for y = 0, oh - 1 do
        for xx = 0, ow - 1 do
          local s = b and b[o + 1] or 0
          for ci = 0, cg - 1 do
            for i = 0, kh - 1 do
              for j = 0, kw - 1 do
                local iy, ix = y * sh - ph + i * dh, xx * sw - pw + j * dw
                if iy >= 0 and iy < xs[3] and ix >= 0 and ix < xs[4] then
                  s = s + at(x, xs, n, g * cg + ci, iy, ix) * at(w, ws, o, ci, i, j)
                end
              end
            end
          end
          out[#out + 1] = s
        end
      end
    end
  end
  return out, {xs[1], f, oh, ow}
end

describe('Convolution', function()
  local cases = {
    {data = {2, 3, 7, 6}, kernel = {3, 3}, num_filter = 4},
    {data = {1, 2, 8, 7}, kernel = {3, 2}, num_filter = 3, stride = {2, 3}},
    {data = {2, 2, 5, 6}, kernel = {3, 3}, num_filter = 2, pad = {1, 2}},
    {data = {1, 3, 9, 8}, kernel = {3, 3}, num_filter = 2, dilate = {2, 3}},
    {data = {2, 4, 6, 6}, kernel = {3, 3}, num_filter = 6, num_group = 2, stride = {2, 2}, pad = {1, 1}},
    {data = {1, 4, 5, 5}, kernel = {2, 2}, num_filter = 4, num_group = 4, no_bias = true},
  }
  for _, c in ipairs(cases) do
    local label = ('data (%s) kernel (%s) filters %d%s%s%s%s%s'):format(table.concat(c.data, ','),
      table.concat(c.kernel, ','), c.num_filter, c.stride and ' stride' or '', c.pad and ' pad' or '',
      c.dilate and ' dilate' or '', c.num_group and ' groups ' .. c.num_group or '', c.no_bias and ' no_bias' or '')
    it('forward and gradients, ' .. label, function()
      local p = {kernel = c.kernel, stride = c.stride or {1, 1}, dilate = c.dilate or {1, 1}, pad = c.pad or {0, 0},
                 num_filter = c.num_filter, num_group = c.num_group or 1}
      local conv = sym.Convolution{data = sym.Variable('x'), name = 'cv', kernel = c.kernel, stride = c.stride,
                                   dilate = c.dilate, pad = c.pad, num_filter = c.num_filter, num_group = c.num_group,
                                   no_bias = c.no_bias}
      local ws = {c.num_filter, c.data[2] // p.num_group, c.kernel[1], c.kernel[2]}
      local inputs = {x = G.random(c.data), cv_weight = G.random(ws)}
      if not c.no_bias then inputs.cv_bias = G.random({c.num_filter}) end
      local out = run(conv, inputs)
      local want, shape = conv_reference(G.flat(inputs.x), c.data, G.flat(inputs.cv_weight),
                                         inputs.cv_bias and G.flat(inputs.cv_bias), p)
      assert.are.same(shape, out:shape())
      assert_all_near(G.flat(out), want)
      G.check_symbol(conv, inputs)
    end)
  end

  it('1-D kernels over (batch, channel, width)', function()
    local conv = sym.Convolution{data = sym.Variable('x'), name = 'cv', kernel = {3}, stride = {2}, pad = {1},
                                 num_filter = 2}
    local inputs = {x = G.random({2, 3, 9}), cv_weight = G.random({2, 3, 3}), cv_bias = G.random({2})}
    local out = run(conv, inputs)
    local want = conv_reference(G.flat(inputs.x), {2, 3, 1, 9}, G.flat(inputs.cv_weight), G.flat(inputs.cv_bias),
      {kernel = {1, 3}, stride = {1, 2}, dilate = {1, 1}, pad = {0, 1}, num_filter = 2, num_group = 1})
    assert.are.same({2, 2, 5}, out:shape())
    assert_all_near(G.flat(out), want)
    G.check_symbol(conv, inputs)
  end)

  it('infers weight and bias shapes and reports bad geometry', function()
    local conv = sym.Convolution{data = sym.Variable('data'), kernel = {5, 5}, num_filter = 20, num_group = 1}
    local args, outs = conv:infer_shape{data = {64, 1, 28, 28}}
    assert.are.same({{64, 1, 28, 28}, {20, 1, 5, 5}, {20}}, args)
    assert.are.same({{64, 20, 24, 24}}, outs)
    assert.has_error(function() conv:infer_shape{data = {1, 1, 3, 3}} end)
    local grouped = sym.Convolution{data = sym.Variable('data'), kernel = {3, 3}, num_filter = 4, num_group = 2}
    local ok, err = pcall(function() grouped:infer_shape{data = {1, 3, 5, 5}} end)
    assert.is_false(ok)
    assert.matches('num_group', err)
  end)
end)

describe('Pooling', function()
  local function reference(x, xs, p)
    local kh, kw, sh, sw, ph, pw = p.kernel[1], p.kernel[2], p.stride[1], p.stride[2], p.pad[1], p.pad[2]
    local round = p.full and math.ceil or math.floor
    local oh = round((xs[3] + 2 * ph - kh) / sh) + 1
    local ow = round((xs[4] + 2 * pw - kw) / sw) + 1
    local out = {}
    for n = 0, xs[1] - 1 do
      for c = 0, xs[2] - 1 do
        for y = 0, oh - 1 do
          for xx = 0, ow - 1 do
            local m, s = -math.huge, 0
            local hs, ws = y * sh - ph, xx * sw - pw
            local he, we = math.min(hs + kh, xs[3] + ph), math.min(ws + kw, xs[4] + pw)
            for iy = hs, hs + kh - 1 do
              for ix = ws, ws + kw - 1 do
                if iy >= 0 and iy < xs[3] and ix >= 0 and ix < xs[4] then
                  local v = at(x, xs, n, c, iy, ix)
                  m, s = math.max(m, v), s + v
                end
              end
            end
            if p.pool_type == 'max' then out[#out + 1] = m
            elseif p.pool_type == 'sum' then out[#out + 1] = s
            else out[#out + 1] = s / ((he - hs) * (we - ws)) end
          end
        end
      end
    end
    return out, {xs[1], xs[2], oh, ow}
  end

  local cases = {
    {data = {2, 3, 6, 6}, kernel = {2, 2}, stride = {2, 2}},
    {data = {1, 2, 7, 5}, kernel = {3, 2}, stride = {2, 1}},
    {data = {2, 2, 5, 5}, kernel = {3, 3}, stride = {2, 2}, pad = {1, 1}},
    {data = {1, 2, 7, 6}, kernel = {3, 3}, stride = {2, 2}, full = true},
  }
  for _, pool_type in ipairs{'max', 'avg', 'sum'} do
    for _, c in ipairs(cases) do
      local label = ('%s, data (%s) kernel (%s) stride (%s)%s%s'):format(pool_type, table.concat(c.data, ','),
        table.concat(c.kernel, ','), table.concat(c.stride, ','), c.pad and ' pad' or '', c.full and ' full' or '')
      it(label, function()
        local s = sym.Pooling{data = sym.Variable('x'), kernel = c.kernel, stride = c.stride, pad = c.pad,
                              pool_type = pool_type, pooling_convention = c.full and 'full' or 'valid'}
        -- values well apart so a max is never within eps of another element
        local x = G.random(c.data)
        local f = x:reshape{x:size()}
        for i = 1, x:size() do f[i] = (i * 7919 % 1009) / 1009 * 4 - 2 end
        local out = run(s, {x = x})
        local want, shape = reference(G.flat(x), c.data, {kernel = c.kernel, stride = c.stride,
          pad = c.pad or {0, 0}, full = c.full, pool_type = pool_type})
        assert.are.same(shape, out:shape())
        assert_all_near(G.flat(out), want)
        G.check_symbol(s, {x = x}, {eps = 1e-3})
      end)
    end
  end

  it('global_pool averages each whole plane', function()
    local s = sym.Pooling{data = sym.Variable('x'), global_pool = true, pool_type = 'avg', kernel = {1, 1}}
    local x = G.random({2, 3, 4, 5})
    local out = run(s, {x = x})
    assert.are.same({2, 3, 1, 1}, out:shape())
    local t, want = G.flat(x), {}
    for pl = 0, 5 do
      local sum = 0
      for i = 1, 20 do sum = sum + t[pl * 20 + i] end
      want[pl + 1] = sum / 20
    end
    assert_all_near(G.flat(out), want)
    G.check_symbol(s, {x = x})
  end)

  it('names a missing kernel', function()
    local ok, err = pcall(function() sym.Pooling{data = sym.Variable('x')}:infer_shape{x = {1, 1, 4, 4}} end)
    assert.is_false(ok)
    assert.matches('kernel', err)
  end)
end)
