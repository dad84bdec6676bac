--- mx.lr_scheduler: learning-rate schedules as MXNet's: FactorScheduler and
-- MultiFactorScheduler. A scheduler is called with num_update and returns the
-- rate; the optimizer sets its base_lr from learning_rate.
-- @module mx.lr_scheduler
local log = require 'mx.log'
local class = require 'mx.class'
local options = require 'mx.options'

local sched = {}

--- LRScheduler: the base class. A scheduler is callable, sched(num_update) -> rate; base_lr starts
-- at 0.01 (the optimizer sets it from its learning_rate).
local LRScheduler = class('mx.lr_scheduler.LRScheduler')
sched.LRScheduler = LRScheduler
LRScheduler.__call = function(self, n) return self:call(n) end
LRScheduler.__new = function(cls, ...)
  local self = setmetatable({base_lr = 0.01}, cls)
  self:init(...)
  return self
end
function LRScheduler.init() end
function LRScheduler:call() error(self.__name .. ':call: not implemented', 2) end

--- FactorScheduler(step, factor = 1, stop_factor_lr = 1e-8): lr * factor every
-- `step` updates (at most one reduction per call, as MXNet 2016).
local FactorScheduler = class('mx.lr_scheduler.FactorScheduler', LRScheduler)
sched.FactorScheduler = FactorScheduler
function FactorScheduler:init(step, factor, stop_factor_lr)
  if type(step) == 'table' then
    options.check(step, {'step', 'factor', 'stop_factor_lr'}, 'mx.lr_scheduler.FactorScheduler', 3)
    step, factor, stop_factor_lr = step.step, step.factor, step.stop_factor_lr
  end
  if type(step) ~= 'number' or step < 1 then
    error('mx.lr_scheduler.FactorScheduler: schedule step must be greater or equal than 1 round (got '
          .. tostring(step) .. ')', 3)
  end
  factor = factor or 1
  if factor > 1 then
    error('mx.lr_scheduler.FactorScheduler: factor must be no more than 1 to make lr reduce (got ' .. factor .. ')', 3)
  end
  self.step, self.factor, self.stop_factor_lr, self.count = step, factor, stop_factor_lr or 1e-8, 0
end
function FactorScheduler:call(num_update)
  if num_update > self.count + self.step then
    self.count = self.count + self.step
    self.base_lr = self.base_lr * self.factor
    if self.base_lr < self.stop_factor_lr then
      self.base_lr = self.stop_factor_lr
      log.info('Update[%d]: now learning rate arrived at %0.5e, will not change in the future',
               num_update, self.base_lr)
    else
      log.info('Update[%d]: Change learning rate to %0.5e', num_update, self.base_lr)
    end
  end
  return self.base_lr
end
function FactorScheduler:get_state() return {self.base_lr, self.count} end
function FactorScheduler:set_state(s) self.base_lr, self.count = s[1], math.tointeger(s[2]) or s[2] end

--- MultiFactorScheduler(steps, factor = 1): lr * factor after each of the
-- increasing update counts in `steps`.
local MultiFactorScheduler = class('mx.lr_scheduler.MultiFactorScheduler', LRScheduler)
sched.MultiFactorScheduler = MultiFactorScheduler
function MultiFactorScheduler:init(step, factor)
  if type(step) == 'table' and rawget(step, 1) == nil then -- options, not the list of steps
    options.check(step, {'step', 'factor'}, 'mx.lr_scheduler.MultiFactorScheduler', 3)
    step, factor = step.step, step.factor
  end
  if type(step) ~= 'table' or #step == 0 then
    error('mx.lr_scheduler.MultiFactorScheduler: step must be a non-empty list of update counts', 3)
  end
  for i, s in ipairs(step) do
    if i > 1 and s <= step[i - 1] then
      error('mx.lr_scheduler.MultiFactorScheduler: schedule step must be an increasing integer list', 3)
    end
    if s < 1 then
      error('mx.lr_scheduler.MultiFactorScheduler: schedule step must be greater or equal than 1 round', 3)
    end
  end
  factor = factor or 1
  if factor > 1 then
    error('mx.lr_scheduler.MultiFactorScheduler: factor must be no more than 1 to make lr reduce (got '
          .. factor .. ')', 3)
  end
  self.step, self.factor, self.cur_step_ind, self.count = step, factor, 1, 0
end
function MultiFactorScheduler:call(num_update)
  if self.cur_step_ind <= #self.step and num_update > self.step[self.cur_step_ind] then
    self.count = self.step[self.cur_step_ind]
    self.cur_step_ind = self.cur_step_ind + 1
    self.base_lr = self.base_lr * self.factor
    log.info('Update[%d]: Change learning rate to %0.5e', num_update, self.base_lr)
  end
  return self.base_lr
end
function MultiFactorScheduler:get_state() return {self.base_lr, self.count, self.cur_step_ind} end
function MultiFactorScheduler:set_state(s)
  self.base_lr, self.count, self.cur_step_ind = s[1], math.tointeger(s[2]) or s[2], math.tointeger(s[3]) or s[3]
end

return sched
