--- mx.viz: pictures of networks and data. plot_network (Graphviz DOT text, rendered
-- by the `dot` program), print_summary (a table of layers), imshow_grid (a PNG of
-- images) and plot_history (accuracy and loss per epoch, as SVG or PNG).
-- @module mx.viz
local core = require 'mx.core'
local options = require 'mx.options'

local viz = {}

-- ---------------------------------------------------------------- helpers

-- The graph of a Symbol in MXNet's JSON layout: nodes {op, name, attrs, inputs}, heads.
local function graph_of(sym, where)
  if type(sym) ~= 'userdata' and type(sym) ~= 'table' or not sym.tojson then
    error(where .. ': expected a Symbol (got ' .. type(sym) .. ')', 3)
  end
  local cjson = require 'cjson'
  local g = cjson.decode(sym:tojson())
  for _, node in ipairs(g.nodes) do
    node.attrs = node.attrs or node.attr or node.param or {}
    if node.attrs == cjson.null then node.attrs = {} end
  end
  return g
end

-- Output shapes of every node (node name -> list of shapes), when input shapes are given.
local function node_shapes(sym, shapes, g, where)
  if not shapes then return nil end
  local ok, internals = pcall(function() return sym:get_internals() end)
  if not ok or not internals then error(where .. ': this Symbol cannot list its internal outputs', 3) end
  local _, out_shapes = internals:infer_shape(shapes)
  if not out_shapes then error(where .. ': cannot infer the shapes from the given input shapes', 3) end
  local names = internals:list_outputs()
  local by_output = {}
  for i, name in ipairs(names) do by_output[name] = out_shapes[i] end
  local result = {}
  for _, node in ipairs(g.nodes) do
    if node.op == 'null' then
      result[node.name] = by_output[node.name]
    else
      result[node.name] = by_output[node.name .. '_output'] or by_output[node.name .. '_output0']
    end
  end
  return result
end

local function shape_text(shape, drop_batch)
  if not shape then return '' end
  local dims = {}
  for i = drop_batch and 2 or 1, #shape do dims[#dims + 1] = tostring(math.tointeger(shape[i]) or shape[i]) end
  return table.concat(dims, 'x')
end

