-- paths_spec: scripts work from any folder: the MNIST folder resolves as --data, then $MXLUA_DATA,
-- data/mnist under the current folder, then the checkout the script lives in; default checkpoints
-- go to the script's checkout; a missing folder's error names the folders tried and --data.
local root = os.getenv('MXLUA_ROOT') or '.'
local MXLUA = root .. '/build/mxlua'

local sh = require('shell').run

local function touch_mnist(dir)
  sh('mkdir -p ' .. dir)
  for _, f in ipairs{'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
                     't10k-labels-idx1-ubyte'} do
    assert(io.open(dir .. '/' .. f, 'w')):close()
  end
end

describe('mx.test_utils.mnist_files from any folder', function()
  local tmp
  before_each(function()
    tmp = os.tmpname()
    os.remove(tmp)
    -- a checkout (with data) holding the probe script, an empty folder to stand in, a data folder
    sh(('mkdir -p %s/co/scripts %s/elsewhere'):format(tmp, tmp))
    touch_mnist(tmp .. '/co/data/mnist')
    touch_mnist(tmp .. '/env')
    local f = assert(io.open(tmp .. '/co/scripts/probe.lua', 'w'))
    f:write("local tu = require 'mx.test_utils'\n",
            "local p, err = tu.mnist_files(arg[1])\n",
            "print(p and p.train_data or err)\n",
            "print(tu.checkout_path('build/mnist'))\n",
            "print(table.concat(tu.mnist_dirs(), ' | '))\n")
    f:close()
  end)
  after_each(function() sh('rm -rf ' .. tmp) end)

  local function probe(env, args)
    return sh(('cd %s/elsewhere && env -u MXLUA_ROOT -u MXLUA_DATA %s lua5.4 %s/co/scripts/probe.lua %s')
              :format(tmp, env or '', tmp, args or ''))
  end

  it("finds the script's checkout's data and puts checkpoints there, not under the current folder", function()
    local found, checkpoint, dirs = probe():match('^([^\n]+)\n([^\n]+)\n([^\n]+)\n$')
    assert.are.equal(tmp .. '/co/data/mnist/train-images-idx3-ubyte', found)
    assert.are.equal(tmp .. '/co/build/mnist', checkpoint)
    -- the current folder's, the script's checkout's, then the one mx is loaded from
    assert.are.equal('data/mnist | ' .. tmp .. '/co/data/mnist', dirs:sub(1, #tmp + 27))
  end)

  it('prefers data/mnist under the current folder, and MXLUA_DATA to both', function()
    touch_mnist(tmp .. '/elsewhere/data/mnist')
    assert.are.equal('data/mnist/train-images-idx3-ubyte', probe():match('[^\n]+'))
    assert.are.equal(tmp .. '/env/train-images-idx3-ubyte', probe('MXLUA_DATA=' .. tmp .. '/env'):match('[^\n]+'))
  end)

  it('takes files (lfs), never folders that bear their names', function()
    for _, f in ipairs{'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte',
                       't10k-labels-idx1-ubyte'} do
      sh(('mkdir -p %s/dirs/%s'):format(tmp, f))
    end
    assert.truthy(probe(nil, tmp .. '/dirs'):find('are not in ' .. tmp .. '/dirs', 1, true))
    assert(io.open(tmp .. '/dirs/train-images-idx3-ubyte.gz', 'w')):close()
    assert.truthy(probe(nil, tmp .. '/dirs'):find('are not in ' .. tmp .. '/dirs', 1, true))
  end)

  it('a folder given is the only one tried; the message names it and how to give another', function()
    local out = probe(nil, tmp .. '/none')
    assert.truthy(out:find('are not in ' .. tmp .. '/none: give their folder', 1, true), out)
    assert.truthy(out:find('--data DIR', 1, true), out)
    assert.truthy(out:find('MXLUA_DATA=DIR', 1, true), out)
  end)
end)

describe('scripts from another folder', function()
  it('train_mnist.lua --help names its default checkpoint in the checkout; --data that is not there fails', function()
    local abs = sh('cd ' .. root .. ' && pwd'):match('[^\n]+')
    local out = sh(('cd /tmp && %s/build/mxlua %s/scripts/train_mnist.lua --help'):format(abs, abs))
    assert.truthy(out:find('here\n *' .. abs:gsub('%p', '%%%0') .. '/build/mnist: '), out)
    local err, ok = sh(('cd /tmp && %s/build/mxlua %s/scripts/train_mnist.lua --data /nonexistent-mnist')
                       :format(abs, abs))
    assert.is_falsy(ok)
    assert.truthy(err:find('are not in /nonexistent-mnist: give their folder', 1, true), err)
  end)

  it('draw_digit.lua finds the checkout and its data from /tmp (trains a checkpoint where told, serves)', function()
    local abs = sh('cd ' .. root .. ' && pwd'):match('[^\n]+')
    local labels = abs .. '/data/mnist/t10k-labels-idx1-ubyte'
    if not io.open(labels) and not io.open(labels .. '.gz') and not os.getenv('MXLUA_DATA') then
      pending('no MNIST in the checkout: run `make data`')
      return
    end
    local dir = os.tmpname()
    os.remove(dir)
    local out = sh(('mkdir -p %s && cd /tmp && (%s %s/scripts/draw_digit.lua --epoch 1 --prefix %s/m --port 0 --quiet '
                    .. '> %s/log 2>&1 & pid=$!; i=0; '
                    .. 'while [ $i -lt 600 ] && ! grep -q "Serving the draw-a-digit page" %s/log; do '
                    .. 'kill -0 $pid 2>/dev/null || break; sleep 0.2; i=$((i+1)); done; kill $pid 2>/dev/null; '
                    .. 'wait $pid 2>/dev/null; cat %s/log)'):format(dir, MXLUA, abs, dir, dir, dir, dir))
    local saved = io.open(dir .. '/m-0001.params')
    sh('rm -rf ' .. dir)
    assert.truthy(out:find('Saved ' .. dir .. '/m-symbol.json', 1, true), out)
    assert.truthy(out:find('Test accuracy: ', 1, true), out)
    assert.truthy(out:find('Serving the draw-a-digit page on http://127.0.0.1:', 1, true), out) -- its modules found
    assert.truthy(saved, out)
    saved:close()
  end)
end)
