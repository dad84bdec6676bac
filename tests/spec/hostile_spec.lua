-- hostile_spec: one test per class of hostile input that once crashed, hung or fooled the
-- engine (issue 19): size arithmetic that overflows, Lua code run while C holds a pointer,
-- graphs deep enough to exhaust recursion, unchecked index data, NaN, misspelled options,
-- bent symbol attributes, files that are not what a save or load expects.
local mx = require 'mx'

local function fails(f, ...)
  local ok, err = pcall(f)
  assert.is_false(ok, 'expected an error')
  assert.is_string(err)
  for _, want in ipairs{...} do
    assert.is_truthy(err:find(want, 1, true), ('expected %q in: %s'):format(want, err))
  end
  return err
end

describe('size arithmetic', function()
  it('refuses a nested table whose element count overflows', function()
    local t = 0
    for _ = 1, 4 do
      local n = {}
      for i = 1, 65536 do n[i] = t end
      t = n
    end
    fails(function() return mx.nd.array(t) end, 'mx.nd.array', 'too large')
    local a = mx.nd.zeros{2}
    fails(function() return a:set(t) end, 'NDArray:set', 'too large')
  end)

  it('refuses shapes whose size passes 2^48 elements, at bind and at creation', function()
    local s = mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 1 << 62}
    fails(function() return s:simple_bind{x = {1, 1}} end, 'simple_bind', 'too large')
    fails(function() return mx.nd.zeros{1 << 31, 1 << 31} end, 'mx.nd.zeros', 'too large')
    fails(function() return mx.nd.zeros{math.maxinteger, 2} end, 'mx.nd.zeros', 'too large')
  end)

  it('keeps Bytes:fill and fill_crop inside the rows with extreme integers', function()
    local path = os.tmpname()
    local f = assert(io.open(path, 'wb'))
    f:write('\0\0\8\2', '\0\0\0\3', '\0\0\0\4', ('\1\2\3\4'):rep(3))
    f:close()
    local b = mx.core.bytes_load_idx{path}
    os.remove(path)
    local d, u = mx.nd.zeros{4}, mx.nd.zeros{2}
    for _, first in ipairs{math.maxinteger, math.mininteger, 0, -1, 1 << 62, 4} do
      fails(function() return b:fill(d, first) end, 'mx.Bytes:fill', 'out of')
      fails(function() return b:fill_crop(d, first, 1, 2, 2, 0, u) end, 'mx.Bytes:fill_crop', 'out of')
    end
    for _, hw in ipairs{{math.maxinteger, 2}, {1 << 32, 1 << 32}, {1 << 62, 4}, {math.mininteger, -1}} do
      fails(function() return b:fill_crop(d, 1, 1, hw[1], hw[2], 0, u) end, 'mx.Bytes:fill_crop', 'not images')
    end
    assert.are.same({1, 2, 3, 4}, b:fill(d, 3):totable())
  end)
end)

describe('Lua code while C holds a pointer', function()
  it('reads shapes raw: a metamethod closing the array never runs', function()
    local a = mx.nd.ones{3, 3}
    local ran = false
    local hostile = setmetatable({}, {
      __len = function() ran = true; return 2 end,
      __index = function(_, k) ran = true; a:close(); collectgarbage(); return k == 1 and 9 or 1 end})
    fails(function() return a:reshape(hostile) end, 'reshape')
    fails(function() return mx.nd.zeros(hostile) end, 'mx.nd.zeros')
    assert.is_false(ran)
    assert.are.same({9, 1}, a:reshape(setmetatable({9, 1}, {__index = function() a:close() end})):shape())
  end)
end)

describe('deep graphs', function()
  it('frees a 300,000-node chain and walks a 40,000-node one', function()
    local x = mx.sym.Variable('x')
    for _ = 1, 300000 do x = mx.sym.BlockGrad{data = x} end
    x = nil -- luacheck: ignore 311
    collectgarbage(); collectgarbage()
    local y = mx.sym.Variable('y')
    for _ = 1, 40000 do y = mx.sym.BlockGrad{data = y} end
    assert.are.same({'y'}, y:list_arguments())
    assert.are.equal(40000, #y:get_internals():list_outputs() - 1)
  end)
end)

describe('files', function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(require('lfs').mkdir(dir))
  end)
  after_each(function()
    for f in require('lfs').dir(dir) do
      if f ~= '.' and f ~= '..' then os.remove(dir .. '/' .. f) end
    end
    os.remove(dir)
  end)

  it('saves replace only regular files: through a link, never a device, folder or dangling link', function()
    local a = {w = mx.nd.ones{2}}
    fails(function() return mx.nd.save('/dev/null', a) end, 'mx.nd.save', '/dev/null', 'character device')
    fails(function() return mx.nd.save(dir, a) end, 'mx.nd.save', 'folder')
    assert.is_true(require('lfs').link('target', dir .. '/link', true))
    assert.is_true(require('lfs').link('nothing', dir .. '/dangling', true))
    local f = assert(io.open(dir .. '/target', 'w'))
    f:write('old')
    f:close()
    mx.nd.save(dir .. '/link', a)
    assert.are.equal('link', require('lfs').symlinkattributes(dir .. '/link').mode)
    assert.are.same({1, 1}, mx.nd.load(dir .. '/target').w:totable())
    fails(function() return mx.nd.save(dir .. '/dangling', a) end, 'mx.nd.save', 'symbolic link to nothing')
    fails(function() return mx.sym.Variable('x'):save('/dev/null') end, '/dev/null', 'character device')
  end)

  it('loaders refuse what is not a regular file instead of reading forever', function()
    fails(function() return mx.nd.load('/dev/zero') end, 'mx.nd.load', 'character device')
    fails(function() return mx.sym.load('/dev/zero') end, 'character device')
    fails(function() return mx.nd.load(dir) end, 'mx.nd.load', 'folder')
    fails(function() return mx.io.MNISTIter{image = '/dev/zero', label = '/dev/zero'} end, 'character device')
  end)
end)
