-- conv_ops_spec.lua: the convolutional network operators (Convolution, Deconvolution, Pooling,
-- BatchNorm, LeakyReLU, Embedding, SwapAxis): forward against direct loops written here,
-- backward against central finite differences, BatchNorm's auxiliary states, LeNet's JSON.
local mx = require 'mx'
local G = require 'gradcheck'

local sym = mx.symbol

local function near(a, b, tol) return G.near(a, b, tol or 1e-4) end
local function assert_all_near(got, want, tol) return G.assert_all_near(got, want, tol or 1e-4) end

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
  -- On the CPU a batch goes through in chunks of a quarter of the L2 cache: LeNet's first layer
  -- over 12 images takes several chunks, the last one partial. Each image alone must give the
  -- same output and input gradient, and the weight and bias gradients their sums.
  it('a batch in several chunks gives what each image alone gives', function()
    local n = 12
    local s = sym.Convolution{data = sym.Variable('x'), name = 'cv', kernel = {5, 5}, num_filter = 20}
    local x, dy = G.random({n, 1, 28, 28}), G.random({n, 20, 24, 24})
    local w, b = G.random({20, 1, 5, 5}, -0.5, 0.5), G.random({20}, -0.5, 0.5)
    local function pass(lo, hi)
      local count = hi - lo + 1
      local exe = s:simple_bind{ctx = mx.cpu(), x = {count, 1, 28, 28}}
      exe.arg_dict.x:set(x:slice(lo, hi))
      exe.arg_dict.cv_weight:set(w)
      exe.arg_dict.cv_bias:set(b)
      exe:forward{is_train = true}
      exe:backward{dy:slice(lo, hi)}
      local r = {y = G.flat(exe.outputs[1]), dx = G.flat(exe.grad_dict.x), dw = G.flat(exe.grad_dict.cv_weight),
                 db = G.flat(exe.grad_dict.cv_bias)}
      exe:close()
      return r
    end
    local all = pass(1, n)
    local y, dx, dw, db = {}, {}, {}, {}
    for i = 1, n do
      local one = pass(i, i)
      for _, v in ipairs(one.y) do y[#y + 1] = v end
      for _, v in ipairs(one.dx) do dx[#dx + 1] = v end
      for k, v in ipairs(one.dw) do dw[k] = (dw[k] or 0) + v end
      for k, v in ipairs(one.db) do db[k] = (db[k] or 0) + v end
    end
    assert_all_near(all.y, y)
    assert_all_near(all.dx, dx)
    assert_all_near(all.dw, dw, 1e-3)
    assert_all_near(all.db, db, 1e-3)
  end)

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

  it('large images are done in chunks of images (here 2 + 1): sampled outputs and gradients', function()
    local n, h, f = 3, 300, 14
    local conv = sym.Convolution{data = sym.Variable('x'), name = 'cv', kernel = {3, 3}, num_filter = f}
    local x, w, b = G.random({n, 1, h, h}), G.random({f, 1, 3, 3}), G.random({f})
    local grads = {x = mx.nd.zeros{n, 1, h, h}, cv_weight = mx.nd.zeros{f, 1, 3, 3}, cv_bias = mx.nd.zeros{f}}
    local exe = conv:bind{ctx = mx.cpu(), args = {x = x, cv_weight = w, cv_bias = b}, args_grad = grads}
    exe:forward{is_train = true}
    local oh = h - 2
    local xs, ws, bs, ys = G.flat(x), G.flat(w), G.flat(b), G.flat(exe.outputs[1])
    local function X(i, yy, xx) return xs[(i * h + yy) * h + xx + 1] end
    for t = 1, 300 do
      local i, o, yy, xx = t % n, (t * 7) % f, (t * 131) % oh, (t * 17) % oh
      local s = bs[o + 1]
      for ki = 0, 2 do for kj = 0, 2 do s = s + X(i, yy + ki, xx + kj) * ws[o * 9 + ki * 3 + kj + 1] end end
      local got = ys[((i * f + o) * oh + yy) * oh + xx + 1]
      assert(near(got, s), ('output (%d,%d,%d,%d): %g, expected %g'):format(i, o, yy, xx, got, s))
    end
    exe:backward{mx.nd.ones{n, f, oh, oh}}
    -- with ones from above: dW[o,i,j] = sum of the inputs its window slides over, db = n*oh*oh
    local dw = G.flat(grads.cv_weight)
    for ki = 0, 2 do
      for kj = 0, 2 do
        local s = 0
        for i = 0, n - 1 do for yy = 0, oh - 1 do for xx = 0, oh - 1 do s = s + X(i, yy + ki, xx + kj) end end end
        for o = 0, f - 1 do assert(near(dw[o * 9 + ki * 3 + kj + 1], s, 1e-3)) end
      end
    end
    local want_db = {}
    for o = 1, f do want_db[o] = n * oh * oh end
    assert_all_near(G.flat(grads.cv_bias), want_db)
    -- dx[y,x] = sum over filters of the weights whose window covers (y,x)
    local dx = G.flat(grads.x)
    for t = 1, 100 do
      local i, yy, xx = t % n, (t * 37) % h, (t * 53) % h
      local s = 0
      for ki = 0, 2 do
        for kj = 0, 2 do
          local oy, ox = yy - ki, xx - kj
          if oy >= 0 and oy < oh and ox >= 0 and ox < oh then
            for o = 0, f - 1 do s = s + ws[o * 9 + ki * 3 + kj + 1] end
          end
        end
      end
      assert(near(dx[(i * h + yy) * h + xx + 1], s), ('dx (%d,%d,%d)'):format(i, yy, xx))
    end
  end)

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
  it("max routes a tie's gradient to the first largest element of the window, as MXNet", function()
    local x = mx.nd.array{{{{1, 1, 0, 2}, {1, 0, 2, 2}}}} -- windows {1,1,1,0} and {0,2,2,2}
    local g = mx.nd.zeros{1, 1, 2, 4}
    local s = sym.Pooling{data = sym.Variable('x'), pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
    local exe = s:bind{ctx = mx.cpu(), args = {x = x}, args_grad = {x = g}}
    exe:forward{is_train = true}
    exe:backward{mx.nd.array{{{{5, 7}}}}}
    assert.are.same({{{{5, 0, 0, 7}, {0, 0, 0, 0}}}}, g:totable())
  end)

  it('max 2x2 routes the gradient to the first NaN of a window, else to its first largest', function()
    local nan = 0 / 0
    local x = mx.nd.array{{{{1, 3, 2, 2, 0, nan}, {nan, 3, 2, 2, nan, 1}}}}
    local g = mx.nd.zeros{1, 1, 2, 6}
    local s = sym.Pooling{data = sym.Variable('x'), pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
    local exe = s:bind{ctx = mx.cpu(), args = {x = x}, args_grad = {x = g}}
    exe:forward{is_train = true}
    local out = exe.outputs[1]:reshape{3}:totable()
    assert.is_true(out[1] ~= out[1] and out[3] ~= out[3])
    assert.are.equal(2, out[2])
    exe:backward{mx.nd.array{{{{5, 7, 9}}}}}
    assert.are.same({{{{0, 0, 7, 0, 0, 9}, {5, 0, 0, 0, 0, 0}}}}, g:totable())
  end)

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

  -- (2x2 stride 2 without padding runs its own CPU loops: an odd size leaves a row and a column
  -- out, and 'full' takes them in partial windows, on the general path)
  local cases = {
    {data = {2, 3, 6, 6}, kernel = {2, 2}, stride = {2, 2}},
    {data = {1, 2, 7, 5}, kernel = {2, 2}, stride = {2, 2}},
    {data = {1, 2, 5, 7}, kernel = {2, 2}, stride = {2, 2}, full = true},
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

describe('Deconvolution', function()
  -- by its definition: every input element spreads over its output window
  local function reference(x, xs, w, b, p)
    local kh, kw, sh, sw, dh, dw = p.kernel[1], p.kernel[2], p.stride[1], p.stride[2], p.dilate[1], p.dilate[2]
    local ph, pw, ah, aw = p.pad[1], p.pad[2], p.adj[1], p.adj[2]
    local f, grp = p.num_filter, p.num_group
    local cg, fg = xs[2] // grp, f // grp
    local oh = (xs[3] - 1) * sh - 2 * ph + dh * (kh - 1) + 1 + ah
    local ow = (xs[4] - 1) * sw - 2 * pw + dw * (kw - 1) + 1 + aw
    local ws = {xs[2], fg, kh, kw}
    local out = {}
    for i = 1, xs[1] * f * oh * ow do out[i] = 0 end
    for n = 0, xs[1] - 1 do
      for c = 0, xs[2] - 1 do
        local g = c // cg
        for y = 0, xs[3] - 1 do
          for xx = 0, xs[4] - 1 do
            local v = at(x, xs, n, c, y, xx)
            for o = 0, fg - 1 do
              for i = 0, kh - 1 do
                for j = 0, kw - 1 do
                  local oy, ox = y * sh - ph + i * dh, xx * sw - pw + j * dw
                  if oy >= 0 and oy < oh and ox >= 0 and ox < ow then
                    local k = ((n * f + g * fg + o) * oh + oy) * ow + ox + 1
                    out[k] = out[k] + v * at(w, ws, c, o, i, j)
                  end
                end
              end
            end
          end
        end
      end
    end
    if b then
      for n = 0, xs[1] - 1 do
        for o = 0, f - 1 do
          for q = 1, oh * ow do
            local k = (n * f + o) * oh * ow + q
            out[k] = out[k] + b[o + 1]
          end
        end
      end
    end
    return out, {xs[1], f, oh, ow}
  end

  local cases = {
    {data = {2, 3, 4, 3}, kernel = {3, 3}, num_filter = 2},
    {data = {1, 2, 3, 4}, kernel = {3, 2}, num_filter = 3, stride = {2, 3}, pad = {1, 1}, adj = {1, 2}},
    {data = {1, 2, 4, 4}, kernel = {3, 3}, num_filter = 2, dilate = {2, 1}, bias = true},
    {data = {2, 4, 3, 3}, kernel = {2, 2}, num_filter = 6, num_group = 2, stride = {2, 2}, bias = true},
  }
  for _, c in ipairs(cases) do
    local label = ('data (%s) kernel (%s) filters %d%s%s%s%s%s'):format(table.concat(c.data, ','),
      table.concat(c.kernel, ','), c.num_filter, c.stride and ' stride' or '', c.pad and ' pad' or '',
      c.adj and ' adj' or '', c.dilate and ' dilate' or '', c.num_group and ' groups ' .. c.num_group or '')
    it('forward and gradients, ' .. label, function()
      local p = {kernel = c.kernel, stride = c.stride or {1, 1}, dilate = c.dilate or {1, 1}, pad = c.pad or {0, 0},
                 adj = c.adj or {0, 0}, num_filter = c.num_filter, num_group = c.num_group or 1}
      local s = sym.Deconvolution{data = sym.Variable('x'), name = 'dc', kernel = c.kernel, stride = c.stride,
                                  dilate = c.dilate, pad = c.pad, adj = c.adj, num_filter = c.num_filter,
                                  num_group = c.num_group, no_bias = not c.bias}
      local inputs = {x = G.random(c.data), dc_weight = G.random({c.data[2], c.num_filter // p.num_group,
                                                                    c.kernel[1], c.kernel[2]})}
      if c.bias then inputs.dc_bias = G.random({c.num_filter}) end
      local out = run(s, inputs)
      local want, shape = reference(G.flat(inputs.x), c.data, G.flat(inputs.dc_weight),
                                    c.bias and G.flat(inputs.dc_bias), p)
      assert.are.same(shape, out:shape())
      assert_all_near(G.flat(out), want)
      G.check_symbol(s, inputs)
    end)
  end

  it('target_shape sets the output size (MXNet InferPad)', function()
    local s = sym.Deconvolution{data = sym.Variable('x'), kernel = {4, 4}, stride = {2, 2}, num_filter = 3,
                                target_shape = {8, 8}}
    local _, outs = s:infer_shape{x = {1, 2, 4, 4}}
    assert.are.same({{1, 3, 8, 8}}, outs)
    local _, outs2 = s:infer_shape{x = {1, 2, 3, 3}}
    assert.are.same({{1, 3, 8, 8}}, outs2)
  end)
end)

describe('BatchNorm', function()
  local function stats(x, shape)
    local c, inner = shape[2], 1
    for i = 3, #shape do inner = inner * shape[i] end
    local mean, var = {}, {}
    for k = 0, c - 1 do
      local s, m = 0, shape[1] * inner
      for n = 0, shape[1] - 1 do for i = 1, inner do s = s + x[(n * c + k) * inner + i] end end
      mean[k + 1] = s / m
      local s2 = 0
      for n = 0, shape[1] - 1 do for i = 1, inner do s2 = s2 + (x[(n * c + k) * inner + i] - mean[k + 1]) ^ 2 end end
      var[k + 1] = s2 / m
    end
    return mean, var, inner
  end
  local function normalize(x, shape, mean, var, gamma, beta, eps)
    local c, inner = shape[2], #x // (shape[1] * shape[2])
    local out = {}
    for n = 0, shape[1] - 1 do
      for k = 0, c - 1 do
        for i = 1, inner do
          local j = (n * c + k) * inner + i
          out[j] = (x[j] - mean[k + 1]) / math.sqrt(var[k + 1] + eps) * gamma[k + 1] + beta[k + 1]
        end
      end
    end
    return out
  end

  for _, shape in ipairs{{5, 3}, {2, 3, 4, 5}, {3, 2, 7}} do
    local label = '(' .. table.concat(shape, ',') .. ')'
    it('training: batch statistics, moving averages, gradients at ' .. label, function()
      local s = sym.BatchNorm{data = sym.Variable('x'), name = 'bn', fix_gamma = false, eps = 1e-3, momentum = 0.9}
      assert.are.same({'x', 'bn_gamma', 'bn_beta'}, s:list_arguments())
      assert.are.same({'bn_moving_mean', 'bn_moving_var'}, s:list_auxiliary_states())
      assert.are.same({'bn_output'}, s:list_outputs())
      local c = shape[2]
      local x, gamma, beta = G.random(shape, -2, 3), G.random({c}, 0.5, 1.5), G.random({c})
      local mm, mv = G.random({c}), G.random({c}, 0.5, 2)
      local mm0, mv0 = G.flat(mm), G.flat(mv)
      local out, exe = run(s, {x = x, bn_gamma = gamma, bn_beta = beta}, true,
                           {bn_moving_mean = mm, bn_moving_var = mv})
      local mean, var = stats(G.flat(x), shape)
      assert_all_near(G.flat(out), normalize(G.flat(x), shape, mean, var, G.flat(gamma), G.flat(beta), 1e-3))
      local want_mm, want_mv = {}, {}
      for k = 1, c do
        want_mm[k] = 0.9 * mm0[k] + 0.1 * mean[k]
        want_mv[k] = 0.9 * mv0[k] + 0.1 * var[k]
      end
      assert_all_near(G.flat(exe.aux_dict.bn_moving_mean), want_mm)
      assert_all_near(G.flat(exe.aux_dict.bn_moving_var), want_mv)
      G.check_symbol(s, {x = x, bn_gamma = gamma, bn_beta = beta}, {is_train = true, eps = 1e-2, rtol = 3e-2,
                                                                     atol = 3e-3})
    end)

    it('inference and use_global_stats: the moving statistics, gradients at ' .. label, function()
      local c = shape[2]
      local x, gamma, beta = G.random(shape), G.random({c}, 0.5, 1.5), G.random({c})
      local mm, mv = G.random({c}), G.random({c}, 0.5, 2)
      local s = sym.BatchNorm{data = sym.Variable('x'), name = 'bn', fix_gamma = false}
      local out, exe = run(s, {x = x, bn_gamma = gamma, bn_beta = beta}, false,
                           {bn_moving_mean = mm, bn_moving_var = mv})
      local want = normalize(G.flat(x), shape, G.flat(mm), G.flat(mv), G.flat(gamma), G.flat(beta), 1e-3)
      assert_all_near(G.flat(out), want)
      assert_all_near(G.flat(exe.aux_dict.bn_moving_mean), G.flat(mm)) -- inference leaves them alone
      local sg = sym.BatchNorm{data = sym.Variable('x'), name = 'bn', fix_gamma = false, use_global_stats = true}
      local out2, exe2 = run(sg, {x = x, bn_gamma = gamma, bn_beta = beta}, true,
                             {bn_moving_mean = mm, bn_moving_var = mv})
      assert_all_near(G.flat(out2), want)
      assert_all_near(G.flat(exe2.aux_dict.bn_moving_var), G.flat(mv))
      -- moving statistics are zeros and ones here (bind's default aux)
      G.check_symbol(sg, {x = x, bn_gamma = gamma, bn_beta = beta}, {is_train = true})
    end)
  end

  it('fix_gamma (the default) uses gamma = 1 and gives it no gradient', function()
    local s = sym.BatchNorm{data = sym.Variable('x'), name = 'bn'}
    local x, gamma, beta = G.random({4, 2, 3}), mx.nd.array{5, -3}, mx.nd.array{0.5, 0.25}
    local exe = s:bind{ctx = mx.cpu(), args = {x = x, bn_gamma = gamma, bn_beta = beta},
                       args_grad = {bn_gamma = mx.nd.ones{2}, bn_beta = mx.nd.zeros{2}}}
    exe:forward{is_train = true}
    local mean, var = stats(G.flat(x), {4, 2, 3})
    assert_all_near(G.flat(exe.outputs[1]), normalize(G.flat(x), {4, 2, 3}, mean, var, {1, 1}, {0.5, 0.25}, 1e-3))
    exe:backward{mx.nd.ones{4, 2, 3}}
    assert.are.same({0, 0}, G.flat(exe.grad_dict.bn_gamma))
    assert_all_near(G.flat(exe.grad_dict.bn_beta), {12, 12})
    G.check_symbol(s, {x = x, bn_gamma = gamma, bn_beta = beta}, {is_train = true})
  end)

  it('refuses output_mean_var and a bad axis', function()
    assert.has_error(function()
      sym.BatchNorm{data = sym.Variable('x'), output_mean_var = true}:infer_shape{x = {2, 3}}
    end)
    assert.has_error(function() sym.BatchNorm{data = sym.Variable('x'), axis = 4}:infer_shape{x = {2, 3}} end)
  end)
end)

describe('LeakyReLU', function()
  local refs = {
    leaky = function(v) return v > 0 and v or 0.3 * v end,
    elu = function(v) return v > 0 and v or 0.3 * (math.exp(v) - 1) end,
  }
  for act, f in pairs(refs) do
    for _, shape in ipairs{{4, 5}, {2, 3, 2, 2}} do
      it(act .. ' at (' .. table.concat(shape, ',') .. ')', function()
        local s = sym.LeakyReLU{data = sym.Variable('x'), act_type = act, slope = 0.3}
        local x = G.random(shape, -2, 2, 0.05)
        local want = {}
        for i, v in ipairs(G.flat(x)) do want[i] = f(v) end
        assert_all_near(G.flat(run(s, {x = x})), want)
        G.check_symbol(s, {x = x}, {eps = 1e-3})
      end)
    end
  end

  it('prelu learns one slope per channel of axis 1 (argument <name>_gamma)', function()
    local s = sym.LeakyReLU{data = sym.Variable('x'), act_type = 'prelu', name = 'pr'}
    assert.are.same({'x', 'pr_gamma'}, s:list_arguments())
    local args = s:infer_shape{x = {2, 3, 4}}
    assert.are.same({3}, args[2])
    local x, gamma = G.random({2, 3, 4}, -2, 2, 0.05), mx.nd.array{0.1, 0.5, -0.2}
    local xs, gs, want = G.flat(x), G.flat(gamma), {}
    for i, v in ipairs(xs) do
      local ch = ((i - 1) // 4) % 3 + 1
      want[i] = v > 0 and v or gs[ch] * v
    end
    assert_all_near(G.flat(run(s, {x = x, pr_gamma = gamma})), want)
    G.check_symbol(s, {x = x, pr_gamma = gamma}, {eps = 1e-3})
  end)

  it('rrelu: a slope in [lower_bound, upper_bound) per element in training, their mean at inference', function()
    local s = sym.LeakyReLU{data = sym.Variable('x'), act_type = 'rrelu', lower_bound = 0.1, upper_bound = 0.3}
    local x = G.random({50, 4}, -2, 2, 0.05)
    local xs = G.flat(x)
    local exe = s:bind{ctx = mx.cpu(), args = {x = x}, args_grad = {x = mx.nd.zeros{50, 4}}}
    exe:forward{is_train = true}
    local ys = G.flat(exe.outputs[1])
    local seen_low, seen_high = false, false
    for i, v in ipairs(xs) do
      if v > 0 then
        assert.is_true(near(ys[i], v))
      else
        local k = ys[i] / v
        assert.is_true(k >= 0.1 - 1e-6 and k < 0.3 + 1e-6)
        seen_low, seen_high = seen_low or k < 0.15, seen_high or k > 0.25
      end
    end
    assert.is_true(seen_low and seen_high)
    exe:backward{mx.nd.ones{50, 4}}
    local g = G.flat(exe.grad_dict.x)
    for i, v in ipairs(xs) do assert.is_true(near(g[i], v > 0 and 1 or ys[i] / v)) end
    exe:forward{is_train = false}
    local yi = G.flat(exe.outputs[1])
    for i, v in ipairs(xs) do assert.is_true(near(yi[i], v > 0 and v or 0.2 * v)) end
  end)
end)

describe('Embedding', function()
  it('picks rows of the weight by 0-based id; the weight gradient adds them up', function()
    local s = sym.Embedding{data = sym.Variable('ids'), name = 'emb', input_dim = 5, output_dim = 3}
    assert.are.same({'ids', 'emb_weight'}, s:list_arguments())
    local args, outs = s:infer_shape{ids = {2, 4}}
    assert.are.same({5, 3}, args[2])
    assert.are.same({{2, 4, 3}}, outs)
    local ids, w = mx.nd.array{{0, 4, 2, 2}, {1, 0, 3, 4}}, G.random({5, 3})
    local idl, wl, want = G.flat(ids), G.flat(w), {}
    for _, id in ipairs(idl) do for j = 1, 3 do want[#want + 1] = wl[id * 3 + j] end end
    assert_all_near(G.flat(run(s, {ids = ids, emb_weight = w})), want)
    G.check_symbol(s, {ids = ids, emb_weight = w}, {wrt = {'emb_weight'}})
    -- ids get a zero gradient
    local exe = s:bind{ctx = mx.cpu(), args = {ids = ids, emb_weight = w},
                       args_grad = {ids = mx.nd.ones{2, 4}, emb_weight = mx.nd.zeros{5, 3}}}
    exe:forward{is_train = true}
    exe:backward{mx.nd.ones{2, 4, 3}}
    assert.are.same({0, 0, 0, 0, 0, 0, 0, 0}, G.flat(exe.grad_dict.ids))
    assert.are.same({2, 2, 2, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}, G.flat(exe.grad_dict.emb_weight))
  end)
end)

describe('SwapAxis', function()
  for _, case in ipairs{{{2, 3}, 0, 1}, {{2, 3, 4}, 0, 2}, {{2, 3, 4, 5}, 3, 1}, {{3, 4}, 1, 1}} do
    local shape, d1, d2 = case[1], case[2], case[3]
    it(('(%s) dim1=%d dim2=%d'):format(table.concat(shape, ','), d1, d2), function()
      local s = sym.SwapAxis{data = sym.Variable('x'), dim1 = d1, dim2 = d2}
      local x = G.random(shape)
      local out = run(s, {x = x})
      local oshape = {table.unpack(shape)}
      oshape[d1 + 1], oshape[d2 + 1] = shape[d2 + 1], shape[d1 + 1]
      assert.are.same(oshape, out:shape())
      -- element by element: out[idx with d1, d2 exchanged] == x[idx]
      local xs, os, n = G.flat(x), G.flat(out), #shape
      for flat = 0, #xs - 1 do
        local idx, r = {}, flat
        for a = n, 1, -1 do idx[a] = r % shape[a]; r = r // shape[a] end
        idx[d1 + 1], idx[d2 + 1] = idx[d2 + 1], idx[d1 + 1]
        local o = 0
        for a = 1, n do o = o * oshape[a] + idx[a] end
        assert.are.equal(xs[flat + 1], os[o + 1])
      end
      G.check_symbol(s, {x = x})
    end)
  end
  it('names an axis out of range', function()
    assert.has_error(function() sym.SwapAxis{data = sym.Variable('x'), dim1 = 0, dim2 = 2}:infer_shape{x = {2, 3}} end)
  end)
end)

describe('LeNet', function()
  local function lenet()
    local data = sym.Variable('data')
    local conv1 = sym.Convolution{data = data, kernel = {5, 5}, num_filter = 20}
    local tanh1 = sym.Activation{data = conv1, act_type = 'tanh'}
    local pool1 = sym.Pooling{data = tanh1, pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
    local conv2 = sym.Convolution{data = pool1, kernel = {5, 5}, num_filter = 50}
    local tanh2 = sym.Activation{data = conv2, act_type = 'tanh'}
    local pool2 = sym.Pooling{data = tanh2, pool_type = 'max', kernel = {2, 2}, stride = {2, 2}}
    local flat = sym.Flatten{data = pool2}
    local fc1 = sym.FullyConnected{data = flat, num_hidden = 500}
    local tanh3 = sym.Activation{data = fc1, act_type = 'tanh'}
    local fc2 = sym.FullyConnected{data = tanh3, num_hidden = 10}
    return sym.SoftmaxOutput{data = fc2, name = 'softmax'}
  end

  it('has MXNet names and shapes, and survives a JSON round trip', function()
    local net = lenet()
    local names = net:list_arguments()
    -- automatic names count per operator over the whole process (other specs made some already)
    local c = tonumber(names[2]:match('^convolution(%d+)_weight$'))
    local f = tonumber(names[6]:match('^fullyconnected(%d+)_weight$'))
    assert.is_truthy(c and f)
    local cv, fc = 'convolution%d_%s', 'fullyconnected%d_%s'
    assert.are.same({'data', cv:format(c, 'weight'), cv:format(c, 'bias'), cv:format(c + 1, 'weight'),
                     cv:format(c + 1, 'bias'), fc:format(f, 'weight'), fc:format(f, 'bias'), fc:format(f + 1, 'weight'),
                     fc:format(f + 1, 'bias'), 'softmax_label'}, names)
    local args, outs = net:infer_shape{data = {64, 1, 28, 28}}
    assert.are.same({{64, 1, 28, 28}, {20, 1, 5, 5}, {20}, {50, 20, 5, 5}, {50}, {500, 800}, {500}, {10, 500}, {10},
                     {64}}, args)
    assert.are.same({{64, 10}}, outs)
    local json = net:tojson()
    assert.matches('"op": "Convolution"', json, 1, true)
    assert.matches('"op": "Pooling"', json, 1, true)
    local back = mx.symbol.load_json(json)
    assert.are.same(names, back:list_arguments())
    assert.are.same(net:list_outputs(), back:list_outputs())
    local args2 = back:infer_shape{data = {64, 1, 28, 28}}
    assert.are.same(args, args2)
    assert.are.equal(json, back:tojson())
  end)

  it('a BatchNorm network keeps its aux states through JSON', function()
    local x = sym.Variable('data')
    local c = sym.Convolution{data = x, kernel = {3, 3}, num_filter = 4, pad = {1, 1}, no_bias = true, name = 'c1'}
    local b = sym.BatchNorm{data = c, name = 'bn1'}
    local back = mx.symbol.load_json(sym.Activation{data = b, act_type = 'tanh'}:tojson())
    assert.are.same({'bn1_moving_mean', 'bn1_moving_var'}, back:list_auxiliary_states())
    local _, _, aux = back:infer_shape{data = {2, 3, 8, 8}}
    assert.are.same({{4}, {4}}, aux)
  end)

  it('learns: a few hundred MNIST images, loss down and training accuracy up', function()
    local mnist = mx.test_utils.get_mnist()
    local n, batch = 500, 50
    local X = mnist.train_data:slice(1, n):reshape{n, 1, 28, 28}
    local Y = mnist.train_label:slice(1, n)
    mx.random.seed(7)
    local net = lenet()
    local exe = net:simple_bind{ctx = mx.cpu(), data = {batch, 1, 28, 28}}
    local names = net:list_arguments()
    local init = mx.init.Xavier{factor_type = 'in', magnitude = 2.34}
    for i, name in ipairs(names) do
      if name ~= 'data' and name ~= 'softmax_label' then init(name, exe.arg_arrays[i]) end
    end
    local updater = mx.optimizer.get_updater(mx.optimizer.SGD{learning_rate = 0.1, momentum = 0.9,
                                                              rescale_grad = 1 / batch})
    local function epoch(train)
      local correct, loss = 0, 0
      for k = 0, n // batch - 1 do
        exe.arg_dict.data:set(X:slice(k * batch + 1, (k + 1) * batch))
        exe.arg_dict.softmax_label:set(Y:slice(k * batch + 1, (k + 1) * batch))
        exe:forward{is_train = train}
        local prob, lab = exe.outputs[1]:totable(), exe.arg_dict.softmax_label:totable()
        for r = 1, batch do
          local best = 1
          for j = 2, 10 do if prob[r][j] > prob[r][best] then best = j end end
          if best - 1 == lab[r] then correct = correct + 1 end
          loss = loss - math.log(prob[r][math.tointeger(lab[r]) + 1])
        end
        if train then
          exe:backward()
          for i, name in ipairs(names) do
            if name ~= 'data' and name ~= 'softmax_label' then updater(i, exe.grad_arrays[i], exe.arg_arrays[i]) end
          end
        end
      end
      return correct / n, loss / n
    end
    local acc0, loss0 = epoch(false)
    for _ = 1, 3 do epoch(true) end
    local acc, loss = epoch(false)
    assert.is_true(loss < loss0 / 3, ('loss %.3f -> %.3f'):format(loss0, loss))
    assert.is_true(acc > 0.85 and acc > acc0 + 0.5, ('accuracy %.3f -> %.3f'):format(acc0, acc))
  end)
end)

describe('a small ResNet', function()
  -- conv-bn-act-conv-bn plus the identity, act, global average pooling, fc, softmax; tanh stands in for
  -- relu, whose kink at 0 (where BatchNorm centres the data) central differences cannot cross
  local function resnet()
    local data = sym.Variable('data')
    local c0 = sym.Convolution{data = data, name = 'c0', kernel = {3, 3}, pad = {1, 1}, num_filter = 4, no_bias = true}
    local b0 = sym.BatchNorm{data = c0, name = 'b0', fix_gamma = false}
    local r0 = sym.Activation{data = b0, act_type = 'tanh'}
    local c1 = sym.Convolution{data = r0, name = 'c1', kernel = {3, 3}, pad = {1, 1}, num_filter = 4, no_bias = true}
    local b1 = sym.BatchNorm{data = c1, name = 'b1', fix_gamma = false}
    local r1 = sym.Activation{data = b1, act_type = 'tanh'}
    local c2 = sym.Convolution{data = r1, name = 'c2', kernel = {3, 3}, pad = {1, 1}, num_filter = 4, no_bias = true}
    local b2 = sym.BatchNorm{data = c2, name = 'b2', fix_gamma = false}
    local sum = sym.Activation{data = b2 + r0, act_type = 'tanh'}
    local pool = sym.Pooling{data = sum, global_pool = true, pool_type = 'avg', kernel = {1, 1}}
    local fc = sym.FullyConnected{data = sym.Flatten{data = pool}, name = 'fc', num_hidden = 3}
    return sym.SoftmaxOutput{data = fc, name = 'softmax'}
  end

  it('binds, infers every shape and its gradients match finite differences (training mode)', function()
    local net = resnet()
    local args, outs, aux = net:infer_shape{data = {4, 2, 6, 6}}
    assert.are.same({{4, 3}}, outs)
    assert.are.same(6, #aux)
    local inputs = {}
    for i, name in ipairs(net:list_arguments()) do inputs[name] = G.random(args[i], -1, 1) end
    inputs.softmax_label = mx.nd.array{0, 2, 1, 2}
    for _, n in ipairs{'b0_gamma', 'b1_gamma', 'b2_gamma'} do inputs[n] = G.random({4}, 0.5, 1.5) end
    G.check_symbol(net, inputs, {skip = {'softmax_label'}, is_train = true, eps = 1e-2, rtol = 5e-2, atol = 5e-3,
      loss = function(o, a)
        local p, l, s = o[1]:totable(), a.softmax_label:totable(), 0
        for r = 1, 4 do s = s - math.log(p[r][math.tointeger(l[r]) + 1]) end
        return s
      end})
  end)
end)

describe('ElementWiseSum', function()
  for _, n in ipairs{1, 2, 4} do
    it(n .. ' inputs of (3,4)', function()
      local vars, inputs = {}, {}
      for i = 1, n do
        vars[i] = sym.Variable('x' .. i)
        inputs['x' .. i] = G.random({3, 4})
      end
      local s = sym.ElementWiseSum(table.unpack(vars))
      local want = {}
      for i = 1, n do
        for j, v in ipairs(G.flat(inputs['x' .. i])) do want[j] = (want[j] or 0) + v end
      end
      assert_all_near(G.flat(run(s, inputs)), want)
      G.check_symbol(s, inputs)
    end)
  end
end)

describe('errors', function()
  local function fails(f, pattern)
    local ok, err = pcall(f)
    assert.is_false(ok)
    assert.matches(pattern, err, 1, true)
  end
  it('name the Lua function, the node and what is wrong', function()
    local c = sym.Convolution{data = sym.Variable('data'), kernel = {5, 5}, num_filter = 4, name = 'cv'}
    fails(function() c:infer_shape{data = {2, 3, 4, 4}} end,
          'Symbol:infer_shape: Convolution cv: kernel (dilated 5x5) larger than the padded data (2,3,4,4)')
    fails(function() c:simple_bind{ctx = mx.cpu(), data = {2, 3, 28}} end,
          'Symbol:simple_bind: Convolution cv: data has shape (2,3,28), expected 4 axes')
    fails(function() sym.Convolution{data = sym.Variable('d'), kernel = {5, 5, 5}, num_filter = 4}:infer_shape{
      d = {1, 1, 9, 9}} end, 'kernel must have 1 or 2 axes (got 3)')
    fails(function() sym.Convolution{data = sym.Variable('d'), kernel = 'x', num_filter = 4} end,
          "mx.symbol.Convolution: Convolution convolution")
    fails(function() sym.Pooling{data = sym.Variable('d'), kernel = {2, 2}, pool_type = 'mean'} end,
          "parameter pool_type: bad value 'mean' (expected one of max|avg|sum|lp)")
    local deconv = sym.Deconvolution{data = sym.Variable('d'), kernel = {3, 3}, num_filter = 2, adj = {1, 1}}
    fails(function() deconv:infer_shape{d = {1, 1, 4, 4}} end, 'adj must be < stride')
    fails(function() sym.Embedding{data = sym.Variable('d'), input_dim = 0, output_dim = 3}:infer_shape{d = {2}} end,
          'input_dim and output_dim must be >= 1')
  end)
end)

describe('scripts/train_mnist.lua --network', function()
  local function run_script(args)
    local p = io.popen('build/mxlua scripts/train_mnist.lua ' .. args .. ' 2>&1; echo "exit=$?"')
    local out = p:read('a')
    p:close()
    return out
  end
  it('lists lenet in its help and refuses unknown networks and factors', function()
    assert.truthy(run_script('--help'):find('--network mlp|lenet', 1, true))
    local bad = run_script('--network vgg')
    assert.truthy(bad:find('train_mnist: --network must be mlp or lenet (got vgg)', 1, true), bad)
    assert.truthy(bad:find('exit=2', 1, true))
    assert.truthy(run_script('--lr-factor 0'):find('--lr-factor must be in (0, 1] (got 0', 1, true))
    assert.truthy(run_script('--network lenet --pad 14'):find('--pad must be in 0..13 (got 14)', 1, true))
    assert.truthy(run_script('--pad 2'):find('--pad needs --network lenet', 1, true))
    assert.truthy(run_script('--network lenet --pad x'):find('--pad expects an integer (got x)', 1, true))
    local crop = run_script('--network lenet --float-data --pad 2')
    assert.truthy(crop:find('--pad crops the byte images: not with --float-data', 1, true), crop)
  end)
end)
