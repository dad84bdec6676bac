-- host_spec: the mxlua host program: scripts and their `arg`, -e, -i, -v, -,
-- failures, and the REPL both through a pipe and in a pseudo-terminal (script(1)).
local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local root = os.getenv('MXLUA_ROOT')
if not root or root == '' then
  local p = io.popen('pwd')
  root = p:read('l')
  p:close()
end
local MXLUA = root .. '/build/mxlua'

local function write_file(path, text)
  local f = assert(io.open(path, 'w'))
  f:write(text)
  f:close()
end

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read('a')
  f:close()
  return s
end

-- Runs a shell command; returns its stdout, stderr and exit code.
local function run(cmd, stdin)
  local out, err = os.tmpname(), os.tmpname()
  local input = ''
  if stdin then
    local inp = os.tmpname()
    write_file(inp, stdin)
    input = ' < ' .. inp
  end
  local ok, _, code = os.execute('(' .. cmd .. ')' .. input .. ' > ' .. out .. ' 2> ' .. err)
  local o, e = read_file(out), read_file(err)
  os.remove(out)
  os.remove(err)
  return o, e, ok and 0 or code
end

local function has_script()
  return os.execute('command -v script > /dev/null 2>&1')
end

-- Runs mxlua in a pseudo-terminal; `feed` is a shell command writing the keystrokes.
local function run_pty(feed, env)
  local cmd = string.format('(%s) | %s timeout 20 script -qec %s /dev/null', feed, env or '',
    shell_quote(MXLUA))
  local out = run(cmd)
  return (out:gsub('\27%[%?2004[hl]', ''):gsub('\r', ''))
end

