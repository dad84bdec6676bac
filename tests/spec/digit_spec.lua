-- digit_spec: the draw-a-digit demo's MNIST-style preprocessing of a drawing (draw_digit.digit's
-- preprocess) and the ink of a picture (its ink), against values worked out by hand
-- or by a plain reference written here (2-D overlaps, not the C code's separable passes).
local mx = require 'mx'
local core = mx.core
require 'draw_digit_paths'
local digit = require 'draw_digit.digit'

local function blank(h, w)
  local t = {}
  for i = 1, h * w do t[i] = 0 end
  return t
end

local function fill_rect(px, w, x0, y0, x1, y1, v) -- inclusive, 0-based
  for y = y0, y1 do for x = x0, x1 do px[y * w + x + 1] = v or 1 end end
end

-- Thick line from (ax, ay) to (bx, by) of radius r, values 1 inside.
local function draw_line(px, w, h, ax, ay, bx, by, r)
  for y = 0, h - 1 do
    for x = 0, w - 1 do
      local dx, dy = bx - ax, by - ay
      local t = ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)
      t = math.max(0, math.min(1, t))
      local ex, ey = ax + t * dx - x, ay + t * dy - y
      if ex * ex + ey * ey <= r * r then px[y * w + x + 1] = 1 end
    end
  end
end

local function overlap(a0, a1, b0, b1) return math.max(0, math.min(a1, b1) - math.max(a0, b0)) end

-- The reference: MNIST's recipe written out plainly.
local function reference(px, h, w)
  local out = {}
  for i = 1, 28 * 28 do out[i] = 0 end
  local x0, x1, y0, y1 = math.huge, -1, math.huge, -1
  for y = 0, h - 1 do
    for x = 0, w - 1 do
      if px[y * w + x + 1] > 0.05 then
        x0, x1, y0, y1 = math.min(x0, x), math.max(x1, x), math.min(y0, y), math.max(y1, y)
      end
    end
  end
  if x1 < 0 then return out end
  local bw, bh = x1 - x0 + 1, y1 - y0 + 1
  local longest = math.max(bw, bh)
  local nw = math.max(1, math.floor(bw * 20 / longest + 0.5))
  local nh = math.max(1, math.floor(bh * 20 / longest + 0.5))
  local sx, sy = bw / nw, bh / nh
  local box, mass, my, mxs = {}, 0, 0, 0
  for i = 0, nh - 1 do
    for j = 0, nw - 1 do
      local acc = 0
      for y = math.floor(i * sy), math.min(bh - 1, math.ceil((i + 1) * sy)) do
        for x = math.floor(j * sx), math.min(bw - 1, math.ceil((j + 1) * sx)) do
          acc = acc + overlap(j * sx, (j + 1) * sx, x, x + 1) * overlap(i * sy, (i + 1) * sy, y, y + 1)
                * px[(y + y0) * w + x + x0 + 1]
        end
      end
      local v = acc / (sx * sy)
      box[i * nw + j] = v
      mass, my, mxs = mass + v, my + v * (i + 0.5), mxs + v * (j + 0.5)
    end
  end
  local top = math.floor(14 - my / mass + 0.5)
  local left = math.floor(14 - mxs / mass + 0.5)
  top = math.max(0, math.min(28 - nh, top))
  left = math.max(0, math.min(28 - nw, left))
  for i = 0, nh - 1 do
    for j = 0, nw - 1 do out[(top + i) * 28 + left + j + 1] = math.min(1, box[i * nw + j]) end
  end
  return out
end

