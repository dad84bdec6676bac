--- mx.model: FeedForward (fit, predict, score, save, load, create) as MXNet's 2016
-- model.py, with its log lines; checkpoints in MXNet's formats (prefix-symbol.json,
-- prefix-%04d.params) plus the optimizer state (prefix-%04d.states), all atomic.
-- @module mx.model
local core = require 'mx.core'
local log = require 'mx.log'
local mxio = require 'mx.io'
local init = require 'mx.initializer'
local optimizer = require 'mx.optimizer'
local metric = require 'mx.metric'
local options = require 'mx.options'

local model = {}

local function cpu() return core.cpu(0) end

local is_context = require('mx.context').is_context

local function ctx_list(ctx, where)
  if ctx == nil then return {cpu()} end
  if is_context(ctx) then return {ctx} end
  if type(ctx) == 'table' and #ctx > 0 then
    for _, c in ipairs(ctx) do
      if not is_context(c) then error(where .. ': ctx must be a Context or a list of Contexts', 3) end
    end
    return ctx
  end
  error(where .. ': ctx must be a Context or a list of Contexts (got ' .. type(ctx) .. ')', 3)
end

local function ctx_str(list)
  local parts = {}
  for i, c in ipairs(list) do parts[i] = tostring(c) end
  return '[' .. table.concat(parts, ', ') .. ']'
end

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- ---- checkpoints ----

local function params_file(prefix, epoch) return ('%s-%04d.params'):format(prefix, epoch) end
local function states_file(prefix, epoch) return ('%s-%04d.states'):format(prefix, epoch) end

