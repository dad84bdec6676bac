-- draw_digit.handler: the routes of the draw-a-digit server (`/`, `/api/classify`,
-- `/api/model`) as a pure function from a request table to a response table,
-- so that specs can test them without sockets.
-- strict JSON: NaN, Infinity and hexadecimal numbers, which lua-cjson accepts by default, are
-- malformed input here (a width of 0x10 or a pixel of NaN is no number a browser sends)
local cjson = require('cjson.safe').new()
cjson.decode_invalid_numbers(false)
local mx = require 'mx' -- the NDArray methods (totable) as well as the core
local digit = require 'draw_digit.digit'
local core = mx.core

--[[ The API:
  GET  /               the page (HTML, CSS and script inline)
  GET  /api/model      {"name", "epoch", "layers", "parameters", "input", "classes", "test_accuracy", ...}
  POST /api/classify   {"pixels": [h*w numbers in 0..1, row-major], "width": w, "height": h}
                       or {"png": "data:image/png;base64,..."} (or bare base64); sides 1..1024.
                       -> {"digit": 0-9, "probabilities": [10 numbers], "image": [784 numbers, the
                       28x28 image the model saw]}
  Errors are JSON {"error": message, "status": code}: 400 bad JSON, fields, sizes, values or PNG;
  404 unknown path; 405 wrong method (with Allow); 415 a data URL of another type; 422 a blank
  image. The server (draw_digit.server, libmicrohttpd) adds 400 for a malformed request, 413,
  431, 505 and 500.
  PNG ink: the alpha when the picture is not opaque, else the gray, inverted on bright paper. ]]
local M = {}

M.MAX_SIDE = 1024 -- the largest image side accepted, in pixels
M.PNG_SIGNATURE = '\137PNG\r\n\26\n'

-- A JSON response.
function M.json(status, value, headers)
  local h = {['Content-Type'] = 'application/json'}
  for k, v in pairs(headers or {}) do h[k] = v end
  return {status = status, headers = h, body = cjson.encode(value)}
end

-- A JSON error response: {"error": message, "status": status}.
function M.error(status, message, headers)
  return M.json(status, {error = message, status = status}, headers)
end

local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local b64_value = {}
for i = 1, #B64 do b64_value[B64:byte(i)] = i - 1 end

-- Decodes standard base64 (padding optional, no whitespace); nil, message on a bad input.
function M.base64_decode(s)
  s = s:gsub('=+$', '')
  if #s % 4 == 1 then return nil, 'base64 text has a bad length' end
  local out, n = {}, 0
  for i = 1, #s, 4 do
    local a, b, c, d = s:byte(i, i + 3)
    local va, vb = b64_value[a], b64_value[b]
    local vc, vd = c and b64_value[c] or 0, d and b64_value[d] or 0
    if not va or not vb or (c and not b64_value[c]) or (d and not b64_value[d]) then
      return nil, 'base64 text holds a character outside the alphabet near position ' .. i
    end
    local v = va << 18 | vb << 12 | vc << 6 | vd
    n = n + 1
    if d then
      out[n] = string.char(v >> 16, v >> 8 & 255, v & 255)
    elseif c then
      out[n] = string.char(v >> 16, v >> 8 & 255)
    else
      out[n] = string.char(v >> 16)
    end
  end
  return table.concat(out)
end

-- Width and height from a PNG's IHDR chunk, or nil, message when `bytes` is no PNG.
function M.png_size(bytes)
  if #bytes < 24 or bytes:sub(1, 8) ~= M.PNG_SIGNATURE then
    return nil, 'not a PNG file (bad signature)'
  end
  if bytes:sub(13, 16) ~= 'IHDR' then return nil, 'broken PNG: the first chunk is not IHDR' end
  local w, h = string.unpack('>I4>I4', bytes, 17)
  return w, h
end

local function is_int(v) return math.type(v) == 'integer' or (type(v) == 'number' and v == math.floor(v)) end

