-- cli_spec: every script in scripts/ reads its flags through mx.cli (lua-argparse): `--help`
-- generated, `--flag=value` and `--flag value` alike, and an unknown or misspelled flag refused
-- the same way in every script, naming the closest valid flag, with exit status 2.
local cli = require 'mx.cli'
local lfs = require 'lfs'

local root = os.getenv('MXLUA_ROOT') or '.'

-- mlp_common.lua is a library the benchmark's runners load, not a script.
local NOT_SCRIPTS = {['scripts/bench/mlp_common.lua'] = true}

local function scripts()
  local list = {}
  for _, dir in ipairs{'scripts', 'scripts/bench'} do
    for f in lfs.dir(root .. '/' .. dir) do
      local path = dir .. '/' .. f
      if f:match('%.lua$') and not NOT_SCRIPTS[path] then list[#list + 1] = path end
    end
  end
  table.sort(list)
  return list
end

-- Runs `mxlua <script> <args>`: its output (stdout and stderr) and exit status.
local function run(script, args)
  local p = assert(io.popen(('cd %s && build/mxlua %s %s 2>&1; echo "exit=$?"'):format(root, script, args)))
  local out = p:read('a')
  p:close()
  return out:match('^(.*)exit=%d+\n$'), tonumber(out:match('exit=(%d+)\n$'))
end

describe('mx.cli', function()
  it('parses --flag value and --flag=value, converts numbers and fills defaults', function()
    local p = cli.parser('probe', 'a probe')
    p:option('--epochs', 'epochs', '10', cli.integer('--epochs'))
    p:option('--lr', 'learning rate', '0.1', cli.number('--lr'))
    p:option('--batch-size', 'batch size', '100', cli.integer('--batch-size'))
    p:flag('--progress', 'a bar')
    cli.data(p)
    local o = cli.parse(p, {'--epochs=3', '--lr', '1e-3', '--data', 'x y'})
    assert.are.equal(3, o.epochs)
    assert.are.equal('integer', math.type(o.epochs))
    assert.are.equal(1e-3, o.lr)
    assert.are.equal(100, o.batch_size)
    assert.are.equal('integer', math.type(o.batch_size))
    assert.are.equal('x y', o.data)
    assert.is_falsy(o.progress)
    assert.is_true(cli.parse(p, {'--progress'}).progress)
    assert.are.equal(10, cli.parse(p, {}).epochs)
  end)

  it('a positional argument with a default is optional and gets its default, converted', function()
    local p = cli.parser('probe', 'a probe')
    p:argument('steps', 'steps', '3000', cli.integer('STEPS'))
    p:argument('data_dir', 'the MNIST folder', 'data/mnist')
    local o = cli.parse(p, {})
    assert.are.equal(3000, o.steps)
    assert.are.equal('integer', math.type(o.steps))
    assert.are.equal('data/mnist', o.data_dir)
    o = cli.parse(p, {'5', 'elsewhere'})
    assert.are.same({5, 'elsewhere'}, {o.steps, o.data_dir})
  end)

  it('the converters name the flag and the value refused', function()
    assert.are.same({nil, '--epochs expects an integer (got 2.5)'}, {cli.integer('--epochs')('2.5')})
    assert.are.same({nil, '--lr expects a number (got fast)'}, {cli.number('--lr')('fast')})
    assert.are.equal(0.5, cli.number('--lr')('0.5'))
  end)
end)

describe('scripts/ flags', function()
  local list = scripts()

  it('every script declares its flags with mx.cli and reads no arg[i] by hand', function()
    assert.is_true(#list >= 15, #list)
    for _, path in ipairs(list) do
      local f = assert(io.open(root .. '/' .. path))
      local text = f:read('a')
      f:close()
      assert.truthy(text:find("require 'mx.cli'", 1, true), path)
      -- arg[0] (the script's own path) is no flag
      assert.is_nil(text:match('arg%s*%[%s*[^0%s]'), path)
      assert.is_nil(text:find('#arg%f[^%w_]'), path)
      -- lua-argparse 0.7 drops the default of an argument declared :args('?') (it arrives nil):
      -- a default alone makes an argument optional
      assert.is_nil(text:find(":args('?')", 1, true), path)
    end
  end)

  it('every script answers --help with its usage, exit 0', function()
    for _, path in ipairs(list) do
      local out, code = run(path, '--help')
      assert.are.equal(0, code, path .. ':\n' .. out)
      assert.truthy(out:find('Usage: mxlua ' .. path, 1, true), out)
      assert.truthy(out:find('-h, --help', 1, true), out)
    end
  end)

  it('every script refuses a misspelled flag the same way, naming the closest', function()
    for _, path in ipairs(list) do
      local name = path:match('^scripts/(.*)%.lua$')
      local out, code = run(path, '--helpp')
      assert.are.equal(2, code, path .. ':\n' .. out)
      assert.are.equal(("%s: unknown option --helpp (closest valid option: --help)\n" ..
                        "Try 'mxlua %s --help' for the flags.\n"):format(name, path), out)
    end
  end)

  it('train_mnist.lua: --flag=value, a bad number and a far-off flag', function()
    local out, code = run('scripts/train_mnist.lua', '--epochs=2.5')
    assert.are.equal(2, code)
    assert.truthy(out:find('train_mnist: --epochs expects an integer (got 2.5)', 1, true), out)
    out = run('scripts/train_mnist.lua', '--batch-sise 10')
    assert.truthy(out:find('unknown option --batch-sise (closest valid option: --batch-size)', 1, true), out)
    out, code = run('scripts/train_mnist.lua', '--ctx=tpu')
    assert.are.equal(2, code)
    assert.truthy(out:find("train_mnist: argument for option '--ctx' must be one of 'cpu', 'gpu'", 1, true), out)
    -- the script's own checks after parsing: the same form
    out, code = run('scripts/train_mnist.lua', '--epochs=0')
    assert.are.equal(2, code)
    assert.truthy(out:find('train_mnist: --epochs and --batch-size must be positive\nTry ', 1, true), out)
  end)

  it('plot_mnist.lua: --format is one of svg, png, pdf', function()
    local out, code = run('scripts/plot_mnist.lua', '--format bmp')
    assert.are.equal(2, code)
    assert.truthy(out:find("plot_mnist: argument for option '--format' must be one of 'svg', 'png', 'pdf'", 1, true),
                  out)
  end)
end)
