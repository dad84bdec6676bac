--- mx: the mxlua Lua module. `local mx = require 'mx'` (mxlua preloads it as
-- the global `mx`). Each submodule holds one concern; this file gathers them.
-- @module mx
local mx = {}
mx.core = require 'mx.core'
-- The collector's mode is the program's to choose (lua5.4 runs generational, mxlua
-- incremental): mx leaves it as it is. Array memory lives outside the Lua heap; the
-- bindings pace the collector by it (bindings_util.c), so temporaries are collected at
-- the pace they are made under either mode.
mx.__version__ = mx.core.version
mx.runtime = require 'mx.runtime' -- what this build has
mx.features = mx.runtime.Features

mx.class = require 'mx.class' -- the class helper of every mx class
mx.context = require 'mx.context'
mx.cpu, mx.gpu = mx.context.cpu, mx.context.gpu
mx.nd = require 'mx.ndarray'
mx.ndarray = mx.nd
mx.random = require 'mx.random'
mx.symbol = require 'mx.symbol'
mx.sym = mx.symbol
mx.io = require 'mx.io'
mx.init = require 'mx.initializer'
mx.initializer = mx.init
mx.lr_scheduler = require 'mx.lr_scheduler'
mx.optimizer = require 'mx.optimizer'
mx.metric = require 'mx.metric'
mx.callback = require 'mx.callback'
mx.log = require 'mx.log'
mx.model = require 'mx.model'
mx.mon = require 'mx.monitor'
mx.monitor = mx.mon
mx.operator = require 'mx.operator'
mx.viz = require 'mx.viz'
mx.test_utils = require 'mx.test_utils'
mx.kvstore = require 'mx.kvstore' -- KVStore 'local', 'device', 'nccl', 'mpi'
mx.kv = mx.kvstore

return mx
