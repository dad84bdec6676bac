--- mx.init (mx.initializer): parameter initializers with MXNet's suffix
-- dispatch (bias 0, gamma 1, beta 0, weight by the initializer, moving_mean 0,
-- moving_var 1); Uniform, Normal, Xavier, Constant, Zero, One, Mixed, Load.
-- @module mx.initializer

-- luacheck: ignore 212/self
local core = require 'mx.core'
local options = require 'mx.options'
local class = require 'mx.class'

local init = {}

local Initializer = class('mx.init.Initializer')
init.Initializer = Initializer
init.class = class
-- an initializer is callable, init(name, arr), and prints as its class's name
Initializer.__call = function(self, ...) return self:call(...) end
Initializer.__tostring = function(self) return self.__name end

function Initializer:init() end

local function ends(s, suffix) return suffix == '' or s:sub(-#suffix) == suffix end

--- init(name, arr): fills arr in place according to its name.
function Initializer:call(name, arr)
  if type(name) ~= 'string' then
    error(('%s: the first argument must be the array name (got %s)'):format(self.__name, type(name)), 3)
  end
  if not core.nd.is_ndarray(arr) then
    error(('%s: the second argument must be an NDArray (got %s)'):format(self.__name, type(arr)), 3)
  end
  if name:sub(1, 10) == 'upsampling' then self:_init_bilinear(name, arr)
  elseif ends(name, 'bias') then self:_init_bias(name, arr)
  elseif ends(name, 'gamma') then self:_init_gamma(name, arr)
  elseif ends(name, 'beta') then self:_init_beta(name, arr)
  elseif ends(name, 'weight') then self:_init_weight(name, arr)
  elseif ends(name, 'moving_mean') then self:_init_zero(name, arr)
  elseif ends(name, 'moving_var') then self:_init_one(name, arr)
  elseif ends(name, 'moving_inv_var') then self:_init_zero(name, arr)
  elseif ends(name, 'moving_avg') then self:_init_zero(name, arr)
  else self:_init_default(name, arr) end
end

function Initializer:_init_zero(_, arr) arr:set(0) end
function Initializer:_init_one(_, arr) arr:set(1) end
function Initializer:_init_bias(_, arr) arr:set(0) end
function Initializer:_init_gamma(_, arr) arr:set(1) end
function Initializer:_init_beta(_, arr) arr:set(0) end
function Initializer:_init_weight(name)
  error(('%s: no weight rule (for %s): use a subclass'):format(self.__name, name), 4)
end
function Initializer:_init_default(name)
  error(('%s: unknown initialization pattern for %s (expected a name ending in weight, bias, gamma, beta, '
         .. 'moving_mean or moving_var)'):format(self.__name, name), 4)
end

-- The bilinear upsampling kernel (MXNet's _init_bilinear), set from the host.
function Initializer:_init_bilinear(_, arr)
  local shape = arr:shape()
  local n = arr:size()
  local w, h = shape[#shape], shape[#shape - 1] or 1
  local f = math.ceil(w / 2)
  local c = (2 * f - 1 - f % 2) / (2 * f)
  local flat = {}
  for i = 0, n - 1 do
    local x, y = i % w, (i // w) % h
    flat[i + 1] = (1 - math.abs(x / f - c)) * (1 - math.abs(y / f - c))
  end
  arr:set(core.nd.array(flat):reshape(shape))
end

--- Uniform(scale = 0.07): U(-scale, scale).
local Uniform = class('mx.init.Uniform', Initializer)
init.Uniform = Uniform
function Uniform:init(scale)
  if type(scale) == 'table' then scale = options.check(scale, {'scale'}, 'mx.init.Uniform', 3).scale end
  self.scale = scale or 0.07
end
function Uniform:_init_weight(_, arr) core.random.uniform(-self.scale, self.scale, arr) end

--- Normal(sigma = 0.01): N(0, sigma).
local Normal = class('mx.init.Normal', Initializer)
init.Normal = Normal
function Normal:init(sigma)
  if type(sigma) == 'table' then sigma = options.check(sigma, {'sigma'}, 'mx.init.Normal', 3).sigma end
  self.sigma = sigma or 0.01
end
function Normal:_init_weight(_, arr) core.random.normal(0, self.sigma, arr) end

--- Constant(value): every weight set to value.
local Constant = class('mx.init.Constant', Initializer)
init.Constant = Constant
function Constant:init(value)
  if type(value) == 'table' then value = options.check(value, {'value'}, 'mx.init.Constant', 3).value end
  if type(value) ~= 'number' then error('mx.init.Constant: value must be a number (got ' .. type(value) .. ')', 3) end
  self.value = value
end
function Constant:_init_weight(_, arr) arr:set(self.value) end

--- Zero() and One(): weights 0 or 1.
init.Zero = class('mx.init.Zero', Initializer)
function init.Zero:_init_weight(_, arr) arr:set(0) end
init.One = class('mx.init.One', Initializer)
function init.One:_init_weight(_, arr) arr:set(1) end

--- Xavier{rnd_type = 'uniform' | 'gaussian', factor_type = 'avg' | 'in' | 'out', magnitude = 3}
local Xavier = class('mx.init.Xavier', Initializer)
init.Xavier = Xavier
function Xavier:init(opts)
  opts = opts or {}
  options.check(opts, {'rnd_type', 'factor_type', 'magnitude'}, 'mx.init.Xavier', 3)
  self.rnd_type = opts.rnd_type or 'uniform'
  self.factor_type = opts.factor_type or 'avg'
  self.magnitude = opts.magnitude or 3
  if self.rnd_type ~= 'uniform' and self.rnd_type ~= 'gaussian' then
    error("mx.init.Xavier: rnd_type must be 'uniform' or 'gaussian' (got " .. tostring(self.rnd_type) .. ')', 3)
  end
  if self.factor_type ~= 'avg' and self.factor_type ~= 'in' and self.factor_type ~= 'out' then
    error("mx.init.Xavier: factor_type must be 'avg', 'in' or 'out' (got " .. tostring(self.factor_type) .. ')', 3)
  end
end
function Xavier:_init_weight(_, arr)
  local shape = arr:shape()
  -- MXNet: fan_in = shape[1] * hw, fan_out = shape[0] * hw, hw the kernel's area (1 for a matrix)
  local hw = 1
  for i = 3, #shape do hw = hw * shape[i] end
  local fan_in, fan_out = (shape[2] or 1) * hw, shape[1] * hw
  local factor = ({avg = (fan_in + fan_out) / 2, ['in'] = fan_in, out = fan_out})[self.factor_type]
  local scale = math.sqrt(self.magnitude / factor)
  if self.rnd_type == 'uniform' then
    core.random.uniform(-scale, scale, arr)
  else
    core.random.normal(0, scale, arr)
  end
end

--- Mixed(patterns, initializers): the first Lua pattern that matches the name picks the initializer.
local Mixed = class('mx.init.Mixed', Initializer)
init.Mixed = Mixed
function Mixed:init(patterns, initializers)
  if type(patterns) ~= 'table' or type(initializers) ~= 'table' or #patterns ~= #initializers then
    error('mx.init.Mixed: expected two lists of the same length (patterns, initializers)', 3)
  end
  self.map = {}
  for i, p in ipairs(patterns) do self.map[i] = {p, initializers[i]} end
end
function Mixed:call(name, arr)
  for _, pi in ipairs(self.map) do
    if name:match(pi[1]) then return pi[2](name, arr) end
  end
  error(('mx.init.Mixed: %s matches none of the patterns (add a ".*" pattern as a default)'):format(name), 3)
end

--- Load(param, default_init, verbose): values from a table name -> NDArray (or
-- a .params file name); "arg:" and "aux:" prefixes are dropped; names not
-- found go to default_init.
local Load = class('mx.init.Load', Initializer)
init.Load = Load
function Load:init(param, default_init, verbose)
  if type(param) == 'string' then param = require('mx.io').load(param) end
  self.param = {}
  for k, v in pairs(param) do
    local name = type(k) == 'string' and (k:match('^arg:(.*)') or k:match('^aux:(.*)')) or k
    self.param[name] = v
  end
  self.default_init, self.verbose = default_init, verbose
end
function Load:call(name, arr)
  local src = self.param[name]
  if src then
    local a, b = src:shape(), arr:shape()
    if table.concat(a, ',') ~= table.concat(b, ',') then
      error(('mx.init.Load: parameter %s cannot be initialized from loading: shape (%s) does not match (%s)')
        :format(name, table.concat(a, ','), table.concat(b, ',')), 3)
    end
    arr:set(src)
    if self.verbose then require('mx.log').info('Initialized %s by loading', name) end
  else
    if not self.default_init then
      error(('mx.init.Load: cannot initialize %s: not found in the loaded parameters and no default initializer given')
        :format(name), 3)
    end
    self.default_init(name, arr)
    if self.verbose then require('mx.log').info('Initialized %s by default', name) end
  end
end

return init
