-- class_spec: mx.class, the one class helper (initializers, iterators, schedulers, metrics,
-- optimizers and Lua operators are made with it): construction, inheritance of methods and of
-- metamethods, including one defined on a parent after its subclasses.
local mx = require 'mx'
local class = mx.class

describe('mx.class', function()
  it('Class(...) makes an instance and calls init with the arguments', function()
    local A = class('A')
    function A:init(x, y) self.sum = x + y end
    local a = A(2, 3)
    assert.are.equal(5, a.sum)
    assert.is_true(class.is_instance(a, A))
    assert.are.equal('class A', tostring(A))
  end)

  it('a subclass finds its parent methods and inherits its metamethods, even later ones', function()
    local A = class('A')
    function A:init(v) self.v = v end
    function A:get() return self.v end
    A.__tostring = function(self) return 'A<' .. self.v .. '>' end
    local B = class('B', A)
    local C = class('C', B)
    A.__call = function(self, d) return self.v + d end -- after B and C exist
    local c = C(7)
    assert.are.equal(7, c:get())
    assert.are.equal('A<7>', tostring(c))
    assert.are.equal(10, c(3))
    assert.is_true(class.is_instance(c, A))
    assert.is_false(class.is_instance(A(1), C))
    -- a subclass's own metamethod wins over its parent's
    B.__eq = function() return true end
    A.__eq = function() return false end
    assert.is_true(C(1) == C(2))
  end)

  it('every class of mx is made with it and inherits its base class metamethods', function()
    local sched = mx.lr_scheduler.FactorScheduler{step = 2, factor = 0.5}
    assert.is_true(class.is_instance(sched, mx.lr_scheduler.LRScheduler))
    assert.are.equal(0.01, sched(1)) -- callable, as LRScheduler says
    local U = mx.init.class('U', mx.init.Uniform)
    assert.are.equal('U', tostring(U(0.1))) -- Initializer's __tostring, inherited
    local m = mx.metric.class('M', mx.metric.EvalMetric)
    function m:init() mx.metric.EvalMetric.init(self, 'm') end
    assert.are.equal('EvalMetric: m', tostring(m()))
    assert.is_true(class.is_instance(mx.optimizer.SGD(), mx.optimizer.Optimizer))
    assert.is_true(class.is_instance(mx.io.NDArrayIter{data = mx.nd.ones{2, 2}}, mx.io.DataIter))
  end)

  it('rejects a bad name or parent with a clear error', function()
    assert.has_error(function() class(42) end, 'mx.class: expected a class name (a non-empty string), got 42')
    assert.has_error(function() class('X', {}) end,
                     'mx.class("X"): the parent must be a class made by mx.class (got table)')
  end)
end)
