-- build_config_spec: the Makefile decides the optional parts when it runs (scripts/configure.sh ->
-- BUILD/config.mk) and a change of them rebuilds what they affect: here a missing BLIS is
-- simulated with `make BLIS=` on one object of a temporary build folder. `make test` configures
-- after `make deps` (its build runs in a second make).
local root = os.getenv('MXLUA_ROOT') or '.'

local sh = require('shell').run

local read = require('shell').read

describe('make configures after installing, and rebuilds on a change', function()
  local build
  setup(function()
    build = os.tmpname()
    os.remove(build)
  end)
  teardown(function() sh('rm -rf "' .. build .. '"') end)

  -- make in the checkout with a temporary BUILD (no CUDA: nvcc is slow), extra options, a target
  local function make(opts, target)
    return sh(('cd "%s" && make --no-print-directory CI= NVCC= BUILD="%s" %s %s'):format(root, build, opts, target))
  end

  it('rebuilds an object when BLIS goes (make BLIS=) and comes back, and not otherwise', function()
    local obj = build .. '/obj/core/features.o'
    local blis_here = sh('ls /usr/include/*/blis-*/blis.h'):find('/blis.h\n', 1, true) ~= nil
    local out, ok = make('', obj)
    assert.truthy(ok, out)
    assert.truthy(out:find('core/features.c', 1, true), out)
    local config = read(build .. '/config.mk')
    assert.truthy(config:find('OFF_ON_REQUEST := CUDA\n', 1, true), config)
    if blis_here then assert.truthy(config:find('FEATURES :=[^\n]* BLIS'), config) end

    -- nothing changed: up to date, config.mk not rewritten
    out, ok = sh(('cd "%s" && make -q CI= NVCC= BUILD="%s" %s'):format(root, build, obj))
    assert.truthy(ok, 'make -q says out of date: ' .. out)
    assert.are.equal(config, read(build .. '/config.mk'))

    -- BLIS turned off: config changes, the object is rebuilt without -DMX_HAVE_BLIS
    out, ok = make('BLIS=', obj)
    assert.truthy(ok, out)
    assert.truthy(out:find('core/features.c', 1, true), out)
    assert.is_nil(out:find('-DMX_HAVE_BLIS', 1, true), out)
    assert.truthy(read(build .. '/config.mk'):find('OFF_ON_REQUEST := CUDA BLIS\n', 1, true))

    -- BLIS back (as after `make deps` installs it): rebuilt with it
    if blis_here then
      out, ok = make('', obj)
      assert.truthy(ok, out)
      assert.truthy(out:find('-DMX_HAVE_BLIS', 1, true), out)
    end
  end)

  it('make test runs deps before it configures (the build is a second make)', function()
    -- -n: deps' recipe is shown, not run; the second make still parses, and so configures
    local out = sh(('cd "%s" && make -n CI= NVCC= BUILD="%s" test'):format(root, build .. '-n'))
    sh('rm -rf "' .. build .. '-n"')
    local deps_at = out:find('dpkg-query', 1, true)
    local configure_at = out:find('configure (' .. build .. '-n)', 1, true)
    assert.truthy(deps_at, out)
    assert.truthy(configure_at, out)
    assert.is_true(deps_at < configure_at, out)
  end)
end)

describe('the layers', function()
  -- make -n prints the commands without running them: every object of core/ and one binding,
  -- in a temporary BUILD (so this checkout's configuration is left alone)
  it('compiles the core without the Lua include path (core can never include lua.h)', function()
    local build = os.tmpname()
    os.remove(build)
    local lua_inc = sh('pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4'):match('%S+')
    local objs = {}
    for f in sh('cd "' .. root .. '" && ls core/*.c core/ops/*.c'):gmatch('[^\n]+') do
      objs[#objs + 1] = build .. '/obj/' .. f:gsub('%.c$', '.o')
    end
    assert.is_true(#objs > 40, #objs .. ' core files')
    local out, ok = sh(('cd "%s" && make -n -B --no-print-directory NVCC= BUILD="%s" %s %s/obj/bindings/io.o')
                       :format(root, build, table.concat(objs, ' '), build))
    sh('rm -rf "' .. build .. '"')
    assert.truthy(ok, out)
    local core_cmds, bindings_cmds = 0, 0
    for line in out:gmatch('[^\n]+') do
      if line:find(' %-c core/') then
        core_cmds = core_cmds + 1
        assert.is_nil(line:find(lua_inc, 1, true), line)
      elseif line:find(' %-c bindings/') then
        bindings_cmds = bindings_cmds + 1
        assert.truthy(line:find(lua_inc, 1, true), line)
      end
    end
    assert.are.equal(#objs, core_cmds)
    assert.are.equal(1, bindings_cmds)
  end)
end)
