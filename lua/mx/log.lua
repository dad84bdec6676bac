--- mx.log: the training log. Levels (DEBUG < INFO < WARNING < ERROR), a prefix
-- ("INFO " or, with time = true, "2026-11-25 20:31:07 INFO "), to stderr by
-- default, or to a file. Message bodies are MXNet's, byte for byte.
-- @module mx.log
local log = {}

log.DEBUG, log.INFO, log.WARNING, log.ERROR = 10, 20, 30, 40
local level_names = {[10] = 'DEBUG', [20] = 'INFO', [30] = 'WARNING', [40] = 'ERROR'}
local level_of = {debug = 10, info = 20, warning = 30, warn = 30, error = 40}

local state = {level = log.INFO, out = io.stderr, time = false, owned = nil}

local function to_level(l, where)
  if type(l) == 'number' then return l end
  local v = type(l) == 'string' and level_of[l:lower()]
  if not v then
    error(('%s: unknown log level %s (expected debug, info, warning, error or a number)'):format(where, tostring(l)), 3)
  end
  return v
end

--- log.config{level = 'info', file = path | file handle | nil, time = false}
-- Changes only the fields given. `file = false` goes back to stderr.
function log.config(opts)
  opts = opts or {}
  require('mx.options').check(opts, {'level', 'file', 'time'}, 'mx.log.config', 2)
  if opts.level ~= nil then state.level = to_level(opts.level, 'mx.log.config') end
  if opts.time ~= nil then state.time = not not opts.time end
  if opts.file ~= nil then
    if state.owned then state.owned:close(); state.owned = nil end
    if opts.file == false then
      state.out = io.stderr
    elseif type(opts.file) == 'string' then
      local f, err = io.open(opts.file, 'a')
      if not f then error('mx.log.config: cannot open log file ' .. tostring(err), 2) end
      f:setvbuf('line')
      state.out, state.owned = f, f
    else
      state.out = opts.file
    end
  end
  return log
end

function log.get_level() return state.level end
function log.set_level(l) state.level = to_level(l, 'mx.log.set_level') end

--- The prefix put before every line.
function log.prefix(level)
  local name = level_names[level] or ('LEVEL' .. level)
  if state.time then return os.date('%Y-%m-%d %H:%M:%S ') .. name .. ' ' end
  return name .. ' '
end

--- log.log(level, fmt, ...): formats with string.format when arguments follow.
function log.log(level, fmt, ...)
  if level < state.level then return end
  local msg = select('#', ...) > 0 and fmt:format(...) or tostring(fmt)
  state.out:write(log.prefix(level), msg, '\n')
  if state.out.flush then state.out:flush() end
end

function log.debug(fmt, ...) log.log(log.DEBUG, fmt, ...) end
function log.info(fmt, ...) log.log(log.INFO, fmt, ...) end
function log.warning(fmt, ...) log.log(log.WARNING, fmt, ...) end
log.warn = log.warning
function log.error(fmt, ...) log.log(log.ERROR, fmt, ...) end

return log
