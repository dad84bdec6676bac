--- mx.runtime: what this build has, as MXNet's mx.runtime: Features() (also mx.features()),
-- feature_list(), and describe() for `mxlua -v` and the REPL banner.
-- @module mx.runtime
local core = require 'mx.core'

local runtime = {}

local Feature = {}
Feature.__index = Feature
Feature.__name = 'mx.runtime.Feature'
function Feature.__tostring(f)
  return (f.enabled and '✔ ' or '✖ ') .. f.name .. (f.off_on_request and ' (turned off)' or '')
end

local Features = {}
Features.__index = Features
Features.__name = 'mx.runtime.Features'

--- Features() -> the build's features in order (CUDA, CUBLAS, NCCL, MPI, BLIS, LIBXSMM,
-- OPENBLAS, AVX2), each {name, enabled, off_on_request, detail}, also indexed by name.
function runtime.Features()
  local fs = setmetatable({}, Features)
  for i, f in ipairs(core.features()) do
    fs[i] = setmetatable(f, Feature)
    fs[f.name] = fs[i]
  end
  return fs
end

--- features:is_enabled(name): whether the build has that feature (an unknown name is an error).
function Features:is_enabled(name)
  local f = rawget(self, name)
  if not f then
    local names = {}
    for _, g in ipairs(self) do names[#names + 1] = g.name end
    error(('mx.runtime.Features: no feature %q (features: %s)'):format(tostring(name), table.concat(names, ', ')), 2)
  end
  return f.enabled
end

function Features:__tostring()
  local parts = {}
  for _, f in ipairs(self) do parts[#parts + 1] = tostring(f) end
  return '[' .. table.concat(parts, ', ') .. ']'
end

--- feature_list() -> the features as a list (MXNet's mx.runtime.feature_list()).
function runtime.feature_list()
  local list = {}
  for i, f in ipairs(runtime.Features()) do list[i] = f end
  return list
end

--- describe() -> the lines `mxlua -v` prints after its first: the features, OpenBLAS and AVX2 details.
function runtime.describe()
  local fs = runtime.Features()
  return ('features: %s\nOpenBLAS: %s\nAVX2 paths: %s'):format(tostring(fs), fs.OPENBLAS.detail, fs.AVX2.detail)
end

return runtime
