-- fuzz_regressions_spec: replays the web target's kept fuzz inputs (tests/fuzz/regressions/web/)
-- and seeds (tests/fuzz/corpus/web/) through tests/fuzz/web_fuzz.lua, the function fuzz_web calls.
-- (The C readers' inputs are replayed by tests/c/test_fuzz_regressions.c.)
local root = os.getenv('MXLUA_ROOT') or '.'
local fuzz = dofile(root .. '/tests/fuzz/web_fuzz.lua')

local function files(dir)
  local out = {}
  local p = io.popen('ls -1 "' .. dir .. '" 2>/dev/null')
  for name in p:lines() do out[#out + 1] = dir .. '/' .. name end
  p:close()
  return out
end

local function read(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end

describe('web fuzz inputs', function()
  local inputs = {}
  for _, d in ipairs{'regressions', 'corpus'} do
    for _, path in ipairs(files(root .. '/tests/fuzz/' .. d .. '/web')) do inputs[#inputs + 1] = path end
  end

  it('has seeds to replay', function() assert.is_true(#inputs >= 4) end)

  for _, path in ipairs(inputs) do
    it('answers ' .. path:match('[^/]+/[^/]+$') .. ' without a Lua error', function()
      fuzz(read(path))
    end)
  end
end)
