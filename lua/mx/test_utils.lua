-- mx.test_utils: helpers for tests and tutorials; get_mnist reads the MNIST IDX
-- files (plain or .gz) from a folder given, else $MXLUA_DATA, data/mnist, or the checkout's;
-- roots/checkout_path place scripts' data and outputs independently of the current directory.
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

-- The folder holding path: "a/b/c.lua" -> "a/b", "c.lua" -> ".", "/c.lua" -> "/".
local function dirname(path)
  local dir = path:match('^(.*)/[^/]*$')
  if dir == nil then return '.' end
  return dir == '' and '/' or dir
end

local function join(dir, rel) return (dir:gsub('/$', '')) .. '/' .. rel end

--- The checkouts (or installations) to look in, in order: the one the running script lives in
-- (its folder's parent: scripts/x.lua -> .), $MXLUA_ROOT, then the one mx is loaded from.
function test_utils.roots()
  local roots, seen = {}, {}
  local function add(r)
    if r and r ~= '' and not seen[r] then seen[r] = true; roots[#roots + 1] = r end
  end
  local script = rawget(_G, 'arg') and arg[0]
  if script and script:match('%.lua$') then
    local dir = dirname(script)
    add(dir == '.' and '..' or dirname(dir))
  end
  add(os.getenv('MXLUA_ROOT'))
  local init = package.searchpath('mx', package.path) -- ROOT/lua/mx/init.lua in a checkout
  local root = init and init:match('^(.*)/lua/mx/init%.lua$')
  if root and root:match('/share/lua/5%.4$') == nil then add(root) end
  return roots
end

--- checkout_path(rel) -> rel under the checkout of the running script (roots()[1]), so that
-- scripts' default outputs (checkpoints) do not depend on the current directory.
function test_utils.checkout_path(rel)
  local root = test_utils.roots()[1]
  if not root or root == '.' then return rel end
  return join(root, rel)
end

--- The folders get_mnist looks in, in order: dir alone when given; else $MXLUA_DATA (and its
-- mnist/), data/mnist under the current directory, then data/mnist of each of roots().
function test_utils.mnist_dirs(dir)
  if dir then return {dir} end
  local dirs, seen = {}, {}
  local function add(d)
    if not seen[d] then seen[d] = true; dirs[#dirs + 1] = d end
  end
  local env = os.getenv('MXLUA_DATA')
  if env and env ~= '' then
    add(env .. '/mnist')
    add(env)
  end
  add('data/mnist')
  for _, root in ipairs(test_utils.roots()) do
    if root ~= '.' then add(join(root, 'data/mnist')) end
  end
  return dirs
end

--- mnist_files([dir]) -> the paths of the four IDX files (plain or .gz) in the first of
-- mnist_dirs(dir) that holds them all, as {train_data=, train_label=, test_data=, test_label=};
-- or nil and a message naming the folders tried and how to give another.
function test_utils.mnist_files(dir)
  local dirs = test_utils.mnist_dirs(dir)
  for _, d in ipairs(dirs) do
    local paths, complete = {}, true
    for key, base in pairs(FILES) do
      paths[key] = find(d, base)
      if not paths[key] then complete = false end
    end
    if complete then return paths end
  end
  return nil, ('the MNIST files (train-images-idx3-ubyte, ...) are not in %s: give their folder '
               .. "(a script's --data DIR, or MXLUA_DATA=DIR), or run `make data` in the checkout to fetch them")
               :format(table.concat(dirs, ' or '))
end

--- get_mnist([dir[, ctx]]) -> {train_data = (60000,784), train_label = (60000,),
-- test_data = (10000,784), test_label = (10000,)}, pixels scaled to [0, 1].
function test_utils.get_mnist(dir, ctx)
  local paths, err = test_utils.mnist_files(dir)
  if not paths then error('mx.test_utils.get_mnist: ' .. err, 2) end
  local out = {}
  for _, part in ipairs{'train', 'test'} do
    local images, labels = core.idx_load_pair(paths[part .. '_data'], paths[part .. '_label'], 1 / 255, ctx)
    local s = images:shape()
    out[part .. '_data'] = images:reshape{s[1], s[2] * s[3]}
    out[part .. '_label'] = labels
  end
  return out
end

return test_utils
