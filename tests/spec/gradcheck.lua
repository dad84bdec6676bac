-- gradcheck.lua: the specs' shorthand over mx.test_utils (the one gradient checker):
-- check_symbol checks a symbol's gradients against central differences with
-- check_numeric_gradient, then its 'add' and 'null' requests with check_symbolic_backward;
-- random inputs and flat copies for the specs' own comparisons.
local mx = require 'mx'
local tu = mx.test_utils

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

-- d f() / d x by central differences (eps default 1e-2); x is changed in place and restored.
function G.numeric_grad(f, x, eps)
  return tu.numeric_grad(f, x, eps or 1e-2)
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

-- Checks sym's gradients. inputs: {name = NDArray} for every argument (copied).
-- opts: wrt (list of names; default every input not in opts.skip), loss
-- (function(outputs) -> number, for loss layers: backward gets no head gradient),
-- eps, rtol, atol, is_train (forward mode for the objective, default false).
-- Then 'add' (onto random values) and 'null' (left untouched). Raises on mismatch.
function G.check_symbol(sym, inputs, opts)
  opts = opts or {}
  local skip, wrt = {}, {}
  for _, n in ipairs(opts.skip or {}) do skip[n] = true end
  for _, n in ipairs(opts.wrt or sym:list_arguments()) do if not skip[n] then wrt[#wrt + 1] = n end end
  local grads, heads = tu.check_numeric_gradient{sym = sym, location = inputs, numeric_eps = opts.eps or 1e-2,
    rtol = opts.rtol or 2e-2, atol = opts.atol or 2e-3, grad_nodes = wrt, loss = opts.loss,
    use_forward_train = opts.is_train or false}
  local reqs, expected = {}, {}
  for i, n in ipairs(wrt) do
    reqs[n] = (i == 1 and #wrt > 1) and 'null' or 'add'
    expected[n] = grads[n]
  end
  tu.check_symbolic_backward{sym = sym, location = inputs, out_grads = heads, expected = expected,
    rtol = 1e-4, atol = 1e-4, grad_req = reqs}
  return true
end

return G
