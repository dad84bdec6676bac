-- ndarray_index_spec: element access x[{i, j, ...}] (one 1-based index per axis) gives the
-- element, on arrays and on views, checked against totable(); a wrong index is a clear error,
-- never a silent nil.
local mx = require 'mx'

describe('NDArray element access x[{i, j, ...}]', function()
  it('gives every element of a 3-D array, as totable() has it', function()
    local n, vals = 0, {}
    for i = 1, 2 * 3 * 4 do vals[i] = i * 0.5 - 3 end
    local x = mx.nd.array(vals):reshape{2, 3, 4}
    local t = x:totable()
    for i = 1, 2 do
      for j = 1, 3 do
        for k = 1, 4 do
          assert.are.equal(t[i][j][k], x[{i, j, k}])
          n = n + 1
        end
      end
    end
    assert.are.equal(24, n)
  end)

  it('reads through views: a slice and a row', function()
    local x = mx.nd.array{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
    local y = x:slice(2, 3)
    assert.are.equal(9, y[{2, 3}])
    assert.are.equal(4, y[{1, 1}])
    assert.are.equal(5, x[2][{2}])
    assert.are.equal(3, mx.nd.array{3}[{1}])
  end)

  it('names the fault: count, range, type of an index, and a key that is no index', function()
    local x = mx.nd.zeros{2, 3}
    assert.has_error(function() return x[{2}] end,
                     'NDArray[{...}]: 1 indices for an array of shape (2,3) (an element needs 2, one per axis)')
    assert.has_error(function() return x[{1, 4}] end,
                     'NDArray[{...}]: index 2 is 4, out of range (expected 1..3 for shape (2,3))')
    assert.has_error(function() return x[{0, 1}] end,
                     'NDArray[{...}]: index 1 is 0, out of range (expected 1..2 for shape (2,3))')
    assert.has_error(function() return x[{1.5, 1}] end, 'NDArray[{...}]: index 1 must be an integer (got number)')
    assert.has_error(function() return x[true] end,
                     'NDArray[]: an index is an integer, a table of integers or a method name (got boolean)')
  end)
end)
