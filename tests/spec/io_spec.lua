-- io_spec: NDArrayIter (pad / discard / roll_over at sizes that do not divide,
-- views and reused buffers, shuffle determinism), MNISTIter over IDX files written
-- here (plain and .gz) and its errors, get_mnist, mx.io.save/load.
local mx = require 'mx'

local function labels_of(it)
  local out = {}
  for batch in it do
    local row = {}
    for i, v in ipairs(batch.label[1]:totable()) do row[i] = math.tointeger(v) end
    out[#out + 1] = {rows = row, pad = batch.pad}
  end
  return out
end

-- data row i (0-based) holds {i, 10*i}; label i holds i
local function dataset(n)
  local d, l = {}, {}
  for i = 0, n - 1 do d[i + 1], l[i + 1] = {i, 10 * i}, i end
  return mx.nd.array(d), mx.nd.array(l)
end

describe('mx.io.NDArrayIter', function()
  local X, Y = dataset(10)

  it('pads the last batch by wrapping to the start', function()
    local it = mx.io.NDArrayIter{data = X, label = Y, batch_size = 4}
    local got = labels_of(it)
    assert.same({{rows = {0, 1, 2, 3}, pad = 0}, {rows = {4, 5, 6, 7}, pad = 0}, {rows = {8, 9, 0, 1}, pad = 2}}, got)
    it:reset()
    assert.same(got, labels_of(it)) -- the next epoch is the same
  end)

  it('discards the partial batch', function()
    local it = mx.io.NDArrayIter{data = X, label = Y, batch_size = 4, last_batch_handle = 'discard'}
    assert.same({{rows = {0, 1, 2, 3}, pad = 0}, {rows = {4, 5, 6, 7}, pad = 0}}, labels_of(it))
    assert.equal(8, it.num_data)
  end)

  it('rolls over into the next epoch as MXNet 2016 does', function()
    local it = mx.io.NDArrayIter{data = X, label = Y, batch_size = 4, last_batch_handle = 'roll_over'}
    -- epoch 1: 0-3, 4-7, then 8,9 + 0,1 reported with pad 0
    assert.same({{rows = {0, 1, 2, 3}, pad = 0}, {rows = {4, 5, 6, 7}, pad = 0}, {rows = {8, 9, 0, 1}, pad = 0}},
                labels_of(it))
    -- the cursor stopped at 12; reset: -4 + (12 % 10) % 4 = -2, so epoch 2 starts at row 2
    it:reset()
    assert.same({{rows = {2, 3, 4, 5}, pad = 0}, {rows = {6, 7, 8, 9}, pad = 0}}, labels_of(it))
    it:reset()
    assert.same({0, 1, 2, 3}, labels_of(it)[1].rows)
  end)

  it('hands out the data rows with their labels', function()
    local it = mx.io.NDArrayIter{data = X, label = Y, batch_size = 4}
    local b = it:next()
    assert.same({{0, 0}, {1, 10}, {2, 20}, {3, 30}}, b.data[1]:totable())
    it:next()
    b = it:next()
    assert.same({{8, 80}, {9, 90}, {0, 0}, {1, 10}}, b.data[1]:totable())
    assert.same({8, 9, 0, 1}, b.index)
    assert.is_nil(it:next())
  end)

  it('describes its inputs', function()
    local it = mx.io.NDArrayIter{data = X, label = Y, batch_size = 4}
    assert.equal(4, it.batch_size)
    assert.equal('data', it.provide_data[1].name)
    assert.same({4, 2}, it.provide_data[1].shape)
    assert.equal('data', it.provide_data[1][1])
    assert.same({4, 2}, it.provide_data[1][2])
    assert.equal('softmax_label', it.provide_label[1].name)
    assert.same({4}, it.provide_label[1].shape)
    local it2 = mx.io.NDArrayIter{data = {X, X}, label = {img = Y}, batch_size = 5}
    assert.equal('_0_data', it2.provide_data[1].name)
    assert.equal('_1_data', it2.provide_data[2].name)
    assert.equal('img', it2.provide_label[1].name)
    local it3 = mx.io.NDArrayIter{data = X, batch_size = 5, data_name = 'x'}
    assert.equal('x', it3.provide_data[1].name)
    assert.same({}, it3.provide_label)
    assert.same({}, it3:next().label)
  end)

  it('reuses its batches: views of the data and one buffer for the wrapped batch', function()
    local it = mx.io.NDArrayIter{data = X, label = Y, batch_size = 4}
    local first = {}
    for b in it do first[#first + 1] = b end
    it:reset()
    local before = mx.core.alloc_stats().requests
    local i = 0
    for b in it do
      i = i + 1
      assert.equal(first[i], b)
    end
    assert.equal(before, mx.core.alloc_stats().requests) -- no storage allocated in the second epoch
    -- a full batch is a view: writing the data shows through
    local Xc = X:copy()
    local it2 = mx.io.NDArrayIter{data = Xc, label = Y, batch_size = 4}
    local b = it2:next()
    Xc:set(7)
    assert.same({7, 7}, b.data[1]:totable()[1])
  end)

  it('shuffles once, deterministically under mx.random.seed, keeping rows with their labels', function()
    local function order()
      mx.random.seed(7)
      local it = mx.io.NDArrayIter{data = X, label = Y, batch_size = 5, shuffle = true}
      local rows = {}
      for b in it do
        local d, l = b.data[1]:totable(), b.label[1]:totable()
        for k = 1, #l do
          assert.equal(l[k], d[k][1]) -- data row i holds i
          assert.equal(10 * l[k], d[k][2])
          rows[#rows + 1] = math.tointeger(l[k])
        end
      end
      return rows
    end
    local a, b = order(), order()
    assert.same(a, b)
    local sorted = {table.unpack(a)}
    table.sort(sorted)
    assert.same({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted)
    assert.are_not.same({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, a)
  end)

  it('rejects bad arguments clearly', function()
    assert.has_error(function() mx.io.NDArrayIter{data = X, label = Y, batch_size = 11} end,
      'mx.io.NDArrayIter: batch_size 11 is larger than the data (10 rows)')
    assert.has_error(function() mx.io.NDArrayIter{data = X, batch_size = 2, last_batch_handle = 'keep'} end,
      "mx.io.NDArrayIter: last_batch_handle must be 'pad', 'discard' or 'roll_over' (got keep)")
    assert.has_error(function() mx.io.NDArrayIter{data = X, label = mx.nd.zeros{3}, batch_size = 2} end,
      'mx.io.NDArrayIter: label softmax_label has 3 rows but data data has 10')
    assert.has_error(function() mx.io.NDArrayIter{data = X, batch_size = 0} end,
      'mx.io.NDArrayIter: batch_size must be a positive integer (got 0)')
  end)
end)

-- ---- IDX files written by the test ----

local dir = os.tmpname()
os.remove(dir)
assert(os.execute('mkdir -p ' .. dir))

local function be32(v) return string.char((v >> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255) end

local function write_idx(path, magic, dims, bytes)
  local f = assert(io.open(path, 'wb'))
  f:write(be32(magic))
  for _, d in ipairs(dims) do f:write(be32(d)) end
  f:write(bytes)
  f:close()
end

-- n images 2x2: image i has pixels 4i .. 4i+3; labels i % 10
local function write_set(prefix, n, n_labels)
  local img, lab = {}, {}
  for i = 0, n * 4 - 1 do img[#img + 1] = string.char(i % 256) end
  for i = 0, (n_labels or n) - 1 do lab[#lab + 1] = string.char(i % 10) end
  write_idx(prefix .. '-images', 0x803, {n, 2, 2}, table.concat(img))
  write_idx(prefix .. '-labels', 0x801, {n_labels or n}, table.concat(lab))
end

describe('mx.io.MNISTIter', function()
  it('reads plain IDX files, scales by 1/256 and keeps only full batches', function()
    write_set(dir .. '/a', 10)
    local it = mx.io.MNISTIter{image = dir .. '/a-images', label = dir .. '/a-labels', batch_size = 4,
                               shuffle = false, flat = true, silent = true}
    assert.same({4, 4}, it.provide_data[1].shape)
    local batches = {}
    for b in it do batches[#batches + 1] = b end
    assert.equal(2, #batches) -- 10 images: two batches of 4, the tail dropped
    local d = batches[2].data[1]:totable()
    for k = 1, 4 do assert.near((16 + k - 1) / 256, d[1][k], 1e-7) end -- image 4 holds 16..19
    assert.same({4, 5, 6, 7}, batches[2].label[1]:totable())
  end)

  it('reads gzip files the same, and gives (batch,1,28,28)-style shapes unless flat', function()
    write_set(dir .. '/g', 8)
    assert(os.execute(('gzip -c %s/g-images > %s/g-images.gz'):format(dir, dir)))
    assert(os.execute(('gzip -c %s/g-labels > %s/g-labels.gz'):format(dir, dir)))
    local plain = mx.io.MNISTIter{image = dir .. '/g-images', label = dir .. '/g-labels', batch_size = 8,
                                  shuffle = false, silent = true}
    local gz = mx.io.MNISTIter{image = dir .. '/g-images.gz', label = dir .. '/g-labels.gz', batch_size = 8,
                               shuffle = false, silent = true}
    assert.same({8, 1, 2, 2}, gz.provide_data[1].shape)
    assert.same(plain:next().data[1]:totable(), gz:next().data[1]:totable())
  end)

  it('shuffles by its seed, the same each time, keeping images with labels', function()
    write_set(dir .. '/s', 20)
    local function rows(seed)
      local it = mx.io.MNISTIter{image = dir .. '/s-images', label = dir .. '/s-labels', batch_size = 20,
                                 flat = true, seed = seed, silent = true}
      local b = it:next()
      local d, l = b.data[1]:totable(), b.label[1]:totable()
      local idx = {}
      for k = 1, 20 do
        local i = math.floor(d[k][1] * 256 / 4 + 0.5) -- the image number
        assert.equal(i % 10, l[k])
        idx[k] = i
      end
      return idx
    end
    assert.same(rows(3), rows(3))
    assert.are_not.same(rows(3), rows(4))
  end)

  it('splits into parts', function()
    write_set(dir .. '/p', 10)
    local it = mx.io.MNISTIter{image = dir .. '/p-images', label = dir .. '/p-labels', batch_size = 5,
                               shuffle = false, silent = true, num_parts = 2, part_index = 1}
    assert.same({5, 6, 7, 8, 9}, it:next().label[1]:totable())
  end)

  it('logs what it loaded unless silent', function()
    write_set(dir .. '/l', 10)
    local logf = dir .. '/log.txt'
    mx.log.config{level = 'info', file = logf}
    mx.io.MNISTIter{image = dir .. '/l-images', label = dir .. '/l-labels', batch_size = 5, flat = true}
    mx.log.config{file = false}
    local text = assert(io.open(logf)):read('a')
    assert.equal('INFO MNISTIter: load 10 images, shuffle=1, shape=(5,4)\n', text)
  end)

  it('names the file on a wrong magic number, a truncated file or mismatched counts', function()
    write_set(dir .. '/m', 10)
    assert.has_error(function()
      mx.io.MNISTIter{image = dir .. '/m-labels', label = dir .. '/m-labels', silent = true}
    end, ('mx.io.MNISTIter: %s/m-labels: wrong magic number (got 0x00000801, expected 0x00000803)'):format(dir))
    write_idx(dir .. '/t-images', 0x803, {10, 2, 2}, ('x'):rep(39))
    assert.has_error(function()
      mx.io.MNISTIter{image = dir .. '/t-images', label = dir .. '/m-labels', silent = true}
    end, ('mx.io.MNISTIter: %s/t-images: truncated file (got 39 data bytes, expected 40)'):format(dir))
    write_set(dir .. '/c', 10, 9)
    assert.has_error(function()
      mx.io.MNISTIter{image = dir .. '/c-images', label = dir .. '/c-labels', silent = true}
    end, ('mx.io.MNISTIter: %s/c-images holds 10 images but %s/c-labels holds 9 labels'):format(dir, dir))
    local ok, err = pcall(mx.io.MNISTIter, {image = dir .. '/none', label = dir .. '/m-labels', silent = true})
    assert.is_false(ok)
    assert.truthy(err:find("cannot open '" .. dir .. "/none'", 1, true))
  end)
end)

describe('mx.test_utils.get_mnist', function()
  it('reads the four MNIST files, pixels in [0, 1]', function()
    local m = mx.test_utils.get_mnist()
    assert.same({60000, 784}, m.train_data:shape())
    assert.same({60000}, m.train_label:shape())
    assert.same({10000, 784}, m.test_data:shape())
    assert.same({10000}, m.test_label:shape())
    assert.equal(1, m.train_data:max():asscalar())
    assert.equal(0, m.train_data:min():asscalar())
    assert.same({5, 0, 4}, m.train_label:slice(1, 3):totable()) -- MNIST opens with 5, 0, 4
    assert.same({7, 2, 1}, m.test_label:slice(1, 3):totable())
  end)

  it('says to run make data when the files are missing', function()
    assert.has_error(function() mx.test_utils.get_mnist(dir .. '/empty') end,
      ('mx.test_utils.get_mnist: the MNIST files (train-images-idx3-ubyte, ...) are not in %s/empty: '
       .. "give their folder (a script's --data DIR, or MXLUA_DATA=DIR), or run `make data` in the "
       .. 'checkout to fetch them'):format(dir))
  end)
end)

describe('mx.io.save / mx.io.load', function()
  it('round-trips a list and a named table', function()
    local a, b = mx.nd.array{{1, 2}, {3, 4}}, mx.nd.array{5, 6, 7}
    mx.io.save(dir .. '/list.params', {a, b})
    local l = mx.io.load(dir .. '/list.params')
    assert.same({{1, 2}, {3, 4}}, l[1]:totable())
    assert.same({5, 6, 7}, l[2]:totable())
    mx.io.save(dir .. '/named.params', {['arg:w'] = a, ['aux:m'] = b})
    local t = mx.io.load(dir .. '/named.params')
    assert.same({{1, 2}, {3, 4}}, t['arg:w']:totable())
    assert.same({5, 6, 7}, t['aux:m']:totable())
  end)
end)

teardown(function() os.execute('rm -rf ' .. dir) end)
