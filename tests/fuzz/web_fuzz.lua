-- web_fuzz.lua: one fuzz input through the web page's request path: mx.web.server's head parser,
-- then mx.web.handler's routes (the PNG and pixel decoders included). Returns the function that
-- tests/fuzz/fuzz_web.c (libFuzzer) and tests/spec/fuzz_regressions_spec.lua call; it raises on misbehaviour.
local server = require 'mx.web.server'
local handler = require 'mx.web.handler'

local function classify(img)
  local shape = img:shape()
  assert(shape[1] == 28 and shape[2] == 28, 'classify got a ' .. table.concat(shape, 'x') .. ' image')
  local p = {}
  for i = 1, 10 do p[i] = 0.1 end
  return p
end

local h = handler.new{classify = classify, model_info = {name = 'fuzz'}, page = '<html></html>'}

return function(data)
  local head_end = data:find('\r\n\r\n', 1, true)
  local head, body = data, ''
  if head_end then head, body = data:sub(1, head_end + 3), data:sub(head_end + 4) end
  local req, status, msg = server.parse_head(head)
  if not req then
    assert(math.type(status) == 'integer' and type(msg) == 'string', 'parse_head failed without a status')
    return
  end
  req.body = body
  local resp = h(req)
  assert(type(resp) == 'table' and math.type(resp.status) == 'integer' and type(resp.body) == 'string',
    'the handler answered something other than a response')
end
