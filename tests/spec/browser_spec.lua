-- browser_spec: runs the end-to-end browser test (tests/browser/draw_digit.js):
-- headless chromium draws digits on the page served by scripts/draw_digit.lua
-- with a model trained in this run. Skipped, visibly, only when no browser can start.
describe('the draw-a-digit page in a real browser', function()
  it('reads digits drawn with mouse and touch (1, 0, 7, 2, 3, 4, small ones), clears, stops on Ctrl-C', function()
    local p = io.popen('node tests/browser/draw_digit.js 2>&1; echo "exit status $?"')
    local out = p:read('a')
    p:close()
    local rc = tonumber(out:match('exit status (%d+)%s*$'))
    for line in out:gmatch('[^\n]+') do
      if line:match('^not ok') or line:match('^ok %- Classify') or line:match('^SKIP')
        or line:match('passed, %d+ failed') then
        print('# browser: ' .. line)
      end
    end
    if rc == 77 then
      pending('browser test skipped: ' .. (out:match('SKIP: ([^\n]*)') or 'no browser'))
      return
    end
    assert.are.equal(0, rc, out)
  end)

  it('scripts/draw_digit.lua explains its flags and refuses bad ones', function()
    local function run(args)
      local p = io.popen('build/mxlua scripts/draw_digit.lua ' .. args .. ' 2>&1; echo "exit status $?"')
      local out = p:read('a')
      p:close()
      return out, tonumber(out:match('exit status (%d+)%s*$'))
    end
    local out, rc = run('--help')
    assert.are.equal(0, rc, out)
    for _, flag in ipairs{'--prefix', '--epoch', '--port', '--host', '--quiet'} do
      assert.is_truthy(out:find(flag, 1, true), flag)
    end
    out, rc = run('--bogus')
    assert.are_not.equal(0, rc)
    assert.is_truthy(out:find('draw_digit: unknown option --bogus (closest valid option: ', 1, true), out)
    out, rc = run('--port abc')
    assert.are.equal(2, rc)
    assert.is_truthy(out:find('--port expects an integer (got abc)', 1, true), out)
    out, rc = run('--epoch')
    assert.are.equal(2, rc)
    assert.is_truthy(out:find("option '--epoch' requires an argument", 1, true), out)
  end)
end)
