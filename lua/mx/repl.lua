--- mx.repl: the Lua side of mxlua's REPL (bindings/mxlua.c): printing values, completing names,
-- and help(x) / ?x (as Torch7's trepl): an operator's description and parameter table from the
-- registry, a Lua function's or class's doc comment, a module's header comment.
-- @module mx.repl
local class = require 'mx.class'

local M = {}

-- ---------------------------------------------------------------- printing values

local function key_str(k)
  if type(k) == 'string' and k:match('^[%a_][%w_]*$') then return k end
  return '[' .. (type(k) == 'string' and string.format('%q', k) or tostring(k)) .. ']'
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == 'table' and rawget(mt, '__tostring') ~= nil
end

local function fmt(v, depth)
  local t = type(v)
  if t == 'string' then return depth == 0 and v or string.format('%q', v) end
  if t ~= 'table' or has_tostring(v) then
    local s = tostring(v)
    if depth > 0 and s:find('\n') then s = s:match('^[^\n]*') end
    return s
  end
  if depth >= 2 then return next(v) == nil and '{}' or '{...}' end
  local parts, n, limit = {}, #v, 40
  for i = 1, math.min(n, limit) do parts[#parts + 1] = fmt(v[i], depth + 1) end
  if n > limit then parts[#parts + 1] = '...' end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == 'integer' and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for i, k in ipairs(keys) do
    if i > limit then
      parts[#parts + 1] = '...'
      break
    end
    parts[#parts + 1] = key_str(k) .. ' = ' .. fmt(v[k], depth + 1)
  end
  return '{' .. table.concat(parts, ', ') .. '}'
end

--- format(...): the text the REPL prints for a command's values (tab-separated, or one per line
-- when one of them spans several lines).
function M.format(...)
  local parts, multiline = {}, false
  for i = 1, select('#', ...) do
    parts[i] = fmt((select(i, ...)), 0)
    if parts[i]:find('\n') then multiline = true end
  end
  return table.concat(parts, multiline and '\n' or '\t')
end

-- ---------------------------------------------------------------- completing names

local keywords = {'and', 'break', 'do', 'else', 'elseif', 'end', 'false', 'for', 'function', 'goto', 'if', 'in',
                  'local', 'nil', 'not', 'or', 'repeat', 'return', 'then', 'true', 'until', 'while'}

local function fields(v, out)
  local seen = {}
  local function add(t)
    if type(t) ~= 'table' or seen[t] then return end
    seen[t] = true
    for k in next, t do if type(k) == 'string' then out[k] = true end end
    local mt = getmetatable(t)
    if type(mt) == 'table' and type(rawget(mt, '__index')) == 'table' then add(rawget(mt, '__index')) end
  end
  if type(v) == 'table' then
    add(v)
  else
    local mx = rawget(_G, 'mx')
    if type(v) == 'userdata' and mx and mx.nd and mx.nd.is_ndarray and mx.nd.is_ndarray(v) then
      add(mx.core.NDArray_methods)
    end
    local mt = getmetatable(v)
    if type(mt) == 'table' and type(rawget(mt, '__index')) == 'table' then add(rawget(mt, '__index')) end
  end
end

-- completion runs no user code: raw reads only (no __index, __pairs), so a hostile
-- metatable can neither hang nor change anything
local function raw_field(v, k)
  if type(v) == 'table' then
    local r = rawget(v, k)
    if r ~= nil then return r end
  end
  local mt = getmetatable(v)
  local idx = type(mt) == 'table' and rawget(mt, '__index')
  if type(idx) == 'table' then return rawget(idx, k) end
end

--- complete(text): the sorted completions of the name being typed (`mx.nd.on` -> `mx.nd.ones`...).
function M.complete(text)
  local head, sep, last = text:match('^(.*)([%.:])([%w_]*)$')
  local names, v = {}, _G
  if head then
    for part in head:gmatch('[^%.:]+') do
      if not part:match('^[%a_][%w_]*$') then return {} end
      local nv = raw_field(v, part)
      if nv == nil then return {} end
      v = nv
    end
    fields(v, names)
  else
    head, sep, last = '', '', text
    fields(_G, names)
    for _, k in ipairs(keywords) do names[k] = true end
  end
  local out = {}
  for k in pairs(names) do
    if k:sub(1, #last) == last and k:match('^[%a_][%w_]*$') then out[#out + 1] = head .. sep .. k end
  end
  table.sort(out)
  return out
end

-- ---------------------------------------------------------------- help

-- The registry operators: name -> info (doc, arguments, params), and the constructors made
-- from them (mx.sym.X, and mx.nd.X where mx.nd has them) -> info.
local function operators()
  local mx = package.loaded.mx
  local by_name, by_fn = {}, {}
  if not (mx and mx.sym and mx.sym._ops) then return by_name, by_fn end
  for name, info in pairs(mx.sym._ops) do
    by_name[name] = info
    for _, mod in ipairs{mx.sym, mx.nd} do
      if type(mod[name]) == 'function' then by_fn[mod[name]] = info end
    end
  end
  return by_name, by_fn
end

-- Aligned columns, one line per row (a list of cells).
local function rows(lines, sep)
  local widths = {}
  for _, r in ipairs(lines) do
    for i, c in ipairs(r) do widths[i] = math.max(widths[i] or 0, #c) end
  end
  local out = {}
  for _, r in ipairs(lines) do
    local cells = {}
    for i, c in ipairs(r) do cells[i] = i < #r and c .. string.rep(' ', widths[i] - #c) or c end
    out[#out + 1] = ('  ' .. table.concat(cells, sep)):gsub('%s+$', '')
  end
  return table.concat(out, '\n')
end

--- operator_doc(info): an operator's description, inputs and parameter table (name, type,
-- default, allowed values, doc).
function M.operator_doc(info)
  local out = {('%s (operator)'):format(info.name), info.doc ~= '' and info.doc or '(no description)'}
  if #info.arguments > 0 then out[#out + 1] = 'Inputs: ' .. table.concat(info.arguments, ', ') end
  if #info.params == 0 then
    out[#out + 1] = 'Parameters: none'
  else
    out[#out + 1] = 'Parameters:'
    local lines = {{'name', 'type', 'default', 'allowed values', 'doc'}}
    for _, p in ipairs(info.params) do
      lines[#lines + 1] = {p.name, p.type, p.default or '(required)', p.choices and p.choices:gsub('|', ', ') or '',
                           p.doc or ''}
    end
    out[#out + 1] = rows(lines, '  ')
  end
  return table.concat(out, '\n')
end

local file_lines = {} -- path -> its lines (read once)
local function lines_of(path)
  if file_lines[path] == nil then
    local f = io.open(path, 'r')
    local t = false
    if f then
      t = {}
      for l in f:lines() do t[#t + 1] = l end
      f:close()
    end
    file_lines[path] = t
  end
  return file_lines[path] or nil
end

-- The comment block just above line `line` of a source file ('@path'), without its dashes.
local function comment_above(source, line)
  if type(source) ~= 'string' or source:sub(1, 1) ~= '@' or not line then return nil end
  local lines = lines_of(source:sub(2))
  if not lines then return nil end
  local out, i = {}, line - 1
  while i >= 1 and lines[i]:match('^%s*%-%-') and not lines[i]:match('^%s*%-%- %-%-%-') do
    table.insert(out, 1, (lines[i]:gsub('^%s*%-%-+ ?', '')))
    i = i - 1
  end
  if #out == 0 then return nil end
  return table.concat(out, '\n')
end

-- The doc comment of a Lua function: the comment above its definition.
local function function_doc(f)
  local info = debug.getinfo(f, 'S')
  if info.what == 'C' then return nil, 'a C function: no doc comment; help on its module lists what it has' end
  local doc = comment_above(info.source, info.linedefined)
  if doc then return doc end
  return nil, ('no doc comment above its definition (%s:%d)'):format(info.short_src, info.linedefined)
end

-- The header comment of a module's file (its first comment lines), less the LDoc tag that
-- names the module for `make doc` (@module mx.x).
local function module_doc(name)
  local path = package.searchpath(name, package.path)
  local lines = path and lines_of(path)
  if not lines then return nil end
  local out = {}
  for _, l in ipairs(lines) do
    if not l:match('^%-%-') then break end
    if not l:match('^%-%- @module ') then out[#out + 1] = (l:gsub('^%-%-+ ?', '')) end
  end
  return #out > 0 and table.concat(out, '\n') or nil
end

local function module_name(t)
  local best
  for name, v in pairs(package.loaded) do
    if v == t and (best == nil or #name < #best) then best = name end
  end
  return best
end

-- A name for x under mx (mx.k, mx.k.j or mx.k.j.i: the shortest), for the title; else tostring(x).
local function name_in_mx(x)
  local mx = package.loaded.mx
  if type(mx) ~= 'table' then return tostring(x) end
  local level, seen = {{mx, 'mx'}}, {[mx] = true, [mx.core or false] = true}
  for _ = 1, 3 do
    local next_level, found = {}, nil
    for _, tn in ipairs(level) do
      local keys = {}
      for k in pairs(tn[1]) do if type(k) == 'string' then keys[#keys + 1] = k end end
      table.sort(keys, function(a, b) return #a < #b or (#a == #b and a < b) end) -- mx.init before mx.initializer
      for _, k in ipairs(keys) do
        local v, name = rawget(tn[1], k), tn[2] .. '.' .. k
        if v == x and (found == nil or #name < #found) then found = name end
        if type(v) == 'table' and not seen[v] then
          seen[v] = true
          next_level[#next_level + 1] = {v, name}
        end
      end
    end
    if found then return found end
    level = next_level
  end
  return tostring(x)
end

--- doc(x[, text]): the help text for x (text: how it was written, for the title and to find an
-- operator by name, `?Convolution`).
function M.doc(x, text)
  local by_name, by_fn = operators()
  local title = text or name_in_mx(x)
  if type(x) == 'string' and by_name[x] then return M.operator_doc(by_name[x]) end
  local last = text and text:match('[%w_]+$')
  if x == nil and last and by_name[last] then return M.operator_doc(by_name[last]) end
  if type(x) == 'function' then
    if by_fn[x] then return M.operator_doc(by_fn[x]) end
    local doc, why = function_doc(x)
    return title .. ' (function)\n' .. (doc or '(' .. why .. ')')
  end
  if class.is_class(x) then
    local out = {('%s (class %s)'):format(title, x.__name)}
    local source, line = class.defined_at(x)
    out[#out + 1] = comment_above(source, line)
    if rawget(x, 'init') then
      local doc = function_doc(rawget(x, 'init'))
      if doc then out[#out + 1] = doc end
    end
    if #out == 1 then out[#out + 1] = '(no doc comment)' end
    return table.concat(out, '\n')
  end
  if type(x) == 'table' then
    local name = module_name(x)
    local doc = name and module_doc(name)
    local keys = {}
    for k in pairs(x) do if type(k) == 'string' and k:sub(1, 1) ~= '_' then keys[#keys + 1] = k end end
    table.sort(keys)
    local head = name and ('%s (module %s)'):format(title, name) or title .. ' (table)'
    return head .. '\n' .. (doc and doc .. '\n' or '') .. 'Fields: ' .. table.concat(keys, ', ')
  end
  if x == nil then return title .. ': nil (nothing to describe; an operator name? try help(\'Convolution\'))' end
  return ('%s: a %s, %s'):format(title, type(x), tostring(x))
end

--- help(x): prints the help text for x: for an operator (mx.sym.Convolution, or its name) its
-- description and parameter table, for a Lua function or class its doc comment, for a module
-- its header comment and fields. In the REPL, ?x is help(x).
function M.help(x, text)
  io.write(M.doc(x, text), '\n')
end

--- command(line): the Lua text the REPL runs for a line it read: `?expr` becomes help(expr).
function M.command(line)
  local expr = line:match('^%s*%?%s*(.-)%s*$')
  if expr == nil then return line end
  if expr == '' then expr = 'help' end
  return ('require(%q).help(%s, %q)'):format('mx.repl', expr, expr)
end

return M
