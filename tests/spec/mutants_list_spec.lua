-- tests/spec/mutants_list_spec.lua: every planted bug of tests/mutants/list.lua still applies to
-- today's source (its `find` occurs exactly once in its file), so a refactor that moves the code
-- an entry plants into is caught here, in `make test`, not months later by `make mutants`.
local root = os.getenv('MXLUA_ROOT') or '.'

local function read(path)
  local f = io.open(path, 'rb')
  if not f then return nil end
  local s = f:read('a')
  f:close()
  return s
end

local function occurrences(s, find)
  local n, at = 0, 1
  while true do
    local _, j = s:find(find, at, true)
    if not j then return n end
    n, at = n + 1, j + 1
  end
end

describe('tests/mutants/list.lua', function()
  local list = dofile(root .. '/tests/mutants/list.lua')

  it('has at least 60 entries with unique ids, each saying what bug it stands for', function()
    assert.is_true(#list >= 60, #list .. ' entries')
    local seen = {}
    for _, m in ipairs(list) do
      assert.is_nil(seen[m.id], 'duplicate id ' .. tostring(m.id))
      seen[m.id] = true
      assert.are.equal('string', type(m.why), m.id .. ': no why')
      assert.are_not.equal(m.find, m.replace, m.id .. ': replace equals find')
    end
  end)

  it("every entry's find string occurs exactly once in its file", function()
    local bad = {}
    for _, m in ipairs(list) do
      local s = read(root .. '/' .. m.file)
      local n = s and occurrences(s, m.find) or -1
      if n ~= 1 then
        local what = n < 0 and 'is missing' or ('has the find string ' .. n .. ' times')
        bad[#bad + 1] = ('%s: %s %s'):format(m.id, m.file, what)
      end
    end
    assert.are.same({}, bad)
  end)

  it('names spec files and C tests that exist', function()
    for _, m in ipairs(list) do
      for _, spec in ipairs(m.specs or {}) do
        assert.is_truthy(read(root .. '/' .. spec), m.id .. ': no ' .. spec)
      end
      for _, c in ipairs(m.c or {}) do
        assert.is_truthy(read(root .. '/tests/c/' .. c .. '.c'), m.id .. ': no tests/c/' .. c .. '.c')
      end
    end
  end)
end)
