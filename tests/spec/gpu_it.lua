-- gpu_it.lua: the one way a spec declares a test that needs a CUDA device (a helper the specs
-- require, not a spec). `local gpu_it = require('gpu_it')()` checks gpu(0);
-- `require('gpu_it')(usable, why)` takes the spec's own answer (more GPUs, NCCL, a stand-in).
-- gpu_it(name, fn) is busted's it() where the device is usable; otherwise a visible pending
-- ("skipped: no CUDA device"), or, under MXLUA_REQUIRE_GPU=1 (make test-gpu, make test-gpu-emu),
-- a failing test that says why: a GPU run never passes by skipping.
local mx = require 'mx'
local busted = require 'busted' -- (it and pending live in the specs' environment, not in _G)

return function(usable, why)
  if usable == nil then usable, why = mx.context.check(mx.gpu(0)) end
  return function(name, fn)
    if usable then
      busted.it(name, fn)
    elseif os.getenv('MXLUA_REQUIRE_GPU') == '1' then
      busted.it(name, function() error('no CUDA device: ' .. tostring(why), 0) end)
    else
      busted.pending('skipped: no CUDA device')
    end
  end
end
