--- mx.io: data iterators (the DataIter protocol, NDArrayIter, MNISTIter) as
-- MXNet's 2016 io.py / iter_mnist.cc, and NDArray list files (mx.io.save/load).
-- Batches are views of the data, or a reused buffer for a wrapped last batch.
-- @module mx.io

-- luacheck: ignore 212/self
local core = require 'mx.core'
local log = require 'mx.log'
local options = require 'mx.options'
local class = require 'mx.class'

local io_ = {}

local function shape_str(s)
  return '(' .. table.concat(s, ',') .. (#s == 1 and ',)' or ')')
end

--- DataBatch{data = {NDArray...}, label = {NDArray...}, pad = 0, index = nil}
local DataBatch = {}
DataBatch.__index = DataBatch
io_.DataBatch = setmetatable(DataBatch, {__call = function(_, t)
  return setmetatable({data = t.data or {}, label = t.label or {}, pad = t.pad or 0, index = t.index}, DataBatch)
end})

--- DataIter: the protocol. Subclasses define reset() and next() (a DataBatch,
-- or nil at the end); `for batch in it do ... end` calls next() until nil.
local DataIter = class('mx.io.DataIter')
DataIter.__call = function(self) return self:next() end
io_.DataIter = DataIter

--- A subclass of DataIter (or of `parent`).
function io_.iter_class(name, parent) return class(name, parent or DataIter) end

function DataIter:reset() error(self.__name .. ':reset: not implemented', 2) end
function DataIter:next() error(self.__name .. ':next: not implemented', 2) end
function DataIter:iter_next() error(self.__name .. ':iter_next: not implemented', 2) end
function DataIter:getpad() return 0 end

-- Arrays as a list of {name, NDArray}: one NDArray (named default_name), a
-- list ('_%d_<default>'), or a name -> NDArray table (sorted by name).
local function named_arrays(x, default_name, where)
  if x == nil then return {} end
  if core.nd.is_ndarray(x) then return {{default_name, x}} end
  if type(x) ~= 'table' then
    error(('%s: data and label must be an NDArray, a list or a table of NDArrays (got %s)'):format(where, type(x)), 4)
  end
  local out = {}
  if #x > 0 then
    for i, a in ipairs(x) do out[i] = {('_%d_%s'):format(i - 1, default_name), a} end
  else
    local names = {}
    for k in pairs(x) do names[#names + 1] = k end
    table.sort(names)
    for i, k in ipairs(names) do out[i] = {k, x[k]} end
  end
  for _, p in ipairs(out) do
    if not core.nd.is_ndarray(p[2]) then error(('%s: %s is not an NDArray'):format(where, p[1]), 4) end
  end
  return out
end

local NDArrayIter = io_.iter_class('mx.io.NDArrayIter')
io_.NDArrayIter = NDArrayIter

--- NDArrayIter{data, label, batch_size = 1, shuffle = false,
--   last_batch_handle = 'pad' | 'discard' | 'roll_over',
--   data_name = 'data', label_name = 'softmax_label', num_parts = 1, part_index = 0}
-- num_parts/part_index keep rows [n//num_parts*part_index, n//num_parts*(part_index+1)).
-- Shuffling permutes the rows once, here, with mx.random (MXNet 2016).
function NDArrayIter:init(opts)
  local where = 'mx.io.NDArrayIter'
  if core.nd.is_ndarray(opts) then opts = {data = opts} end
  opts = opts or {}
  if type(opts) ~= 'table' then error(('%s: expected a table of options (got %s)'):format(where, type(opts)), 3) end
  options.check(opts, {'data', 'label', 'batch_size', 'shuffle', 'last_batch_handle', 'data_name', 'label_name',
                       'num_parts', 'part_index'}, where, 3)
  local bs = opts.batch_size or 1
  if math.type(bs) ~= 'integer' or bs < 1 then
    error(('%s: batch_size must be a positive integer (got %s)'):format(where, tostring(bs)), 3)
  end
  local handle = opts.last_batch_handle or 'pad'
  if handle ~= 'pad' and handle ~= 'discard' and handle ~= 'roll_over' then
    error(("%s: last_batch_handle must be 'pad', 'discard' or 'roll_over' (got %s)"):format(where, tostring(handle)), 3)
  end
  if opts.data == nil then error(where .. ': data is required', 3) end
  local data = named_arrays(opts.data, opts.data_name or 'data', where)
  local label = named_arrays(opts.label, opts.label_name or 'softmax_label', where)
  local n = data[1][2]:shape()[1]
  for _, p in ipairs(data) do
    if p[2]:shape()[1] ~= n then
      error(('%s: %s has %d rows but %s has %d (all arrays need the same first dimension)'):format(
        where, p[1], p[2]:shape()[1], data[1][1], n), 3)
    end
  end
  for _, p in ipairs(label) do
    if p[2]:shape()[1] ~= n then
      error(('%s: label %s has %d rows but data %s has %d'):format(where, p[1], p[2]:shape()[1], data[1][1], n), 3)
    end
  end
  -- num_parts / part_index: this process's part of the rows, as MNISTIter's
  local num_parts, part = opts.num_parts or 1, opts.part_index or 0
  if math.type(num_parts) ~= 'integer' or num_parts < 1 or math.type(part) ~= 'integer'
     or part < 0 or part >= num_parts then
    error(('%s: part_index must lie in 0..num_parts-1 (got part_index %s, num_parts %s)'):format(
      where, tostring(part), tostring(num_parts)), 3)
  end
  if num_parts > 1 then
    local lo, hi = n // num_parts * part, n // num_parts * (part + 1)
    for _, lst in ipairs{data, label} do
      for _, q in ipairs(lst) do q[2] = q[2]:slice(lo + 1, hi) end
    end
    n = hi - lo
  end
  if n < bs then
    error(('%s: batch_size %d is larger than the data (%d rows)'):format(where, bs, n), 3)
  end
  self.perm = nil
  if opts.shuffle then
    local p = core.nd.random_permutation(n, data[1][2]:context())
    for _, lst in ipairs{data, label} do
      for _, q in ipairs(lst) do q[2] = q[2]:take(p) end
    end
    self.perm = p:totable()
  end
  if handle == 'discard' then
    n = n - n % bs
    for _, lst in ipairs{data, label} do
      for _, q in ipairs(lst) do q[2] = q[2]:slice(1, n) end
    end
  end
  self.data_list, self.label_list = data, label
  self.num_data, self.batch_size, self.last_batch_handle = n, bs, handle
  self.cursor = -bs
  self.batches = {} -- cursor -> DataBatch (views, built once)
  self.provide_data, self.provide_label = {}, {}
  for _, pair in ipairs{{data, self.provide_data}, {label, self.provide_label}} do
    for i, q in ipairs(pair[1]) do
      local s = q[2]:shape()
      s[1] = bs
      pair[2][i] = {q[1], s, name = q[1], shape = s}
    end
  end
end

function NDArrayIter:reset()
  if self.last_batch_handle == 'roll_over' and self.cursor > self.num_data then
    self.cursor = -self.batch_size + (self.cursor % self.num_data) % self.batch_size
  else
    self.cursor = -self.batch_size
  end
end

--- Moves to the next batch; false at the end of the data.
function NDArrayIter:iter_next()
  self.cursor = self.cursor + self.batch_size
  return self.cursor < self.num_data
end

function NDArrayIter:getpad()
  if self.last_batch_handle == 'pad' and self.cursor + self.batch_size > self.num_data then
    return self.cursor + self.batch_size - self.num_data
  end
  return 0
end

-- The batch at cursor c: views of rows c+1..c+bs, or, where the batch runs
-- past the end, a buffer of its own that next() refills from two views.
function NDArrayIter:_batch_at(c)
  local b = self.batches[c]
  if b then return b end
  local bs, n, perm = self.batch_size, self.num_data, self.perm -- a field read per row cost 10 us a batch
  local index = {}
  for i = 0, bs - 1 do
    local row = (c + i) % n
    index[i + 1] = perm and math.tointeger(perm[row + 1]) or row
  end
  local function views(lst)
    local out, fill = {}, {}
    for i, q in ipairs(lst) do
      local a = q[2]
      if c + bs <= n then
        out[i] = a:slice(c + 1, c + bs)
      else
        local s = a:shape()
        s[1] = bs
        local buf = core.nd.empty(s, a:context())
        local k = n - c
        fill[i] = {buf:slice(1, k), a:slice(c + 1, n), buf:slice(k + 1, bs), a:slice(1, bs - k)}
        out[i] = buf
      end
    end
    return out, fill
  end
  local data, dfill = views(self.data_list)
  local label, lfill = views(self.label_list)
  b = io_.DataBatch{data = data, label = label, pad = 0, index = index}
  b._fill = (next(dfill) or next(lfill)) and {dfill, lfill} or nil
  self.batches[c] = b
  return b
end

function NDArrayIter:next()
  if not self:iter_next() then return nil end
  local b = self:_batch_at(self.cursor)
  if b._fill then -- the wrapped batch: copy into its buffer (the data may have changed)
    for _, lst in ipairs(b._fill) do
      for _, f in pairs(lst) do
        f[1]:set(f[2])
        f[3]:set(f[4])
      end
    end
  end
  b.pad = self:getpad()
  return b
end

function NDArrayIter:getdata() return self:_batch_at(self.cursor).data end
function NDArrayIter:getlabel() return self:_batch_at(self.cursor).label end

-- A small deterministic generator (splitmix64) for MNISTIter's own seed, so
-- that it leaves mx.random's sequence alone.
local function splitmix(seed)
  local s = seed
  return function(n) -- an integer in [0, n)
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 1) % n
  end
end

local MNISTIter = io_.iter_class('mx.io.MNISTIter', NDArrayIter)
io_.MNISTIter = MNISTIter

--- MNISTIter{image = './train-images-idx3-ubyte', label = './train-labels-idx1-ubyte',
--   batch_size = 128, shuffle = true, flat = false, seed = 0, silent = false,
--   num_parts = 1, part_index = 0, data_name = 'data', label_name = 'softmax_label', ctx}
-- Pixels scaled by 1/256 as MXNet's; plain or .gz files; only full batches.
function MNISTIter:init(opts)
  local where = 'mx.io.MNISTIter'
  opts = opts or {}
  if type(opts) ~= 'table' then error(('%s: expected a table of options (got %s)'):format(where, type(opts)), 3) end
  options.check(opts, {'image', 'label', 'batch_size', 'shuffle', 'flat', 'seed', 'silent', 'num_parts', 'part_index',
                       'data_name', 'label_name', 'ctx'}, where, 3)
  local image = opts.image or './train-images-idx3-ubyte'
  local label = opts.label or './train-labels-idx1-ubyte'
  local bs = opts.batch_size or 128
  local num_parts, part = opts.num_parts or 1, opts.part_index or 0
  if math.type(num_parts) ~= 'integer' or num_parts < 1 or math.type(part) ~= 'integer'
     or part < 0 or part >= num_parts then
    error(('%s: part_index must lie in 0..num_parts-1 (got part_index %s, num_parts %s)'):format(
      where, tostring(part), tostring(num_parts)), 3)
  end
  local ok, images, labels = pcall(core.idx_load_pair, image, label, 1 / 256, opts.ctx)
  if not ok then error((tostring(images):gsub('^mx%.io%.idx_load_pair', where)), 3) end
  local count = images:shape()[1]
  local top = labels:max():asscalar() -- a label byte past 9 is a corrupt file, not a class
  if top ~= top or top > 9 then
    error(('%s: %s: label %s out of range (MNIST labels are 0..9)'):format(where, label, tostring(top)), 3)
  end
  local lo, hi = count // num_parts * part, count // num_parts * (part + 1)
  if lo > 0 or hi < count then images, labels = images:slice(lo + 1, hi), labels:slice(lo + 1, hi) end
  local n = hi - lo
  local shuffle = opts.shuffle
  if shuffle == nil then shuffle = true end
  if shuffle then
    local rand, idx = splitmix(opts.seed or 0), {}
    for i = 1, n do idx[i] = i - 1 end
    for i = n, 2, -1 do
      local j = rand(i) + 1
      idx[i], idx[j] = idx[j], idx[i]
    end
    if core.nd.permute_rows and images:context().device_type == 'cpu' then
      -- in place: the arrays were just loaded, so no second copy of the images
      core.nd.permute_rows(images, idx)
      core.nd.permute_rows(labels, idx)
    else
      images, labels = images:take(idx), labels:take(idx)
    end
  end
  local s = images:shape()
  if opts.flat then
    images = images:reshape{n, s[2] * s[3]}
  else
    images = images:reshape{n, 1, s[2], s[3]}
  end
  NDArrayIter.init(self, {data = images, label = labels, batch_size = bs, last_batch_handle = 'discard',
                          data_name = opts.data_name, label_name = opts.label_name})
  if not opts.silent then
    local shp = images:shape()
    shp[1] = bs
    log.info('MNISTIter: load %d images, shuffle=%d, shape=%s', n, shuffle and 1 or 0, shape_str(shp))
  end
end

--- mx.io.save(path, arrays): a list of NDArrays, or a name -> NDArray table
-- (saved sorted by name), in MXNet's NDArray list format, written atomically.
function io_.save(path, arrays)
  if type(arrays) ~= 'table' and not core.nd.is_ndarray(arrays) then
    error('mx.io.save: expected a list or a table of NDArrays (got ' .. type(arrays) .. ')', 2)
  end
  if core.nd.is_ndarray(arrays) then arrays = {arrays} end
  if #arrays > 0 or next(arrays) == nil then
    core.params_save(path, arrays)
  else
    local names, list = {}, {}
    for k in pairs(arrays) do
      if type(k) ~= 'string' then error('mx.io.save: table keys must be strings (got ' .. type(k) .. ')', 2) end
      names[#names + 1] = k
    end
    table.sort(names)
    for i, k in ipairs(names) do list[i] = arrays[k] end
    core.params_save(path, list, names)
  end
end

--- mx.io.load(path[, ctx]) -> a list (unnamed file) or a name -> NDArray table.
function io_.load(path, ctx)
  local arrays, names = core.params_load(path, ctx)
  if not names then return arrays end
  local out = {}
  for i, k in ipairs(names) do out[k] = arrays[i] end
  return out
end

--- Writes a text file atomically (temporary file, fsync, rename).
io_.write_atomic = core.file_write_atomic

--- mkdir_p(dir): makes the folder and its missing parents (as `mkdir -p`, through
-- lua-filesystem: no shell ever sees the name). Returns dir; raises naming the folder.
function io_.mkdir_p(dir)
  local lfs = require 'lfs'
  if type(dir) ~= 'string' or dir == '' then error('mx.io.mkdir_p: expected a folder name', 2) end
  local path = dir:sub(1, 1) == '/' and '/' or ''
  for part in dir:gmatch('[^/]+') do
    path = path .. part
    if lfs.attributes(path, 'mode') ~= 'directory' then
      local ok, err = lfs.mkdir(path)
      if not ok and lfs.attributes(path, 'mode') ~= 'directory' then
        error(('mx.io.mkdir_p: cannot make %s (%s)'):format(path, tostring(err)), 2)
      end
    end
    path = path .. '/'
  end
  return dir
end

return io_
