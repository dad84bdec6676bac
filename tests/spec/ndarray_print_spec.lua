-- Regression: printing arrays of up to 1000 elements (not abbreviated) whose axes are longer than
-- the abbreviated view's 7 positions (nd_tostring once wrote every position into a 7-wide table).
local mx = require "mx"

local function lines(s)
  local out = {}
  for line in s:gmatch("[^\n]+") do out[#out + 1] = line end
  return out
end

local function numbers(line)
  local out = {}
  for v in line:gmatch("%S+") do out[#out + 1] = tonumber(v) end
  return out
end

describe("NDArray printing", function()
  it("shows every row and column of a 28x28 array in order", function()
    local t = {}
    for i = 1, 28 do
      t[i] = {}
      for j = 1, 28 do t[i][j] = (i - 1) * 28 + (j - 1) end
    end
    local ls = lines(tostring(mx.nd.array(t)))
    assert.are.equal("[NDArray 28x28 float32 @cpu(0)]", ls[1])
    assert.are.equal(29, #ls)
    for i = 1, 28 do
      local row = numbers(ls[i + 1])
      assert.are.equal(28, #row)
      for j = 1, 28 do assert.are.equal((i - 1) * 28 + (j - 1), row[j]) end
    end
  end)

  it("shows a 1000-element vector whole and a 3-D (2,20,25) array block by block", function()
    local v = {}
    for i = 1, 1000 do v[i] = i end
    local s = tostring(mx.nd.array(v))
    local row = numbers(lines(s)[2])
    assert.are.equal(1000, #row)
    for i = 1, 1000 do assert.are.equal(i, row[i]) end

    local c = {}
    for a = 1, 2 do
      c[a] = {}
      for b = 1, 20 do
        c[a][b] = {}
        for d = 1, 25 do c[a][b][d] = (a - 1) * 500 + (b - 1) * 25 + (d - 1) end
      end
    end
    local ls = lines(tostring(mx.nd.array(c)))
    -- header, then per block: "(a,.,.) =" and 20 rows
    assert.are.equal(1 + 2 * 21, #ls)
    for a = 1, 2 do
      local base = 1 + (a - 1) * 21
      assert.are.equal("(" .. a .. ",.,.) =", ls[base + 1])
      for b = 1, 20 do
        local r = numbers(ls[base + 1 + b])
        assert.are.equal(25, #r)
        for d = 1, 25 do assert.are.equal((a - 1) * 500 + (b - 1) * 25 + (d - 1), r[d]) end
      end
    end
  end)

  it("abbreviates an array over 1000 elements to 3 positions, ..., 3 positions per long axis", function()
    local t = {}
    for i = 1, 40 do
      t[i] = {}
      for j = 1, 30 do t[i][j] = (i - 1) * 30 + (j - 1) end
    end
    local ls = lines(tostring(mx.nd.array(t)))
    assert.are.equal(1 + 7, #ls)
    local want_rows = {0, 1, 2, nil, 37, 38, 39}
    for k = 1, 7 do
      local line = ls[k + 1]
      if k == 4 then
        assert.are.equal("...", line:match("%S+"))
      else
        local cells = {}
        for cell in line:gmatch("%S+") do cells[#cells + 1] = cell end
        assert.are.equal(7, #cells)
        assert.are.equal("...", cells[4])
        local r = want_rows[k]
        local want = {r * 30, r * 30 + 1, r * 30 + 2, nil, r * 30 + 27, r * 30 + 28, r * 30 + 29}
        for j = 1, 7 do
          if j ~= 4 then assert.are.equal(want[j], tonumber(cells[j])) end
        end
      end
    end
  end)
end)
