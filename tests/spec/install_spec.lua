-- install_spec: `make install PREFIX=DIR` into a temporary DIR (off Lua's search path), then the
-- installed mxlua, run from another folder with no MXLUA_ROOT or LUA_PATH, finds mx beside
-- itself (DIR/share/lua/5.4, DIR/lib/lua/5.4), and stock lua5.4 loads it from DIR too.
local mx = require 'mx'

local sh = require('shell').run

local root = sh('cd "' .. (os.getenv('MXLUA_ROOT') or '.') .. '" && pwd'):match('[^\n]+')

describe('make install PREFIX=DIR', function()
  local prefix
  setup(function()
    prefix = os.tmpname()
    os.remove(prefix)
  end)
  teardown(function() sh('rm -rf "' .. prefix .. '"') end)

  it('installs a mxlua that finds its modules beside itself, from any folder', function()
    -- the build this spec runs on (BUILD, and its options turned off), installed without rebuilding it
    local so = assert(package.searchpath('mx.core', package.cpath))
    so = sh('cd "$(dirname "' .. so .. '")" && pwd'):match('[^\n]+') .. '/core.so' -- (busted's cpath is relative)
    local build = so:sub(#root + 2):match('^(.+)/lua/mx/core%.so$')
    assert.truthy(build, so .. ' is not a build of ' .. root)
    local fs = mx.features()
    local opts = (fs.CUDA.off_on_request and ' NVCC=' or '') .. (fs.BLIS.off_on_request and ' BLIS=' or '')
    local out, ok = sh(('cd "%s" && make --no-print-directory -o all install PREFIX="%s" BUILD=%s%s')
                       :format(root, prefix, build, opts))
    assert.truthy(ok, out)

    local clean = 'cd / && env -u MXLUA_ROOT -u LUA_PATH -u LUA_CPATH -u LUA_INIT '
    local got
    got, ok = sh(clean .. prefix .. [[/bin/mxlua -e "print(package.searchpath('mx', package.path)); ]]
                 .. [[print(package.searchpath('mx.core', package.cpath)); ]]
                 .. [[print(mx.nd.ones{2}:sum():asscalar() == 2)"]])
    assert.truthy(ok, got)
    assert.are.equal(prefix .. '/share/lua/5.4/mx/init.lua\n' .. prefix .. '/lib/lua/5.4/mx/core.so\ntrue\n', got)

    -- and plain lua5.4, told where DIR's modules are
    local paths = ('LUA_PATH="%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua;;" LUA_CPATH="%s/lib/lua/5.4/?.so;;" ')
                  :format(prefix, prefix, prefix)
    got, ok = sh(clean .. paths .. [[lua5.4 -e "local mx = require 'mx'; print(mx.nd.ones{2}:sum():asscalar() == 2)"]])
    assert.truthy(ok, got)
    assert.are.equal("true\n", got)

    -- the C library and header for C users
    assert.truthy(io.open(prefix .. '/include/mx.h'))
    assert.truthy(io.open(prefix .. '/lib/libmxcore.so'))

    -- the library only: the draw-a-digit application (scripts/draw_digit/) stays in the checkout
    local listed = sh('cd "' .. prefix .. '" && find . -type f | sort')
    for _, part in ipairs{'draw_digit', '/web/', 'native.so', 'microhttpd'} do
      assert.is_nil(listed:find(part, 1, true), listed)
    end
  end)
end)
