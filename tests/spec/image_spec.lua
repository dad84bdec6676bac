-- image_spec: PNG writing and reading through libpng (mx.viz.imshow_grid,
-- read_png, decode_png) and the plot canvas behind plot_history's PNG output.
local mx = require 'mx'

local tmp = os.tmpname()
os.remove(tmp)
local function path(name) return tmp .. '_' .. name end

local function read_all(file)
  local f = assert(io.open(file, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end

describe('mx.viz.imshow_grid', function()
  it('writes the images side by side, 0 black to 1 white, and reads back', function()
    -- two 2x3 images with distinct values
    local a = { { 0, 0.5, 1 }, { 0.25, 0.75, 0.1 } }
    local b = { { 1, 1, 0 }, { 0, 0.2, 0.4 } }
    local file = path('pair.png')
    mx.viz.imshow_grid(mx.nd.array { a, b }, { file = file, scale = 1, pad = 0 })
    local gray, alpha = mx.viz.read_png(file)
    assert.same({ 2, 6 }, gray:shape())
    local g = gray:totable()
    for y = 1, 2 do
      for x = 1, 3 do
        assert.near(math.floor(a[y][x] * 255 + 0.5) / 255, g[y][x], 1e-6)
        assert.near(math.floor(b[y][x] * 255 + 0.5) / 255, g[y][x + 3], 1e-6)
      end
    end
    assert.near(1, alpha:min():asscalar(), 1e-6)
    os.remove(file)
  end)

  it('scales every pixel, pads the tiles and fills a rows x cols grid', function()
    local n, h, w, scale, pad, rows, cols = 5, 2, 2, 3, 2, 2, 3
    local data = {}
    for k = 1, n do
      data[k] = {}
      for y = 1, h do
        data[k][y] = {}
        for x = 1, w do data[k][y][x] = ((k * 7 + y * 3 + x) % 11) / 10 end
      end
    end
    local file = path('grid.png')
    mx.viz.imshow_grid(mx.nd.array(data), { file = file, rows = rows, scale = scale, pad = pad })
    local g = mx.viz.read_png(file):totable()
    local W, H = cols * w * scale + (cols + 1) * pad, rows * h * scale + (rows + 1) * pad
    assert.equal(H, #g)
    assert.equal(W, #g[1])
    for k = 1, n do
      local x0 = pad + ((k - 1) % cols) * (w * scale + pad)
      local y0 = pad + ((k - 1) // cols) * (h * scale + pad)
      for y = 0, h * scale - 1 do
        for x = 0, w * scale - 1 do
          local v = data[k][y // scale + 1][x // scale + 1]
          assert.near(math.floor(v * 255 + 0.5) / 255, g[y0 + y + 1][x0 + x + 1], 1e-6)
        end
      end
    end
    assert.near(64 / 255, g[1][1], 1e-6) -- padding is dark gray
    os.remove(file)
  end)

  it('accepts flat square rows (MNIST as (n, 784)) and a single image', function()
    local flat = mx.nd.zeros { 2, 16 }
    local file = path('flat.png')
    mx.viz.imshow_grid(flat, { file = file, scale = 1, pad = 0 })
    assert.same({ 4, 8 }, mx.viz.read_png(file):shape())
    mx.viz.imshow_grid(mx.nd.ones { 1, 16 }, { file = file, scale = 2, pad = 0 })
    local g = mx.viz.read_png(file)
    assert.same({ 8, 8 }, g:shape())
    assert.near(1, g:min():asscalar(), 1e-6)
    os.remove(file)
  end)

  it('clips values outside [0, 1]', function()
    local file = path('clip.png')
    mx.viz.imshow_grid(mx.nd.array { { { -3, 7 } } }, { file = file, scale = 1, pad = 0 })
    assert.same({ { 0, 1 } }, mx.viz.read_png(file):totable())
    os.remove(file)
  end)

  it('gives clear errors', function()
    assert.has_error(function() mx.viz.imshow_grid(mx.nd.zeros { 2, 15 }, { file = path('x.png') }) end,
      'mx.viz.imshow_grid: flat images of shape (2,15) are not square')
    assert.has_error(function() mx.viz.imshow_grid(mx.nd.zeros { 2, 16 }) end,
      "mx.viz.imshow_grid: option 'file' (a .png path) is required")
    local ok, err = pcall(mx.viz.imshow_grid, mx.nd.zeros { 4, 16 }, { file = path('x.png'), rows = 1, cols = 2 })
    assert.is_false(ok)
    assert.matches('cannot hold 4 images', err)
    ok, err = pcall(mx.viz.imshow_grid, mx.nd.zeros { 1, 16 }, { file = '/nonexistent/dir/x.png' })
    assert.is_false(ok)
    assert.matches("^mx.viz.imshow_grid: cannot write '/nonexistent/dir/x.png'", err)
  end)
end)

describe('mx.viz.read_png / decode_png', function()
  it('decodes colour PNGs to gray and alpha', function()
    -- an RGB plot: white background, one red rectangle; gray of pure white is 1
    local file = path('rgb.png')
    mx.core.image_draw_png('test', file, 4, 3, 0xffffff, { { 'rect', 1, 1, 2, 1, 0x000000 } })
    local gray, alpha = mx.viz.decode_png(read_all(file))
    assert.same({ 3, 4 }, gray:shape())
    local g = gray:totable()
    for y = 1, 3 do
      for x = 1, 4 do
        local inside = y == 2 and (x == 2 or x == 3)
        assert.near(inside and 0 or 1, g[y][x], 1e-6)
      end
    end
    assert.near(1, alpha:min():asscalar(), 1e-6)
    os.remove(file)
  end)

  it('rejects what is not a PNG', function()
    local ok, err = pcall(mx.viz.decode_png, 'not a png at all')
    assert.is_false(ok)
    assert.matches('^mx.viz.decode_png: not a PNG image', err)
    ok, err = pcall(mx.viz.read_png, path('missing.png'))
    assert.is_false(ok)
    assert.matches("^mx.viz.read_png: cannot open", err)
  end)
end)

describe('the plot canvas', function()
  it('draws lines, rectangles and text, clipping at the edges', function()
    local file = path('canvas.png')
    mx.core.image_draw_png('test', file, 20, 10, 0x000000, {
      { 'line', 0, 0, 19, 0, 0xffffff, 1 },     -- top row white
      { 'line', -5, 9, 30, 9, 0xffffff, 1 },    -- bottom row, clipped
      { 'text', 2, 2, '1', 0xffffff, 1 },       -- the digit one: its stem at x = 2 + 2
      { 'rect', 17, 6, 5, 5, 0xffffff },        -- partly outside: clipped at the right
    })
    local g = mx.viz.read_png(file):totable()
    for x = 1, 20 do
      assert.near(1, g[1][x], 1e-6)
      assert.near(1, g[10][x], 1e-6)
    end
    -- the font's '1' has its stem in column 3 of 5, rows 1..7
    for r = 0, 6 do assert.near(1, g[3 + r][5], 1e-6) end
    assert.near(0, g[5][8], 1e-6)
    for y = 7, 9 do -- (row 10 is the bottom line)
      assert.near(0, g[y][17], 1e-6)
      for x = 18, 20 do assert.near(1, g[y][x], 1e-6) end
    end
    assert.near(0, g[6][18], 1e-6)
    assert.are.equal(36, mx.core.image_text_width('abc', 2)) -- 6 pixels a character at scale 1
    os.remove(file)
  end)

  it('rejects a bad command', function()
    assert.has_error(function()
      mx.core.image_draw_png('test', path('bad.png'), 4, 4, 0, { { 'circle', 1, 1 } })
    end, "test: drawing command 1: unknown kind 'circle' (expected rect, line or text)")
  end)
end)
