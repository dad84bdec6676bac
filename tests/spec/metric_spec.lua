-- metric_spec: the metrics on small cases worked out by hand: Accuracy,
-- TopKAccuracy, CrossEntropy, MSE, MAE, RMSE, F1, CustomMetric, composite, create.
local mx = require 'mx'

local pred = function() return mx.nd.array{{0.1, 0.7, 0.2}, {0.5, 0.3, 0.2}, {0.2, 0.3, 0.5}, {0.6, 0.1, 0.3}} end

describe('mx.metric', function()
  it('Accuracy counts argmax hits over batches', function()
    local m = mx.metric.Accuracy()
    local name, v = m:get()
    assert.equal('accuracy', name)
    assert.is_true(v ~= v) -- nan before any update
    -- argmax rows: 1, 0, 2, 0 against labels 1, 1, 2, 2: two hits of four
    m:update({mx.nd.array{1, 1, 2, 2}}, {pred()})
    assert.same({'accuracy', 0.5}, {m:get()})
    -- a second batch: labels 1, 0, 2, 0: four hits; cumulative 6 of 8
    m:update({mx.nd.array{1, 0, 2, 0}}, {pred()})
    assert.same({'accuracy', 0.75}, {m:get()})
    assert.same({{'accuracy', 0.75}}, m:get_name_value())
    m:reset()
    assert.equal(0, m.num_inst)
  end)

  it('Accuracy breaks ties towards the first class, like argmax', function()
    local m = mx.metric.Accuracy()
    m:update({mx.nd.array{0, 1}}, {mx.nd.array{{0.5, 0.5}, {0.5, 0.5}}})
    assert.same({'accuracy', 0.5}, {m:get()})
  end)

  it('Accuracy rejects mismatched lists and shapes', function()
    local m = mx.metric.Accuracy()
    assert.has_error(function() m:update({mx.nd.array{1}}, {}) end,
      'mx.metric.Accuracy:update: 1 labels for 0 predictions (expected as many)')
    assert.has_error(function() m:update({mx.nd.array{1, 2}}, {pred()}) end)
  end)

  it('TopKAccuracy', function()
    -- top-2 sets: {1,2}, {0,1}, {2,1}, {0,2}; labels 2, 2, 0, 1: one hit
    local m = mx.metric.TopKAccuracy{top_k = 2}
    m:update({mx.nd.array{2, 2, 0, 1}}, {pred()})
    assert.same({'top_k_accuracy_2', 0.25}, {m:get()})
    assert.has_error(function() mx.metric.TopKAccuracy{top_k = 1} end)
    assert.equal('top_k_accuracy_3', mx.metric.create('top_k_accuracy', {top_k = 3}).name)
  end)

  it('CrossEntropy', function()
    -- -log(0.7) - log(0.5) over two rows
    local m = mx.metric.create('ce')
    m:update({mx.nd.array{1, 0}}, {mx.nd.array{{0.3, 0.7}, {0.5, 0.5}}})
    local name, v = m:get()
    assert.equal('cross-entropy', name)
    assert.near((-math.log(0.7) - math.log(0.5)) / 2, v, 1e-6)
    -- a probability of 0 for the label counts as eps (1e-12), not as infinity
    local z = mx.metric.CrossEntropy()
    z:update({mx.nd.array{0}}, {mx.nd.array{{0, 1}}})
    assert.near(-math.log(1e-12), select(2, z:get()), 1e-6)
  end)

  it('MSE, MAE and RMSE average per batch', function()
    local labels, preds = {mx.nd.array{1, 2, 3}}, {mx.nd.array{{1.5}, {2}, {1}}}
    -- errors 0.5, 0, -2
    local mse, mae, rmse = mx.metric.MSE(), mx.metric.MAE(), mx.metric.RMSE()
    for _, m in ipairs{mse, mae, rmse} do m:update(labels, preds) end
    assert.near((0.25 + 0 + 4) / 3, select(2, mse:get()), 1e-6)
    assert.near((0.5 + 0 + 2) / 3, select(2, mae:get()), 1e-6)
    assert.near(math.sqrt((0.25 + 0 + 4) / 3), select(2, rmse:get()), 1e-6)
    -- a second batch with zero error halves the MSE (one instance per batch)
    mse:update({mx.nd.array{1}}, {mx.nd.array{{1}}})
    assert.near((0.25 + 4) / 3 / 2, select(2, mse:get()), 1e-6)
  end)

  it('F1 on a binary problem', function()
    -- predictions (column 2 > column 1): 1, 1, 0, 0; labels 1, 0, 1, 0
    -- tp 1, fp 1, fn 1: precision 0.5, recall 0.5, F1 0.5
    local m = mx.metric.create('f1')
    m:update({mx.nd.array{1, 0, 1, 0}}, {mx.nd.array{{0.2, 0.8}, {0.4, 0.6}, {0.9, 0.1}, {0.7, 0.3}}})
    assert.same({'f1', 0.5}, {m:get()})
    assert.has_error(function() m:update({mx.nd.array{1}}, {mx.nd.array{{0.1, 0.2, 0.7}}}) end)
  end)

  it('CustomMetric from a function', function()
    local m = mx.metric.create(function(label, _)
      return label:size() * 2, label:size() -- a sum and a count
    end, 'twice')
    m:update({mx.nd.array{1, 2}}, {pred():slice(1, 2)})
    assert.same({'twice', 2}, {m:get()})
  end)

  it('a composite from a list', function()
    local m = mx.metric.create{'acc', 'ce'}
    m:update({mx.nd.array{1, 1, 2, 2}}, {pred()})
    local names, values = m:get()
    assert.same({'accuracy', 'cross-entropy'}, names)
    assert.equal(0.5, values[1])
    assert.near((-math.log(0.7) - math.log(0.3) - math.log(0.5) - math.log(0.3)) / 4, values[2], 1e-6)
    assert.same({{'accuracy', 0.5}, {'cross-entropy', values[2]}}, m:get_name_value())
    assert.equal('accuracy', m:get_metric(1).name)
  end)

  it('create knows the names and rejects others', function()
    for alias, name in pairs{acc = 'accuracy', accuracy = 'accuracy', mse = 'mse', rmse = 'rmse', mae = 'mae'} do
      assert.equal(name, mx.metric.create(alias).name)
    end
    local m = mx.metric.Accuracy()
    assert.equal(m, mx.metric.create(m))
    assert.has_error(function() mx.metric.create('auc') end,
      'mx.metric.create: unknown metric auc (expected acc, accuracy, ce, cross-entropy, f1, mae, mse, rmse '
      .. 'or top_k_accuracy)')
  end)

  it('Accuracy.update allocates no storage', function()
    local m = mx.metric.Accuracy()
    local l, p = {mx.nd.array{1, 1, 2, 2}}, {pred()}
    m:update(l, p)
    local before = mx.core.alloc_stats().requests
    for _ = 1, 100 do m:update(l, p) end
    assert.equal(before, mx.core.alloc_stats().requests)
  end)
end)
