-- gc_mode_spec: require 'mx' leaves the collector's mode as the program set it (the mode is
-- global to the Lua state: a library must not change it); the mxlua host runs incremental.
local root = os.getenv('MXLUA_ROOT') or '.'

local function lua_out(code)
  local cmd = ('lua5.4 -e %q 2>&1'):format(code)
  local p = io.popen(cmd)
  local out = p:read('a')
  p:close()
  return out
end

describe("require 'mx'", function()
  it('keeps the generational mode a program chose, and the incremental one', function()
    -- collectgarbage(mode) returns the mode before it
    assert.are.equal('generational\n',
                     lua_out("collectgarbage('generational'); require 'mx'; print(collectgarbage('generational'))"))
    assert.are.equal('incremental\n',
                     lua_out("collectgarbage('incremental'); require 'mx'; print(collectgarbage('incremental'))"))
  end)

  it('under mxlua the mode is incremental', function()
    local p = io.popen(root .. "/build/mxlua -e \"print(collectgarbage('incremental'))\" 2>&1")
    local out = p:read('a')
    p:close()
    assert.are.equal('incremental\n', out)
  end)
end)