-- The ink (an (h, w) NDArray) of a decoded PNG given as a data URL or bare base64;
-- nil, status, message on a bad one.
local function ink_from_png(text)
  if type(text) ~= 'string' then return nil, 400, '"png" must be a string (a data:image/png;base64 URL)' end
  local mime, data = text:match('^data:([^;,]*);base64,(.*)$')
  if mime and mime ~= 'image/png' then
    return nil, 415, '"png" must be an image/png data URL (got ' .. mime .. ')'
  end
  local bytes, err = M.base64_decode(data or text)
  if not bytes then return nil, 400, 'bad "png": ' .. err end
  local w, h = M.png_size(bytes)
  if not w then return nil, 400, 'bad "png": ' .. h end
  if w < 1 or h < 1 or w > M.MAX_SIDE or h > M.MAX_SIDE then
    return nil, 400, string.format('the image must be 1 to %d pixels on each side (got %dx%d)',
      M.MAX_SIDE, w, h)
  end
  local ok, gray, alpha = pcall(core.image_decode_png, 'png', bytes)
  if not ok then return nil, 400, 'broken PNG: ' .. tostring(gray):gsub('^png: ', '') end
  return digit.ink('png', gray, alpha)
end

-- The 28x28 MNIST-style image (an NDArray) from a classify request body, or
-- nil, status, message.
function M.image_from_request(body)
  local req, err = cjson.decode(body or '')
  if req == nil then return nil, 400, 'malformed JSON: ' .. tostring(err) end
  if type(req) ~= 'table' or #req > 0 then return nil, 400, 'the body must be a JSON object' end
  local ok, img, has_ink
  if req.pixels ~= nil then
    local px, w, h = req.pixels, req.width, req.height
    if type(px) ~= 'table' then return nil, 400, '"pixels" must be an array of numbers' end
    if not is_int(w) or not is_int(h) then
      return nil, 400, '"width" and "height" must be given as integers with "pixels"'
    end
    if w < 1 or h < 1 or w > M.MAX_SIDE or h > M.MAX_SIDE then
      return nil, 400, string.format('the image must be 1 to %d pixels on each side (got %sx%s)',
        M.MAX_SIDE, w, h)
    end
    ok, img, has_ink = pcall(digit.preprocess, 'pixels', px, math.tointeger(h), math.tointeger(w))
    if not ok then return nil, 400, tostring(img) end
  elseif req.png ~= nil then
    local ink, status, msg = ink_from_png(req.png)
    if not ink then return nil, status, msg end
    ok, img, has_ink = pcall(digit.preprocess, 'png', ink)
    if not ok then return nil, 400, tostring(img) end
  else
    return nil, 400, 'the body must hold "pixels" (with "width" and "height") or "png"'
  end
  if not has_ink then return nil, 422, 'the image is blank: draw a digit first' end
  return img
end

-- The index (0-based) of the first largest value.
local function argmax(t)
  local best = 1
  for i = 2, #t do if t[i] > t[best] then best = i end end
  return best - 1
end

local function classify(opts, req)
  local img, status, msg = M.image_from_request(req.body)
  if not img then return M.error(status, msg) end
  local probs = opts.classify(img)
  local flat = {}
  for i, row in ipairs(img:totable()) do
    for j, v in ipairs(row) do flat[(i - 1) * 28 + j] = math.floor(v * 1000 + 0.5) / 1000 end
  end
  return M.json(200, {digit = argmax(probs), probabilities = probs, image = flat})
end

-- Routes: path -> {method -> function(opts, req) -> response}.
local routes = {
  ['/'] = {GET = function(opts)
    return {status = 200, headers = {['Content-Type'] = 'text/html; charset=utf-8'}, body = opts.page}
  end},
  ['/api/model'] = {GET = function(opts) return M.json(200, opts.model_info or {}) end},
  ['/api/classify'] = {POST = classify},
}

-- Answers one request {method, path, headers, body}; HEAD is served as GET
-- (the server drops the body). opts: classify(img) -> ten probabilities (a Lua
-- sequence) for a (28, 28) NDArray; model_info, a table for /api/model; page, the HTML.
function M.handle(opts, req)
  local path = (req.path or '/'):gsub('%?.*$', '')
  local route = routes[path]
  if not route then return M.error(404, 'no such path: ' .. path) end
  local method = req.method == 'HEAD' and 'GET' or req.method
  local fn = route[method]
  if not fn then
    local allowed = {}
    for m in pairs(route) do allowed[#allowed + 1] = m end
    table.sort(allowed)
    return M.error(405, string.format('%s is not allowed on %s (allowed: %s)', req.method, path,
      table.concat(allowed, ', ')), {Allow = table.concat(allowed, ', ')})
  end
  return fn(opts, req)
end

-- A handler function for draw_digit.server from the options of M.handle.
function M.new(opts)
  opts.page = opts.page or require('draw_digit.page')
  return function(req) return M.handle(opts, req) end
end

return M