describe('mxlua scripts', function()
  it('-v prints the version line and exits', function()
    local out, _, code = run(MXLUA .. ' -v')
    assert.are.equal(0, code)
    assert.truthy(out:find('^mxlua 0%.1 %(Lua 5%.4%) · cpu: OpenBLAS · gpu: %S+'))
    -- then what the build has, as mx.features() lists it in the same host (features_spec checks
    -- the list; the specs' own module may be another build's, as under make test-asan)
    local lines = run(MXLUA .. [[ -e "local fs = mx.features() ]] ..
      [[io.write(tostring(fs), '\n', fs.OPENBLAS.detail, '\n', fs.AVX2.detail, '\n')"]])
    local features, openblas, avx2 = lines:match('^(.-)\n(.-)\n(.-)\n')
    assert.truthy(features, lines)
    assert.truthy(out:find('\nfeatures: ' .. features .. '\n', 1, true), out)
    assert.truthy(out:find('\nOpenBLAS: ' .. openblas .. '\n', 1, true), out)
    assert.truthy(out:find('\nAVX2 paths: ' .. avx2 .. '\n', 1, true), out)
  end)

  it('runs a script with `arg` as lua5.4 sets it and `...`', function()
    local path = os.tmpname()
    write_file(path, [[
      print(arg[0], arg[1], arg[2], #arg, arg[-1] ~= nil, select('#', ...), ...)
      print(type(mx), mx.nd.ones{2}:sum():asscalar())
    ]])
    local out, err, code = run(MXLUA .. ' ' .. path .. ' a "b c"')
    assert.are.equal(0, code, err)
    assert.are.equal(path .. '\ta\tb c\t2\ttrue\t2\ta\tb c\ntable\t2\n', out)
    os.remove(path)
  end)

  it('-e runs code, then a script, in order', function()
    local path = os.tmpname()
    write_file(path, 'print("script", X)')
    local out, _, code = run(MXLUA .. ' -e "X = 5" -e "print(X + 1)" ' .. path)
    assert.are.equal(0, code)
    assert.are.equal('6\nscript\t5\n', out)
    os.remove(path)
  end)

  it('- reads the script from stdin', function()
    local out, _, code = run(MXLUA .. ' - x y', 'local a, b = ...\nprint(a, b, mx.nd.zeros{3}:size())')
    assert.are.equal(0, code)
    assert.are.equal('x\ty\t3\n', out)
  end)

  it('a failing script exits non-zero with its message and a traceback', function()
    local path = os.tmpname()
    write_file(path, 'local function f() error("boom") end\nf()\n')
    local out, err, code = run(MXLUA .. ' ' .. path)
    assert.are_not.equal(0, code)
    assert.are.equal('', out)
    assert.truthy(err:find(path .. ':1: boom', 1, true))
    assert.truthy(err:find('stack traceback:', 1, true))
    local _, err2, code2 = run(MXLUA .. ' -e "mx.nd.zeros{-1}"')
    assert.are_not.equal(0, code2)
    assert.truthy(err2:find('mx.nd.zeros: bad argument #1', 1, true))
    local _, _, code3 = run(MXLUA .. ' /nonexistent/script.lua')
    assert.are_not.equal(0, code3)
  end)

  it('runs LUA_INIT_5_4 or LUA_INIT first, as lua5.4 does', function()
    local out = run('LUA_INIT="X = 3" ' .. MXLUA .. ' -e "print(X)"')
    assert.are.equal('3\n', out)
    out = run('LUA_INIT_5_4="X = 4" LUA_INIT="X = 3" ' .. MXLUA .. ' -e "print(X)"')
    assert.are.equal('4\n', out)
    local path = os.tmpname()
    write_file(path, 'Y = 9')
    out = run('LUA_INIT=@' .. path .. ' ' .. MXLUA .. ' -e "print(Y)"')
    assert.are.equal('9\n', out)
    os.remove(path)
  end)

  it('a bad option prints the usage and fails', function()
    local _, err, code = run(MXLUA .. ' -z')
    assert.are_not.equal(0, code)
    assert.truthy(err:find("unrecognized option '-z'", 1, true))
    assert.truthy(err:find('usage:', 1, true))
  end)

  it('finds the mx module through MXLUA_ROOT from any directory', function()
    local cmd = 'cd / && MXLUA_ROOT=' .. shell_quote(root) .. ' ' .. MXLUA .. ' -e "print(mx.__version__)"'
    local out, _, code = run(cmd)
    assert.are.equal(0, code)
    assert.are.equal('0.1\n', out)
  end)
end)

describe('mxlua REPL through a pipe', function()
  it('prints values of expressions, NDArrays, tables and multiple values', function()
    local out, _, code = run(MXLUA, table.concat({
      'a = mx.nd.ones{2, 3}',
      'a * 2',
      '1 + 1',
      '1, "two", nil',
      '{1, 2, x = "y", t = {3, {4}}}',
      'mx.cpu()',
      '=10',
      '', -- an empty line does nothing
    }, '\n') .. '\n')
    assert.are.equal(0, code)
    local expected = table.concat({
      'mxlua 0.1 (Lua 5.4) · cpu: OpenBLAS · gpu: ',
    })
    assert.are.equal(expected, out:sub(1, #expected))
    local body = out:match('\nAVX2 paths: [^\n]*\n(.*)$') -- after the banner (see -v)
    assert.are.equal(table.concat({
      '> > [NDArray 2x3 float32 @cpu(0)]',
      ' 2  2  2',
      ' 2  2  2',
      '> 2',
      '> 1\ttwo\tnil',
      '> {1, 2, t = {3, {...}}, x = "y"}',
      '> cpu(0)',
      '> 10',
      '> > ',
    }, '\n') .. '\n', body)
  end)

  it('continues an incomplete chunk on the next lines', function()
    local out = run(MXLUA, 'for i = 1, 2 do\nprint(i)\nend\nlocal function f()\nreturn 7 end print(f())\n')
    assert.truthy(out:find('> >> >> 1\n2\n> >> 7\n', 1, true), out)
  end)

  it('prints an error and goes on', function()
    local out, err, code = run(MXLUA, 'mx.nd.ones{2} + mx.nd.ones{3}\nerror("mine")\nprint("alive")\n')
    assert.are.equal(0, code)
    assert.truthy(err:find('mx.nd.add: broadcast_add: shapes (2,) and (3,) cannot broadcast', 1, true), err)
    assert.truthy(err:find('mine', 1, true))
    assert.truthy(out:find('alive', 1, true))
  end)

  it('-i opens the REPL after the script', function()
    local path = os.tmpname()
    write_file(path, 'Y = mx.nd.full({2}, 3)')
    local out, _, code = run(MXLUA .. ' -i ' .. path, 'Y:sum():asscalar()\n')
    assert.are.equal(0, code)
    assert.truthy(out:find('> 6\n', 1, true), out)
    os.remove(path)
  end)
end)

describe('mxlua REPL in a terminal', function()
  local hist

  before_each(function() hist = os.tmpname() end)
  after_each(function() os.remove(hist) end)

  it('evaluates lines with readline, completes mx. names and keeps history', function()
    if not has_script() then return pending('script(1) is not installed') end
    local feed = [[sleep 1.5; printf 'b = mx.nd.zeros{2}\n'; sleep 0.3; printf 'mx.nd.random_perm\t(3):size()\n';
      sleep 0.3; printf 'b:sh\t()\n'; sleep 0.3; printf 'for i = 1, 2 do\n'; sleep 0.2; printf 'io.write(i)\n';
      sleep 0.2; printf 'end\n'; sleep 0.3; printf '\004']]
    local out = run_pty(feed, 'MXLUA_HISTORY=' .. hist)
    assert.truthy(out:find('mxlua 0.1 (Lua 5.4)', 1, true), out)
    assert.truthy(out:find('mx.nd.random_permutation(3):size()\n3\n', 1, true), out)
    assert.truthy(out:find('b:shape()\n{2}\n', 1, true), out)
    assert.truthy(out:find('>> end\n12', 1, true), out)
    local h = read_file(hist) or ''
    assert.truthy(h:find('b = mx.nd.zeros{2}\n', 1, true), h)
    assert.truthy(h:find('mx.nd.random_permutation(3):size()\n', 1, true), h)
    assert.truthy(h:find('for i = 1, 2 do\nio.write(i)\nend', 1, true), h)
  end)

  it('Ctrl-C interrupts a running command without leaving the REPL', function()
    if not has_script() then return pending('script(1) is not installed') end
    local feed = [[sleep 1.5; printf 'while true do end\n'; sleep 1.5; printf '\003'; sleep 0.5;
      printf 'print("still" .. "here")\n'; sleep 0.3; printf 'for i = 1, 3 do\n'; sleep 0.3; printf '\003';
      sleep 0.3; printf '40 + 2\n'; sleep 0.3; printf '\004']]
    local out = run_pty(feed, 'MXLUA_HISTORY=' .. hist)
    assert.truthy(out:find('interrupted!', 1, true), out)
    assert.truthy(out:find('stillhere', 1, true), out)
    assert.truthy(out:find('\n42\n', 1, true), out)
  end)
end)
