--- mx.random: the process-wide seedable generator: seed(n), uniform(low, high,
-- shape[, ctx]), normal(mean, std, shape[, ctx]); passing an NDArray instead of
-- a shape fills it in place (and returns it).
-- @module mx.random
local core = require 'mx.core'

local M = {}

M.seed = core.random.seed
M.uniform = core.random.uniform
M.normal = core.random.normal

return M
