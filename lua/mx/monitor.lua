--- mx.mon: the Monitor (MXNet's monitor.py): statistics of operator outputs,
-- gradients and weights every `interval` batches, printed as `Batch: %7d %-30s %s`;
-- with check_finite, training stops at the first NaN or Inf, naming where it came from.
-- @module mx.monitor
local core = require 'mx.core'

local mon = {}

local Monitor = {}
Monitor.__index = Monitor
mon.MonitorClass = Monitor

-- The default statistic: norm(x) / sqrt(size(x)).
local function norm_stat(x)
  local nd = require 'mx.ndarray'
  return nd.norm(x) / math.sqrt(x:size())
end
mon.norm_stat = norm_stat

local function is_ndarray(v) return type(v) == 'userdata' and v.asscalar ~= nil end

-- A statistic as MXNet prints it: a one-element array as its value (%g), a larger
-- one as its values in brackets, each followed by a tab.
local function format_stat(v)
  if type(v) == 'number' then return string.format('%g', v) .. '\t' end
  if is_ndarray(v) then
    if v:size() == 1 then return string.format('%g', v:asscalar()) .. '\t' end
    local flat = v:reshape { v:size() }:totable()
    local parts = {}
    for i, x in ipairs(flat) do parts[i] = string.format('%g', x) end
    return '[' .. table.concat(parts, ' ') .. ']\t'
  end
  return tostring(v) .. '\t'
end

--- Monitor(interval, stat_func, pattern, sort) or Monitor{interval = 100, stat_func = f,
--- pattern = '.*', sort = false, check_finite = false}.
--- pattern is a POSIX extended regular expression matched from the start of the name.
function mon.Monitor(interval, stat_func, pattern, sort)
  local where = 'mx.mon.Monitor'
  local opts = {}
  if type(interval) == 'table' then
    opts = interval
    require('mx.options').check(opts, {'interval', 'stat_func', 'pattern', 'sort', 'check_finite'}, where, 2)
    interval, stat_func, pattern, sort = opts.interval, opts.stat_func, opts.pattern, opts.sort
  end
  interval = math.tointeger(interval)
  if not interval or interval < 1 then error(where .. ': interval must be a positive integer', 2) end
  if stat_func ~= nil and type(stat_func) ~= 'function' then error(where .. ': stat_func must be a function', 2) end
  pattern = pattern or '.*'
  if type(pattern) ~= 'string' then error(where .. ': pattern must be a string (a regular expression)', 2) end
  local self = setmetatable({
    interval = interval,
    stat_func = stat_func or norm_stat,
    pattern = pattern,
    re = core.regex_compile(pattern, where),
    sort = not not sort,
    check_finite = not not opts.check_finite,
    step = 0,
    activated = false,
    queue = {},
    exes = {},
  }, Monitor)
  return self
end

-- Which node and operator produced an array named `<node>_output` or `<node>_backward_<arg>`.
local function producer(self, name)
  local node, kind = name:match('^(.*)_backward_.*$'), 'backward'
  if not node then node, kind = name:match('^(.*)_output%d*$'), 'forward' end
  if not node then return name, nil, 'argument' end
  return node, self.ops and self.ops[node], kind
end

-- Raises when x holds a NaN or an Inf (x * 0 sums to 0 exactly when all are finite).
function Monitor:check_array(name, x)
  local s = (x * 0):sum():asscalar()
  if s == 0 then return end
  local flat = x:reshape { x:size() }:totable()
  local index, value
  for i, v in ipairs(flat) do
    if v ~= v or v == math.huge or v == -math.huge then index, value = i, v; break end
  end
  local what = value ~= value and 'NaN' or (value and value > 0 and 'Inf' or '-Inf')
  local node, op, kind = producer(self, name)
  local origin
  if kind == 'argument' then
    origin = 'the argument ' .. name
  else
    origin = string.format('operator %s%s (%s pass)', node, op and ' (' .. op .. ')' or '', kind)
  end
  error(string.format('%s: %s holds %s (element %d of %d) at batch %d, produced by %s',
                      self.where or 'mx.mon.Monitor', name, what, index or 0, x:size(), self.step, origin), 0)
end

-- The executor's callback: every output and gradient, by name.
function Monitor:stat_helper(name, array)
  if self.check_finite then self:check_array(name, array) end
  if not self.activated or not self.re:match(name) then return end
  local stat = self.stat_func(array)
  if rawequal(stat, array) then stat = array:copy() end -- the array is lent only for this call
  self.queue[#self.queue + 1] = { self.step, name, stat }
end

--- install(exe): watch the executor's outputs and gradients (exe:set_monitor_callback).
function Monitor:install(exe)
  if type(exe) ~= 'table' and type(exe) ~= 'userdata' or not exe.set_monitor_callback then
    error('mx.mon.Monitor:install: expected an Executor', 2)
  end
  exe:set_monitor_callback(function(name, array) self:stat_helper(name, array) end)
  self.exes[#self.exes + 1] = exe
  -- node name -> operator type, for messages
  local sym = exe.symbol or (exe.get_symbol and exe:get_symbol())
  if sym and sym.tojson then
    local ok, g = pcall(function() return require('cjson').decode(sym:tojson()) end)
    if ok then
      self.ops = self.ops or {}
      for _, node in ipairs(g.nodes or {}) do
        if node.op ~= 'null' then self.ops[node.name] = node.op end
      end
    end
  end
end

--- tic(): start a batch; collects statistics when the batch number is 1 mod interval.
function Monitor:tic()
  if self.step % self.interval == 0 then
    self.queue = {}
    self.activated = true
  end
  self.step = self.step + 1
end

local function arg_pairs(exe)
  local names = exe.arg_names or (exe.symbol and exe.symbol:list_arguments())
  local dict = exe.arg_dict or {}
  local list = {}
  if names then
    for i, name in ipairs(names) do list[#list + 1] = { name, dict[name] or (exe.arg_arrays or {})[i] } end
  else
    for name, arr in pairs(dict) do list[#list + 1] = { name, arr } end
    table.sort(list, function(a, b) return a[1] < b[1] end)
  end
  return list
end

--- toc() -> {{batch, name, value string}, ...}: ends the batch; adds the arguments
--- (weights after the update) that match the pattern.
function Monitor:toc()
  if self.check_finite then -- every argument, every batch
    for _, exe in ipairs(self.exes) do
      for _, pair in ipairs(arg_pairs(exe)) do
        if pair[2] then self:check_array(pair[1], pair[2]) end
      end
    end
  end
  if not self.activated then return {} end
  for _, exe in ipairs(self.exes) do
    for _, pair in ipairs(arg_pairs(exe)) do
      local name, arr = pair[1], pair[2]
      if arr and self.re:match(name) then
        self.queue[#self.queue + 1] = { self.step, name, self.stat_func(arr) }
      end
    end
  end
  self.activated = false
  local queue = self.queue
  self.queue = {}
  if self.sort then table.sort(queue, function(a, b) return a[2] < b[2] end) end
  local res = {}
  for i, q in ipairs(queue) do res[i] = { q[1], q[2], format_stat(q[3]) } end
  return res
end

--- toc_print(): toc(), then logs each line as MXNet does.
function Monitor:toc_print()
  local log = require 'mx.log'
  local res = self:toc()
  for _, r in ipairs(res) do
    local line = string.format('Batch: %7d %-30s %s', r[1], r[2], r[3])
    if log.info then log.info(line) else print(line) end
  end
  return res
end

return mon
