--- mx.options: the one check of an options table every constructor and function taking one
-- makes: a key that is not a valid option (a misspelling: batch_szie) is an error naming the
-- closest valid option, never silently ignored.
-- @module mx.options
local options = {}

-- Edit distance between strings a and b (insertions, deletions, substitutions).
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = {[0] = i}
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- options.closest(key, names): the name in the list `names` nearest to key.
function options.closest(key, names)
  local best, best_d
  for _, name in ipairs(names) do
    local d = distance(tostring(key), name)
    if not best_d or d < best_d or (d == best_d and name < best) then best, best_d = name, d end
  end
  return best
end

--- options.check(opts, known, where[, level]): raises "<where>: unknown option 'k' (closest
-- valid option: 'name')" when opts (a table; anything else is left to the caller) holds a key
-- not in `known` (a list of names, or several lists). Reads opts raw: no metamethod runs.
-- level: as error's, counted from the caller of check (default 2: the caller's caller).
function options.check(opts, known, where, level)
  if type(opts) ~= 'table' then return opts end
  local names, set = {}, {}
  for _, k in ipairs(known) do
    for _, name in ipairs(type(k) == 'table' and k or {k}) do
      if not set[name] then names[#names + 1], set[name] = name, true end
    end
  end
  table.sort(names)
  for k in next, opts do
    if not set[k] then
      local shown = type(k) == 'string' and ("'" .. k .. "'") or tostring(k)
      level = level or 2
      error(("%s: unknown option %s (closest valid option: '%s')"):format(where, shown,
        options.closest(k, names) or '(none)'), level > 0 and level + 1 or 0)
    end
  end
  return opts
end

return options
