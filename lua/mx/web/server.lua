-- mx.web.server: a small HTTP/1.1 server over luasocket: one socket.select loop,
-- a coroutine per connection with a deadline, so that a slow or half-closed client
-- cannot stall the others. A handler maps a request table to a response table.
local socket = require 'socket'
local cjson = require 'cjson'

local M = {}
local Server = {}
Server.__index = Server

M.defaults = {
  host = '127.0.0.1',
  port = 8080,
  max_body = 32 * 1024 * 1024, -- larger bodies get 413 without being read (1024x1024 pixels
                               -- as JSON doubles take about 20 MiB)
  max_header = 16 * 1024,      -- request line + headers
  request_timeout = 10,        -- seconds to receive a whole request once it has begun
  idle_timeout = 15,           -- seconds a kept-alive connection may wait for its next request
  write_timeout = 10,          -- seconds to send a response
  linger = 1,                  -- seconds to drain an unread body before closing after an error
  max_connections = 64,
  tick = 0.25,                 -- the longest select wait: how often signals are polled
}

local REASONS = {
  [100] = 'Continue', [200] = 'OK', [400] = 'Bad Request', [404] = 'Not Found',
  [405] = 'Method Not Allowed', [408] = 'Request Timeout', [411] = 'Length Required',
  [413] = 'Payload Too Large', [415] = 'Unsupported Media Type', [422] = 'Unprocessable Entity',
  [431] = 'Request Header Fields Too Large', [500] = 'Internal Server Error',
  [501] = 'Not Implemented', [503] = 'Service Unavailable', [505] = 'HTTP Version Not Supported',
}

local function error_body(status, message)
  return cjson.encode({error = message, status = status})
end

