-- mx.test_utils: helpers for tests and tutorials, as MXNet has them: get_mnist reads the MNIST
-- IDX files (plain or .gz) from a folder given, else $MXLUA_DATA, data/mnist, or the checkout's;
-- roots/checkout_path place scripts' data and outputs independently of the current directory;
-- assert_almost_equal, check_symbolic_forward/backward and check_numeric_gradient
-- (central finite differences) check operators, Lua ones included.
local core = require 'mx.core'

local test_utils = {}

local FILES = {
  train_data = 'train-images-idx3-ubyte', train_label = 'train-labels-idx1-ubyte',
  test_data = 't10k-images-idx3-ubyte', test_label = 't10k-labels-idx1-ubyte',
}

-- stat, not open: opening a FIFO would wait for a writer forever (the loader refuses anything
-- but a regular file, naming it)
local function exists(path)
  return require('lfs').attributes(path, 'mode') ~= nil
end

-- The file for `base` in dir: plain, or with .gz.
local function find(dir, base)
  for _, p in ipairs{dir .. '/' .. base, dir .. '/' .. base .. '.gz'} do
    if exists(p) then return p end
  end
end

-- The folder holding path: "a/b/c.lua" -> "a/b", "c.lua" -> ".", "/c.lua" -> "/".
local function dirname(path)
  local dir = path:match('^(.*)/[^/]*$')
  if dir == nil then return '.' end
  return dir == '' and '/' or dir
end

local function join(dir, rel) return (dir:gsub('/$', '')) .. '/' .. rel end

