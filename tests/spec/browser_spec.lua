-- browser_spec: runs the end-to-end browser test (tests/browser/draw_digit.js):
-- headless chromium draws digits on the page served by scripts/draw_digit.lua
-- with a model trained in this run. Skipped, visibly, only when no browser can start.
describe('the draw-a-digit page in a real browser', function()
  it('reads drawn digits (1, 0, 7, 2, 3, 4), clears, and stops on Ctrl-C', function()
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
end)
