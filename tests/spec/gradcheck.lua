-- gradcheck.lua: gradient checking for specs: central finite differences of a
-- scalar objective, and check_symbol, which binds a symbol and compares its
-- backward pass (write, add, null requests) with the numeric gradients.
local mx = require 'mx'

local G = {}

-- |a - b| within tol relative to b (and absolute near zero).
function G.near(a, b, tol)
  return math.abs(a - b) <= tol * (1 + math.abs(b))
end

-- Lists of numbers equal element by element within tol; the error names the first difference.
function G.assert_all_near(got, want, tol)
  assert(#got == #want, string.format('%d elements, expected %d', #got, #want))
  for i = 1, #want do
    if not G.near(got[i], want[i], tol) then
      error(string.format('element %d: got %.7g, expected %.7g', i, got[i], want[i]), 2)
    end
  end
end

-- A host copy of an NDArray's elements, flat, 1-based.
function G.flat(x)
  local f = x:reshape{x:size()}
  local t = {}
  for i = 1, x:size() do t[i] = f[i] end
  return t
end

-- An NDArray of `shape` with values uniform in [lo, hi), away from 0 by `gap`
-- when given (keeps finite differences off kinks such as relu's).
function G.random(shape, lo, hi, gap)
  local x = mx.random.uniform(lo or -1, hi or 1, shape)
  if gap then
    local f = x:reshape{x:size()}
    for i = 1, x:size() do
      local v = f[i]
      if math.abs(v) < gap then f[i] = v < 0 and v - gap or v + gap end
    end
  end
  return x
end

-- d f() / d x by central differences; x is changed in place and restored.
function G.numeric_grad(f, x, eps)
  eps = eps or 1e-2
  local flat = x:reshape{x:size()}
  local g = {}
  for i = 1, x:size() do
    local v = flat[i]
    flat[i] = v + eps
    local fp = f()
    flat[i] = v - eps
    local fm = f()
    flat[i] = v
    g[i] = (fp - fm) / (2 * eps)
  end
  return g
end

-- Largest violation of |a - n| <= atol + rtol |n| over two flat lists; nil when none.
function G.compare(analytic, numeric, rtol, atol)
  assert(#analytic == #numeric, string.format('sizes differ: %d and %d', #analytic, #numeric))
  local worst
  for i = 1, #numeric do
    local a, n = analytic[i], numeric[i]
    local excess = math.abs(a - n) - (atol + rtol * math.abs(n))
    if excess > 0 and (not worst or excess > worst.excess) then
      worst = {index = i, analytic = a, numeric = n, excess = excess}
    end
  end
  return worst
end

local function sum_product(arrays, weights)
  local s = 0
  for h, out in ipairs(arrays) do
    local o, w = G.flat(out), weights[h]
    for i = 1, #o do s = s + o[i] * w[i] end
  end
  return s
end

-- Checks sym's gradients. inputs: {name = NDArray} for every argument (copied).
-- opts: wrt (list of names; default every input not in opts.skip), loss
-- (function(outputs) -> number, for loss layers: backward gets no head gradient),
-- eps, rtol, atol, is_train (forward mode for the objective, default false).
-- Without loss the objective is sum(out .* w) for fixed random w, and backward(w).
-- Also checks 'add' (onto ones) and 'null' (left untouched). Raises on mismatch.
function G.check_symbol(sym, inputs, opts)
  opts = opts or {}
  local rtol, atol = opts.rtol or 2e-2, opts.atol or 2e-3
  local names = sym:list_arguments()
  local wrt, skip = {}, {}
  for _, n in ipairs(opts.skip or {}) do skip[n] = true end
  for _, n in ipairs(opts.wrt or names) do if not skip[n] then wrt[#wrt + 1] = n end end
  local args, grads = {}, {}
  for _, n in ipairs(names) do
    assert(inputs[n], 'check_symbol: no input for ' .. n)
    args[n] = inputs[n]:copy()
  end
  for _, n in ipairs(wrt) do grads[n] = mx.nd.zeros(args[n]:shape()) end
  local exe = sym:bind{ctx = mx.cpu(), args = args, args_grad = grads, grad_req = 'write'}
  local weights, head_grads = {}, nil
  if not opts.loss then
    head_grads = {}
    exe:forward{is_train = false}
    for h, out in ipairs(exe.outputs) do
      head_grads[h] = G.random(out:shape(), -1, 1)
      weights[h] = G.flat(head_grads[h])
    end
  end
  local function objective()
    exe:forward{is_train = opts.is_train or false}
    if opts.loss then return opts.loss(exe.outputs, args) end
    return sum_product(exe.outputs, weights)
  end
  exe:forward{is_train = true}
  exe:backward(head_grads)
  local analytic = {}
  for _, n in ipairs(wrt) do analytic[n] = G.flat(grads[n]) end
  for _, n in ipairs(wrt) do
    local numeric = G.numeric_grad(objective, args[n], opts.eps)
    local worst = G.compare(analytic[n], numeric, rtol, atol)
    if worst then
      error(string.format('gradient of %s: element %d is %.6g, central differences give %.6g', n, worst.index,
        worst.analytic, worst.numeric), 2)
    end
  end
  -- 'add' accumulates onto what is there; 'null' leaves the array alone
  local add_grads, reqs = {}, {}
  for i, n in ipairs(wrt) do
    add_grads[n] = mx.nd.ones(args[n]:shape())
    reqs[n] = (i == 1 and #wrt > 1) and 'null' or 'add'
  end
  local exe2 = sym:bind{ctx = mx.cpu(), args = args, args_grad = add_grads, grad_req = reqs}
  exe2:forward{is_train = true}
  exe2:backward(head_grads)
  for _, n in ipairs(wrt) do
    local got = G.flat(add_grads[n])
    for i = 1, #got do
      local want = reqs[n] == 'null' and 1 or 1 + analytic[n][i]
      if math.abs(got[i] - want) > 1e-4 + 1e-4 * math.abs(want) then
        error(string.format("grad_req '%s' of %s: element %d is %.6g, expected %.6g", reqs[n], n, i, got[i], want), 2)
      end
    end
  end
  return true
end

return G
