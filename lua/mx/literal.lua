--- mx.literal: plain Lua values (nil, booleans, numbers, strings and tables of them) as
-- text and back, read without running any code. A LuaOp's constructor arguments are
-- kept this way in its node's attributes, so that a saved symbol rebuilds the same op.
-- @module mx.literal
local literal = {}

local MAX_DEPTH = 64

-- The shortest %g form that reads back as the same number; floats keep a '.'.
local function number_text(v)
  if math.type(v) == 'integer' then return string.format('%d', v) end
  if v ~= v then return '0/0' end
  if v == math.huge then return '1/0' end
  if v == -math.huge then return '-1/0' end
  for digits = 15, 17 do
    local s = string.format('%.' .. digits .. 'g', v)
    if tonumber(s) == v then
      if not s:find('[.eE]') then s = s .. '.0' end
      return s
    end
  end
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  return a < b
end

local function encode(v, out, where, depth, seen)
  local t = type(v)
  if t == 'nil' or t == 'boolean' then
    out[#out + 1] = tostring(v)
  elseif t == 'number' then
    out[#out + 1] = number_text(v)
  elseif t == 'string' then
    out[#out + 1] = string.format('%q', v)
  elseif t == 'table' and getmetatable(v) == nil then
    if seen[v] or depth > MAX_DEPTH then
      error(where .. ' is a table that contains itself or is nested too deeply', 0)
    end
    seen[v] = true
    out[#out + 1] = '{'
    local n = #v
    for i = 1, n do
      if i > 1 then out[#out + 1] = ',' end
      encode(v[i], out, where .. '[' .. i .. ']', depth + 1, seen)
    end
    local keys = {}
    for k in pairs(v) do
      local tk = type(k)
      if not (math.type(k) == 'integer' and k >= 1 and k <= n) then
        if tk ~= 'string' and tk ~= 'number' then error(where .. ' has a ' .. tk .. ' key', 0) end
        if k ~= k then error(where .. ' has a NaN key', 0) end
        keys[#keys + 1] = k
      end
    end
    table.sort(keys, key_order)
    for j, k in ipairs(keys) do
      if j > 1 or n > 0 then out[#out + 1] = ',' end
      out[#out + 1] = '['
      encode(k, out, where, depth + 1, seen)
      out[#out + 1] = ']='
      encode(v[k], out, where .. '.' .. tostring(k), depth + 1, seen)
    end
    out[#out + 1] = '}'
    seen[v] = nil
  else
    error(string.format('%s is %s (only nil, booleans, numbers, strings and plain tables of them can be saved)',
      where, t == 'table' and 'a table with a metatable' or 'a ' .. t), 0)
  end
end

--- encode_list(n, ...) -> the text of the first n values, as a table constructor: '{1.5,nil,"x"}'.
--- Raises naming the value ("argument 2") that cannot be written.
function literal.encode_list(n, ...)
  local out = { '{' }
  for i = 1, n do
    if i > 1 then out[#out + 1] = ',' end
    encode((select(i, ...)), out, 'argument ' .. i, 1, {})
  end
  out[#out + 1] = '}'
  return table.concat(out)
end

-- ---------------------------------------------------------------- reading

local Reader = {}
Reader.__index = Reader

function Reader:fail(what)
  error(string.format('bad literal at character %d: %s', self.pos, what), 0)
end

function Reader:skip()
  self.pos = self.text:find('[^ \t\r\n]', self.pos) or #self.text + 1
end

function Reader:peek(s)
  self:skip()
  return self.text:sub(self.pos, self.pos + #s - 1) == s
end

function Reader:expect(s)
  if not self:peek(s) then self:fail("expected '" .. s .. "'") end
  self.pos = self.pos + #s
end

local ESCAPES = { n = '\n', t = '\t', r = '\r', a = '\a', b = '\b', f = '\f', v = '\v', ['\\'] = '\\',
                  ['"'] = '"', ["'"] = "'", ['\n'] = '\n' }

function Reader:string()
  local text, i, parts = self.text, self.pos + 1, {}
  while true do
    local c = text:sub(i, i)
    if c == '' then self:fail('unfinished string') end
    if c == '"' then break end
    if c == '\\' then
      local e = text:sub(i + 1, i + 1)
      local digits = text:match('^%d%d?%d?', i + 1)
      if digits then
        local b = tonumber(digits)
        if b > 255 then self:fail('escape \\' .. digits .. ' is not a byte') end
        parts[#parts + 1] = string.char(b)
        i = i + 1 + #digits
      elseif e == '\r' and text:sub(i + 2, i + 2) == '\n' then
        parts[#parts + 1] = '\n'
        i = i + 3
      elseif ESCAPES[e] then
        parts[#parts + 1] = ESCAPES[e]
        i = i + 2
      else
        self:fail('unknown escape \\' .. e)
      end
    else
      local j = text:find('[\\"]', i) or #text + 1
      parts[#parts + 1] = text:sub(i, j - 1)
      i = j
    end
  end
  self.pos = i + 1
  return table.concat(parts)
end

function Reader:value(depth)
  if depth > MAX_DEPTH then self:fail('nested too deeply') end
  self:skip()
  local text, pos = self.text, self.pos
  local c = text:sub(pos, pos)
  if c == '{' then return self:table(depth) end
  if c == '"' then return self:string() end
  for _, word in ipairs { 'true', 'false', 'nil' } do
    if text:find('^' .. word .. '%f[^%w_]', pos) then
      self.pos = pos + #word
      if word == 'nil' then return nil end
      return word == 'true'
    end
  end
  for special, v in pairs { ['0/0'] = 0 / 0, ['1/0'] = math.huge, ['-1/0'] = -math.huge } do
    if text:sub(pos, pos + #special - 1) == special then
      self.pos = pos + #special
      return v
    end
  end
  local num = text:match('^-?%d+%.?%d*[eE][-+]?%d+', pos) or text:match('^-?%d+%.?%d*', pos)
  if num and num ~= '-' then
    self.pos = pos + #num
    if num:find('[.eE]') then return tonumber(num) + 0.0 end
    return math.tointeger(tonumber(num)) or self:fail('integer ' .. num .. ' out of range')
  end
  self:fail('expected a value')
end

function Reader:table(depth)
  self:expect('{')
  local t, n = {}, 0
  while not self:peek('}') do
    if self:peek('[') then
      self:expect('[')
      local k = self:value(depth + 1)
      if k == nil or k ~= k then self:fail('a key is nil or NaN') end
      self:expect(']')
      self:expect('=')
      t[k] = self:value(depth + 1)
    else
      n = n + 1
      t[n] = self:value(depth + 1)
    end
    if not self:peek('}') then self:expect(',') end
  end
  self:expect('}')
  return t, n
end

--- decode_list(text) -> values, n: reads what encode_list wrote (the list and its length,
--- nils kept). Raises "bad literal at character N: ..." on anything else.
function literal.decode_list(text)
  if type(text) ~= 'string' then error('bad literal: expected a string', 0) end
  local r = setmetatable({ text = text, pos = 1 }, Reader)
  r:skip()
  if r.text:sub(r.pos, r.pos) ~= '{' then r:fail("expected '{'") end
  local t, n = r:table(1)
  r:skip()
  if r.pos <= #text then r:fail('text after the list') end
  return t, n
end

return literal
