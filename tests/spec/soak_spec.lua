-- soak_spec: memory stays flat over many REPL-style rounds (arrays, symbols, executors created
-- and dropped) and over training epochs: scripts/soak.lua in a fresh process, its RSS compared
-- between the first sample and the last. (50 full epochs: `mxlua scripts/soak.lua --epochs 50`.)
local root = os.getenv('MXLUA_ROOT') or '.'
-- under AddressSanitizer (make test-asan) freed memory sits in a quarantine: RSS is not compared
local sanitized = os.getenv('MXLUA_SANITIZED') == '1'

local function soak(args)
  local p = io.popen(('cd "%s" && lua5.4 scripts/soak.lua %s 2>&1'):format(root, args))
  local out = p:read('a')
  p:close()
  local samples = {}
  for rss, bytes in out:gmatch('rss_kb (%d+) engine_bytes (%d+)') do
    samples[#samples + 1] = {rss = tonumber(rss), bytes = tonumber(bytes)}
  end
  assert(#samples >= 3, 'soak.lua printed too few samples:\n' .. out)
  return samples, out
end

describe('memory over long sessions', function()
  it('REPL-style rounds: engine bytes constant, RSS grows less than 2 MB after warm-up', function()
    local s = soak('--repl 60')
    for i = 2, #s do assert.are.equal(s[2].bytes, s[i].bytes) end
    if not sanitized then
      assert.is_true(s[#s].rss - s[2].rss < 2048, ('RSS %d kB -> %d kB'):format(s[2].rss, s[#s].rss))
    end
  end)

  it('training epochs: engine bytes constant, RSS grows less than 2 MB from epoch 1', function()
    local s = soak('--epochs 6 --train 6000')
    for i = 2, #s do assert.are.equal(s[1].bytes, s[i].bytes) end
    if not sanitized then
      assert.is_true(s[#s].rss - s[1].rss < 2048, ('RSS %d kB -> %d kB'):format(s[1].rss, s[#s].rss))
    end
  end)
end)