local function flat(nd)
  local t = {}
  for _, row in ipairs(nd:totable()) do for _, v in ipairs(row) do t[#t + 1] = v end end
  return t
end

-- Any NDArray flattened (for digit_ink, whose results are not 28x28).
local function flat2(a)
  local t = {}
  for _, row in ipairs(a:totable()) do for _, v in ipairs(row) do t[#t + 1] = v end end
  return t
end

local function assert_close(got, want, tol)
  assert.are.equal(#want, #got)
  for i = 1, #want do
    if math.abs(got[i] - want[i]) > tol then
      error(string.format('element %d (row %d, col %d): got %.6f, expected %.6f', i, (i - 1) // 28,
        (i - 1) % 28, got[i], want[i]), 2)
    end
  end
end

-- Centre of mass (pixel centres at index + 0.5), bounding box of values > 0.05, and mass.
local function stats(t)
  local m, cy, cx, x0, x1, y0, y1 = 0, 0, 0, 99, -1, 99, -1
  for i = 1, #t do
    local y, x = (i - 1) // 28, (i - 1) % 28
    m, cy, cx = m + t[i], cy + t[i] * (y + 0.5), cx + t[i] * (x + 0.5)
    if t[i] > 0.05 then
      x0, x1, y0, y1 = math.min(x0, x), math.max(x1, x), math.min(y0, y), math.max(y1, y)
    end
  end
  return {mass = m, cy = cy / m, cx = cx / m, w = x1 - x0 + 1, h = y1 - y0 + 1}
end

describe('mx.digit.preprocess', function()
  it('scales an 11x5 block to 20x9 and centres it, as worked out by hand', function()
    local w, h = 50, 40
    local px = blank(h, w)
    fill_rect(px, w, 30, 10, 34, 20)
    local img, has_ink = digit.preprocess('t', px, h, w)
    assert.is_true(has_ink)
    assert.are.same({28, 28}, img:shape())
    -- 5 wide, 11 tall: height 20, width round(5 * 20 / 11) = 9; uniform ink stays 1.
    -- Mass centre (10, 4.5) -> top 14 - 10 = 4, left round(14 - 4.5) = 10.
    local want = {}
    for y = 0, 27 do
      for x = 0, 27 do want[y * 28 + x + 1] = (y >= 4 and y <= 23 and x >= 10 and x <= 18) and 1 or 0 end
    end
    assert_close(flat(img), want, 1e-6)
  end)

  it('centres and scales a small off-centre 7 like MNIST digits', function()
    local w, h = 120, 100
    local px = blank(h, w)
    -- A small 7 in the top-left corner: a bar and a diagonal, 14 px tall.
    draw_line(px, w, h, 6, 5, 16, 5, 1.2)
    draw_line(px, w, h, 16, 5, 9, 18, 1.2)
    local img = digit.preprocess('t', px, h, w)
    local got = flat(img)
    assert_close(got, reference(px, h, w), 1e-5)
    local s = stats(got)
    assert.are.equal(20, s.h)               -- its taller side now spans 20 pixels
    assert.is_true(s.w < 20)                -- narrower than tall: aspect kept
    assert.is_true(math.abs(s.cy - 14) <= 0.5 and math.abs(s.cx - 14) <= 0.5)
  end)

  it('keeps the aspect ratio of a wide stroke and anti-aliases', function()
    local w, h = 64, 64
    local px = blank(h, w)
    fill_rect(px, w, 3, 40, 42, 42)         -- 40 x 3: becomes 20 x round(1.5) = 2
    fill_rect(px, w, 3, 40, 3, 42, 0.5)     -- a softer left edge
    local got = flat(digit.preprocess('t', px, h, w))
    assert_close(got, reference(px, h, w), 1e-5)
    local s = stats(got)
    assert.are.equal(20, s.w)
    assert.are.equal(2, s.h)
    -- The first column averages two source columns (0.5 and 1) over 1.5 rows of 3: 0.75.
    local first
    for i = 1, #got do if got[i] > 0 then first = got[i] break end end
    assert.is_near(0.75, first, 1e-6)
    -- Area averaging keeps the mass in proportion to the area: (20*2) / (40*3) of the input's.
    local input_mass = 0
    for i = 1, #px do input_mass = input_mass + px[i] end
    assert.is_near(input_mass * (20 * 2) / (40 * 3), s.mass, 1e-3)
  end)

  it('enlarges a tiny dot to fill the 20x20 box', function()
    local px = blank(10, 10)
    fill_rect(px, 10, 7, 7, 8, 8)
    local got = flat(digit.preprocess('t', px, 10, 10))
    local want = {}
    for y = 0, 27 do
      for x = 0, 27 do want[y * 28 + x + 1] = (y >= 4 and y < 24 and x >= 4 and x < 24) and 1 or 0 end
    end
    assert_close(got, want, 1e-6)
  end)

  it('matches the reference on random scribbles of many sizes', function()
    local seed = 12345
    local function rnd() seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 end
    for _ = 1, 6 do
      local w, h = 20 + math.floor(rnd() * 100), 20 + math.floor(rnd() * 100)
      local px = blank(h, w)
      for _ = 1, 3 do
        draw_line(px, w, h, rnd() * w, rnd() * h, rnd() * w, rnd() * h, 1 + rnd() * 3)
      end
      for i = 1, #px do if px[i] > 0 then px[i] = 0.3 + 0.7 * rnd() end end
      assert_close(flat(digit.preprocess('t', px, h, w)), reference(px, h, w), 1e-5)
    end
  end)

  it('takes an NDArray (height, width) as well as a flat table', function()
    local w, h = 30, 20
    local px = blank(h, w)
    draw_line(px, w, h, 3, 3, 12, 15, 2)
    local rows = {}
    for y = 1, h do
      rows[y] = {}
      for x = 1, w do rows[y][x] = px[(y - 1) * w + x] end
    end
    local a = flat(digit.preprocess('t', mx.nd.array(rows)))
    assert_close(a, reference(px, h, w), 1e-5)
  end)

  it('a real MNIST digit comes back close to itself (it was made this way)', function()
    local path = 'data/mnist/t10k-images-idx3-ubyte'
    local f = io.open(path, 'rb')
    if not f then
      pending('no MNIST files in data/mnist (make data)')
      return
    end
    f:close()
    local images = core.idx_load(path, 3, 1 / 255)
    local diff = 0
    for k = 1, 5 do
      local row = images:slice(k, k):reshape{28, 28}
      local px = flat(row)
      local got = flat(digit.preprocess('t', px, 28, 28))
      for i = 1, #px do diff = diff + math.abs(got[i] - px[i]) end
    end
    -- Mean absolute difference per pixel, over the five digits.
    assert.is_true(diff / (5 * 784) < 0.08, 'mean difference ' .. diff / (5 * 784))
  end)

  it('gives zeros and has_ink false for a blank image', function()
    local img, has_ink = digit.preprocess('t', blank(5, 7), 5, 7)
    assert.is_false(has_ink)
    for _, v in ipairs(flat(img)) do assert.are.equal(0, v) end
  end)

  it('rejects bad input with a clear error', function()
    assert.has_error(function() digit.preprocess('p', {1, 2}, 3, 3) end,
      'p: expected 9 pixels for 3x3 (got 2)')
    assert.has_error(function() digit.preprocess('p', {0, 2, 0, 0}, 2, 2) end,
      'p: pixel values must be in [0, 1] (got 2 at row 0, column 1)')
    assert.has_error(function() digit.preprocess('p', {0, 0 / 0, 0, 0}, 2, 2) end)
    assert.has_error(function() digit.preprocess('p', {0, 'x', 0, 0}, 2, 2) end,
      'p: pixel 2 is not a number')
    assert.has_error(function() digit.preprocess('p', {}, 0, 0) end,
      'p: height and width must be 1 to 65536 (got 0x0)')
    assert.has_error(function() digit.preprocess('p', mx.nd.zeros{2, 2, 2}) end,
      'p: the image must be 2-D (height,width) (got (2,2,2))')
  end)
end)

describe('mx.digit.ink', function()
  local function nd(t, h, w)
    local rows = {}
    for y = 1, h do
      rows[y] = {}
      for x = 1, w do rows[y][x] = t[(y - 1) * w + x] end
    end
    return mx.nd.array(rows)
  end

  it('uses the alpha of a drawing on a transparent canvas', function()
    local gray = nd({0, 0, 0, 0, 0, 0}, 2, 3)
    local alpha = nd({0, 0.5, 1, 0, 0, 0.25}, 2, 3)
    assert_close(flat2(digit.ink('i', gray, alpha)), {0, 0.5, 1, 0, 0, 0.25}, 1e-6)
  end)

  it('inverts dark ink on bright paper, keeps bright ink on a dark ground', function()
    local paper = {1, 1, 1, 1, 0, 1, 1, 1, 1}
    local opaque = nd({1, 1, 1, 1, 1, 1, 1, 1, 1}, 3, 3)
    assert_close(flat2(digit.ink('i', nd(paper, 3, 3), opaque)), {0, 0, 0, 0, 1, 0, 0, 0, 0}, 1e-6)
    local chalk = {0, 0, 0, 0, 0.8, 0, 0, 0, 0}
    assert_close(flat2(digit.ink('i', nd(chalk, 3, 3))), chalk, 1e-6)
  end)

  it('rejects planes of different shapes', function()
    assert.has_error(function() digit.ink('i', mx.nd.zeros{2, 3}, mx.nd.zeros{3, 2}) end,
      'i: alpha must have the shape of gray (got (3,2), expected (2,3))')
  end)
end)