--- The checkouts (or installations) to look in, in order: the one the running script lives in
-- (its folder's parent: scripts/x.lua -> .), $MXLUA_ROOT, then the one mx is loaded from.
function test_utils.roots()
  local roots, seen = {}, {}
  local function add(r)
    if r and r ~= '' and not seen[r] then seen[r] = true; roots[#roots + 1] = r end
  end
  local script = rawget(_G, 'arg') and arg[0]
  if script and script:match('%.lua$') then
    local dir = dirname(script)
    add(dir == '.' and '..' or dirname(dir))
  end
  add(os.getenv('MXLUA_ROOT'))
  local init = package.searchpath('mx', package.path) -- ROOT/lua/mx/init.lua in a checkout
  local root = init and init:match('^(.*)/lua/mx/init%.lua$')
  if root and root:match('/share/lua/5%.4$') == nil then add(root) end
  return roots
end

--- checkout_path(rel) -> rel under the checkout of the running script (roots()[1]), so that
-- scripts' default outputs (checkpoints) do not depend on the current directory.
function test_utils.checkout_path(rel)
  local root = test_utils.roots()[1]
  if not root or root == '.' then return rel end
  return join(root, rel)
end

--- The folders get_mnist looks in, in order: dir alone when given; else $MXLUA_DATA (and its
-- mnist/), data/mnist under the current directory, then data/mnist of each of roots().
function test_utils.mnist_dirs(dir)
  if dir then return {dir} end
  local dirs, seen = {}, {}
  local function add(d)
    if not seen[d] then seen[d] = true; dirs[#dirs + 1] = d end
  end
  local env = os.getenv('MXLUA_DATA')
  if env and env ~= '' then
    add(env .. '/mnist')
    add(env)
  end
  add('data/mnist')
  for _, root in ipairs(test_utils.roots()) do
    if root ~= '.' then add(join(root, 'data/mnist')) end
  end
  return dirs
end

--- mnist_files([dir]) -> the paths of the four IDX files (plain or .gz) in the first of
-- mnist_dirs(dir) that holds them all, as {train_data=, train_label=, test_data=, test_label=};
-- or nil and a message naming the folders tried and how to give another.
function test_utils.mnist_files(dir)
  local dirs = test_utils.mnist_dirs(dir)
  for _, d in ipairs(dirs) do
    local paths, complete = {}, true
    for key, base in pairs(FILES) do
      paths[key] = find(d, base)
      if not paths[key] then complete = false end
    end
    if complete then return paths end
  end
  return nil, ('the MNIST files (train-images-idx3-ubyte, ...) are not in %s: give their folder '
               .. "(a script's --data DIR, or MXLUA_DATA=DIR), or run `make data` in the checkout to fetch them")
               :format(table.concat(dirs, ' or '))
end

--- get_mnist([dir[, ctx]]) -> {train_data = (60000,784), train_label = (60000,),
-- test_data = (10000,784), test_label = (10000,)}, pixels scaled to [0, 1].
function test_utils.get_mnist(dir, ctx)
  local paths, err = test_utils.mnist_files(dir)
  if not paths then error('mx.test_utils.get_mnist: ' .. err, 2) end
  local out = {}
  for _, part in ipairs{'train', 'test'} do
    local images, labels = core.idx_load_pair(paths[part .. '_data'], paths[part .. '_label'], 1 / 255, ctx)
    local s = images:shape()
    out[part .. '_data'] = images:reshape{s[1], s[2] * s[3]}
    out[part .. '_label'] = labels
  end
  return out
end

-- ---------------------------------------------------------------- checking operators

local function nd() return require 'mx.ndarray' end

-- An NDArray from an NDArray or a (nested) table of numbers.
local function as_array(v, ctx)
  if type(v) == 'table' and not nd().is_ndarray(v) then return nd().array(v, ctx) end
  return ctx and v:as_in_context(ctx) or v
end

local function flat(a)
  local f = a:reshape { a:size() }:totable()
  return f
end

local function shape_text(s) return '(' .. table.concat(s, ',') .. ')' end

--- assert_almost_equal(a, b[, rtol = 1e-5, atol = 1e-20, names = {'a', 'b'}, equal_nan = false]):
--- raises unless |a - b| <= atol + rtol * |b| everywhere (NDArrays, tables or numbers),
--- naming the worst element as MXNet does.
function test_utils.assert_almost_equal(a, b, rtol, atol, names, equal_nan)
  rtol, atol, names = rtol or 1e-5, atol or 1e-20, names or { 'a', 'b' }
  local sa, sb
  if type(a) == 'number' then a = { a } end
  if type(b) == 'number' then b = { b } end
  a, b = as_array(a), as_array(b)
  sa, sb = a:shape(), b:shape()
  if shape_text(sa) ~= shape_text(sb) then
    error(string.format('assert_almost_equal: %s has shape %s, %s has shape %s', names[1], shape_text(sa), names[2],
                        shape_text(sb)), 2)
  end
  local fa, fb = flat(a), flat(b)
  local worst, worst_i, bad = -1, nil, 0
  for i = 1, #fa do
    local x, y = fa[i], fb[i]
    local excess
    if x ~= x or y ~= y then
      excess = (equal_nan and x ~= x and y ~= y) and 0 or math.huge
    else
      excess = math.abs(x - y) / (atol + rtol * math.abs(y))
    end
    if excess > 1 then bad = bad + 1 end
    if excess > worst then worst, worst_i = excess, i end
  end
  if bad > 0 then
    -- the 1-based position of the worst element
    local pos, rest = {}, worst_i - 1
    for d = #sa, 1, -1 do
      pos[d] = rest % sa[d] + 1
      rest = rest // sa[d]
    end
    error(string.format('Items are not equal:\nError %g exceeds tolerance rtol=%g, atol=%g (mismatch %.1f%%).\n'
                        .. 'Location of maximum error: (%s), %s=%.8g, %s=%.8g', worst, rtol, atol, 100 * bad / #fa,
                        table.concat(pos, ', '), names[1], fa[worst_i], names[2], fb[worst_i]), 2)
  end
end

-- {name = NDArray} for the names of a list, from a table by name or by position.
local function by_name(names, given, ctx, what)
  local out = {}
  if given == nil then return out end
  for i, n in ipairs(names) do
    local v = given[n]
    if v == nil then v = given[i] end
    if v ~= nil then out[n] = as_array(v, ctx):copy() end
  end
  for k in pairs(given) do
    if type(k) == 'string' and not out[k] then
      error(string.format("%s: the symbol has no %s named '%s' (it has: %s)", 'mx.test_utils', what, k,
                          table.concat(names, ', ')), 3)
    end
  end
  return out
end

local function bind(sym, location, aux_states, ctx, grad_req, args_grad)
  local args = by_name(sym:list_arguments(), location, ctx, 'argument')
  for _, n in ipairs(sym:list_arguments()) do
    if not args[n] then error("mx.test_utils: no value for the argument '" .. n .. "'", 3) end
  end
  local aux = by_name(sym:list_auxiliary_states(), aux_states, ctx, 'auxiliary state')
  local exe = sym:bind { ctx = ctx, args = args, args_grad = args_grad, grad_req = grad_req,
                         aux_states = next(aux) and aux or nil }
  return exe, args
end

-- The kwargs form f{sym = ..., location = ..., ...} of the positional functions below.
local function unpack_kwargs(t, keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = t[k] end
  return table.unpack(out, 1, #keys)
end

--- check_symbolic_forward(sym, location, expected[, rtol = 1e-4, atol = 1e-3, aux_states, ctx]):
--- binds sym with location (by name or in list_arguments order), runs forward
--- (is_train = false) and checks every output against expected. Returns the outputs.
function test_utils.check_symbolic_forward(sym, location, expected, rtol, atol, aux_states, ctx)
  if type(sym) == 'table' and sym.sym then
    sym, location, expected, rtol, atol, aux_states, ctx =
      unpack_kwargs(sym, { 'sym', 'location', 'expected', 'rtol', 'atol', 'aux_states', 'ctx' })
  end
  ctx = ctx or require('mx.context').cpu()
  local exe = bind(sym, location, aux_states, ctx, 'null')
  exe:forward { is_train = false }
  local names = sym:list_outputs()
  for i, out in ipairs(exe.outputs) do
    local want = expected[i] or expected[names[i]]
    test_utils.assert_almost_equal(out, as_array(want), rtol or 1e-4, atol or 1e-3,
                                   { 'FORWARD_' .. names[i], 'EXPECTED_' .. names[i] })
  end
  return exe.outputs
end

-- grad_req: a string for all, or {name = req}; the arguments whose gradient is checked.
local function requests(names, grad_req, default)
  local reqs = {}
  for _, n in ipairs(names) do
    reqs[n] = type(grad_req) == 'table' and grad_req[n] or (type(grad_req) == 'string' and grad_req) or default
  end
  return reqs
end

--- check_symbolic_backward(sym, location, out_grads, expected[, rtol = 1e-5, atol = 1e-20,
--- aux_states, grad_req = 'write', ctx]): forward (is_train) then backward(out_grads) and
--- checks the gradients of the arguments named in expected: for 'write' the gradient,
--- for 'add' what was added to the array's previous (random) content, for 'null' that
--- the array kept it. Returns the gradients by name.
function test_utils.check_symbolic_backward(sym, location, out_grads, expected, rtol, atol, aux_states, grad_req, ctx)
  if type(sym) == 'table' and sym.sym then
    sym, location, out_grads, expected, rtol, atol, aux_states, grad_req, ctx =
      unpack_kwargs(sym, { 'sym', 'location', 'out_grads', 'expected', 'rtol', 'atol', 'aux_states', 'grad_req',
                           'ctx' })
  end
  ctx = ctx or require('mx.context').cpu()
  local names = sym:list_arguments()
  local want = {}
  for i, n in ipairs(names) do want[n] = expected[n] or expected[i] end
  local reqs = requests(names, grad_req, 'write')
  local grads, before = {}, {}
  for n, v in pairs(want) do -- random content, so that 'add' and 'null' are seen
    grads[n] = require('mx.random').normal(0, 1, as_array(v):shape(), ctx)
    before[n] = grads[n]:copy()
  end
  for _, n in ipairs(names) do if not grads[n] then reqs[n] = 'null' end end
  local exe = bind(sym, location, aux_states, ctx, reqs, grads)
  exe:forward { is_train = true }
  local heads
  if out_grads then
    heads = {}
    local onames = sym:list_outputs()
    for i, on in ipairs(onames) do
      local g = out_grads[i] or out_grads[on]
      heads[i] = g and as_array(g, ctx) or nil
    end
  end
  exe:backward(heads)
  for n, v in pairs(want) do
    local got = grads[n]
    if reqs[n] == 'add' then got = got - before[n] end
    if reqs[n] == 'null' then
      test_utils.assert_almost_equal(got, before[n], 0, 0, { 'BACKWARD_' .. n, 'ORIGINAL_' .. n })
    else
      test_utils.assert_almost_equal(got, as_array(v), rtol or 1e-5, atol or 1e-20,
                                     { 'BACKWARD_' .. n, 'EXPECTED_' .. n })
    end
  end
  return grads
end

--- numeric_grad(f, x[, eps = 1e-3]) -> d f() / d x by central differences, a flat list;
--- x (a CPU NDArray) is changed in place and restored.
function test_utils.numeric_grad(f, x, eps)
  eps = eps or 1e-3
  local view = x:reshape { x:size() }
  local g = {}
  for i = 1, x:size() do
    local v = view[i]
    view[i] = v + eps
    local fp = f()
    view[i] = v - eps
    local fm = f()
    view[i] = v
    g[i] = (fp - fm) / (2 * eps)
  end
  return g
end

--- check_numeric_gradient(sym, location[, aux_states, numeric_eps = 1e-3, rtol = 1e-2,
--- atol = 1e-3, grad_nodes, ctx]): MXNet's gradient check. The objective is the sum of
--- every output times a fixed random projection; backward with those projections as
--- head gradients must give its central differences for each argument in grad_nodes (a
--- list, or {name = 'write' | 'add' | 'null'}; default all, 'write'). In the form
--- check_numeric_gradient{sym = ..., location = ..., ...} it also takes use_forward_train
--- (default true) and loss = function(outputs) -> number, the objective of a loss layer
--- (backward then gets no head gradients). Raises on a mismatch; returns the gradients.
function test_utils.check_numeric_gradient(sym, location, aux_states, numeric_eps, rtol, atol, grad_nodes, ctx)
  local opts = {}
  if type(sym) == 'table' and sym.sym then
    opts = sym
    sym, location, aux_states, numeric_eps, rtol, atol, grad_nodes, ctx =
      unpack_kwargs(opts, { 'sym', 'location', 'aux_states', 'numeric_eps', 'rtol', 'atol', 'grad_nodes', 'ctx' })
  end
  ctx = ctx or require('mx.context').cpu()
  numeric_eps, rtol, atol = numeric_eps or 1e-3, rtol or 1e-2, atol or 1e-3
  local train = opts.use_forward_train ~= false
  local names = sym:list_arguments()
  local reqs = {}
  if grad_nodes == nil then
    for _, n in ipairs(names) do reqs[n] = 'write' end
  elseif #grad_nodes > 0 then
    for _, n in ipairs(grad_nodes) do reqs[n] = 'write' end
  else
    for n, r in pairs(grad_nodes) do reqs[n] = r end
  end
  local cpu = require('mx.context').cpu()
  local args = by_name(names, location, cpu, 'argument')
  local aux = by_name(sym:list_auxiliary_states(), aux_states, cpu, 'auxiliary state')
  -- the numeric pass runs on the CPU, on `args` themselves (numeric_grad moves them)
  local exe = sym:bind { ctx = cpu, args = args, grad_req = 'null', aux_states = next(aux) and aux or nil }
  local rand = require 'mx.random'
  local grads, before, req_all = {}, {}, {}
  for _, n in ipairs(names) do
    if reqs[n] then
      grads[n] = rand.normal(0, 0.01, args[n]:shape(), cpu)
      before[n] = grads[n]:copy()
    end
    req_all[n] = reqs[n] or 'null'
  end
  local gexe = bind(sym, args, aux_states, ctx, req_all, grads)
  -- the objective: sum(output * projection), or the loss given
  exe:forward { is_train = train }
  local proj, weights = nil, {}
  if not opts.loss then
    proj = {}
    for i, out in ipairs(exe.outputs) do
      proj[i] = rand.uniform(0, 1, out:shape(), cpu)
      weights[i] = flat(proj[i])
    end
  end
  local function objective()
    exe:forward { is_train = train }
    if opts.loss then return opts.loss(exe.outputs, args) end
    local s = 0
    for i, out in ipairs(exe.outputs) do
      local o, w = flat(out), weights[i]
      for j = 1, #o do s = s + o[j] * w[j] end
    end
    return s
  end
  gexe:forward { is_train = true }
  local heads
  if proj then
    heads = {}
    for i, p in ipairs(proj) do heads[i] = p:as_in_context(ctx) end
  end
  gexe:backward(heads)
  local symbolic = {}
  for n in pairs(grads) do symbolic[n] = grads[n]:as_in_context(cpu) end
  for _, n in ipairs(names) do
    local r = reqs[n]
    if r == 'null' then
      test_utils.assert_almost_equal(symbolic[n], before[n], 0, 0, { 'BACKWARD_' .. n, 'ORIGINAL_' .. n })
    elseif r then
      local numeric = nd().array(test_utils.numeric_grad(objective, args[n], numeric_eps)):reshape(args[n]:shape())
      local got = r == 'add' and symbolic[n] - before[n] or symbolic[n]
      test_utils.assert_almost_equal(numeric, got, rtol, atol, { 'NUMERICAL_' .. n, 'BACKWARD_' .. n })
    end
  end
  return symbolic, heads
end

return test_utils
