-- mx.test_utils: helpers for tests and tutorials; get_mnist reads the MNIST IDX
-- files (plain or .gz) from data/mnist (or $MXLUA_DATA, or a folder given).
local core = require 'mx.core'

local test_utils = {}

local FILES = {
  train_data = 'train-images-idx3-ubyte', train_label = 'train-labels-idx1-ubyte',
  test_data = 't10k-images-idx3-ubyte', test_label = 't10k-labels-idx1-ubyte',
}

local function exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() end
  return f ~= nil
end

-- The file for `base` in dir: plain, or with .gz.
local function find(dir, base)
  for _, p in ipairs{dir .. '/' .. base, dir .. '/' .. base .. '.gz'} do
    if exists(p) then return p end
  end
end

--- The folders get_mnist looks in, in order.
function test_utils.mnist_dirs(dir)
  local dirs = {}
  if dir then return {dir} end
  local env = os.getenv('MXLUA_DATA')
  if env and env ~= '' then
    dirs[#dirs + 1] = env .. '/mnist'
    dirs[#dirs + 1] = env
  end
  dirs[#dirs + 1] = 'data/mnist'
  local root = os.getenv('MXLUA_ROOT')
  if root and root ~= '' then dirs[#dirs + 1] = root .. '/data/mnist' end
  return dirs
end

--- get_mnist([dir[, ctx]]) -> {train_data = (60000,784), train_label = (60000,),
-- test_data = (10000,784), test_label = (10000,)}, pixels scaled to [0, 1].
function test_utils.get_mnist(dir, ctx)
  local dirs = test_utils.mnist_dirs(dir)
  for _, d in ipairs(dirs) do
    local paths, complete = {}, true
    for key, base in pairs(FILES) do
      paths[key] = find(d, base)
      if not paths[key] then complete = false end
    end
    if complete then
      local out = {}
      for _, part in ipairs{'train', 'test'} do
        local images, labels = core.idx_load_pair(paths[part .. '_data'], paths[part .. '_label'], 1 / 255, ctx)
        local s = images:shape()
        out[part .. '_data'] = images:reshape{s[1], s[2] * s[3]}
        out[part .. '_label'] = labels
      end
      return out
    end
  end
  error(('mx.test_utils.get_mnist: the MNIST files (train-images-idx3-ubyte, ...) are not in %s: '
         .. 'run `make data` to fetch them'):format(table.concat(dirs, ' or ')), 2)
end

return test_utils
