-- gc_mode_spec: require 'mx' leaves the collector's mode as the program set it (the mode is
-- global to the Lua state: a library must not change it); the mxlua host runs incremental.
-- Under either mode, arrays dropped in a loop are collected at the pace they are made.
local root = os.getenv('MXLUA_ROOT') or '.'

local sh = require('shell').run

local function lua_out(code) return (sh(('lua5.4 -e %q'):format(code))) end

describe("require 'mx'", function()
  it('keeps the generational mode a program chose, and the incremental one', function()
    -- collectgarbage(mode) returns the mode before it
    assert.are.equal('generational\n',
                     lua_out("collectgarbage('generational'); require 'mx'; print(collectgarbage('generational'))"))
    assert.are.equal('incremental\n',
                     lua_out("collectgarbage('incremental'); require 'mx'; print(collectgarbage('incremental'))"))
  end)

  it('under mxlua the mode is incremental', function()
    assert.are.equal('incremental\n', (sh(root .. "/build/mxlua -e \"print(collectgarbage('incremental'))\"")))
  end)
end)

describe('arrays dropped in a loop', function()
  for _, mode in ipairs{'generational', 'incremental'} do
    it('are collected at the pace they are made under the ' .. mode .. ' collector', function()
      local out = lua_out(("collectgarbage('%s'); local mx = require 'mx'; collectgarbage(); "
        .. "local base = mx.core.alloc_stats().bytes_in_use; local x = mx.nd.ones{1000, 250}; local peak = 0; "
        .. "for _ = 1, 500 do local _ = x * 2 + 1; "
        .. "peak = math.max(peak, mx.core.alloc_stats().bytes_in_use - base) end; "
        .. "print(collectgarbage('%s'), math.floor(peak / 2^20))"):format(mode, mode))
      local was, mb = out:match('^(%a+)\t(%d+)\n$')
      assert.are.equal(mode, was, out) -- still the program's mode
      assert.is_true(tonumber(mb) < 64, 'peak ' .. tostring(mb) .. ' MB for 1 MB temporaries (1000 MB made)')
    end)
  end
end)
