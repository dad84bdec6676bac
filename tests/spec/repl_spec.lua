-- repl_spec: mx.repl, the Lua side of mxlua's REPL: help(x) and ?x (every registry operator's
-- description and parameter table, checked against core.symbol.op_list(); the doc comment of a
-- Lua function, a class, a module), formatting values and completing names; ?x through the real
-- mxlua host. (host_spec runs the rest of the REPL through a pipe and a terminal.)
local mx = require 'mx'
local repl = require 'mx.repl'

local root = os.getenv('MXLUA_ROOT') or '.'

local function has(text, part) return text:find(part, 1, true) ~= nil end

local function write_file(path, text)
  local f = assert(io.open(path, 'w'))
  f:write(text)
  f:close()
end

describe('help(x) for an operator', function()
  it('gives each registry operator its description and every parameter row', function()
    local n = 0
    for _, info in ipairs(mx.core.symbol.op_list()) do
      local text = repl.doc(mx.sym[info.name])
      assert.is_true(has(text, info.name .. ' (operator)'), text)
      if info.doc ~= '' then assert.is_true(has(text, info.doc), text) end
      for _, p in ipairs(info.params) do
        -- the row: name, type, default (or "(required)"), allowed values, doc, in that order
        local row = text:match('\n  ' .. p.name:gsub('%p', '%%%0') .. ' +[^\n]*')
        assert.is_not_nil(row, info.name .. ': no row for ' .. p.name .. '\n' .. text)
        local cells = {p.type, p.default or '(required)'}
        if p.choices then cells[#cells + 1] = (p.choices:gsub('|', ', ')) end
        if p.doc ~= '' then cells[#cells + 1] = p.doc end
        local at = 1
        for _, c in ipairs(cells) do
          local s, e = row:find(c, at, true)
          assert.is_not_nil(s, ('%s.%s: %q not found in order in %q'):format(info.name, p.name, c, row))
          at = e + 1
        end
      end
      assert.are.equal(text, repl.doc(info.name)) -- help('Convolution') too
      n = n + 1
    end
    assert.is_true(n > 30, 'operators: ' .. n)
  end)

  it('lays the parameters out as a table with a header', function()
    local text = repl.doc(mx.sym.Activation)
    local header = text:match('\n  (name +type +default +allowed values +doc)\n')
    assert.is_not_nil(header, text)
    local row = text:match('\n  (act_type[^\n]*)')
    assert.are.equal(header:find('type'), row:find('enum'))
    assert.are.equal(header:find('default'), row:find('%(required%)'))
    assert.are.equal(header:find('allowed values'), row:find('relu, sigmoid'))
  end)
end)

describe('help(x) for Lua code', function()
  local path = os.tmpname() .. '.lua'
  write_file(path, table.concat({
    '-- the header of a test module',
    '-- (second line)',
    'local class = require "mx.class"',
    'local M = {}',
    '',
    '--- twice(x): x doubled.',
    '-- Works on numbers.',
    'function M.twice(x) return 2 * x end',
    '',
    'function M.undocumented() end',
    '',
    '--- Point: a point in the plane.',
    'M.Point = class("test.Point")',
    '--- Point(x, y)',
    'function M.Point:init(x, y) self.x, self.y = x, y end',
    'return M',
  }, '\n') .. '\n')
  local m = assert(loadfile(path))()
  teardown(function() os.remove(path) end)

  it('prints a function\'s doc comment', function()
    assert.are.equal('twice (function)\ntwice(x): x doubled.\nWorks on numbers.', repl.doc(m.twice, 'twice'))
    assert.is_true(has(repl.doc(m.undocumented, 'u'), 'no doc comment above its definition'))
    assert.is_true(has(repl.doc(mx.nd.ones), 'a C function'))
  end)

  it('prints a class\'s comment and its constructor\'s', function()
    assert.are.equal('P (class test.Point)\nPoint: a point in the plane.\nPoint(x, y)', repl.doc(m.Point, 'P'))
    assert.is_true(has(repl.doc(mx.io.NDArrayIter), 'NDArrayIter{data, label, batch_size = 1'))
  end)

  it('prints a module\'s header comment and fields, and names what it was given', function()
    local text = repl.doc(mx.metric)
    assert.is_true(text:find('^mx.metric %(module mx.metric%)\nmx.metric: evaluation metrics') ~= nil, text)
    assert.is_true(has(text, 'Fields: Accuracy, CompositeEvalMetric'), text)
    assert.is_false(has(text, '@module'), text) -- the LDoc tag of make doc is no help text
    assert.is_true(has(repl.doc(mx.model.FeedForward.fit), 'mx.model.FeedForward.fit (function)\nfit{X, y'))
  end)

  it('says what it cannot describe', function()
    assert.are.equal("nosuch: nil (nothing to describe; an operator name? try help('Convolution'))",
                     repl.doc(nil, 'nosuch'))
    assert.are.equal('n: a number, 3', repl.doc(3, 'n'))
  end)
end)

describe('?x', function()
  it('becomes help(x); other lines stay', function()
    assert.are.equal('require("mx.repl").help(mx.sym.Pooling, "mx.sym.Pooling")', repl.command('?mx.sym.Pooling'))
    assert.are.equal('require("mx.repl").help(Dropout, "Dropout")', repl.command('  ? Dropout '))
    assert.are.equal('x = a ? b', repl.command('x = a ? b'))
  end)

  it('works in the mxlua REPL, as does help(x)', function()
    local input = os.tmpname()
    write_file(input, '?mx.sym.Activation\n?Dropout\nhelp(mx.nd.zeros_like)\n')
    local out = require('shell').run(root .. '/build/mxlua < ' .. input)
    os.remove(input)
    assert.is_true(has(out, '> Activation (operator)\nElement-wise activation'), out)
    assert.is_true(has(out, '  act_type  enum  (required)  relu, sigmoid'), out)
    assert.is_true(has(out, '> Dropout (operator)\n'), out)
    assert.is_true(has(out, '> mx.nd.zeros_like (function)\n'), out)
  end)
end)

describe('formatting and completion', function()
  it('formats values as the REPL prints them', function()
    assert.are.equal('1\ttwo\tnil', repl.format(1, 'two', nil))
    assert.are.equal('{1, 2, t = {3, {...}}, x = "y"}', repl.format{1, 2, x = 'y', t = {3, {4}}})
  end)

  it('completes names under mx without running user code', function()
    local saved = rawget(_G, 'mx')
    rawset(_G, 'mx', mx) -- the REPL's global mx
    local c = repl.complete('mx.nd.zeros')
    rawset(_G, 'mx', saved)
    assert.are.same({'mx.nd.zeros', 'mx.nd.zeros_like'}, c)
    rawset(_G, 'hostile_', setmetatable({}, {__index = function() error('ran') end}))
    assert.are.same({}, repl.complete('hostile_.x.y'))
    rawset(_G, 'hostile_', nil)
  end)
end)
