-- json_reader_spec.lua: the -symbol.json reader (jansson underneath): where a malformed text
-- breaks (line and column), what it refuses (duplicate keys, NaN and hex numbers, nesting
-- past the limit), and that what it accepts keeps key order and values.
local mx = require 'mx'

local function load_error(text)
  local ok, err = pcall(mx.sym.load_json, text)
  assert.is_false(ok)
  return err
end

describe('the symbol JSON reader', function()
  it('names the line and column where the text breaks', function()
    -- the second comma of "  2,," is column 5
    assert.matches('line 3, column 5', load_error('{"nodes": [\n  1,\n  2,,\n]}'))
    assert.matches('line 1, column', load_error('{"nodes": [1, 2'))
  end)

  it('refuses a key given twice instead of keeping one of them', function()
    assert.matches('duplicate object key', load_error('{"nodes": [], "nodes": [], "heads": []}'))
  end)

  it('refuses numbers JSON does not have', function()
    for _, bad in ipairs{'NaN', 'Infinity', '-Infinity', '0x10', '1e999999'} do
      local err = load_error('{"nodes": [], "heads": [[' .. bad .. ', 0, 0]]}')
      assert.matches('line 1', err)
    end
  end)

  it('refuses nesting deeper than 512 and reads 500 levels', function()
    assert.matches('nesting deeper than 512', load_error(('['):rep(600) .. (']'):rep(600)))
    -- 500 levels parse; the text is then refused as a symbol (no nodes), not as JSON
    local err = load_error('{"x": ' .. ('['):rep(500) .. (']'):rep(500) .. '}')
    assert.is_nil(err:find('nesting', 1, true))
  end)

  it('reads escapes, unicode and attributes in their order', function()
    local text = [==[{"nodes": [{"op": "null", "name": "d\u00e9j\u00e0\t\"x\"", "inputs": []},
      {"op": "FullyConnected", "name": "fc", "attrs": {"num_hidden": "7", "no_bias": "True"},
       "inputs": [[0, 0, 0]]}], "arg_nodes": [0], "heads": [[1, 0, 0]]}]==]
    local s = mx.sym.load_json(text)
    assert.are.same({'déjà\t"x"', 'fc_weight'}, s:list_arguments())
    assert.are.equal('7', s:attr('num_hidden'))
    local _, outs = s:infer_shape{['déjà\t"x"'] = {2, 3}}
    assert.are.same({{2, 7}}, outs)
  end)
end)
