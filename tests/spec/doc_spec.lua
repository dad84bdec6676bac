-- doc_spec: the API reference `make doc` builds: LDoc reads scripts/doc/config.ld over lua/mx/ and the
-- operators' page with no warning, every operator of the registry gets its entry (its
-- parameters too), and comment text shows as written (<where> is not swallowed as HTML).
local mx = require 'mx'
local shell = require 'shell'
local sh = shell.run

local root = sh('cd "' .. (os.getenv('MXLUA_ROOT') or '.') .. '" && pwd'):match('[^\n]+')
local build = root .. '/' .. (os.getenv('MXLUA_BUILD_DIR') or 'build')

local function read(path) return assert(shell.read(path), path) end

describe('make doc', function()
  local tmp, ops_file
  setup(function()
    tmp = os.tmpname()
    os.remove(tmp)
    sh(('mkdir -p "%s/src/mx"'):format(tmp))
    ops_file = tmp .. '/src/mx/symbol_operators.lua'
    local out, ok = sh(('"%s/mxlua" "%s/scripts/doc/operators.lua" "%s"'):format(build, root, ops_file))
    assert(ok, out)
  end)
  teardown(function() sh(('rm -rf "%s"'):format(tmp)) end)

  it("scripts/doc/operators.lua writes every registry operator and each of its parameters", function()
    local text = read(ops_file)
    local ops = mx.core.symbol.op_list()
    assert.is_true(#ops > 40, #ops)
    for _, op in ipairs(ops) do
      local at = text:find('\n%-%- @function ' .. op.name:gsub('%p', '%%%0') .. '\n')
      assert.truthy(at, op.name)
      local entry = text:sub(1, at):match('.*\n\n(.*)$') -- the entry: from the blank line before
      assert.truthy(entry:find('--- ' .. op.doc:gsub('\n', ' '), 1, true), op.name)
      for _, p in ipairs(op.params) do
        assert.truthy(entry:find('-- @param args.' .. p.name .. ' (', 1, true), op.name .. '.' .. p.name)
      end
    end
  end)

  it('LDoc builds the reference from scripts/doc/config.ld with no warning', function()
    -- scripts/doc/config.ld with its paths (relative to scripts/doc/) pointed at the checkout and at tmp
    local config = read(root .. '/scripts/doc/config.ld')
      :gsub("'%.%./%.%./build/doc%-src/mx/symbol_operators%.lua'", "'" .. ops_file .. "'")
      :gsub("'%.%./%.%./build/doc'", "'" .. tmp .. "/html'")
      :gsub("package = '%.%./%.%./'", "package = '/'")
      :gsub("'%.%./%.%./", "'" .. root .. '/')
    local f = assert(io.open(tmp .. '/config.ld', 'w'))
    f:write(config)
    f:close()
    local out, ok = sh(('cd "%s" && LUA_PATH="%s/scripts/doc/?.lua;;" ldoc -c config.ld --fatalwarnings .')
                       :format(tmp, root))
    assert.is_true(ok, out)
    -- what LDoc prints besides its progress is a warning
    local rest = out:gsub('reading configuration from [^\n]*\n', ''):gsub('changing to directory[^\n]*\n', '')
                    :gsub('output written to [^\n]*\n', '')
    assert.are.equal('', rest)
    local options = read(tmp .. '/html/modules/mx.options.html')
    assert.truthy(options:find('raises "&lt;where&gt;: unknown option', 1, true))
    local cli = read(tmp .. '/html/modules/mx.cli.html')
    assert.truthy(cli:find('<code>--flag=value</code>', 1, true))
    local page = read(tmp .. '/html/operators/mx.symbol.html')
    for _, op in ipairs(mx.core.symbol.op_list()) do
      assert.truthy(page:find('<a name = "' .. op.name .. '"></a>', 1, true), op.name)
    end
    for _, m in ipairs{'mx', 'mx.ndarray', 'mx.symbol', 'mx.model', 'mx.io', 'mx.cli', 'mx.operator'} do
      assert.truthy(io.open(tmp .. '/html/modules/' .. m .. '.html'), m)
    end
  end)
end)
