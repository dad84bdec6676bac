-- draw_digit.server: the draw-a-digit page's HTTP server, on libmicrohttpd through the demo's C
-- module (draw_digit.native, http.c). libmicrohttpd parses requests and enforces the limits (the
-- number of connections, the head size, an inactivity timeout); it runs with no thread of its
-- own, driven from this Lua thread by step(), so the handler always runs here. A handler maps a
-- request table {method, path, version, headers (lower-case names), body, peer} to a response
-- table {status, headers, body}.
local native = require 'draw_digit.native'
local cjson = require 'cjson'
local socket = require 'socket' -- gettime, for the log's timings

local M = {}
local Server = {}
Server.__index = Server

M.defaults = {
  host = '127.0.0.1',
  port = 8080,
  max_body = 32 * 1024 * 1024, -- larger bodies get 413 without being read (1024x1024 pixels
                               -- as JSON doubles take about 20 MiB)
  max_header = 32 * 1024,      -- libmicrohttpd's memory per connection: bounds the request head (431)
  timeout = 10,                -- whole seconds a connection may stay silent before it is closed
  max_connections = 512,       -- more are closed at once by libmicrohttpd
  tick = 0.25,                 -- the longest wait in serve(): how often signals are polled
}

local function error_body(status, message)
  return cjson.encode({error = message, status = status})
end

-- A server listening on opts.host:opts.port (port 0: any free port, see :port()).
-- opts.handler(request) -> {status, headers, body}; opts.log(line) (optional).
function M.new(opts)
  local o = {}
  for k, v in pairs(M.defaults) do o[k] = v end
  for k, v in pairs(opts or {}) do o[k] = v end
  assert(type(o.handler) == 'function', 'draw_digit.server.new: opts.handler must be a function')
  local ok, daemon = pcall(native.http_start, {host = o.host, port = o.port, max_body = o.max_body,
    max_header = o.max_header, timeout = o.timeout, max_connections = o.max_connections})
  if not ok then error('draw_digit.server.new: ' .. tostring(daemon), 2) end
  local self = setmetatable({opts = o, handler = o.handler, daemon = daemon,
                             stats = {requests = 0}}, Server)
  -- What libmicrohttpd calls (from step(), on this thread) for each whole request.
  self.dispatch = function(req)
    local resp = self:respond(req)
    local headers = {}
    for k, v in pairs(resp.headers or {}) do headers[tostring(k)] = tostring(v) end
    return math.tointeger(resp.status), headers, resp.body or ''
  end
  return self
end

function Server:port()
  return self.daemon:port()
end

function Server:url()
  return string.format('http://%s:%d/', self.opts.host, self:port())
end

function Server:log(line)
  if self.opts.log then self.opts.log(line) end
end

-- The handler's response to one request; a failing handler gives 500 with its message.
function Server:respond(req)
  local t0 = socket.gettime()
  local ok, resp = pcall(self.handler, req)
  if not ok or type(resp) ~= 'table' or not math.tointeger(resp.status) then
    local why = ok and 'the handler gave no response' or tostring(resp)
    self:log('handler error: ' .. why)
    resp = {status = 500, headers = {['Content-Type'] = 'application/json'},
            body = error_body(500, 'internal error: ' .. why)}
  end
  self.stats.requests = self.stats.requests + 1
  self:log(string.format('%s "%s %s" %d %.1f ms', req.peer or '?', req.method, req.path, resp.status,
    (socket.gettime() - t0) * 1000))
  return resp
end

-- One turn: waits at most `timeout` seconds (opts.tick by default) for network events, and
-- serves what came (the handler runs inside, on this thread).
function Server:step(timeout)
  self.daemon:run(math.floor((timeout or self.opts.tick) * 1000 + 0.5), self.dispatch)
  for _, line in ipairs(self.daemon:take_log()) do self:log(line) end
end

-- Serves until stop() is called or SIGINT/SIGTERM arrives (Ctrl-C); returns the reason.
function Server:serve()
  native.sigint_catch()
  local ok, err = pcall(function()
    while not self.stopping do
      self:step()
      local sig = native.sigint_caught()
      if sig then
        self.stop_reason = sig
        break
      end
    end
  end)
  native.sigint_release()
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

-- How many connections libmicrohttpd holds now.
function Server:connections()
  return self.daemon:connections()
end

-- Stops listening and closes every connection.
function Server:close()
  self.daemon:close()
end

M.Server = Server
return M
