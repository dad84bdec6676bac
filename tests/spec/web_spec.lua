-- web_spec: the draw-a-digit web API (scripts/draw_digit/): the handler with good and bad
-- requests, the PNG path on valid and broken files, and the libmicrohttpd server over loopback
-- (a 200-request load test from 4 concurrent clients; 200 stalled connections held 5 s while a
-- client is served; malformed, oversize, slow and half-closed clients; Ctrl-C).
local mx = require 'mx'
local cjson = require 'cjson'
local socket = require 'socket'
require 'draw_digit_paths'
local handler = require 'draw_digit.handler'

---- a small PNG writer (stored deflate blocks), independent of the decoder under test ----
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1) == 1 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  crc_table[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end
local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do a = (a + s:byte(i)) % 65521; b = (b + a) % 65521 end
  return (b << 16) | a
end
local function chunk(kind, data)
  return string.pack('>I4', #data) .. kind .. data .. string.pack('>I4', crc32(kind .. data))
end
-- rows: h rows of w pixels, each pixel a table of `channels` bytes; color_type 0 (gray), 4 (GA), 6 (RGBA).
local function make_png(w, h, color_type, pixel)
  local raw = {}
  for y = 0, h - 1 do
    raw[#raw + 1] = '\0'
    for x = 0, w - 1 do raw[#raw + 1] = string.char(table.unpack(pixel(x, y))) end
  end
  raw = table.concat(raw)
  local z = {'\120\1'}
  for i = 1, #raw, 65535 do
    local block = raw:sub(i, i + 65534)
    local final = (i + 65535 > #raw) and 1 or 0
    z[#z + 1] = string.char(final) .. string.pack('<I2<I2', #block, (~#block) & 0xFFFF) .. block
  end
  z[#z + 1] = string.pack('>I4', adler32(raw))
  return handler.PNG_SIGNATURE .. chunk('IHDR', string.pack('>I4>I4BBBBB', w, h, 8, color_type, 0, 0, 0))
    .. chunk('IDAT', table.concat(z)) .. chunk('IEND', '')
end

local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = (a << 16) | ((b or 0) << 8) | (c or 0)
    local q = {}
    for k = 1, 4 do
      local idx = (v >> (6 * (4 - k))) & 63
      q[k] = B64:sub(idx + 1, idx + 1)
    end
    if not b then q[3], q[4] = '=', '=' elseif not c then q[4] = '=' end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

-- A drawing like the page's: a thick 7 on a transparent w x h canvas (RGBA, black ink).
local function seven_rgba(w)
  local function ink(x, y)
    local s = w / 100
    local function seg(ax, ay, bx, by)
      ax, ay, bx, by = ax * s, ay * s, bx * s, by * s
      local dx, dy = bx - ax, by - ay
      local t = math.max(0, math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
      local ex, ey = ax + t * dx - x, ay + t * dy - y
      return ex * ex + ey * ey <= (4 * s) ^ 2
    end
    return seg(25, 20, 70, 20) or seg(70, 20, 40, 85)
  end
  return function(x, y) return ink(x, y) and {0, 0, 0, 255} or {0, 0, 0, 0} end
end

---- the handler, without sockets ----
local seen
local function fake_model(img)
  seen = img
  local p = {}
  for i = 1, 10 do p[i] = (i == 8) and 0.91 or 0.01 end
  return p
end
local h = handler.new{classify = fake_model, model_info = {name = 'test model', epoch = 3}}

local function post(body) return h{method = 'POST', path = '/api/classify', body = body} end
local function decoded(resp) return cjson.decode(resp.body) end
local function assert_error(resp, status, pattern)
  assert.are.equal(status, resp.status)
  assert.are.equal('application/json', resp.headers['Content-Type'])
  local e = decoded(resp)
  assert.are.equal(status, e.status)
  assert.is_string(e.error)
  if pattern then assert.is_truthy(e.error:find(pattern, 1, true), e.error) end
end

describe('draw_digit.handler', function()
  it('serves the page at / with everything inline', function()
    local r = h{method = 'GET', path = '/'}
    assert.are.equal(200, r.status)
    assert.is_truthy(r.headers['Content-Type']:find('text/html'))
    for _, part in ipairs{'<canvas id="pad"', 'id="classify"', 'id="clear"', 'id="digit"', 'id="bars"',
                          'pointerdown', 'pointerup', '/api/classify'} do
      assert.is_truthy(r.body:find(part, 1, true), part)
    end
    assert.is_nil(r.body:find('src="http', 1, true))
    assert.is_nil(r.body:find('href="http', 1, true))
  end)

  it('describes the model at /api/model', function()
    local r = h{method = 'GET', path = '/api/model'}
    assert.are.equal(200, r.status)
    assert.are.same({name = 'test model', epoch = 3}, decoded(r))
  end)

  it('classifies pixels: the model gets the 28x28 preprocessed image', function()
    local w, hh = 40, 30
    local px = {}
    for i = 1, w * hh do px[i] = 0 end
    for y = 5, 24 do for x = 10, 13 do px[y * w + x + 1] = 1 end end -- a 20 x 4 stroke
    local r = post(cjson.encode{pixels = px, width = w, height = hh})
    assert.are.equal(200, r.status)
    local body = decoded(r)
    assert.are.equal(7, body.digit)                 -- 0-based: the 8th probability is largest
    assert.are.equal(10, #body.probabilities)
    assert.are.same({28, 28}, seen:shape())
    -- 4 x 20 stays 4 x 20, mass centre (10, 2) -> rows 4..23, columns 12..15.
    assert.are.equal(784, #body.image)
    for y = 0, 27 do
      for x = 0, 27 do
        local want = (y >= 4 and y <= 23 and x >= 12 and x <= 15) and 1 or 0
        assert.are.equal(want, body.image[y * 28 + x + 1])
      end
    end
  end)

  it('classifies a PNG data URL drawn on a transparent canvas', function()
    local png = make_png(100, 100, 6, seven_rgba(100))
    local r = post(cjson.encode{png = 'data:image/png;base64,' .. base64(png)})
    assert.are.equal(200, r.status, r.body)
    -- The same drawing as pixels (the alpha) gives the same 28x28 image.
    local px, draw = {}, seven_rgba(100)
    for y = 0, 99 do for x = 0, 99 do px[y * 100 + x + 1] = draw(x, y)[4] / 255 end end
    local r2 = post(cjson.encode{pixels = px, width = 100, height = 100})
    assert.are.same(decoded(r2).image, decoded(r).image)
    -- Dark ink on white paper, opaque gray, bare base64: the same again.
    local paper = make_png(100, 100, 0, function(x, y) return {255 - draw(x, y)[4]} end)
    assert.are.same(decoded(r).image, decoded(post(cjson.encode{png = base64(paper)})).image)
    -- Gray + alpha (colour type 4), transparent: the alpha again.
    local ga = make_png(100, 100, 4, function(x, y) return {0, draw(x, y)[4]} end)
    assert.are.same(decoded(r).image, decoded(post(cjson.encode{png = base64(ga)})).image)
    -- RGB (colour type 2), blue ink on white paper: its darkness is the ink.
    local rgb = make_png(100, 100, 2, function(x, y)
      return draw(x, y)[4] > 0 and {20, 40, 200} or {255, 255, 255}
    end)
    local blue = decoded(post(cjson.encode{png = base64(rgb)}))
    local same_place, brightest = true, 0
    for i, v in ipairs(decoded(r).image) do
      if (v > 0) ~= (blue.image[i] > 0) then same_place = false end
      brightest = math.max(brightest, blue.image[i])
    end
    assert.is_true(same_place)
    assert.is_true(brightest > 0.5 and brightest < 1)
  end)

  it('takes the largest image, 1024x1024', function()
    local px = {}
    for i = 1, 1024 * 1024 do px[i] = 0 end
    for y = 100, 700 do for x = 500, 560 do px[y * 1024 + x + 1] = 1 end end
    local r = post(cjson.encode{pixels = px, width = 1024, height = 1024})
    assert.are.equal(200, r.status, r.body)
    assert.are.equal(7, decoded(r).digit)
  end)

  it('answers 4xx JSON errors to every bad request', function()
    assert_error(post('{"pixels": [1, 2'), 400, 'malformed JSON')
    assert_error(post(''), 400, 'malformed JSON')
    for _, number in ipairs{'NaN', 'Infinity', '-inf', '0x10'} do -- not JSON numbers
      assert_error(post('{"pixels": [0, 1], "width": ' .. number .. ', "height": 1}'), 400, 'malformed JSON')
      assert_error(post('{"pixels": [' .. number .. ', 1], "width": 2, "height": 1}'), 400, 'malformed JSON')
    end
    assert_error(post('[1, 2, 3]'), 400, 'JSON object')
    assert_error(post('{}'), 400, '"pixels"')
    assert_error(post('{"pixels": 5, "width": 1, "height": 1}'), 400, 'array of numbers')
    assert_error(post('{"pixels": [0, 1]}'), 400, '"width" and "height"')
    assert_error(post('{"pixels": [0, 1], "width": 2.5, "height": 1}'), 400, 'integers')
    assert_error(post('{"pixels": [0, 1], "width": 2, "height": 0}'), 400, '1 to 1024')
    assert_error(post('{"pixels": [0, 1], "width": 2000, "height": 1}'), 400, '1 to 1024')
    assert_error(post('{"pixels": [0, 1], "width": 1, "height": 2000}'), 400, '1 to 1024')
    assert_error(post('{"pixels": [0, 1, 0], "width": 2, "height": 2}'), 400, 'expected 4 pixels for 2x2 (got 3)')
    assert_error(post('{"pixels": [0, 1.5, 0, 0], "width": 2, "height": 2}'), 400, 'must be in [0, 1]')
    assert_error(post('{"pixels": [0, -1, 0, 0], "width": 2, "height": 2}'), 400, 'must be in [0, 1]')
    assert_error(post('{"pixels": [0, "a", 0, 0], "width": 2, "height": 2}'), 400, 'not a number')
    assert_error(post('{"pixels": [0, null, 0, 0], "width": 2, "height": 2}'), 400, 'not a number')
    assert_error(post('{"pixels": [0, 0, 0, 0], "width": 2, "height": 2}'), 422, 'blank')
    assert_error(post('{"png": 12}'), 400, 'must be a string')
    assert_error(post('{"png": "data:image/jpeg;base64,AAAA"}'), 415, 'image/jpeg')
    assert_error(post('{"png": "data:image/png;base64,@@@@"}'), 400, 'base64')
    assert_error(post(cjson.encode{png = base64('GIF89a not a png at all, no')}), 400, 'not a PNG')
    assert_error(h{method = 'GET', path = '/nope'}, 404, '/nope')
    local r = h{method = 'GET', path = '/api/classify'}
    assert_error(r, 405, 'allowed: POST')
    assert.are.equal('POST', r.headers.Allow)
    assert_error(h{method = 'DELETE', path = '/'}, 405, 'allowed: GET')
  end)

  it('rejects broken PNG files and keeps answering', function()
    local good = make_png(30, 30, 6, seven_rgba(30))
    local function try(bytes) return post(cjson.encode{png = base64(bytes)}) end
    assert.are.equal(200, try(good).status)
    assert_error(try(good:sub(1, 60)), 400, 'broken PNG')                   -- truncated
    local i = good:find('IDAT', 1, true)
    local corrupt = good:sub(1, i + 10) .. '\255\255\255\255' .. good:sub(i + 15) -- bad data and CRC
    assert_error(try(corrupt), 400, 'broken PNG')
    assert_error(try(good:sub(1, 12) .. 'XXXX' .. good:sub(17)), 400, 'IHDR')
    local huge = make_png(1, 1, 0, function() return {0} end)
    huge = huge:sub(1, 16) .. string.pack('>I4>I4', 5000, 5000) .. huge:sub(25) -- claims 5000x5000
    assert_error(try(huge), 400, '1 to 1024')
    assert_error(try(make_png(8, 8, 6, function() return {0, 0, 0, 0} end)), 422, 'blank')
    assert.are.equal(200, try(good).status)
  end)
end)

---- the server in this process, stepped by hand ----
describe('draw_digit.server stepped in process', function()
  local server = require 'draw_digit.server'

  local function exchange(srv, c, msg)
    c:send(msg)
    c:settimeout(0)
    local got = ''
    for _ = 1, 40 do
      srv:step(0.02)
      local data, _, partial = c:receive(65536)
      got = got .. (data or partial or '')
      if got:find('\r\n\r\n', 1, true) then
        local len = tonumber(got:match('Content%-Length: (%d+)'))
        if len and #got >= got:find('\r\n\r\n', 1, true) + 3 + len then break end
      end
    end
    return got
  end

  it('answers 500 with the message when the handler fails, and goes on', function()
    local calls = 0
    local srv = server.new{port = 0, handler = function()
      calls = calls + 1
      if calls == 1 then error('boom') end
      return {status = 200, headers = {['Content-Type'] = 'text/plain'}, body = 'fine'}
    end}
    local c = assert(socket.connect('127.0.0.1', srv:port()))
    local first = exchange(srv, c, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    assert.are.equal('HTTP/1.1 500 Internal Server Error', first:match('^[^\r]*'))
    assert.is_truthy(first:find('boom', 1, true))
    local second = exchange(srv, c, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n') -- same connection
    assert.are.equal('HTTP/1.1 200 OK', second:match('^[^\r]*'))
    assert.is_truthy(second:find('\r\n\r\nfine$'))
    c:close()
    srv:close()
  end)

  it('past max_connections, leaves a new client waiting until a connection goes', function()
    local srv = server.new{port = 0, max_connections = 2, handler = function()
      return {status = 200, body = '{}'}
    end}
    local a = assert(socket.connect('127.0.0.1', srv:port()))
    local b = assert(socket.connect('127.0.0.1', srv:port()))
    for _ = 1, 3 do srv:step(0.02) end
    assert.are.equal(2, srv:connections())
    local c = assert(socket.connect('127.0.0.1', srv:port()))
    c:send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    for _ = 1, 3 do srv:step(0.02) end
    c:settimeout(0)
    local line, why = c:receive('*l')
    assert.are.same({nil, 'timeout'}, {line, why}) -- not taken while two are open
    assert.are.equal(2, srv:connections())
    a:close()
    local got = exchange(srv, c, '')
    assert.are.equal('HTTP/1.1 200 OK', got:match('^[^\r]*'))
    b:close()
    c:close()
    srv:close()
  end)

  it('logs each request, and the requests it refuses', function()
    local lines = {}
    local srv = server.new{port = 0, max_body = 10, log = function(l) lines[#lines + 1] = l end,
      handler = function() return {status = 200, body = '{}'} end}
    local c = assert(socket.connect('127.0.0.1', srv:port()))
    local got = exchange(srv, c, 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n')
    assert.are.equal('HTTP/1.1 413 Content Too Large', got:match('^[^\r]*'))
    c:close()
    c = assert(socket.connect('127.0.0.1', srv:port()))
    got = exchange(srv, c, 'GET /y HTTP/1.1\r\nHost: x\r\n\r\n')
    assert.are.equal('HTTP/1.1 200 OK', got:match('^[^\r]*'))
    c:close()
    srv:close()
    local text = table.concat(lines, '\n')
    assert.matches('127%.0%.0%.1:%d+ rejected: 413 body of 100 bytes is over the limit of 10 bytes', text)
    assert.matches('127%.0%.0%.1:%d+ "GET /y" 200', text)
  end)

  it('keeps the order of pipelined requests and answers HTTP/1.0 with close', function()
    local n = 0
    local srv = server.new{port = 0, handler = function(req)
      n = n + 1
      return {status = 200, headers = {['Content-Type'] = 'text/plain'}, body = req.path .. ' ' .. n}
    end}
    local c = assert(socket.connect('127.0.0.1', srv:port()))
    local got = exchange(srv, c, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n')
    for _ = 1, 5 do
      srv:step(0.02)
      local data, _, partial = c:receive(65536)
      got = got .. (data or partial or '')
    end
    local a, b = got:find('/a 1', 1, true), got:find('/b 2', 1, true)
    assert.is_truthy(a and b and a < b, got)
    c:close()
    c = assert(socket.connect('127.0.0.1', srv:port()))
    got = exchange(srv, c, 'GET /c HTTP/1.0\r\n\r\n')
    assert.is_truthy(got:find('Connection: close', 1, true))
    c:close()
    srv:close()
  end)

  it('refuses a port already in use with a clear error', function()
    local srv = server.new{port = 0, handler = function() end}
    assert.has_error(function() server.new{port = srv:port(), handler = function() end} end)
    srv:close()
  end)
end)

---- the server, over loopback ----

-- A blocking client request; returns status, headers, body (nil, err on failure).
local function request(port, method, path, body, extra)
  local c = socket.tcp()
  c:settimeout(5)
  assert(c:connect('127.0.0.1', port))
  local head = {method .. ' ' .. path .. ' HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close'}
  if body then head[#head + 1] = 'Content-Length: ' .. #body end
  for _, line in ipairs(extra or {}) do head[#head + 1] = line end
  c:send(table.concat(head, '\r\n') .. '\r\n\r\n' .. (body or ''))
  local status_line, err = c:receive('*l')
  if not status_line then c:close() return nil, err end
  local headers = {}
  while true do
    local line = c:receive('*l')
    if not line or line == '' then break end
    local k, v = line:match('^([^:]+):%s*(.*)$')
    headers[k:lower()] = v
  end
  local data = c:receive(tonumber(headers['content-length']) or '*a')
  c:close()
  return tonumber(status_line:match('^HTTP/1%.1 (%d+)')), headers, data
end

local function start_server(lua_code, timeout)
  local path = os.tmpname()
  local f = assert(io.open(path, 'w'))
  f:write(lua_code)
  f:close()
  -- The child finds mx as this process does.
  local env = string.format('LUA_PATH=%q LUA_CPATH=%q ', package.path, package.cpath)
  local p = io.popen(env .. "sh -c 'echo $$; exec lua5.4 " .. path .. ' ' .. timeout .. "'", 'r')
  local pid = p:read('l')
  local port = tonumber(p:read('l'))
  return {pid = pid, port = port, pipe = p, file = path}
end

-- The server process: the real handler and preprocessing; the model matches a
-- drawing against ten MNIST digits preprocessed the same way (nearest template).
local SERVER = [[
local mx = require 'mx'
local timeout = tonumber(arg[1])
package.path = SCRIPTS .. '/?.lua;' .. package.path
package.cpath = BUILD .. '/?.so;' .. package.cpath
local server = require 'draw_digit.server'
local handler = require 'draw_digit.handler'
local digit = require 'draw_digit.digit'
local templates = {}
for d = 0, 9 do
  local f = io.open(TEMPLATES .. d, 'r')
  local px = {}
  for v in f:read('a'):gmatch('%S+') do px[#px + 1] = tonumber(v) end
  f:close()
  templates[d] = digit.preprocess('t', px, 28, 28):reshape{784}
end
local function classify(img)
  local x, dist, total = img:reshape{784}, {}, 0
  for d = 0, 9 do
    local diff = x - templates[d]
    dist[d + 1] = math.exp(-(diff * diff):sum():asscalar())
    total = total + dist[d + 1]
  end
  for i = 1, 10 do dist[i] = dist[i] / total end
  return dist
end
local srv = server.new{host = '127.0.0.1', port = 0, timeout = timeout, max_body = 4 << 20,
  max_header = 16 << 10, log = os.getenv("WEB_SPEC_LOG") and function(l) io.stderr:write(l, "\n") end,
  handler = handler.new{classify = classify, model_info = {name = 'templates'}}}
io.stdout:write(srv:port(), '\n')
io.stdout:flush()
local reason = srv:serve()
io.stdout:write('stopped ', reason, '\n')
]]

-- The server code with its paths and templates filled in.
local function server_code(tmpl_prefix)
  local root = os.getenv('MXLUA_ROOT') or '.'
  local build = os.getenv('MXLUA_BUILD_DIR') or 'build'
  if build:sub(1, 1) ~= '/' then build = root .. '/' .. build end
  local fill = {TEMPLATES = tmpl_prefix, SCRIPTS = root .. '/scripts', BUILD = build}
  return (SERVER:gsub('%u+', function(w) return fill[w] and string.format('%q', fill[w]) end))
end

describe('draw_digit.server over loopback', function()
  local srv, digits, labels_of
  local tmpl_prefix = os.tmpname()

  setup(function()
    local images = mx.core.idx_load('data/mnist/t10k-images-idx3-ubyte', 3, 1 / 255)
    local labels = mx.core.idx_load('data/mnist/t10k-labels-idx1-ubyte', 1, 1):totable()
    -- The first test digit of each class is its template; the load test sends them.
    digits, labels_of = {}, {}
    for i = 1, #labels do
      local d = math.floor(labels[i])
      if not digits[d] then
        local px = {}
        for _, row in ipairs(images:slice(i, i):reshape{28, 28}:totable()) do
          for _, v in ipairs(row) do px[#px + 1] = v end
        end
        digits[d] = px
        labels_of[#labels_of + 1] = d
        local f = io.open(tmpl_prefix .. d, 'w')
        f:write(table.concat(px, ' '))
        f:close()
      end
      if #labels_of == 10 then break end
    end
    srv = start_server(server_code(tmpl_prefix), 2)
    assert(srv.port, 'the server did not start')
  end)

  teardown(function()
    if srv and srv.pipe then
      os.execute('kill -TERM ' .. srv.pid .. ' 2>/dev/null')
      srv.pipe:close()
    end
    if srv then os.remove(srv.file) end
    for d = 0, 9 do os.remove(tmpl_prefix .. d) end
    os.remove(tmpl_prefix)
  end)

  it('answers the page, the model, and errors over HTTP', function()
    local status, headers, body = request(srv.port, 'GET', '/')
    assert.are.equal(200, status)
    assert.is_truthy(body:find('<canvas', 1, true))
    assert.are.equal(#body, tonumber(headers['content-length']))
    local _
    status, _, body = request(srv.port, 'GET', '/api/model')
    assert.are.equal(200, status)
    assert.are.equal('templates', cjson.decode(body).name)
    status, _, body = request(srv.port, 'GET', '/missing')
    assert.are.equal(404, status)
    assert.is_string(cjson.decode(body).error)
    status = request(srv.port, 'PUT', '/api/classify', '{}')
    assert.are.equal(405, status)
    status, _, body = request(srv.port, 'POST', '/api/classify', '{not json')
    assert.are.equal(400, status)
    assert.is_truthy(cjson.decode(body).error:find('malformed JSON'))
    status, _, body = request(srv.port, 'HEAD', '/api/model')
    assert.are.equal(200, status)
    assert.are.equal('', body or '')
  end)

  -- Sends raw bytes on a new connection (then half-closes it when `shut`); returns the status
  -- line (nil, 'closed' when the server closes without an answer) and the rest.
  local function raw(bytes, shut)
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect('127.0.0.1', srv.port))
    c:send(bytes)
    if shut then c:shutdown('send') end
    local line, err = c:receive('*l')
    local rest = line and c:receive('*a') or nil
    c:close()
    return line or err, rest
  end

  local function still_serving()
    assert.are.equal(200, (request(srv.port, 'GET', '/api/model')))
  end

  it('answers malformed requests 400 (and the server goes on serving)', function()
    for _, bytes in ipairs{
      'GET / FOO/1.1\r\nHost: x\r\n\r\n',                       -- no HTTP version
      'GET /\r\n\r\n',                                            -- HTTP/0.9-style line
      'GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',       -- a header line without a colon
      'POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n',
      'POST /api/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', -- bad chunk size
    } do
      local line = raw(bytes)
      assert.are.equal('HTTP/1.1 400 Bad Request', line, bytes)
      still_serving()
    end
    -- A bare word is not a request line: libmicrohttpd 0.9.75 closes without an answer.
    assert.are.equal('closed', (raw('HELLO\r\n\r\n')))
    still_serving()
    assert.are.equal('HTTP/1.1 505 HTTP Version Not Supported', (raw('GET / HTTP/2.0\r\nHost: x\r\n\r\n')))
    still_serving()
    local status = request(srv.port, 'GET', '/', nil, {'X-Big: ' .. string.rep('a', 20000)})
    assert.are.equal(431, status)
    still_serving()
  end)

  it('reads a chunked body (the handler sees it whole)', function()
    local body = cjson.encode{pixels = digits[labels_of[1]], width = 28, height = 28}
    local chunks = {}
    for i = 1, #body, 1000 do
      local piece = body:sub(i, i + 999)
      chunks[#chunks + 1] = string.format('%x\r\n%s\r\n', #piece, piece)
    end
    local line, rest = raw('POST /api/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' ..
      'Transfer-Encoding: chunked\r\n\r\n' .. table.concat(chunks) .. '0\r\n\r\n')
    assert.are.equal('HTTP/1.1 200 OK', line)
    assert.are.equal(labels_of[1], cjson.decode(rest:match('\r\n\r\n(.*)$')).digit)
  end)

  it('answers 413 to an oversize body without reading it all (and goes on serving)', function()
    local c = socket.tcp()
    c:settimeout(5)
    assert(c:connect('127.0.0.1', srv.port))
    c:send('POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n')
    c:send(string.rep('0', 65536))                  -- a start, 100 MiB announced
    local line = c:receive('*l') -- within the 5 s timeout: the server did not wait for 100 MiB
    assert.are.equal('HTTP/1.1 413 Content Too Large', line)
    local rest = c:receive('*a')
    assert.is_truthy(rest:find('over the limit', 1, true))
    c:close()
    still_serving()
    -- A Content-Length of a thousand nines: answered, not dropped.
    assert.are.equal('HTTP/1.1 413 Content Too Large',
      (raw('POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: ' .. string.rep('9', 1000) .. '\r\n\r\n')))
    still_serving()
    -- A chunked body that grows past the limit (4 MiB here).
    local piece = string.rep('x', 1 << 20)
    local chunked = string.rep(string.format('%x\r\n%s\r\n', #piece, piece), 5) .. '0\r\n\r\n'
    line, rest = raw('POST /api/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' .. chunked)
    assert.are.equal('HTTP/1.1 413 Content Too Large', line)
    assert.is_truthy(rest:find('over the limit', 1, true))
    still_serving()
  end)

  it('a slow client does not stall the others, and is closed after the timeout', function()
    local slow = socket.tcp()
    slow:settimeout(5)
    assert(slow:connect('127.0.0.1', srv.port))
    local t0 = socket.gettime()
    slow:send('POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Le')  -- and then nothing
    for _ = 1, 5 do still_serving() end
    -- the others were served while the slow one was still open: it has no answer yet
    slow:settimeout(0)
    local early, why = slow:receive('*l')
    assert.are.same({nil, 'timeout'}, {early, why})
    slow:settimeout(5)
    local line, closed = slow:receive('*l') -- the server gives up on it (2 s here)
    assert.are.same({nil, 'closed'}, {line, closed})
    local waited = socket.gettime() - t0
    assert.is_true(waited > 1.5 and waited < 4.5, 'closed after ' .. waited .. ' s')
    slow:close()
    still_serving()
  end)

  it('a half-closed client does not stall the others', function()
    -- Half a request, then the client stops sending: the connection is closed.
    assert.are.equal('closed', (raw('GET /api/mod', true)))
    -- A whole request, then the client stops sending: answered in full.
    local line, rest = raw('GET /api/model HTTP/1.1\r\nHost: x\r\n\r\n', true)
    assert.are.equal('HTTP/1.1 200 OK', line)
    assert.is_truthy(rest:find('templates', 1, true))
    -- A client that connects and says nothing, kept open: others still served at once.
    local idle = socket.tcp()
    assert(idle:connect('127.0.0.1', srv.port))
    still_serving()
    -- served before the server gave up on the idle one, which has had no answer yet
    idle:settimeout(0)
    local early, why = idle:receive('*l')
    assert.are.same({nil, 'timeout'}, {early, why})
    idle:close()
  end)

  it('answers 200 classification requests from 4 concurrent clients correctly', function()
    -- Requests as clients send them: half a PNG data URL of the digit drawn 3x larger
    -- (84x84 gray, as the page sends its canvas), half the 28x28 pixels as JSON.
    local files = {}
    for _, d in ipairs(labels_of) do
      local src = digits[d]
      local png = make_png(84, 84, 0, function(x, y)
        return {math.floor(src[(y // 3) * 28 + (x // 3) + 1] * 255 + 0.5)}
      end)
      local bodies = {cjson.encode{png = 'data:image/png;base64,' .. base64(png)},
                      cjson.encode{pixels = src, width = 28, height = 28}}
      for kind = 1, 2 do
        local name = tmpl_prefix .. 'body' .. d .. '_' .. kind
        local f = assert(io.open(name, 'w'))
        f:write(bodies[kind])
        f:close()
        files[#files + 1] = name
      end
    end
    -- Four client processes at once, each with one kept-alive connection sending 50
    -- requests one after the other; each prints "want got status seconds" per request.
    local client = tmpl_prefix .. 'client.lua'
    local f = assert(io.open(client, 'w'))
    f:write(string.format([=[
local socket, cjson = require 'socket', require 'cjson'
local k, port, prefix = tonumber(arg[1]), tonumber(arg[2]), %q
local c = socket.tcp()
c:settimeout(10)
assert(c:connect('127.0.0.1', port))
c:setoption('tcp-nodelay', true)
for i = 1, 50 do
  local d = (k * 7 + i) %% 10
  local fb = assert(io.open(prefix .. 'body' .. d .. '_' .. (i %% 2 + 1)))
  local body = fb:read('a')
  fb:close()
  local t0 = socket.gettime()
  assert(c:send('POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' ..
    'Content-Length: ' .. #body .. '\r\n\r\n' .. body))
  local status = tonumber(assert(c:receive('*l')):match('^HTTP/1%%.1 (%%d+)'))
  local len
  while true do
    local line = assert(c:receive('*l'))
    if line == '' then break end
    len = len or tonumber(line:match('^Content%%-Length: (%%d+)'))
  end
  local reply = cjson.decode((assert(c:receive(len))))
  print(d, reply.digit, status, socket.gettime() - t0)
end
c:close()
]=], tmpl_prefix))
    f:close()
    local env = string.format('LUA_PATH=%q LUA_CPATH=%q ', package.path, package.cpath)
    local t0 = socket.gettime()
    local pipes = {}
    for k = 1, 4 do pipes[k] = io.popen(env .. 'lua5.4 ' .. client .. ' ' .. k .. ' ' .. srv.port .. ' 2>&1') end
    local results, latencies, outputs = {}, {}, {}
    for k = 1, 4 do
      outputs[k] = pipes[k]:read('a')
      pipes[k]:close()
      for want, got, status, secs in outputs[k]:gmatch('(%S+)%s+(%S+)%s+(%S+)%s+(%S+)\n') do
        results[#results + 1] = {want = tonumber(want), got = tonumber(got), status = tonumber(status)}
        latencies[#latencies + 1] = tonumber(secs)
      end
    end
    local wall = socket.gettime() - t0
    os.remove(client)
    for _, name in ipairs(files) do os.remove(name) end
    assert.are.equal(200, #results, table.concat(outputs, '\n'))
    for _, res in ipairs(results) do
      assert.are.equal(200, res.status)
      assert.are.equal(res.want, res.got)
    end
    table.sort(latencies)
    local sum = 0
    for _, l in ipairs(latencies) do sum = sum + l end
    print(string.format('# load: 200 classify requests (PNG 84x84 / pixels 28x28) from 4 client processes' ..
      ' in %.2f s: %.2f ms per request (throughput); latency mean %.2f ms, median %.2f ms, max %.2f ms',
      wall, wall * 1000 / 200, sum * 1000 / 200, latencies[100] * 1000, latencies[200] * 1000))
  end)

  it('holds 200 stalled connections for 5 s while a client is classified within 1 s', function()
    -- A second server, whose timeout (10 s) outlasts the test: it holds every stalled connection.
    local other = start_server(server_code(tmpl_prefix), 10)
    assert(other.port, 'the second server did not start')
    local stalled = {}
    local ok, err = pcall(function()
      for i = 1, 200 do
        local c = socket.tcp()
        c:settimeout(5)
        assert(c:connect('127.0.0.1', other.port))
        -- requests that never end: half a head, or a head and the start of its body
        assert(c:send(i % 2 == 0 and 'POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Le'
          or 'POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"pix'))
        stalled[i] = c
      end
      local body = cjson.encode{pixels = digits[labels_of[2]], width = 28, height = 28}
      local t0, worst, n = socket.gettime(), 0, 0
      while socket.gettime() - t0 < 5 do
        local t = socket.gettime()
        local status, _, reply = request(other.port, 'POST', '/api/classify', body)
        local secs = socket.gettime() - t
        assert.are.equal(200, status)
        assert.are.equal(labels_of[2], cjson.decode(reply).digit)
        assert.is_true(secs < 1, string.format('a classification took %.3f s', secs))
        worst, n = math.max(worst, secs), n + 1
        socket.sleep(0.25)
      end
      local held = socket.gettime() - t0
      -- every stalled connection is still open and unanswered
      local open = 0
      for _, c in ipairs(stalled) do
        c:settimeout(0)
        local _, why = c:receive(1)
        if why == 'timeout' then open = open + 1 end
      end
      assert.are.equal(200, open)
      print(string.format('# stalled: 200 unfinished requests held %.1f s; meanwhile %d classifications, ' ..
        'slowest %.1f ms', held, n, worst * 1000))
    end)
    for _, c in ipairs(stalled) do c:close() end
    os.execute('kill -TERM ' .. other.pid .. ' 2>/dev/null')
    other.pipe:close()
    os.remove(other.file)
    assert(ok, err)
  end)

  it('stops cleanly on SIGINT (Ctrl-C)', function()
    os.execute('kill -INT ' .. srv.pid)
    local line = srv.pipe:read('l')
    assert.are.equal('stopped SIGINT', line)
    local ok, how, code = srv.pipe:close()
    assert.is_true(ok, tostring(how) .. ' ' .. tostring(code))
    srv.pipe = nil
    local c = socket.tcp()
    c:settimeout(1)
    assert.is_nil((c:connect('127.0.0.1', srv.port)))
    c:close()
  end)
end)
