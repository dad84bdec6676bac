--- mx.class: the one class helper of the Lua side (as torch.class). class(name[, parent]) makes a
-- class; Class(...) makes an instance and calls its init(...) (when it has one). A subclass finds
-- its parent's methods through __index and inherits its metamethods (__call, __tostring, __eq...,
-- which Lua reads from the instance's metatable without __index): they are copied when the
-- subclass is made, and one defined on a class later reaches the subclasses that have none of
-- their own. A class may define __new(cls, ...) to make its instances differently.
-- @module mx.class
local M = {}

local subclasses = setmetatable({}, {__mode = 'k'}) -- class -> weak set of its direct subclasses
local defined = setmetatable({}, {__mode = 'k'}) -- class -> {source, line} where class() was called

-- Keys a subclass does not take over from its parent.
local own_keys = {__index = true, __name = true, __new = true, super = true}

local function is_metamethod(k) return type(k) == 'string' and k:sub(1, 2) == '__' and not own_keys[k] end

-- Gives metamethod k (just defined on cls) to each subclass below cls that has none.
local function pass_down(cls, k, v)
  for sub in pairs(subclasses[cls] or {}) do
    if rawget(sub, k) == nil then
      rawset(sub, k, v)
      pass_down(sub, k, v)
    end
  end
end

--- new(cls, ...): an instance of cls, its init(...) called: what Class(...) does by default.
function M.new(cls, ...)
  local obj = setmetatable({}, cls)
  if obj.init then obj:init(...) end
  return obj
end

local class_mt = {
  __call = function(cls, ...) return (cls.__new or M.new)(cls, ...) end,
  __tostring = function(cls) return 'class ' .. cls.__name end,
  __index = function(cls, k)
    local parent = rawget(cls, 'super')
    if parent then return parent[k] end
  end,
  __newindex = function(cls, k, v)
    rawset(cls, k, v)
    if is_metamethod(k) then pass_down(cls, k, v) end
  end,
}

--- class(name[, parent]) -> a new class named name (a string), a subclass of parent if given.
function M.class(name, parent)
  if type(name) ~= 'string' or name == '' then
    error('mx.class: expected a class name (a non-empty string), got ' .. tostring(name), 2)
  end
  if parent ~= nil and not M.is_class(parent) then
    error(('mx.class(%q): the parent must be a class made by mx.class (got %s)'):format(name, type(parent)), 2)
  end
  local cls = {__name = name, super = parent}
  cls.__index = cls
  local site = debug.getinfo(2, 'Sl') -- the caller (a wrapper that tail-calls class() is no frame)
  if site.source == debug.getinfo(1, 'S').source then site = debug.getinfo(3, 'Sl') end -- through M's __call
  defined[cls] = {site.source, site.currentline}
  if parent then
    for k, v in pairs(parent) do
      if is_metamethod(k) then cls[k] = v end
    end
    subclasses[parent] = subclasses[parent] or setmetatable({}, {__mode = 'k'})
    subclasses[parent][cls] = true
  end
  return setmetatable(cls, class_mt)
end

--- defined_at(cls) -> source ('@path'), line: where class() made cls (for its doc comment).
function M.defined_at(cls)
  local d = defined[cls]
  if d then return d[1], d[2] end
end

--- is_class(v): whether v is a class made by mx.class.
function M.is_class(v) return type(v) == 'table' and getmetatable(v) == class_mt end

--- is_instance(v, cls): whether v is an instance of cls or of a subclass of it.
function M.is_instance(v, cls)
  local c = type(v) == 'table' and getmetatable(v) or nil
  while M.is_class(c) do
    if c == cls then return true end
    c = rawget(c, 'super')
  end
  return false
end

return setmetatable(M, {__call = function(_, ...) return M.class(...) end})
