--- mx.metric: evaluation metrics as MXNet's: Accuracy, TopKAccuracy, CrossEntropy,
-- MSE, MAE, RMSE, F1, CustomMetric, CompositeEvalMetric, and create('acc').
-- update(labels, preds) takes lists of NDArrays; get() returns name, value.
-- @module mx.metric
local core = require 'mx.core'
local options = require 'mx.options'
local class = require 'mx.class'

local metric = {}

metric.class = class

local function check_lists(where, labels, preds)
  if core.nd.is_ndarray(labels) then labels = {labels} end
  if core.nd.is_ndarray(preds) then preds = {preds} end
  if type(labels) ~= 'table' or type(preds) ~= 'table' then
    error(where .. ': labels and preds must be lists of NDArrays', 3)
  end
  if #labels ~= #preds then
    error(('%s: %d labels for %d predictions (expected as many)'):format(where, #labels, #preds), 3)
  end
  return labels, preds
end

-- Flat host values of an NDArray.
local function flat(a)
  local t = a:reshape{-1}:totable()
  return t
end

local EvalMetric = class('mx.metric.EvalMetric')
metric.EvalMetric = EvalMetric
EvalMetric.__tostring = function(self) return ('EvalMetric: %s'):format(self.name) end

function EvalMetric:init(name)
  self.name = name
  self:reset()
end
function EvalMetric:reset()
  self.num_inst, self.sum_metric = 0, 0.0
end
--- get() -> name, value (nan before any update)
function EvalMetric:get()
  if self.num_inst == 0 then return self.name, 0 / 0 end
  return self.name, self.sum_metric / self.num_inst
end
--- get_name_value() -> {{name, value}, ...}
function EvalMetric:get_name_value()
  local name, value = self:get()
  if type(name) == 'table' then
    local out = {}
    for i, n in ipairs(name) do out[i] = {n, value[i]} end
    return out
  end
  return {{name, value}}
end
function EvalMetric:update() error(self.__name .. ':update: not implemented', 2) end

-- The rows of an array, remembered per array (an executor hands the same output arrays
-- every batch; shape() would make a table each time).
local rows_of = setmetatable({}, {__mode = 'k'})
local function rows(a)
  local r = rows_of[a]
  if r == nil then
    r = a:shape()[1]
    rows_of[a] = r
  end
  return r
end

--- Accuracy(): the fraction of rows whose argmax equals the label (counted in C).
local Accuracy = class('mx.metric.Accuracy', EvalMetric)
metric.Accuracy = Accuracy
function Accuracy:init() EvalMetric.init(self, 'accuracy') end
function Accuracy:update(labels, preds)
  labels, preds = check_lists('mx.metric.Accuracy:update', labels, preds)
  for i = 1, #labels do
    local hits = core.metric_topk_hits(preds[i], labels[i], 1)
    self.sum_metric = self.sum_metric + hits
    self.num_inst = self.num_inst + rows(preds[i])
  end
end

--- TopKAccuracy{top_k = k} (k > 1): the label is among the k highest scores.
local TopKAccuracy = class('mx.metric.TopKAccuracy', EvalMetric)
metric.TopKAccuracy = TopKAccuracy
function TopKAccuracy:init(opts)
  options.check(opts, {'top_k'}, 'mx.metric.TopKAccuracy', 3)
  local k = type(opts) == 'table' and opts.top_k or opts or 1
  if math.type(k) ~= 'integer' or k <= 1 then
    error('mx.metric.TopKAccuracy: top_k must be an integer above 1 (got ' .. tostring(k) .. '); use Accuracy for 1', 3)
  end
  self.top_k = k
  EvalMetric.init(self, ('top_k_accuracy_%d'):format(k))
end
function TopKAccuracy:update(labels, preds)
  labels, preds = check_lists('mx.metric.TopKAccuracy:update', labels, preds)
  for i = 1, #labels do
    self.sum_metric = self.sum_metric + core.metric_topk_hits(preds[i], labels[i], self.top_k)
    self.num_inst = self.num_inst + preds[i]:shape()[1]
  end
end

--- CrossEntropy{eps = 1e-12}: sum of -log(max(p[label], eps)) over rows.
local CrossEntropy = class('mx.metric.CrossEntropy', EvalMetric)
metric.CrossEntropy = CrossEntropy
function CrossEntropy:init(opts)
  options.check(opts, {'eps'}, 'mx.metric.CrossEntropy', 3)
  self.eps = type(opts) == 'table' and opts.eps or 1e-12
  EvalMetric.init(self, 'cross-entropy')
end
function CrossEntropy:update(labels, preds)
  labels, preds = check_lists('mx.metric.CrossEntropy:update', labels, preds)
  for i = 1, #labels do
    local l, p = flat(labels[i]), flat(preds[i])
    local n = #l
    local k = #p // n
    if k * n ~= #p then
      error(('mx.metric.CrossEntropy:update: %d labels for %d predicted values'):format(n, #p), 2)
    end
    for r = 1, n do
      local y = math.tointeger(l[r])
      if not y or y < 0 or y >= k then -- class ids: refused out of range, as take
        error(('mx.metric.CrossEntropy:update: label %s (at position %d) out of range for %d classes '
          .. '(expected an integer in 0..%d)'):format(tostring(l[r]), r - 1, k, k - 1), 2)
      end
      local prob = p[(r - 1) * k + y + 1]
      self.sum_metric = self.sum_metric - math.log(math.max(prob, self.eps))
    end
    self.num_inst = self.num_inst + n
  end
end

-- MAE, MSE, RMSE: one mean per batch (num_inst += 1), as MXNet's.
local function regression(name, cls_name, per_elem, finish)
  local cls = class(cls_name, EvalMetric)
  function cls:init() EvalMetric.init(self, name) end
  function cls:update(labels, preds)
    labels, preds = check_lists(cls_name .. ':update', labels, preds)
    for i = 1, #labels do
      local l, p = flat(labels[i]), flat(preds[i])
      if #l ~= #p then
        error(('%s:update: %d labels for %d predicted values'):format(cls_name, #l, #p), 2)
      end
      local s = 0
      for j = 1, #l do s = s + per_elem(l[j] - p[j]) end
      self.sum_metric = self.sum_metric + finish(s / #l)
      self.num_inst = self.num_inst + 1
    end
  end
  return cls
end
metric.MAE = regression('mae', 'mx.metric.MAE', math.abs, function(x) return x end)
metric.MSE = regression('mse', 'mx.metric.MSE', function(d) return d * d end, function(x) return x end)
metric.RMSE = regression('rmse', 'mx.metric.RMSE', function(d) return d * d end, math.sqrt)

--- F1(): binary classification (two columns of scores); one F1 per batch.
local F1 = class('mx.metric.F1', EvalMetric)
metric.F1 = F1
function F1:init() EvalMetric.init(self, 'f1') end
function F1:update(labels, preds)
  labels, preds = check_lists('mx.metric.F1:update', labels, preds)
  for i = 1, #labels do
    local l, p = flat(labels[i]), flat(preds[i])
    if #p ~= 2 * #l then
      error('mx.metric.F1:update: F1 currently only supports binary classification (two scores per row)', 2)
    end
    local tp, fp, fn = 0, 0, 0
    for r = 1, #l do
      local y = l[r]
      if y ~= 0 and y ~= 1 then
        error(('mx.metric.F1:update: labels must be 0 or 1 (got %g)'):format(y), 2)
      end
      local guess = p[2 * r] > p[2 * r - 1] and 1 or 0
      if guess == 1 and y == 1 then tp = tp + 1
      elseif guess == 1 then fp = fp + 1
      elseif y == 1 then fn = fn + 1 end
    end
    local precision = tp + fp > 0 and tp / (tp + fp) or 0
    local recall = tp + fn > 0 and tp / (tp + fn) or 0
    local f1 = precision + recall > 0 and 2 * precision * recall / (precision + recall) or 0
    self.sum_metric = self.sum_metric + f1
    self.num_inst = self.num_inst + 1
  end
end

--- CustomMetric(feval, name, allow_extra_outputs): feval(label, pred) gets
-- NDArrays and returns a sum, or a sum and a count.
local CustomMetric = class('mx.metric.CustomMetric', EvalMetric)
metric.CustomMetric = CustomMetric
function CustomMetric:init(feval, name, allow_extra_outputs)
  if type(feval) ~= 'function' then error('mx.metric.CustomMetric: feval must be a function', 3) end
  self.feval, self.allow_extra_outputs = feval, allow_extra_outputs
  EvalMetric.init(self, name or 'custom')
end
function CustomMetric:update(labels, preds)
  if not self.allow_extra_outputs then
    labels, preds = check_lists('mx.metric.CustomMetric:update', labels, preds)
  end
  for i = 1, #labels do
    local s, n = self.feval(labels[i], preds[i])
    self.sum_metric = self.sum_metric + s
    self.num_inst = self.num_inst + (n or 1)
  end
end

--- CompositeEvalMetric{metrics}: several metrics updated together; get()
-- returns a list of names and a list of values.
local Composite = class('mx.metric.CompositeEvalMetric', EvalMetric)
metric.CompositeEvalMetric = Composite
function Composite:init(metrics)
  self.metrics = {}
  self.name = 'composite'
  for _, m in ipairs(metrics or {}) do self:add(m) end
end
function Composite:add(m) self.metrics[#self.metrics + 1] = metric.create(m) end
function Composite:get_metric(i)
  local m = self.metrics[i]
  if not m then
    error(('mx.metric.CompositeEvalMetric:get_metric: no metric %s (there are %d)')
      :format(tostring(i), #self.metrics), 2)
  end
  return m
end
function Composite:reset() for _, m in ipairs(self.metrics or {}) do m:reset() end end
function Composite:update(labels, preds) for _, m in ipairs(self.metrics) do m:update(labels, preds) end end
function Composite:get()
  local names, values = {}, {}
  for _, m in ipairs(self.metrics) do
    for _, nv in ipairs(m:get_name_value()) do
      names[#names + 1], values[#values + 1] = nv[1], nv[2]
    end
  end
  return names, values
end

local aliases = {
  acc = metric.Accuracy, accuracy = metric.Accuracy, ce = metric.CrossEntropy, ['cross-entropy'] = metric.CrossEntropy,
  f1 = metric.F1, mae = metric.MAE, mse = metric.MSE, rmse = metric.RMSE, top_k_accuracy = metric.TopKAccuracy,
}

--- create(x, ...): a metric from a name ('acc', 'ce', 'f1', 'mae', 'mse', 'rmse',
-- 'top_k_accuracy'), a function (a CustomMetric), a metric, or a list (a composite).
function metric.create(x, ...)
  if type(x) == 'function' then return CustomMetric(x, ...) end
  if type(x) == 'string' then
    local cls = aliases[x:lower()]
    if not cls then
      error(('mx.metric.create: unknown metric %s (expected acc, accuracy, ce, cross-entropy, f1, mae, mse, rmse '
             .. 'or top_k_accuracy)'):format(x), 2)
    end
    return cls(...)
  end
  if type(x) == 'table' and getmetatable(x) and x.update then return x end
  if type(x) == 'table' then return Composite(x) end
  error('mx.metric.create: expected a metric name, function, metric or list (got ' .. type(x) .. ')', 2)
end

return metric