local function str2tuple(s)
  local t = {}
  for n in tostring(s):gmatch('%-?%d+') do t[#t + 1] = n end
  return t
end

local function looks_like_weight(name)
  for _, suffix in ipairs { '_weight', '_bias', '_beta', '_gamma', '_moving_var', '_moving_mean',
                            '_running_var', '_running_mean' } do
    if name:sub(-#suffix) == suffix then return true end
  end
  return false
end

local function dot_quote(s)
  return '"' .. tostring(s):gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('\n', '\\n') .. '"'
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- ---------------------------------------------------------------- plot_network

-- MXNet's palette and default node look (visualization.py).
local cm = { '#8dd3c7', '#fb8072', '#ffffb3', '#bebada', '#80b1d3', '#fdb462', '#b3de69', '#fccde5' }
viz.palette = cm

local function node_look(node)
  local op, a = node.op, node.attrs
  if op == 'null' then return node.name, cm[1] end
  if op == 'Convolution' then
    local stride = a.stride and table.concat(str2tuple(a.stride), 'x') or '1'
    return string.format('Convolution\n%s/%s, %s', table.concat(str2tuple(a.kernel or ''), 'x'), stride,
                         a.num_filter or '?'), cm[2]
  elseif op == 'FullyConnected' then
    return 'FullyConnected\n' .. (a.num_hidden or '?'), cm[2]
  elseif op == 'BatchNorm' then
    return op, cm[4]
  elseif op == 'Activation' or op == 'LeakyReLU' then
    return op .. '\n' .. (a.act_type or (op == 'LeakyReLU' and 'leaky' or '?')), cm[3]
  elseif op == 'Pooling' then
    local stride = a.stride and table.concat(str2tuple(a.stride), 'x') or '1'
    return string.format('Pooling\n%s, %s/%s', a.pool_type or 'max', table.concat(str2tuple(a.kernel or ''), 'x'),
                         stride), cm[5]
  elseif op == 'Concat' or op == 'Flatten' or op == 'Reshape' then
    return op, cm[6]
  elseif op == 'Softmax' then
    return op, cm[7]
  elseif op == 'Custom' then -- a LuaOp's op_type is its class name
    return a.op_type or op, cm[8]
  end
  return op, cm[8]
end

local Plot = {}
Plot.__index = Plot

--- The Graphviz DOT text of the picture.
function Plot:source() return self._source end

--- Renders the picture with Graphviz's `dot` into `path`.`format` (svg, png, pdf...)
--- (or `path` itself when it already ends so); returns the file written.
function Plot:render(path, format)
  local where = 'mx.viz.plot_network:render'
  format = format or 'svg'
  if type(path) ~= 'string' or path == '' then error(where .. ': expected a file path', 2) end
  if not tostring(format):match('^[%w]+$') then error(where .. ": bad format '" .. tostring(format) .. "'", 2) end
  local file = path:sub(-(#format + 1)) == '.' .. format and path or path .. '.' .. format
  local log = os.tmpname() -- dot's messages, shown only when it fails
  local pipe = io.popen('dot -T' .. format .. ' -o ' .. shell_quote(file) .. ' 2>' .. shell_quote(log), 'w')
  if not pipe then error(where .. ": cannot run Graphviz's dot (install graphviz: make deps)", 2) end
  pipe:write(self._source)
  local ok, _, code = pipe:close()
  local f = io.open(log)
  local messages = f and f:read('a') or ''
  if f then f:close() end
  os.remove(log)
  if not ok then
    local why = messages:match('Error: ([^\n]*)') or messages:match('[^\n]+')
    if code == 127 or not why then why = 'is graphviz installed? make deps' end
    error(string.format("%s: Graphviz's dot failed writing '%s' (exit status %s: %s)", where, file, tostring(code),
                        why), 2)
  end
  return file
end

function Plot:__tostring() return self._source end

--- plot_network(sym, {title, shape, hide_weights, node_attrs}) -> a picture with :source() and :render().
--- One node per operator, labelled and coloured as MXNet does; inputs are ovals;
--- with `shape` (input name -> shape), edges carry the producer's output shape.
function viz.plot_network(sym, opts)
  options.check(opts, {'hide_weights', 'node_attrs', 'shape', 'title'}, 'mx.viz.plot_network', 2)
  local where = 'mx.viz.plot_network'
  opts = opts or {}
  if type(opts) ~= 'table' then error(where .. ': options must be a table', 2) end
  local g = graph_of(sym, where)
  local shapes = node_shapes(sym, opts.shape, g, where)
  local hide_weights = opts.hide_weights ~= false
  -- MXNet's node look; a 12-point font keeps "FullyConnected" inside the fixed-size box
  local node_attrs = { shape = 'box', fixedsize = 'true', width = '1.3', height = '0.8034', style = 'filled',
                       fontsize = '12' }
  for k, v in pairs(opts.node_attrs or {}) do node_attrs[k] = tostring(v) end

  local function attr_list(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. '=' .. dot_quote(t[k]) end
    return '[' .. table.concat(parts, ' ') .. ']'
  end

  local lines = { 'digraph ' .. dot_quote(opts.title or 'plot') .. ' {', '\tnode ' .. attr_list(node_attrs) }
  local hidden = {}
  for i, node in ipairs(g.nodes) do
    local id = i - 1
    if node.op == 'null' and hide_weights and looks_like_weight(node.name) then
      hidden[id] = true
    else
      local label, color = node_look(node)
      local attrs = { label = label, fillcolor = color }
      if node.op == 'null' then attrs.shape = 'oval' end
      lines[#lines + 1] = '\t' .. dot_quote(node.name) .. ' ' .. attr_list(attrs)
    end
  end
  for _, node in ipairs(g.nodes) do
    if node.op ~= 'null' then
      for _, input in ipairs(node.inputs or {}) do
        local src = input[1]
        if not hidden[src] then
          local producer = g.nodes[src + 1]
          local attrs = { dir = 'back', arrowtail = 'open' }
          if shapes and shapes[producer.name] then attrs.label = shape_text(shapes[producer.name], true) end
          lines[#lines + 1] = '\t' .. dot_quote(node.name) .. ' -> ' .. dot_quote(producer.name) .. ' '
                              .. attr_list(attrs)
        end
      end
    end
  end
  lines[#lines + 1] = '}'
  return setmetatable({ _source = table.concat(lines, '\n') .. '\n', title = opts.title or 'plot' }, Plot)
end

-- ---------------------------------------------------------------- print_summary

--- print_summary(sym, shapes[, {line_length, print = fn}]): prints MXNet's table of
--- layers (name and type, output shape without the batch axis, parameter count,
--- previous layers) and the total; returns the total parameter count.
--- Parameters of a layer are its inputs that are variables other than the given inputs.
function viz.print_summary(sym, shapes, opts)
  options.check(opts, {'line_length', 'print'}, 'mx.viz.print_summary', 2)
  local where = 'mx.viz.print_summary'
  if type(shapes) ~= 'table' then error(where .. ': expected the input shapes, e.g. {data = {100, 784}}', 2) end
  opts = opts or {}
  local out = opts.print or print
  local g = graph_of(sym, where)
  local out_shapes = node_shapes(sym, shapes, g, where)
  local arg_shapes_list = select(1, sym:infer_shape(shapes))
  local arg_shape = {}
  for i, name in ipairs(sym:list_arguments()) do arg_shape[name] = arg_shapes_list[i] end

  local width = opts.line_length or 120
  local pos = { math.floor(width * .44), math.floor(width * .64), math.floor(width * .74), width }
  local function row(fields)
    local line = ''
    for i, f in ipairs(fields) do
      line = line .. f
      line = line:sub(1, pos[i])
      line = line .. string.rep(' ', pos[i] - #line)
    end
    out(line)
  end
  out(string.rep('_', width))
  row { 'Layer (type)', 'Output Shape', 'Param #', 'Previous Layer' }
  out(string.rep('=', width))
  local total = 0
  local shown = 0
  for _, node in ipairs(g.nodes) do
    local is_input = node.op == 'null' and shapes[node.name] ~= nil
    if node.op ~= 'null' or is_input then
      local params, previous = 0, {}
      for _, input in ipairs(node.inputs or {}) do
        local src = g.nodes[input[1] + 1]
        if src.op == 'null' and not shapes[src.name] and not src.name:match('_label$') then
          local s = arg_shape[src.name]
          if s then
            local n = 1
            for _, d in ipairs(s) do n = n * d end
            params = params + n
          end
        else
          previous[#previous + 1] = src.name
        end
      end
      total = total + params
      if shown > 0 then out(string.rep('_', width)) end
      shown = shown + 1
      row { string.format('%s(%s)', node.name, node.op), shape_text(out_shapes[node.name], true),
            tostring(math.tointeger(params) or params), previous[1] or '' }
      for k = 2, #previous do row { '', '', '', previous[k] } end
    end
  end
  out(string.rep('=', width))
  out('Total params: ' .. tostring(math.tointeger(total) or total))
  out(string.rep('_', width))
  return total
end

-- ---------------------------------------------------------------- imshow_grid

--- imshow_grid(images, {file, rows, cols, scale, pad}): writes a PNG of the images
--- ((n,h,w), (n,1,h,w) or flat square rows (n,h*w), values 0 black to 1 white)
--- in a grid (one row by default); returns the file name.
function viz.imshow_grid(images, opts)
  options.check(opts, {'cols', 'file', 'pad', 'rows', 'scale'}, 'mx.viz.imshow_grid', 2)
  local where = 'mx.viz.imshow_grid'
  opts = opts or {}
  if type(opts) ~= 'table' then error(where .. ': options must be a table', 2) end
  if type(opts.file) ~= 'string' then error(where .. ": option 'file' (a .png path) is required", 2) end
  if opts.rows == nil and opts.cols == nil then opts = setmetatable({ rows = 1 }, { __index = opts }) end
  core.image_write_grid(where, opts.file, images, opts.rows or 0, opts.cols or 0, opts.scale or 2, opts.pad or 2)
  return opts.file
end

--- read_png(path) -> gray, alpha: two (h, w) NDArrays of values in [0, 1].
function viz.read_png(path)
  return core.image_read_png('mx.viz.read_png', path)
end

--- decode_png(bytes) -> gray, alpha (the same, from PNG bytes in a string).
function viz.decode_png(bytes)
  return core.image_decode_png('mx.viz.decode_png', bytes)
end

-- ---------------------------------------------------------------- plot_history

-- Series from a model (its `history`) or a history table. Accepted forms:
-- {train = {acc...}, validation = {acc...}, train_loss = {...}, validation_loss = {...}},
-- or MXNet-like names {['Train-accuracy'] = {...}, ['Validation-accuracy'] = {...}},
-- or a list of per-epoch records {{epoch = 0, train = {accuracy = x}, eval = {...}}, ...}.
local function series_of(h, where)
  if type(h) ~= 'table' then error(where .. ': expected a model or a history table', 3) end
  if h.history then h = h.history end
  local series = {}
  local function add(name, values, kind)
    if type(values) == 'table' and #values > 0 then
      series[#series + 1] = { name = name, values = values, kind = kind }
    end
  end
  if #h > 0 and type(h[1]) == 'table' then -- per-epoch records
    local acc = {}
    for _, rec in ipairs(h) do
      for _, part in ipairs { 'train', 'eval', 'validation' } do
        for metric, v in pairs(rec[part] or {}) do
          local key = (part == 'train' and 'Train' or 'Validation') .. '-' .. metric -- as the log lines
          acc[key] = acc[key] or {}
          acc[key][#acc[key] + 1] = v
        end
      end
    end
    local keys = {}
    for k in pairs(acc) do keys[#keys + 1] = k end
    table.sort(keys)
    table.sort(keys, function(a, b) -- Train first
      if (a:sub(1, 5) == 'Train') ~= (b:sub(1, 5) == 'Train') then return a:sub(1, 5) == 'Train' end
      return a < b
    end)
    for _, k in ipairs(keys) do add(k, acc[k], (k:find('loss') or k:find('entropy')) and 'loss' or 'metric') end
  else
    local keys = {}
    for k in pairs(h) do if type(k) == 'string' then keys[#keys + 1] = k end end
    table.sort(keys, function(a, b)
      local ta, tb = a:lower():find('train') ~= nil, b:lower():find('train') ~= nil
      if ta ~= tb then return ta end
      return a < b
    end)
    for _, k in ipairs(keys) do
      local lk = k:lower()
      add(k, h[k], (lk:find('loss') or lk:find('entropy')) and 'loss' or 'metric')
    end
  end
  if #series == 0 then error(where .. ': the history holds no series (train/validation values per epoch)', 3) end
  return series
end

local colors = { 0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b }

local function nice_step(range, ticks)
  local raw = range / ticks
  local mag = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs { 1, 2, 2.5, 5, 10 } do
    if m * mag >= raw then return m * mag end
  end
  return 10 * mag
end

local function fmt_tick(v, step)
  local decimals = math.max(0, -math.floor(math.log(step, 10) + 1e-9))
  if step * 10 ^ decimals % 1 ~= 0 then decimals = decimals + 1 end
  return string.format('%.' .. decimals .. 'f', v)
end

local function finite(v) return type(v) == 'number' and v == v and v ~= math.huge and v ~= -math.huge end

-- The layout of one panel (a plot of some series against the epoch) as drawing commands.
local function draw_panel(cmds, series, x0, y0, w, h, title, ylabel)
  local tw = function(s) return #s * 6 end
  local legend = 0
  for _, s in ipairs(series) do legend = math.max(legend, #s.name * 6) end
  local left, right, top, bottom = x0 + 64, x0 + w - legend - 52, y0 + 28, y0 + h - 40
  local n, lo, hi = 0, math.huge, -math.huge
  for _, s in ipairs(series) do
    n = math.max(n, #s.values)
    for _, v in ipairs(s.values) do
      if finite(v) then lo, hi = math.min(lo, v), math.max(hi, v) end
    end
  end
  if lo > hi then lo, hi = 0, 1 end -- nothing finite to draw
  if hi - lo < 1e-9 then lo, hi = lo - 0.5, hi + 0.5 end
  local step = nice_step(hi - lo, 5)
  lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
  local function px(i) return n > 1 and left + (i - 1) * (right - left) / (n - 1) or (left + right) / 2 end
  local function py(v) return bottom - (v - lo) * (bottom - top) / (hi - lo) end
  cmds[#cmds + 1] = { 'text', (left + right) // 2 - tw(title) // 2, y0 + 8, title, 0x000000, 1 }
  -- grid and y ticks
  local v = lo
  while v <= hi + step / 2 do
    local y = math.floor(py(v) + 0.5)
    cmds[#cmds + 1] = { 'line', left, y, right, y, 0xe0e0e0, 1 }
    local label = fmt_tick(v, step)
    cmds[#cmds + 1] = { 'text', left - 6 - tw(label), y - 3, label, 0x333333, 1 }
    v = v + step
  end
  -- x ticks: epochs, 0-based as MXNet logs them
  local every = math.max(1, math.ceil(n / 10))
  for i = 1, n, every do
    local x = math.floor(px(i) + 0.5)
    cmds[#cmds + 1] = { 'line', x, bottom, x, bottom + 4, 0x000000, 1 }
    local label = tostring(i - 1)
    cmds[#cmds + 1] = { 'text', x - tw(label) // 2, bottom + 8, label, 0x333333, 1 }
  end
  cmds[#cmds + 1] = { 'text', (left + right) // 2 - tw('epoch') // 2, bottom + 22, 'epoch', 0x000000, 1 }
  cmds[#cmds + 1] = { 'text', x0 + 4, top - 16, ylabel, 0x000000, 1 }
  -- axes
  cmds[#cmds + 1] = { 'line', left, top, left, bottom, 0x000000, 1 }
  cmds[#cmds + 1] = { 'line', left, bottom, right, bottom, 0x000000, 1 }
  -- series and legend
  for k, s in ipairs(series) do
    local color = colors[(k - 1) % #colors + 1]
    for i = 2, #s.values do
      if finite(s.values[i - 1]) and finite(s.values[i]) then
        cmds[#cmds + 1] = { 'line', math.floor(px(i - 1) + 0.5), math.floor(py(s.values[i - 1]) + 0.5),
                            math.floor(px(i) + 0.5), math.floor(py(s.values[i]) + 0.5), color, 2 }
      end
    end
    for i = 1, #s.values do
      if finite(s.values[i]) then
        cmds[#cmds + 1] = { 'rect', math.floor(px(i) + 0.5) - 2, math.floor(py(s.values[i]) + 0.5) - 2, 5, 5, color }
      end
    end
    local ly = top + 4 + (k - 1) * 16
    cmds[#cmds + 1] = { 'line', right + 12, ly + 3, right + 30, ly + 3, color, 2 }
    cmds[#cmds + 1] = { 'text', right + 36, ly, s.name, 0x000000, 1 }
  end
end

local function hex(c) return string.format('#%06x', c) end

local function to_svg(w, h, cmds)
  local out = { string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">',
                              w, h, w, h),
                string.format('<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>', w, h) }
  for _, c in ipairs(cmds) do
    if c[1] == 'rect' then
      out[#out + 1] = string.format('<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>', c[2], c[3], c[4], c[5],
                                    hex(c[6]))
    elseif c[1] == 'line' then
      out[#out + 1] = string.format('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%d"/>',
                                    c[2], c[3], c[4], c[5], hex(c[6]), c[7])
    else
      local text = c[4]:gsub('&', '&amp;'):gsub('<', '&lt;'):gsub('>', '&gt;')
      out[#out + 1] = string.format(
        '<text x="%d" y="%d" font-family="monospace" font-size="%d" fill="%s">%s</text>',
        c[2], c[3] + 7 * c[6], 10 * c[6], hex(c[5]), text)
    end
  end
  out[#out + 1] = '</svg>'
  return table.concat(out, '\n') .. '\n'
end

--- plot_history(model or history, file[, {title}]): accuracy (and loss where known)
--- per epoch, training and validation, as a PNG or SVG picture by the file's
--- extension; returns the file name.
function viz.plot_history(history, file, opts)
  options.check(opts, {'title'}, 'mx.viz.plot_history', 2)
  local where = 'mx.viz.plot_history'
  if type(file) ~= 'string' then error(where .. ': expected a file name ending in .png or .svg', 2) end
  local ext = file:match('%.(%w+)$')
  ext = ext and ext:lower()
  if ext ~= 'png' and ext ~= 'svg' then
    error(where .. ": unsupported picture format '" .. tostring(ext) .. "' (expected .png or .svg)", 2)
  end
  opts = opts or {}
  local series = series_of(history, where)
  local metrics, losses = {}, {}
  for _, s in ipairs(series) do
    if s.kind == 'loss' then losses[#losses + 1] = s else metrics[#metrics + 1] = s end
  end
  local panel_h, w = 320, 720
  local panels = {}
  if #metrics > 0 then panels[#panels + 1] = { metrics, opts.title or 'Accuracy per epoch', 'accuracy' } end
  if #losses > 0 then panels[#panels + 1] = { losses, 'Loss per epoch', 'loss' } end
  local cmds = {}
  for k, p in ipairs(panels) do draw_panel(cmds, p[1], 0, (k - 1) * panel_h, w, panel_h, p[2], p[3]) end
  local h = panel_h * #panels
  if ext == 'svg' then
    local f, err = io.open(file, 'w')
    if not f then error(where .. ': ' .. tostring(err), 2) end
    f:write(to_svg(w, h, cmds))
    f:close()
  else
    core.image_draw_png(where, file, w, h, 0xffffff, cmds)
  end
  return file
end

return viz