-- The bytes of a response {status, headers, body}; `keep` says whether the connection stays open.
local function serialize(resp, keep, head_only)
  local body = resp.body or ''
  local lines = {string.format('HTTP/1.1 %d %s', resp.status, REASONS[resp.status] or 'Unknown')}
  local headers = resp.headers or {}
  local names = {}
  for k in pairs(headers) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do lines[#lines + 1] = k .. ': ' .. tostring(headers[k]) end
  if not headers['Content-Type'] then lines[#lines + 1] = 'Content-Type: application/json' end
  lines[#lines + 1] = 'Content-Length: ' .. #body
  lines[#lines + 1] = 'Cache-Control: no-store'
  lines[#lines + 1] = 'Connection: ' .. (keep and 'keep-alive' or 'close')
  return table.concat(lines, '\r\n') .. '\r\n\r\n' .. (head_only and '' or body)
end

---- per-connection coroutine helpers (they yield 'read' or 'write' to wait) ----

-- Reads what is available into c.buf; yields until some bytes come. false at EOF or error.
local function read_more(c)
  while true do
    local data, err, partial = c.sock:receive(65536)
    local chunk = data or partial
    if chunk and #chunk > 0 then
      c.buf = c.buf .. chunk
      if err == 'closed' then c.eof = true end
      return true
    end
    if err ~= 'timeout' then
      c.eof = true
      return false
    end
    coroutine.yield('read')
  end
end

-- Reads exactly n body bytes (c.buf first), without quadratic concatenation.
local function read_body(c, n)
  local parts, have = {}, 0
  if #c.buf > 0 then
    local take = c.buf:sub(1, n)
    parts[1], have, c.buf = take, #take, c.buf:sub(n + 1)
  end
  while have < n do
    if c.eof then return nil end
    local data, err, partial = c.sock:receive(math.min(n - have, 1 << 20))
    local chunk = data or partial
    if chunk and #chunk > 0 then
      parts[#parts + 1], have = chunk, have + #chunk
    end
    if err == 'timeout' then
      coroutine.yield('read')
    elseif err then
      c.eof = true
    end
  end
  return table.concat(parts)
end

local function send_all(c, data)
  local i = 1
  while i <= #data do
    local last, err, partial = c.sock:send(data, i)
    if last then
      i = last + 1
    elseif err == 'timeout' then
      i = partial + 1
      coroutine.yield('write')
    else
      return false
    end
  end
  return true
end

-- After an error answered before the body was read: stop sending, drain a little
-- for a short while so the client sees the answer rather than a reset, then close.
local function linger(c, opts)
  c.sock:shutdown('send')
  c.phase, c.deadline = 'linger', socket.gettime() + opts.linger
  local drained = 0
  while not c.eof and drained < 1 << 20 do
    local before = #c.buf
    if not read_more(c) then break end
    drained = drained + #c.buf - before
    c.buf = ''
  end
end

-- Parses "METHOD target HTTP/x.y" and header lines; nil, status, message on a bad head.
local function parse_head(head)
  local method, target, version = head:match('^(%u+) (%S+) HTTP/(%d%.%d)\r?\n')
  if not method then return nil, 400, 'malformed request line' end
  if version ~= '1.1' and version ~= '1.0' then
    return nil, 505, 'HTTP version ' .. version .. ' is not supported'
  end
  local headers = {}
  local first = true
  for line in head:gmatch('([^\n]*)\n') do
    line = line:gsub('\r$', '')
    if first then
      first = false
    elseif line ~= '' then
      local name, value = line:match('^([%w%-!#$%%&\'*+.^_`|~]+):%s*(.-)%s*$')
      if not name then return nil, 400, 'malformed header line' end
      headers[name:lower()] = value
    end
  end
  return {method = method, target = target, path = target:match('^[^?#]*'),
          query = target:match('%?([^#]*)'), version = version, headers = headers}
end

-- Serves requests on one connection until it closes.
local function serve_connection(self, c)
  local opts = self.opts
  while true do
    -- The head: wait for its blank line.
    if #c.buf > 0 then
      c.phase, c.deadline = 'request', socket.gettime() + opts.request_timeout
    else
      c.phase, c.deadline = 'idle', socket.gettime() + opts.idle_timeout
    end
    local head_end
    while true do
      c.buf = c.buf:gsub('^[\r\n]+', '') -- blank lines before a request line are ignored (RFC 9112)
      local s, e = c.buf:find('\r?\n\r?\n')
      if s then
        head_end = e
        break
      end
      if #c.buf > opts.max_header then
        return self:reject(c, 431, 'request head over ' .. opts.max_header .. ' bytes')
      end
      if c.eof then
        if #c.buf > 0 then return self:reject(c, 400, 'connection closed mid-request') end
        return
      end
      if not read_more(c) and #c.buf == 0 then return end
      if c.phase == 'idle' and #c.buf > 0 then
        c.phase, c.deadline = 'request', socket.gettime() + opts.request_timeout
      end
    end
    if head_end > opts.max_header then
      return self:reject(c, 431, 'request head over ' .. opts.max_header .. ' bytes')
    end
    local req, status, msg = parse_head(c.buf:sub(1, head_end))
    if not req then return self:reject(c, status, msg) end
    c.buf = c.buf:sub(head_end + 1)
    local h = req.headers
    local conn_hdr = (h.connection or ''):lower()
    local keep = req.version == '1.1' and conn_hdr ~= 'close' or conn_hdr == 'keep-alive'
    if h['transfer-encoding'] then
      return self:reject(c, 411, 'chunked bodies are not supported: send a Content-Length')
    end
    local len = 0
    if h['content-length'] then
      len = h['content-length']:match('^%d+$') and tonumber(h['content-length'])
      if not len then return self:reject(c, 400, 'bad Content-Length') end
    end
    if len > opts.max_body then
      return self:reject(c, 413, string.format('body of %d bytes is over the limit of %d bytes', len,
        opts.max_body))
    end
    if len > #c.buf and (h.expect or ''):lower() == '100-continue' then
      if not send_all(c, 'HTTP/1.1 100 Continue\r\n\r\n') then return end
    end
    req.body = read_body(c, len)
    if not req.body then return self:reject(c, 400, 'connection closed mid-body') end
    req.peer = c.peer

    local t0 = socket.gettime()
    local ok, resp = pcall(self.handler, req)
    if not ok or type(resp) ~= 'table' or not resp.status then
      local why = ok and 'the handler gave no response' or tostring(resp)
      self:log('handler error: ' .. why)
      resp = {status = 500, headers = {['Content-Type'] = 'application/json'},
              body = error_body(500, 'internal error: ' .. why)}
    end
    keep = keep and not c.eof and not self.stopping
    c.phase, c.deadline = 'write', socket.gettime() + opts.write_timeout
    local sent = send_all(c, serialize(resp, keep, req.method == 'HEAD'))
    self.stats.requests = self.stats.requests + 1
    self:log(string.format('%s "%s %s" %d %.1f ms', c.peer, req.method, req.target, resp.status,
      (socket.gettime() - t0) * 1000))
    if not sent or not keep then return end
  end
end

---- the server ----

-- A server listening on opts.host:opts.port (port 0: any free port, see :port()).
-- opts.handler(request) -> {status, headers, body}; opts.log(line) (optional).
function M.new(opts)
  local o = {}
  for k, v in pairs(M.defaults) do o[k] = v end
  for k, v in pairs(opts or {}) do o[k] = v end
  assert(type(o.handler) == 'function', 'mx.web.server.new: opts.handler must be a function')
  local sock, err = socket.bind(o.host, o.port, 64)
  if not sock then
    error(string.format('mx.web.server.new: cannot listen on %s:%s (%s)', o.host, o.port, err), 2)
  end
  sock:settimeout(0)
  local self = setmetatable({opts = o, handler = o.handler, sock = sock, conns = {},
                             stats = {requests = 0, accepted = 0, rejected = 0, timeouts = 0}}, Server)
  return self
end

function Server:port()
  local _, port = self.sock:getsockname()
  return tonumber(port)
end

function Server:url()
  return string.format('http://%s:%d/', self.opts.host, self:port())
end

function Server:log(line)
  if self.opts.log then self.opts.log(line) end
end

-- Answers an error and closes (draining what the client may still send).
function Server:reject(c, status, message)
  self.stats.rejected = self.stats.rejected + 1
  self:log(string.format('%s rejected: %d %s', c.peer, status, message))
  c.phase, c.deadline = 'write', socket.gettime() + self.opts.write_timeout
  local resp = {status = status, headers = {['Content-Type'] = 'application/json'},
                body = error_body(status, message)}
  if send_all(c, serialize(resp, false)) and not c.eof then linger(c, self.opts) end
end

function Server:close_connection(c)
  c.sock:close()
  self.conns[c] = nil
end

-- Resumes a connection's coroutine; closes it when the coroutine ends or fails.
function Server:resume(c)
  local ok, want = coroutine.resume(c.co)
  if not ok then
    self:log('connection error: ' .. tostring(want))
    self:close_connection(c)
  elseif coroutine.status(c.co) == 'dead' then
    self:close_connection(c)
  else
    c.want = want
  end
end

function Server:accept()
  while true do
    local sock = self.sock:accept()
    if not sock then return end
    sock:settimeout(0)
    sock:setoption('tcp-nodelay', true)
    local ip, port = sock:getpeername()
    local c = {sock = sock, buf = '', peer = tostring(ip) .. ':' .. tostring(port), eof = false}
    self.stats.accepted = self.stats.accepted + 1
    local n = 0
    for _ in pairs(self.conns) do n = n + 1 end
    if n >= self.opts.max_connections then
      self:log(c.peer .. ' rejected: too many connections')
      sock:send(serialize({status = 503, body = error_body(503, 'too many connections')}, false))
      sock:close()
    else
      c.co = coroutine.create(function() serve_connection(self, c) end)
      self.conns[c] = true
      self:resume(c)
    end
  end
end

-- One turn of the loop: waits at most `timeout` seconds (opts.tick by default)
-- for sockets to be ready, serves them, and times out the overdue ones.
function Server:step(timeout)
  local now = socket.gettime()
  local wait = timeout or self.opts.tick
  local readers, writers = {self.sock}, {}
  for c in pairs(self.conns) do
    if c.want == 'write' then writers[#writers + 1] = c.sock else readers[#readers + 1] = c.sock end
    wait = math.min(wait, math.max(0, c.deadline - now))
  end
  local r, w = socket.select(readers, writers, wait)
  if r[self.sock] then self:accept() end
  for c in pairs(self.conns) do
    if r[c.sock] or w[c.sock] then self:resume(c) end
  end
  now = socket.gettime()
  for c in pairs(self.conns) do
    if now > c.deadline then self:expire(c) end
  end
end

-- A connection past its deadline: an unfinished request gets 408 (one try), then it closes.
function Server:expire(c)
  self.stats.timeouts = self.stats.timeouts + 1
  if c.phase == 'request' then
    self:log(c.peer .. ' timed out mid-request: 408')
    c.sock:send(serialize({status = 408, body = error_body(408,
      'request not received within ' .. self.opts.request_timeout .. ' s')}, false))
  end
  self:close_connection(c)
end

-- Serves until stop() is called or SIGINT/SIGTERM arrives (Ctrl-C); returns the reason.
function Server:serve()
  local ok_core, core = pcall(require, 'mx.core')
  local signals = ok_core and core.sigint_catch and core
  if signals then signals.sigint_catch() end
  local ok, err = pcall(function()
    while not self.stopping do
      self:step()
      local sig = signals and signals.sigint_caught()
      if sig then
        self.stop_reason = sig
        break
      end
    end
  end)
  if signals then signals.sigint_release() end
  self:close()
  if not ok then
    if tostring(err):find('interrupted!') then return 'SIGINT' end
    error(err, 0)
  end
  return self.stop_reason or 'stopped'
end

function Server:stop(reason)
  self.stopping = true
  self.stop_reason = reason or 'stopped'
end

-- Closes the listening socket and every connection.
function Server:close()
  for c in pairs(self.conns) do self:close_connection(c) end
  if self.sock then
    self.sock:close()
    self.sock = nil
  end
end

M.Server = Server
M.serialize = serialize
M.parse_head = parse_head
return M
