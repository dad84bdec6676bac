--- mx.optimizer: MXNet's optimizers (SGD, Adam, RMSProp, AdaGrad) over fused C
-- kernels, the registry (create), per-parameter lr_mult / wd_mult, learning-rate
-- schedulers, and the updater (get_updater) whose states can be saved and restored.
-- @module mx.optimizer

-- luacheck: ignore 212/self
local core = require 'mx.core'
local options = require 'mx.options'
local class = require 'mx.class'

local optimizer = {}
local registry = {}

local function ends(s, suffix) return type(s) == 'string' and s:sub(-#suffix) == suffix end

local Optimizer = class('mx.optimizer.Optimizer')
optimizer.Optimizer = Optimizer
optimizer.class = class
-- Optimizer() is Optimizer{}: each init may read opts
Optimizer.__new = function(cls, opts) return class.new(cls, opts or {}) end
Optimizer.default_lr = 0.01

--- Optimizer{rescale_grad = 1, param_idx2name = {}, wd = 0, clip_gradient = nil,
--   learning_rate = 0.01, lr_scheduler = nil, sym = nil, begin_num_update = 0}
-- hyper-parameters are finite numbers: lr, wd and clip_gradient also >= 0.
local function check_hyper(name, opts)
  for _, k in ipairs{'learning_rate', 'wd', 'rescale_grad', 'clip_gradient', 'momentum'} do
    local v = opts[k]
    if v ~= nil and (type(v) ~= 'number' or v ~= v or v == math.huge or v == -math.huge) then
      error(string.format('%s: %s must be a finite number (got %s)', name, k, tostring(v)), 0)
    end
    if v ~= nil and v < 0 and k ~= 'rescale_grad' then
      error(string.format('%s: %s must be >= 0 (got %s)', name, k, tostring(v)), 0)
    end
  end
end

-- The options every optimizer takes; a class adds its own as cls.options (a class without that
-- list, defined outside this file, has its options left unchecked).
Optimizer.options = {'rescale_grad', 'param_idx2name', 'wd', 'clip_gradient', 'learning_rate', 'lr_scheduler', 'sym',
                     'begin_num_update'}

--- optimizer.options_of(name or optimizer class): every option it takes (nil: not known)
function optimizer.options_of(cls)
  if type(cls) == 'string' then cls = optimizer.registry_class(cls) end
  if type(cls) ~= 'table' or rawget(cls, 'options') == nil then return nil end
  local all = {}
  for _, list in ipairs{Optimizer.options, cls.options} do
    for _, k in ipairs(list) do all[#all + 1] = k end
  end
  return all
end

function Optimizer:init(opts)
  if type(opts) ~= 'table' then
    error(string.format('%s: expected a table of options (got %s)', self.__name, type(opts)), 0)
  end
  local known = optimizer.options_of(getmetatable(self))
  if known then options.check(opts, known, self.__name, 0) end
  check_hyper(self.__name, opts)
  self.rescale_grad = opts.rescale_grad or 1
  self.lr = opts.learning_rate or self.default_lr
  self.wd = opts.wd or 0
  self.clip_gradient = opts.clip_gradient
  self.lr_scheduler = opts.lr_scheduler
  if self.lr_scheduler then self.lr_scheduler.base_lr = self.lr end
  self.idx2name = opts.param_idx2name or {}
  self.sym = opts.sym
  self.begin_num_update = opts.begin_num_update or 0
  self.num_update = self.begin_num_update
  self._index_update_count = {}
  self:set_lr_mult({})
  self:set_wd_mult({})
end

-- Multipliers the symbol's variables carry (mx.sym.Variable(name, {lr_mult = x})
-- sets "__lr_mult__"), by argument name.
local function symbol_mults(sym, key)
  local out = {}
  if not (sym and sym.get_internals and sym.list_arguments) then return out end
  local args = {}
  for _, n in ipairs(sym:list_arguments()) do args[n] = true end
  local internals = sym:get_internals()
  for i, n in ipairs(internals:list_outputs()) do
    if args[n] then
      local a = internals:get_output(i):list_attr()
      local v = a['__' .. key .. '__'] or a[key]
      if v then out[n] = tonumber(v) end
    end
  end
  return out
end

--- set_lr_mult{name_or_index = mult}: replaces the learning-rate multipliers.
function Optimizer:set_lr_mult(mults)
  self.lr_mult = symbol_mults(self.sym, 'lr_mult')
  for k, v in pairs(mults) do self.lr_mult[k] = v end
end

--- set_wd_mult{...}: replaces the weight-decay multipliers; every named
-- parameter whose name does not end in "_weight" gets 0 (no decay on biases).
function Optimizer:set_wd_mult(mults)
  self.wd_mult = {}
  for _, n in pairs(self.idx2name) do
    if not ends(n, '_weight') then self.wd_mult[n] = 0 end
  end
  for k, v in pairs(symbol_mults(self.sym, 'wd_mult')) do self.wd_mult[k] = v end
  for k, v in pairs(mults) do self.wd_mult[k] = v end
end

local function mult(tbl, idx2name, index)
  local m = tbl[index]
  if m == nil then m = tbl[idx2name[index]] end
  return m or 1
end

function Optimizer:_get_lr(index)
  local lr = self.lr_scheduler and self.lr_scheduler(self.num_update) or self.lr
  return lr * mult(self.lr_mult, self.idx2name, index)
end

function Optimizer:_get_wd(index)
  return self.wd * mult(self.wd_mult, self.idx2name, index)
end

function Optimizer:_update_count(index)
  local c = (self._index_update_count[index] or self.begin_num_update) + 1
  self._index_update_count[index] = c
  if c > self.num_update then self.num_update = c end
  return c
end

function Optimizer:_clip() return self.clip_gradient or -1 end

local function zeros_like(w) return core.nd.zeros(w:shape(), w:context()) end

function Optimizer:create_state() return nil end
function Optimizer:update() error(self.__name .. ':update: not implemented', 2) end

--- SGD{momentum = 0, ...}: MXNet's update. With momentum:
-- mom = momentum*mom - lr*(g + wd*w); w += mom, where g = clip(rescale_grad*grad).
local SGD = class('mx.optimizer.SGD', Optimizer)
optimizer.SGD = SGD
SGD.options = {'momentum'}
function SGD:init(opts)
  Optimizer.init(self, opts)
  self.momentum = opts.momentum or 0
end
function SGD:create_state(_, weight)
  if self.momentum == 0 then return nil end
  return zeros_like(weight)
end
function SGD:update(index, weight, grad, state)
  local lr, wd = self:_get_lr(index), self:_get_wd(index)
  self:_update_count(index)
  core.optim_sgd_update(weight, grad, state, lr, wd, self.rescale_grad, self:_clip(), self.momentum)
end

--- Adam{learning_rate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, ...}
-- as MXNet's adam_update: g = clip(rescale*grad) + wd*w, bias-corrected lr.
local Adam = class('mx.optimizer.Adam', Optimizer)
optimizer.Adam = Adam
Adam.default_lr = 0.001
Adam.options = {'beta1', 'beta2', 'epsilon'}
function Adam:init(opts)
  Optimizer.init(self, opts)
  self.beta1, self.beta2, self.epsilon = opts.beta1 or 0.9, opts.beta2 or 0.999, opts.epsilon or 1e-8
end
function Adam:create_state(_, weight) return {zeros_like(weight), zeros_like(weight)} end
function Adam:update(index, weight, grad, state)
  local lr, wd = self:_get_lr(index), self:_get_wd(index)
  local t = self:_update_count(index)
  lr = lr * math.sqrt(1 - self.beta2 ^ t) / (1 - self.beta1 ^ t)
  core.optim_adam_update(weight, grad, state[1], state[2], lr, wd, self.rescale_grad, self:_clip(),
                         self.beta1, self.beta2, self.epsilon)
end

--- RMSProp{learning_rate = 0.001, gamma1 = 0.9, gamma2 = 0.9, epsilon = 1e-8, centered = false}
-- Plain: n = (1-g1)*g^2 + g1*n; w -= lr*g/sqrt(n+eps). Centered (Graves 2013)
-- keeps the mean gradient too and a momentum (gamma2) delta.
local RMSProp = class('mx.optimizer.RMSProp', Optimizer)
optimizer.RMSProp = RMSProp
RMSProp.default_lr = 0.001
RMSProp.options = {'gamma1', 'gamma2', 'epsilon', 'centered'}
function RMSProp:init(opts)
  Optimizer.init(self, opts)
  self.gamma1, self.gamma2 = opts.gamma1 or 0.9, opts.gamma2 or 0.9
  self.epsilon, self.centered = opts.epsilon or 1e-8, not not opts.centered
end
function RMSProp:create_state(_, weight)
  if self.centered then return {zeros_like(weight), zeros_like(weight), zeros_like(weight)} end
  return {zeros_like(weight)}
end
function RMSProp:update(index, weight, grad, state)
  local lr, wd = self:_get_lr(index), self:_get_wd(index)
  self:_update_count(index)
  core.optim_rmsprop_update(weight, grad, state[1], state[2], state[3], lr, wd, self.rescale_grad, self:_clip(),
                            self.gamma1, self.gamma2, self.epsilon)
end

--- AdaGrad{learning_rate = 0.01, eps = 1e-7}: h += g^2; w -= lr*(g/sqrt(h+eps) + wd*w).
local AdaGrad = class('mx.optimizer.AdaGrad', Optimizer)
optimizer.AdaGrad = AdaGrad
AdaGrad.options = {'eps', 'epsilon'}
function AdaGrad:init(opts)
  Optimizer.init(self, opts)
  self.eps = opts.eps or opts.epsilon or 1e-7
end
function AdaGrad:create_state(_, weight) return zeros_like(weight) end
function AdaGrad:update(index, weight, grad, state)
  local lr, wd = self:_get_lr(index), self:_get_wd(index)
  self:_update_count(index)
  core.optim_adagrad_update(weight, grad, state, lr, wd, self.rescale_grad, self:_clip(), self.eps)
end

--- register(cls[, name]): makes cls available to create() under its lower-case name.
--- registry_class(name): the class create(name) makes, or nil.
function optimizer.registry_class(name)
  return registry[name:lower()]
end

function optimizer.register(cls, name)
  name = name or cls.__name:match('([^.]+)$')
  registry[name:lower()] = cls
  return cls
end
optimizer.register(SGD)
optimizer.register(Adam)
optimizer.register(RMSProp)
optimizer.register(AdaGrad)

--- create(name, opts): an optimizer by (case-insensitive) name; an optimizer
-- object is returned as it is.
function optimizer.create(name, opts)
  if type(name) == 'table' and getmetatable(name) and name.update then return name end
  if type(name) ~= 'string' then
    error('mx.optimizer.create: expected an optimizer name (got ' .. type(name) .. ')', 2)
  end
  local cls = registry[name:lower()]
  if not cls then
    local names = {}
    for k in pairs(registry) do names[#names + 1] = k end
    table.sort(names)
    error(('mx.optimizer.create: unknown optimizer %s (expected one of %s)'):format(name, table.concat(names, ', ')), 2)
  end
  return cls(opts or {})
end

-- ---- the updater ----
local Updater = {}
Updater.__index = Updater
Updater.__name = 'mx.optimizer.Updater'

--- get_updater(opt) -> updater; updater(index, grad, weight) creates the
-- index's state on first use, then updates weight in place. A nil grad
-- (an input without gradient) is skipped.
function optimizer.get_updater(opt)
  return setmetatable({optimizer = opt, states = {}}, Updater)
end

-- Inside mx.core.cuda_graph's fn, the updates of the built-in optimizers go through
-- mx.core.cuda_graph_rerun: before each launch of the graph they run again, which
-- advances the update counts, asks the lr_scheduler and recomputes Adam's bias
-- correction, and their fused kernels (recorded once) read these new values. Their
-- update functions make the fused call and nothing else on the device, so running
-- them again queues nothing. Another optimizer's update is recorded as it ran once.
local builtin_update = {[SGD.update] = true, [Adam.update] = true, [RMSProp.update] = true,
                        [AdaGrad.update] = true}
local function rerun_safe(opt)
  return core.cuda_graph_recording() and builtin_update[opt.update] and true or false
end

Updater.__call = function(self, index, grad, weight)
  if grad == nil then return end
  local s = self.states[index]
  if s == nil then
    s = self.optimizer:create_state(index, weight) or false
    self.states[index] = s
  end
  local opt = self.optimizer
  if rerun_safe(opt) then
    core.cuda_graph_rerun(function() opt:update(index, weight, grad, s or nil) end)
  else
    opt:update(index, weight, grad, s or nil)
  end
end

local fused_sgd

--- updater:update_all(grads, weights): updater(i, grads[i], weights[i]) for each i in
-- turn (nil gradients skipped), same states and results. SGD's updates run as one fused C call
-- over all the parameters (lists reused from step to step: no garbage); others one call each.
function Updater:update_all(grads, weights)
  local opt = self.optimizer
  if opt.update ~= SGD.update or opt.create_state ~= SGD.create_state then
    for i = 1, #weights do self(i, grads[i], weights[i]) end
    return
  end
  if rerun_safe(opt) then -- the lists as they are now, for the launches to come
    local g, w = table.move(grads, 1, #weights, 1, {}), table.move(weights, 1, #weights, 1, {})
    core.cuda_graph_rerun(function() fused_sgd(self, g, w) end)
  else
    fused_sgd(self, grads, weights)
  end
end
fused_sgd = function(self, grads, weights)
  local opt = self.optimizer
  local c = self._fused
  if c == nil then
    c = {w = {}, g = {}, m = {}, lr = {}, wd = {}}
    self._fused = c
  end
  local w, g, m, lr, wd, states = c.w, c.g, c.m, c.lr, c.wd, self.states
  local k = 0
  for i = 1, #weights do
    local gi = grads[i]
    if gi ~= nil then
      local s = states[i]
      if s == nil then
        s = opt:create_state(i, weights[i]) or false
        states[i] = s
      end
      k = k + 1
      w[k], g[k], m[k] = weights[i], gi, s or nil
      lr[k], wd[k] = opt:_get_lr(i), opt:_get_wd(i) -- in SGD:update's order
      opt:_update_count(i)
    end
  end
  for j = #w, k + 1, -1 do w[j], g[j], m[j], lr[j], wd[j] = nil, nil, nil, nil, nil end
  core.optim_sgd_update_multi(w, g, m, lr, wd, opt.rescale_grad, opt:_clip(), opt.momentum)
end

-- Numbers stored exactly in float32 arrays: each 8-byte value as four 16-bit pieces.
local function pack_numbers(list, fmt)
  local out = {}
  for _, x in ipairs(list) do
    local bytes = string.pack(fmt, x)
    for k = 1, 8, 2 do out[#out + 1] = string.unpack('<I2', bytes, k) end
  end
  return core.nd.array(out)
end
local function unpack_numbers(a, fmt)
  local t, out = a:totable(), {}
  for k = 1, #t, 4 do
    local bytes = ''
    for j = 0, 3 do bytes = bytes .. string.pack('<I2', math.tointeger(t[k + j])) end
    out[#out + 1] = string.unpack(fmt, bytes)
  end
  return out
end
local function index_str(i) return math.type(i) == 'integer' and ('#' .. i) or tostring(i) end
local function index_of(s) return s:sub(1, 1) == '#' and math.tointeger(tonumber(s:sub(2))) or s end

--- The updater's whole state as a list of NDArrays and their names: optimizer
-- states ("state:<index>[:k]"), per-index update counts, num_update, and the
-- learning-rate scheduler's state.
function Updater:get_states()
  local arrays, names = {}, {}
  local function add(name, a) arrays[#arrays + 1], names[#names + 1] = a, name end
  local keys = {}
  for k in pairs(self.states) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return index_str(a) < index_str(b) end)
  for _, k in ipairs(keys) do
    local s = self.states[k]
    if core.nd.is_ndarray(s) then
      add('state:' .. index_str(k), s)
    elseif s then
      for j, a in ipairs(s) do add(('state:%s:%d'):format(index_str(k), j), a) end
    else
      add('nostate:' .. index_str(k), core.nd.zeros({1}))
    end
  end
  local opt = self.optimizer
  for k, c in pairs(opt._index_update_count) do add('count:' .. index_str(k), pack_numbers({c}, '<i8')) end
  add('num_update', pack_numbers({opt.num_update}, '<i8'))
  if opt.lr_scheduler and opt.lr_scheduler.get_state then
    add('lr_scheduler', pack_numbers(opt.lr_scheduler:get_state(), '<d'))
  end
  return arrays, names
end

--- Restores what get_states returned (states go to ctx, default cpu).
function Updater:set_states(arrays, names, ctx)
  local opt = self.optimizer
  self.states, opt._index_update_count = {}, {}
  for i, name in ipairs(names) do
    local a = arrays[i]
    local kind, rest = name:match('^([%w_]+):?(.*)$')
    if kind == 'state' then
      local idx, j = rest:match('^(.-):(%d+)$')
      if idx then
        local key = index_of(idx)
        self.states[key] = self.states[key] or {}
        self.states[key][tonumber(j)] = ctx and a:copyto(ctx) or a
      else
        self.states[index_of(rest)] = ctx and a:copyto(ctx) or a
      end
    elseif kind == 'nostate' then
      self.states[index_of(rest)] = false
    elseif kind == 'count' then
      opt._index_update_count[index_of(rest)] = unpack_numbers(a, '<i8')[1]
    elseif kind == 'num_update' then
      opt.num_update = unpack_numbers(a, '<i8')[1]
    elseif kind == 'lr_scheduler' and opt.lr_scheduler and opt.lr_scheduler.set_state then
      opt.lr_scheduler:set_state(unpack_numbers(a, '<d'))
    end
  end
end

--- Saves the state to a file (MXNet's NDArray list format), atomically.
function Updater:save_states(path)
  local arrays, names = self:get_states()
  core.params_save(path, arrays, names)
end

--- Loads a file save_states wrote; states go onto ctx.
function Updater:load_states(path, ctx)
  local arrays, names = core.params_load(path)
  if not names then
    error('mx.optimizer.Updater:load_states: ' .. path .. ' holds no names: not an optimizer state file', 2)
  end
  self:set_states(arrays, names, ctx)
end

return optimizer
