-- context_spec: a Context is recognised one way, mx.context.is_context (its metatable), and its
-- device read one way, ctx.device_type: look-alikes (a table or another userdata with a
-- device_type, an NDArray) are no Context to it, nor to FeedForward's ctx.
local mx = require 'mx'

describe('mx.context.is_context', function()
  it('is true for every Context and for nothing else', function()
    for _, c in ipairs{mx.cpu(), mx.cpu(3), mx.gpu(0), mx.gpu(7), mx.context.Context('gpu', 2),
                       mx.nd.zeros{1}:context()} do
      assert.is_true(mx.context.is_context(c), tostring(c))
    end
    local fake = setmetatable({device_type = 'cpu', device_id = 0}, {__tostring = function() return 'cpu(0)' end})
    for _, v in ipairs{fake, mx.nd.zeros{1}, io.stdout, 'cpu(0)', 0, mx.sym.Variable('x')} do
      assert.is_false(mx.context.is_context(v), tostring(v))
    end
    assert.is_false(mx.context.is_context(nil))
  end)

  it('tells devices apart by device_type', function()
    assert.are.equal('cpu', mx.cpu(1).device_type)
    assert.are.equal('gpu', mx.gpu(1).device_type)
    assert.are.equal('cpu', mx.nd.ones{2}:context().device_type)
  end)

  it('is what FeedForward checks its ctx with', function()
    local fake = setmetatable({}, {__tostring = function() return 'cpu(0)' end})
    local net = mx.sym.Variable('data')
    assert.has_error(function() mx.model.FeedForward{symbol = net, ctx = fake} end,
                     'mx.model.FeedForward: ctx must be a Context or a list of Contexts (got table)')
    assert.are.equal(2, #mx.model.FeedForward{symbol = net, ctx = {mx.cpu(0), mx.cpu(1)}}.ctx)
  end)
end)
