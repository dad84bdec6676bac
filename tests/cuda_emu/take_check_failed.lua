-- take_check_failed.lua (tests/cuda_emu/run.sh): run on an emulated GPU of 4,020 bytes
-- (MXLUA_EMU_GPU_BYTES), where take's index check cannot get its word of device memory:
-- the call must fail with that error, not read the failed check as "every index valid".
local mx = require 'mx'
local g = mx.gpu(0)
local x = mx.nd.zeros({1000}, g)
local idx = mx.nd.zeros({2}, g)
local ok, err = pcall(mx.nd.take, x, idx)
if ok then
  print('take passed although its index check could not run')
  os.exit(1)
end
print(err)
