-- index_check_failed.lua (tests/cuda_emu/run.sh): run on an emulated GPU of 4,020 bytes
-- (MXLUA_EMU_GPU_BYTES), where the index check of take and of one_hot cannot get its word of
-- device memory: each call must fail with that error, not read the failed check as "every index
-- valid" (one_hot did: its failure surfaced later, in whatever call synchronised next).
local mx = require 'mx'
local g = mx.gpu(0)
local failed = 0
local function expect_failure(what, f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    print(what .. ' passed although its index check could not run')
    failed = failed + 1
  else
    print(err)
  end
end
do
  local x, idx = mx.nd.zeros({1000}, g), mx.nd.zeros({2}, g) -- 4,008 bytes, the output 8 more
  expect_failure('take', mx.nd.take, x, idx)
end
collectgarbage()
expect_failure('one_hot', mx.nd.one_hot, mx.nd.zeros({2}, g), 500) -- 8 bytes, the output 4,000 more
os.exit(failed == 0 and 0 or 1)