--- save_checkpoint(prefix, epoch, symbol, arg_params, aux_params[, updater]): writes
-- prefix-symbol.json and prefix-%04d.params ("arg:" / "aux:" keys), and with an
-- updater its state prefix-%04d.states, each atomically.
function model.save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, updater)
  core.file_write_atomic(prefix .. '-symbol.json', symbol:tojson())
  local arrays, names = {}, {}
  for _, part in ipairs{{'arg:', arg_params or {}}, {'aux:', aux_params or {}}} do
    local keys = {}
    for k in pairs(part[2]) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      arrays[#arrays + 1], names[#names + 1] = part[2][k], part[1] .. k
    end
  end
  local fname = params_file(prefix, epoch)
  core.params_save(fname, arrays, names)
  if updater then updater:save_states(states_file(prefix, epoch)) end
  log.info('Saved checkpoint to "%s"', fname)
end

--- load_checkpoint(prefix, epoch) -> symbol, arg_params, aux_params
function model.load_checkpoint(prefix, epoch, ctx)
  -- a missing or damaged file fails naming load_checkpoint and the file
  local function named(ok, ...)
    if ok then return ... end
    error('mx.model.load_checkpoint: ' .. (tostring((...)):gsub('^mx%.[%w.]+: ', '')), 3)
  end
  local symbol = named(pcall(require('mx.symbol').load, prefix .. '-symbol.json'))
  local arrays, names = named(pcall(core.params_load, params_file(prefix, epoch), ctx))
  if not names then error('mx.model.load_checkpoint: ' .. params_file(prefix, epoch) .. ' holds no names', 2) end
  local arg_params, aux_params = {}, {}
  for i, k in ipairs(names) do
    local kind, name = k:match('^(%a+):(.*)$')
    if kind == 'arg' then arg_params[name] = arrays[i]
    elseif kind == 'aux' then aux_params[name] = arrays[i]
    else error(('mx.model.load_checkpoint: %s: unknown key %s (expected arg:<name> or aux:<name>)'):format(
      params_file(prefix, epoch), k), 2) end
  end
  return symbol, arg_params, aux_params
end

-- ---- FeedForward ----

local FeedForward = {}
FeedForward.__index = FeedForward
FeedForward.__name = 'mx.model.FeedForward'
model.FeedForward = FeedForward

local OWN = set_of{'symbol', 'ctx', 'num_epoch', 'epoch_size', 'optimizer', 'initializer', 'numpy_batch_size',
                   'arg_params', 'aux_params', 'allow_extra_params', 'begin_epoch'}

--- FeedForward{symbol, ctx = mx.cpu(), num_epoch, epoch_size, optimizer = 'sgd',
--   initializer = mx.init.Uniform(0.01), numpy_batch_size = 128, arg_params,
--   aux_params, allow_extra_params = false, begin_epoch = 0, ...}: every other
-- key (learning_rate, momentum, wd, clip_gradient, lr_scheduler...) goes to the optimizer.
function FeedForward.new(opts)
  local where = 'mx.model.FeedForward'
  if type(opts) ~= 'table' then error(where .. ': expected a table of arguments', 3) end
  -- every other key goes to the optimizer: checked against its options, when they are known
  local own = {}
  for k in pairs(OWN) do own[#own + 1] = k end
  options.check(opts, {own, optimizer.options_of(opts.optimizer or 'sgd') or {}}, where, 3)
  if opts.symbol == nil then error(where .. ': symbol is required', 3) end
  local self = setmetatable({}, FeedForward)
  self.symbol = opts.symbol
  self.ctx = ctx_list(opts.ctx, where)
  self.num_epoch, self.epoch_size = opts.num_epoch, opts.epoch_size
  self.optimizer = opts.optimizer or 'sgd'
  self.initializer = opts.initializer or init.Uniform(0.01)
  self.numpy_batch_size = opts.numpy_batch_size or 128
  self.arg_params, self.aux_params = opts.arg_params, opts.aux_params
  self.allow_extra_params = opts.allow_extra_params or false
  self.begin_epoch = opts.begin_epoch or 0
  self.kwargs = {}
  for k, v in pairs(opts) do if not OWN[k] then self.kwargs[k] = v end end
  self.history = {}
  return self
end
setmetatable(FeedForward, {__call = function(_, opts) return FeedForward.new(opts) end})

-- An iterator from X (an iterator, or an NDArray with y).
function FeedForward:_init_iter(X, y, is_train)
  if core.nd.is_ndarray(X) then
    local n = X:shape()[1]
    if is_train and y == nil then error('mx.model.FeedForward:fit: y is required when X is an NDArray', 3) end
    return mxio.NDArrayIter{data = X, label = y, batch_size = math.min(n, self.numpy_batch_size),
                            shuffle = is_train, last_batch_handle = is_train and 'roll_over' or 'pad'}
  end
  if type(X) == 'table' and X.reset and X.next then return X end
  error('mx.model.FeedForward: X must be a DataIter or an NDArray (got ' .. type(X) .. ')', 3)
end

function FeedForward:_init_eval_iter(eval_data)
  if eval_data == nil then return nil end
  if type(eval_data) == 'table' and not eval_data.reset and #eval_data == 2 then
    local X, y = eval_data[1], eval_data[2]
    return mxio.NDArrayIter{data = X, label = y, batch_size = math.min(X:shape()[1], self.numpy_batch_size),
                            last_batch_handle = 'pad'}
  end
  return self:_init_iter(eval_data, nil, false)
end

-- Input shapes {name = shape} from an iterator's provide_data / provide_label.
local function input_shapes(iter)
  local shapes, names = {}, {}
  for _, list in ipairs{iter.provide_data or {}, iter.provide_label or {}} do
    for _, d in ipairs(list) do
      local name, shape = d.name or d[1], d.shape or d[2]
      shapes[name] = shape
      names[#names + 1] = name
    end
  end
  return shapes, names
end

-- Creates the parameters on the CPU (initialized, or copied from self.arg_params).
function FeedForward:_init_params(shapes)
  local sym = self.symbol
  local arg_shapes, _, aux_shapes = sym:infer_shape(shapes)
  if not arg_shapes then error('mx.model.FeedForward: cannot infer the parameter shapes from the input shapes', 3) end
  local arg_names, aux_names = sym:list_arguments(), sym:list_auxiliary_states()
  local param_names = {}
  for _, name in ipairs(arg_names) do
    if not shapes[name] then param_names[#param_names + 1] = name end
  end
  local arg_params, aux_params = {}, {}
  for i, name in ipairs(arg_names) do
    if not shapes[name] then
      local arr = core.nd.zeros(arg_shapes[i], cpu())
      if self.arg_params and self.arg_params[name] then arr:set(self.arg_params[name])
      else self.initializer(name, arr) end
      arg_params[name] = arr
    end
  end
  for i, name in ipairs(aux_names) do
    local arr = core.nd.zeros(aux_shapes[i], cpu())
    if self.aux_params and self.aux_params[name] then arr:set(self.aux_params[name])
    else self.initializer(name, arr) end
    aux_params[name] = arr
  end
  self.arg_params, self.aux_params = arg_params, aux_params
  return arg_names, param_names, aux_names
end

-- Binds an executor for the input shapes on ctx.
local function bind(sym, ctx, shapes, grad_req)
  local args = {ctx = ctx, grad_req = grad_req}
  for k, v in pairs(shapes) do args[k] = v end
  return sym:simple_bind(args)
end

-- Copies the executor's parameters into arg_params / aux_params (CPU copies).
local function copy_params_to(exe, arg_params, aux_params)
  local arg_dict, aux_dict = exe.arg_dict, exe.aux_dict or {}
  for name, arr in pairs(arg_params) do arr:set(arg_dict[name]) end
  for name, arr in pairs(aux_params) do if aux_dict[name] then arr:set(aux_dict[name]) end end
end

-- is array a on the CPU; do arrays a and b have one shape.
local function on_cpu(a) return a:context().device_type == 'cpu' end
local function same_shape(a, b)
  local sa, sb = a:shape(), b:shape()
  if #sa ~= #sb then return false end
  for i = 1, #sa do if sa[i] ~= sb[i] then return false end end
  return true
end

-- The per-batch input loader: puts a batch into the executor's inputs.
local function loader(exe, iter)
  local data_names, label_names = {}, {}
  for i, d in ipairs(iter.provide_data or {}) do data_names[i] = d.name or d[1] end
  for i, d in ipairs(iter.provide_label or {}) do label_names[i] = d.name or d[1] end
  local arg_dict = exe.arg_dict
  local data_arrs, label_arrs = {}, {}
  for i, n in ipairs(data_names) do
    data_arrs[i] = arg_dict[n]
    if not data_arrs[i] then error(('mx.model.FeedForward: the network has no input named %s'):format(n), 4) end
  end
  for i, n in ipairs(label_names) do label_arrs[i] = arg_dict[n] end -- a label the network lacks is skipped
  -- on the CPU an input of the argument's shape is read in place (Executor:_feed, no
  -- copy); anything else (another shape or context, a GPU executor) is copied as before.
  local arg_index, feeds = {}, exe._feed ~= nil and exe.arg_arrays[1] ~= nil and on_cpu(exe.arg_arrays[1])
  for i, a in ipairs(exe.arg_arrays) do arg_index[a] = i end
  local fits = setmetatable({}, {__mode = 'k'}) -- source array -> can be fed (checked once)
  local function put(a, src)
    local k = feeds and arg_index[a]
    local ok = k and fits[src]
    if k and ok == nil then
      ok = core.nd.is_ndarray(src) and on_cpu(src) and same_shape(a, src)
      fits[src] = ok
    end
    if ok then
      exe:_feed(k, src)
    else
      if k then exe:_feed(k, nil) end -- its own memory again before the copy
      a:set(src)
    end
  end
  return function(batch)
    for i, a in ipairs(data_arrs) do put(a, batch.data[i]) end
    for i, a in pairs(label_arrs) do if batch.label[i] then put(a, batch.label[i]) end end
  end
end

local function check_ctx(ctx)
  if core.check_context then
    local ok, err = core.check_context(ctx)
    if not ok and err then error('mx.model.FeedForward: ' .. tostring(ctx) .. ': ' .. tostring(err), 4) end
  end
end

-- ---- several contexts and a kvstore ----

-- The kvstore of a fit: none for one context and no 'mpi'/'dist' (MXNet's rule), else
-- mx.kvstore.create(name) or the KVStore given.
local function fit_kvstore(kv, num_ctx)
  if kv == nil then kv = 'local' end
  if type(kv) == 'string' then
    if num_ctx == 1 and not (kv == 'mpi' or kv:match('^dist')) then return nil end
    return require('mx.kvstore').create(kv)
  end
  if type(kv) == 'table' and kv.push and kv.pull then return kv end
  error('mx.model.FeedForward:fit: kvstore must be a kvstore name or an mx.kvstore.KVStore (got ' .. type(kv) .. ')', 3)
end

-- MXNet's _split_input_slice: {lo, hi} (1-based, inclusive) rows of the batch per context,
-- in proportion to work_load_list (default: equal parts).
local function split_slices(batch_size, n, work_load_list)
  local w = work_load_list or {}
  local total = 0
  for k = 1, n do
    w[k] = w[k] or 1
    total = total + w[k]
  end
  local sizes, sum = {}, 0
  for k = 1, n do
    sizes[k] = math.floor(w[k] * batch_size / total + 0.5)
    sum = sum + sizes[k]
  end
  sizes[n] = sizes[n] + batch_size - sum
  local slices, lo = {}, 1
  for k = 1, n do
    local hi = math.min(lo + sizes[k] - 1, batch_size)
    if hi < lo then
      error(('mx.model.FeedForward:fit: batch size %d is too small for %d contexts'):format(batch_size, n), 4)
    end
    slices[k] = {lo, hi}
    lo = hi + 1
  end
  return slices
end

-- One executor per context over its slice of each batch; the gradients of each parameter
-- pushed to the kvstore (summed, then the update), the new weights pulled into every executor.
local Parallel = {}
Parallel.__index = Parallel

local function parallel_trainer(self, kv, shapes, iter, param_names, work_load_list, no_hook)
  local bs = iter.batch_size
  local slices = split_slices(bs, #self.ctx, work_load_list)
  local par = setmetatable({kv = kv, exes = {}, slices = slices, keys = {}, grads = {}, weights = {}}, Parallel)
  par.data_names, par.label_names = {}, {}
  for i, d in ipairs(iter.provide_data or {}) do par.data_names[i] = d.name or d[1] end
  for i, d in ipairs(iter.provide_label or {}) do par.label_names[i] = d.name or d[1] end
  for k, c in ipairs(self.ctx) do
    check_ctx(c)
    local sub = {}
    for name, s in pairs(shapes) do
      local t = {table.unpack(s)}
      t[1] = slices[k][2] - slices[k][1] + 1
      sub[name] = t
    end
    local exe = bind(self.symbol, c, sub, 'write')
    exe:copy_params_from(self.arg_params, self.aux_params, true)
    par.exes[k] = exe
  end
  for i, name in ipairs(param_names) do
    par.keys[i], par.grads[i], par.weights[i] = i, {}, {}
    for k, exe in ipairs(par.exes) do
      par.grads[i][k] = exe.grad_dict[name]
      par.weights[i][k] = exe.arg_dict[name]
    end
  end
  local inits = {}
  for i, name in ipairs(param_names) do inits[i] = self.arg_params[name] end
  kv:init(par.keys, inits) -- with 'mpi', rank 0's initial weights for everyone
  kv:pull(par.keys, par.weights)
  -- 'mpi' with one context and no monitor (the hook is the executor's monitor): the gradients'
  -- all-reduce starts during backward, bucket by bucket ($MXLUA_MPI_OVERLAP=0: after it)
  if #par.exes == 1 and not no_hook and kv.overlap and os.getenv('MXLUA_MPI_OVERLAP') ~= '0' then
    local grads = {}
    for i = 1, #param_names do grads[i] = par.grads[i][1] end
    par.overlap = kv:overlap(par.exes[1], grads)
  end
  return par
end

-- Copies each context's slice of the batch into its executor; the label slices per context.
function Parallel:_load(batch)
  local labels = {}
  for k, exe in ipairs(self.exes) do
    local lo, hi = self.slices[k][1], self.slices[k][2]
    local args = exe.arg_dict
    for i, n in ipairs(self.data_names) do args[n]:set(batch.data[i]:slice(lo, hi)) end
    labels[k] = {}
    for i, n in ipairs(self.label_names) do
      if batch.label[i] then
        labels[k][i] = batch.label[i]:slice(lo, hi)
        if args[n] then args[n]:set(labels[k][i]) end
      end
    end
  end
  return labels
end

function Parallel:step(batch, eval_metric)
  local labels = self:_load(batch)
  if self.overlap then
    self.exes[1]:forward{is_train = true}
    self.overlap:backward()
    self.kv:_push_reduced(self.keys, self.grads)
  else
    for _, exe in ipairs(self.exes) do
      exe:forward{is_train = true}
      exe:backward()
    end
    self.kv:push(self.keys, self.grads)
  end
  self.kv:pull(self.keys, self.weights)
  for k, exe in ipairs(self.exes) do eval_metric:update(labels[k], exe.outputs) end
end

function Parallel:score(batch, eval_metric)
  local labels = self:_load(batch)
  for k, exe in ipairs(self.exes) do
    exe:forward{is_train = false}
    eval_metric:update(labels[k], exe.outputs)
  end
end

-- One executor on one context: the updater changes its weights in place, one fused call per batch.
-- It has what a trainer has (Parallel has the same): exes, step(batch, metric), score(batch, metric).
local Single = {}
Single.__index = Single

local function single_trainer(self, shapes, train_data, eval_data, param_names, updater)
  local exe = bind(self.symbol, self.ctx[1], shapes, 'write')
  exe:copy_params_from(self.arg_params, self.aux_params, true)
  local weights, grads = {}, {}
  for i, name in ipairs(param_names) do weights[i], grads[i] = exe.arg_dict[name], exe.grad_dict[name] end
  return setmetatable({exes = {exe}, exe = exe, outputs = exe.outputs, updater = updater, weights = weights,
                       grads = grads, load = loader(exe, train_data), eval_load = eval_data and loader(exe, eval_data)},
                      Single)
end

function Single:step(batch, eval_metric)
  self.load(batch)
  self.exe:forward(true) -- a boolean: no table per batch
  self.exe:backward()
  self.updater:update_all(self.grads, self.weights) -- one fused call for SGD
  eval_metric:update(batch.label, self.outputs)
end

function Single:score(batch, eval_metric)
  self.eval_load(batch)
  self.exe:forward(false)
  eval_metric:update(batch.label, self.outputs)
end

-- A list of callbacks: one callable alone, or nil.
local function callbacks(cbs)
  if cbs and (type(cbs) == 'function' or getmetatable(cbs)) then return {cbs} end
  return cbs
end

-- The optimizer of a fit: rescale_grad = 1/batch_size (with 'mpi', the batch size over all the
-- processes, as MXNet's dist_sync), the parameter names for the biases' zero weight decay.
local function fit_optimizer(self, batch_size, param_names)
  local opt = self.optimizer
  if type(opt) ~= 'string' then return opt end
  local kw = {}
  for k, v in pairs(self.kwargs) do kw[k] = v end
  kw.rescale_grad = kw.rescale_grad or 1 / batch_size
  kw.sym = self.symbol
  local idx2name = {}
  for i, name in ipairs(param_names) do idx2name[i] = name end
  kw.param_idx2name = idx2name
  return optimizer.create(opt, kw)
end

-- One epoch over train_data through trainer (epoch_size batches when set, resetting the
-- iterator at its end); returns the number of batches.
local function train_epoch(self, trainer, train_data, epoch, param, monitor, batch_cbs, logger)
  local nbatch, epoch_size = 0, self.epoch_size
  local eval_metric = param.eval_metric
  while true do
    local do_reset = true
    for batch in train_data do
      if monitor then monitor:tic() end
      trainer:step(batch, eval_metric)
      if monitor then monitor:toc_print() end
      nbatch = nbatch + 1
      if batch_cbs then
        param.nbatch = nbatch
        for _, cb in ipairs(batch_cbs) do cb(param) end
      end
      if epoch_size and nbatch >= epoch_size then
        do_reset = false
        break
      end
    end
    if do_reset then
      logger.info('Epoch[%d] Resetting Data Iterator', epoch)
      train_data:reset()
    end
    if epoch_size == nil or nbatch >= epoch_size then return nbatch end
  end
end

-- The metric over eval_data through trainer, logged; returns {name = value}.
local function evaluate(trainer, eval_data, epoch, param, eval_cbs, logger)
  local eval_metric = param.eval_metric
  eval_metric:reset()
  eval_data:reset()
  local eb = 0
  for batch in eval_data do
    trainer:score(batch, eval_metric)
    eb = eb + 1
    if eval_cbs then
      param.nbatch = eb
      for _, cb in ipairs(eval_cbs) do cb(param) end
    end
  end
  local values = {}
  for _, nv in ipairs(eval_metric:get_name_value()) do
    logger.info('Epoch[%d] Validation-%s=%f', epoch, nv[1], nv[2])
    values[nv[1]] = nv[2]
  end
  return values
end

local FIT_OPTIONS = {'X', 'y', 'eval_data', 'eval_metric', 'epoch_end_callback', 'batch_end_callback', 'kvstore',
                     'logger', 'work_load_list', 'monitor', 'eval_batch_end_callback', 'check_finite'}

--- fit{X, y, eval_data, eval_metric = 'acc', epoch_end_callback, batch_end_callback,
--   kvstore, logger, monitor, eval_batch_end_callback, check_finite}
-- check_finite = true: stop at the first NaN or Inf in an output, gradient or weight, naming it.
-- An epoch-end callback is called (epoch, symbol, arg_params, aux_params, updater): the updater
-- is the optimizer state (mx.callback.do_checkpoint saves it).
function FeedForward:fit(opts)
  local where = 'mx.model.FeedForward:fit'
  if type(opts) ~= 'table' then error(where .. ': expected a table of arguments', 2) end
  options.check(opts, FIT_OPTIONS, where, 2)
  if self.num_epoch == nil then error(where .. ': num_epoch is not set', 2) end
  local logger = opts.logger or log
  local train_data = self:_init_iter(opts.X, opts.y, true)
  local eval_data = self:_init_eval_iter(opts.eval_data)
  local eval_metric = metric.create(opts.eval_metric or 'acc')
  local shapes = input_shapes(train_data)
  local _, param_names = self:_init_params(shapes)
  local ctx = self.ctx[1]
  check_ctx(ctx)
  local kv = fit_kvstore(opts.kvstore, #self.ctx)

  local opt = fit_optimizer(self, train_data.batch_size * (kv and kv.num_workers or 1), param_names)
  local updater = optimizer.get_updater(opt)
  if self._resume_states then
    updater:load_states(self._resume_states, ctx)
    self._resume_states = nil
  end
  self._updater = updater

  logger.info('Start training with %s', ctx_str(self.ctx))
  -- the trainer: one executor per context updated through kv, or one updated in place
  local trainer
  if kv then
    kv:_set_updater(updater)
    trainer = parallel_trainer(self, kv, shapes, train_data, param_names, opts.work_load_list,
                               opts.monitor or opts.check_finite)
  else
    trainer = single_trainer(self, shapes, train_data, eval_data, param_names, updater)
  end
  local exe = trainer.exes[1]
  local monitor = opts.monitor
  if opts.check_finite then -- stop at the first NaN/Inf, naming the array
    -- without a monitor: one whose pattern matches no name, so it only checks and prints nothing
    monitor = monitor or require('mx.monitor').Monitor{interval = 1, pattern = '\1', check_finite = true}
    monitor.check_finite, monitor.where = true, where
  end
  if monitor then monitor:install(exe) end
  local batch_cbs, epoch_cbs = callbacks(opts.batch_end_callback), callbacks(opts.epoch_end_callback)
  local eval_cbs = callbacks(opts.eval_batch_end_callback)

  local param = {epoch = 0, nbatch = 0, eval_metric = eval_metric, locals = {model = self, executor = exe}}
  train_data:reset()
  for epoch = self.begin_epoch, self.num_epoch - 1 do
    local tic = core.now()
    eval_metric:reset()
    param.epoch = epoch
    train_epoch(self, trainer, train_data, epoch, param, monitor, batch_cbs, logger)
    local toc = core.now()
    local record = {epoch = epoch, train = {}, time = toc - tic}
    for _, nv in ipairs(eval_metric:get_name_value()) do
      logger.info('Epoch[%d] Train-%s=%f', epoch, nv[1], nv[2])
      record.train[nv[1]] = nv[2]
    end
    logger.info('Epoch[%d] Time cost=%.3f', epoch, toc - tic)
    copy_params_to(exe, self.arg_params, self.aux_params)
    self._last_epoch = epoch + 1
    if epoch_cbs then
      for _, cb in ipairs(epoch_cbs) do cb(epoch, self.symbol, self.arg_params, self.aux_params, updater) end
    end
    if eval_data then record.validation = evaluate(trainer, eval_data, epoch, param, eval_cbs, logger) end
    self.history[#self.history + 1] = record
  end
  return self
end

-- The predictor executor (grad_req 'null'), rebound when the input shapes change.
function FeedForward:_init_predictor(shapes)
  local key = {}
  for k, v in pairs(shapes) do key[#key + 1] = k .. '=' .. table.concat(v, 'x') end
  table.sort(key)
  key = table.concat(key, ';')
  if self._pred_exe and self._pred_key == key then
    self._pred_exe:copy_params_from(self.arg_params, self.aux_params, true)
    return self._pred_exe
  end
  local exe = bind(self.symbol, self.ctx[1], shapes, 'null')
  exe:copy_params_from(self.arg_params, self.aux_params, true)
  self._pred_exe, self._pred_key = exe, key
  return exe
end

local function data_shapes(iter)
  local shapes = {}
  for _, d in ipairs(iter.provide_data or {}) do shapes[d.name or d[1]] = d.shape or d[2] end
  return shapes
end

--- predict(X[, {num_batch, return_data, reset = true}]) -> NDArray (or a list
-- for several outputs); the padding of the last batch is dropped.
function FeedForward:predict(X, opts)
  opts = opts or {}
  options.check(opts, {'num_batch', 'reset', 'return_data'}, 'mx.model.FeedForward:predict', 2)
  if not self.arg_params then
    error('mx.model.FeedForward:predict: the model has no parameters (fit or load it first)', 2)
  end
  local iter = self:_init_iter(X, nil, false)
  if opts.reset ~= false then iter:reset() end
  local exe = self:_init_predictor(data_shapes(iter))
  -- the inputs as fit feeds them: read in place where they can be, else copied (no labels)
  local load = loader(exe, {provide_data = iter.provide_data})
  local outputs = exe.outputs
  local parts, datas, labels = {}, {}, {}
  for i = 1, #outputs do parts[i] = {} end
  local nb = 0
  for batch in iter do
    if opts.num_batch and nb >= opts.num_batch then break end
    load(batch)
    exe:forward(false)
    local keep = iter.batch_size - (batch.pad or 0)
    for i, out in ipairs(outputs) do parts[i][#parts[i] + 1] = out:slice(1, keep):copy() end
    if opts.return_data then
      datas[#datas + 1] = batch.data[1]:slice(1, keep):copy()
      if batch.label[1] then labels[#labels + 1] = batch.label[1]:slice(1, keep):copy() end
    end
    nb = nb + 1
  end
  local results = {}
  for i = 1, #outputs do
    results[i] = #parts[i] == 1 and parts[i][1] or core.nd.concat(parts[i])
  end
  local out = #results == 1 and results[1] or results
  if opts.return_data then
    local d = #datas == 1 and datas[1] or core.nd.concat(datas)
    local l = #labels > 0 and (#labels == 1 and labels[1] or core.nd.concat(labels)) or nil
    return out, d, l
  end
  return out
end

--- score(X[, eval_metric = 'acc'[, {num_batch, batch_end_callback, reset = true}]]) -> the metric's value
function FeedForward:score(X, eval_metric, opts)
  opts = opts or {}
  options.check(opts, {'num_batch', 'reset', 'batch_end_callback'}, 'mx.model.FeedForward:score', 2)
  if not self.arg_params then
    error('mx.model.FeedForward:score: the model has no parameters (fit or load it first)', 2)
  end
  local m = metric.create(eval_metric or 'acc')
  m:reset()
  local iter = self:_init_iter(X, nil, false)
  if opts.reset ~= false then iter:reset() end
  local shapes = data_shapes(iter)
  local exe = self:_init_predictor(shapes)
  local arg_dict = exe.arg_dict
  local data_arrs = {}
  for i, d in ipairs(iter.provide_data) do data_arrs[i] = arg_dict[d.name or d[1]] end
  local outputs = exe.outputs
  local nb = 0
  local param = {epoch = 0, nbatch = 0, eval_metric = m, locals = {model = self}}
  for batch in iter do
    if opts.num_batch and nb >= opts.num_batch then break end
    for i, a in ipairs(data_arrs) do a:set(batch.data[i]) end
    exe:forward{is_train = false}
    m:update(batch.label, outputs)
    nb = nb + 1
    if opts.batch_end_callback then
      param.nbatch = nb
      opts.batch_end_callback(param)
    end
  end
  local _, value = m:get()
  return value
end

--- save(prefix[, epoch = num_epoch]): prefix-symbol.json, prefix-%04d.params and,
-- once fit has run, the optimizer state prefix-%04d.states (all atomic).
function FeedForward:save(prefix, epoch)
  epoch = epoch or self.num_epoch
  if not epoch then error('mx.model.FeedForward:save: no epoch given and num_epoch is not set', 2) end
  if not self.arg_params then
    error('mx.model.FeedForward:save: the model has no parameters (fit or load it first)', 2)
  end
  model.save_checkpoint(prefix, epoch, self.symbol, self.arg_params, self.aux_params, self._updater)
end

--- FeedForward.load(prefix, epoch[, {ctx = ..., num_epoch = ..., ...}]): a model
-- from a checkpoint, with begin_epoch = epoch; fit then resumes exactly when
-- prefix-%04d.states is there.
function FeedForward.load(prefix, epoch, opts)
  local sym, arg_params, aux_params = model.load_checkpoint(prefix, epoch)
  local kw = {}
  for k, v in pairs(opts or {}) do kw[k] = v end
  kw.symbol, kw.arg_params, kw.aux_params, kw.begin_epoch = sym, arg_params, aux_params, epoch
  local m = FeedForward.new(kw)
  local sf = states_file(prefix, epoch)
  -- stat, not open: opening a FIFO there would wait for a writer forever; anything but a folder
  -- goes to the loader, which refuses what is not a regular file, naming it
  local mode = require('lfs').attributes(sf, 'mode')
  if mode and mode ~= 'directory' then m._resume_states = sf end
  return m
end

--- FeedForward.create{symbol, X, y, ctx, num_epoch, epoch_size, optimizer, initializer,
--   eval_data, eval_metric, epoch_end_callback, batch_end_callback, kvstore, logger, ...}:
-- builds a model and fits it.
function FeedForward.create(opts)
  local fit_keys = set_of(FIT_OPTIONS)
  local ctor, fit = {}, {}
  for k, v in pairs(opts) do
    if fit_keys[k] then fit[k] = v else ctor[k] = v end
  end
  local m = FeedForward.new(ctor)
  m:fit(fit)
  return m
end

return model
