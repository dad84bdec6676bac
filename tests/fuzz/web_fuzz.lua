-- web_fuzz.lua: one fuzz input through the draw-a-digit page's routes (draw_digit.handler, with its
-- JSON, base64, PNG and pixel decoding). The input is a raw HTTP request: its request line picks
-- the route and what follows the head is the body (the rest of HTTP is libmicrohttpd's, fuzzed
-- upstream). Returns the function that tests/fuzz/fuzz_web.c (libFuzzer) and
-- tests/spec/fuzz_regressions_spec.lua call; it raises on misbehaviour.
local root = debug.getinfo(1, 'S').source:match('^@(.*)/tests/fuzz/[^/]*$') or '.'
package.path = root .. '/scripts/?.lua;' .. package.path
if not package.preload['draw_digit.native'] then -- fuzz_web.c links it in; elsewhere, the build's
  package.cpath = root .. '/' .. (os.getenv('MXLUA_BUILD_DIR') or 'build') .. '/?.so;' .. package.cpath
end
local handler = require 'draw_digit.handler'

local function classify(img)
  local shape = img:shape()
  assert(shape[1] == 28 and shape[2] == 28, 'classify got a ' .. table.concat(shape, 'x') .. ' image')
  local p = {}
  for i = 1, 10 do p[i] = 0.1 end
  return p
end

local h = handler.new{classify = classify, model_info = {name = 'fuzz'}, page = '<html></html>'}

return function(data)
  local method, path = data:match('^(%u+) ([^ \r\n?#]*)')
  if not method then return end -- libmicrohttpd answers these itself
  local head_end = data:find('\r\n\r\n', 1, true)
  local req = {method = method, path = path, headers = {}, body = head_end and data:sub(head_end + 4) or ''}
  local resp = h(req)
  assert(type(resp) == 'table' and math.type(resp.status) == 'integer' and type(resp.body) == 'string',
    'the handler answered something other than a response')
end
