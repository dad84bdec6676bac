--- mx.callback: training callbacks as MXNet's: Speedometer (its log line byte for
-- byte), do_checkpoint, log_train_metric, and a ProgressBar drawn live on a
-- terminal. Batch-end callbacks receive {epoch, nbatch, eval_metric, locals}.
-- @module mx.callback
local core = require 'mx.core'
local log = require 'mx.log'
local options = require 'mx.options'

local callback = {}

local function callable(fn) return setmetatable({}, {__call = function(_, ...) return fn(...) end}) end

--- Speedometer(batch_size, frequent = 50): every `frequent` batches logs
-- "Epoch[%d] Batch [%d]\tSpeed: %.2f samples/sec\tTrain-%s=%f" per metric.
-- The first call of an epoch only starts the timer; the metric is cumulative.
function callback.Speedometer(batch_size, frequent)
  frequent = frequent or 50
  if math.type(batch_size) ~= 'integer' or batch_size < 1 or math.type(frequent) ~= 'integer' or frequent < 1 then
    error(string.format('mx.callback.Speedometer: batch_size and frequent must be positive integers (got %s, %s)',
      tostring(batch_size), tostring(frequent)), 2)
  end
  local init, tic, last_count = false, 0, 0
  return callable(function(param)
    local count = param.nbatch
    if last_count > count then init = false end
    last_count = count
    if init then
      if count % frequent == 0 then
        local speed = frequent * batch_size / (core.now() - tic)
        if param.eval_metric then
          for _, nv in ipairs(param.eval_metric:get_name_value()) do
            log.info('Epoch[%d] Batch [%d]\tSpeed: %.2f samples/sec\tTrain-%s=%f',
                     param.epoch, count, speed, nv[1], nv[2])
          end
        else
          log.info('Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec', param.epoch, count, speed)
        end
        tic = core.now()
      end
    else
      init = true
      tic = core.now()
    end
  end)
end

--- do_checkpoint(prefix, period = 1): an epoch-end callback that saves
-- prefix-symbol.json and prefix-%04d.params (epoch + 1) every `period` epochs;
-- inside FeedForward:fit also the optimizer state (prefix-%04d.states) of the updater fit passes.
function callback.do_checkpoint(prefix, period)
  if type(prefix) ~= 'string' or prefix == '' then
    error('mx.callback.do_checkpoint: prefix must be a non-empty string (got ' .. tostring(prefix) .. ')', 2)
  end
  if period ~= nil and math.type(period) ~= 'integer' then
    error('mx.callback.do_checkpoint: period must be an integer (got ' .. tostring(period) .. ')', 2)
  end
  period = math.max(1, period or 1)
  return callable(function(iter_no, sym, arg_params, aux_params, updater)
    if (iter_no + 1) % period == 0 then
      require('mx.model').save_checkpoint(prefix, iter_no + 1, sym, arg_params, aux_params, updater)
    end
  end)
end

--- log_train_metric(period, auto_reset = false): logs
-- "Iter[%d] Batch[%d] Train-%s=%f" every `period` batches.
function callback.log_train_metric(period, auto_reset)
  return callable(function(param)
    if param.nbatch % period == 0 and param.eval_metric then
      for _, nv in ipairs(param.eval_metric:get_name_value()) do
        log.info('Iter[%d] Batch[%d] Train-%s=%f', param.epoch, param.nbatch, nv[1], nv[2])
      end
      if auto_reset then param.eval_metric:reset() end
    end
  end)
end

local function clock(s)
  if s ~= s or s == math.huge then return '--:--' end
  s = math.floor(s + 0.5)
  if s >= 3600 then return ('%d:%02d:%02d'):format(s // 3600, s % 3600 // 60, s % 60) end
  return ('%d:%02d'):format(s // 60, s % 60)
end

--- ProgressBar(total, length = 40, opts): a batch-end callback drawing
-- "[=====-----]  45% 270/600  9876.54 samples/s  ETA 0:03" in place on a
-- terminal. opts: batch_size (for samples/s), file (default io.stderr),
-- force (draw even when file is not a terminal). Quiet otherwise.
function callback.ProgressBar(total, length, opts)
  if type(length) == 'table' then opts, length = length, nil end
  opts = opts or {}
  options.check(opts, {'batch_size', 'file', 'force', 'length'}, 'mx.callback.ProgressBar', 2)
  length = length or opts.length or 40
  local out = opts.file or io.stderr
  local live = opts.force or core.isatty(out)
  local start, first, last_count = nil, 0, math.huge
  local bar = {total = total, length = length, live = live}
  function bar.render(count, elapsed, done)
    local frac = math.min(1, count / total)
    local filled = math.floor(length * frac + 0.5)
    local text = ('[%s%s] %3d%% %d/%d'):format(('='):rep(filled), ('-'):rep(length - filled),
                                               math.ceil(frac * 100), count, total)
    done = done or count -- batches timed by `elapsed`
    if opts.batch_size and elapsed and elapsed > 0 and done > 0 then
      text = text .. ('  %.2f samples/s'):format(done * opts.batch_size / elapsed)
    end
    if elapsed and done > 0 then text = text .. '  ETA ' .. clock(elapsed / done * (total - count)) end
    return text
  end
  return setmetatable(bar, {__call = function(_, param)
    if not live then return end
    local count = param.nbatch
    if count < last_count or not start then start, first = core.now(), count end -- a new epoch
    last_count = count
    local elapsed = core.now() - start
    out:write('\r', bar.render(count, elapsed, count - first), '\27[K')
    if count >= total then out:write('\n') end
    if out.flush then out:flush() end
  end})
end

return callback
