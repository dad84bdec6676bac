-- symbol_spec.lua: mx.symbol: the tutorial's names and lists, MXNet's automatic
-- naming, composition, infer_shape (complete, partial, inconsistent), Group,
-- internals, attributes, printing, and -symbol.json in MXNet's layouts.
local cjson = require 'cjson'
local mx = require 'mx'

local function tutorial_mlp()
  local data = mx.symbol.Variable('data')
  local fc1  = mx.symbol.FullyConnected{data = data, name = 'fc1', num_hidden = 128}
  local act1 = mx.symbol.Activation{data = fc1, name = 'relu1', act_type = 'relu'}
  local fc2  = mx.symbol.FullyConnected{data = act1, name = 'fc2', num_hidden = 64}
  local act2 = mx.symbol.Activation{data = fc2, name = 'relu2', act_type = 'relu'}
  local fc3  = mx.symbol.FullyConnected{data = act2, name = 'fc3', num_hidden = 10}
  return mx.symbol.SoftmaxOutput{data = fc3, name = 'softmax'}
end

describe('mx.symbol naming', function()
  it('gives the tutorial its names', function()
    local mlp = tutorial_mlp()
    assert.are.same({'data', 'fc1_weight', 'fc1_bias', 'fc2_weight', 'fc2_bias', 'fc3_weight', 'fc3_bias',
      'softmax_label'}, mlp:list_arguments())
    assert.are.same({'softmax_output'}, mlp:list_outputs())
    assert.are.same({}, mlp:list_auxiliary_states())
    assert.are.equal('[Symbol softmax: SoftmaxOutput <- fc3 <- relu2 <- fc2 <- relu1 <- fc1 <- data]', tostring(mlp))
    assert.are.equal('softmax', mlp:name())
  end)

  it('mx.sym is mx.symbol', function()
    assert.are.equal(mx.symbol, mx.sym)
    assert.are.equal(mx.symbol.FullyConnected, mx.sym.FullyConnected)
  end)

  it('numbers unnamed operators per operator over the process', function()
    local x = mx.sym.Variable('x')
    local a = mx.sym.FullyConnected{data = x, num_hidden = 2}
    local b = mx.sym.FullyConnected{data = a, num_hidden = 2}
    local c = mx.sym.Activation{data = b, act_type = 'relu'}
    local na, nb = a:name():match('^fullyconnected(%d+)$'), b:name():match('^fullyconnected(%d+)$')
    assert.is_not_nil(na)
    assert.are.equal(tonumber(na) + 1, tonumber(nb))
    assert.matches('^activation%d+$', c:name())
    assert.are.equal(a:name() .. '_weight', c:list_arguments()[2])
    assert.are.equal(c:name() .. '_output', c:list_outputs()[1])
  end)

  it('renaming the loss renames its label (MXNet #6730)', function()
    local s = mx.sym.SoftmaxOutput{data = mx.sym.Variable('data'), name = 'Softmax'}
    assert.are.same({'data', 'Softmax_label'}, s:list_arguments())
  end)

  it('has a constructor for every registered operator, each building a node of that operator', function()
    -- the operators the C sources define (`.name = "X"` and SCALAR_OP(x, "X", ...) in core/ops/)
    local root = os.getenv('MXLUA_ROOT') or '.'
    local defined = {}
    local p = assert(io.popen('cat ' .. root .. '/core/ops/*.c'))
    local src = p:read('a')
    p:close()
    for name in src:gmatch('%.name = "([%w_]+)"') do defined[name] = true end
    for name in src:gmatch('SCALAR_OP%([%w_]+, "([%w_]+)"') do defined[name] = true end
    local registered = {}
    for _, info in ipairs(mx.core.symbol.op_list()) do registered[info.name] = info end
    for name in pairs(defined) do assert.is_not_nil(registered[name], name .. ' is defined but not registered') end
    assert.is_not_nil(registered.Convolution)
    -- a Lua operator for Custom to build
    local Id = mx.operator.CustomOpProp:extend('SymbolSpecId')
    function Id.list_arguments() return {'data'} end
    mx.operator.register('symbol_spec_id', Id)
    local values = {int = 1, float = 1.5, shape = {1, 1}, string = 'symbol_spec_id'}
    for name, info in pairs(registered) do
      assert.are.equal('function', type(mx.sym[name]), name)
      local kw = {name = 'n'}
      for _, param in ipairs(info.params) do
        if not param.default then
          kw[param.name] = param.type == 'enum' and param.choices:match('[%w_]+') or values[param.type]
        end
      end
      -- the first input (and _Plus's rhs etc.); weights and labels are made by the constructor
      local inputs = {info.arguments[1], info.arguments[2] == 'rhs' and 'rhs' or nil}
      for _, a in ipairs(inputs) do kw[a] = mx.sym.Variable(a) end
      if not inputs[1] then kw[1] = mx.sym.Variable('x') end -- variadic: Custom, ElementWiseSum
      local node = mx.sym[name](kw)
      local json = cjson.decode(node:tojson())
      assert.are.equal(name, json.nodes[#json.nodes].op, name)
    end
  end)

  it('debug_str shows the graph: every node with its operator and name', function()
    local net = tutorial_mlp()
    local text = net:debug_str()
    assert.are.equal(net:tojson(), text)
    local nodes = cjson.decode(text).nodes
    local ops = {}
    for _, n in ipairs(nodes) do if n.op ~= 'null' then ops[#ops + 1] = n.op .. ' ' .. n.name end end
    assert.are.same({'FullyConnected fc1', 'Activation relu1', 'FullyConnected fc2', 'Activation relu2',
                     'FullyConnected fc3', 'SoftmaxOutput softmax'}, ops)
  end)
end)

describe('composition', function()
  it('takes inputs by keyword and by position', function()
    local x = mx.sym.Variable('x')
    local a = mx.sym.FullyConnected{x, num_hidden = 3, name = 'f'}
    assert.are.same({'x', 'f_weight', 'f_bias'}, a:list_arguments())
    local w = mx.sym.Variable('shared_w')
    local b = mx.sym.FullyConnected{data = x, weight = w, num_hidden = 3, name = 'g'}
    assert.are.same({'x', 'shared_w', 'g_bias'}, b:list_arguments())
  end)

  it('a symbol called with keywords replaces its variables', function()
    local mlp = tutorial_mlp()
    local pre = mx.sym.Activation{data = mx.sym.Variable('image'), act_type = 'tanh', name = 'pre'}
    local net = mlp{data = pre}
    assert.are.equal('image', net:list_arguments()[1])
    assert.are.equal('data', mlp:list_arguments()[1]) -- the original is unchanged
    local ok, err = pcall(function() return mlp{nosuch = pre} end)
    assert.is_false(ok)
    assert.matches("no argument named 'nosuch'", err)
  end)

  it('an unknown input name is an error listing the inputs', function()
    local ok, err = pcall(mx.sym.FullyConnected, {datum = mx.sym.Variable('x'), num_hidden = 2, name = 'f'})
    assert.is_false(ok)
    assert.matches("no input named 'datum' %(inputs: data, weight, bias%)", err)
  end)

  it('arithmetic makes MXNet element-wise operators', function()
    local a, b = mx.sym.Variable('a'), mx.sym.Variable('b')
    assert.matches('^%[Symbol _plus%d+: _Plus', tostring(a + b))
    assert.matches('^%[Symbol _mulscalar%d+: _MulScalar', tostring(a * 2))
    assert.matches('^%[Symbol _rminusscalar%d+: _RMinusScalar', tostring(1 - a))
    assert.are.same({'a', 'b'}, (a * b + a):list_arguments())
  end)
end)

describe('infer_shape', function()
  it('fills the weights from the data shape', function()
    local args, outs, aux = tutorial_mlp():infer_shape{data = {100, 784}}
    assert.are.same({{100, 784}, {128, 784}, {128}, {64, 128}, {64}, {10, 64}, {10}, {100}}, args)
    assert.are.same({{100, 10}}, outs)
    assert.are.same({}, aux)
  end)

  it('takes shapes by position too', function()
    local args = tutorial_mlp():infer_shape{{20, 784}}
    assert.are.same({20, 784}, args[1])
    assert.are.same({20}, args[8])
  end)

  it('gives nil and a message naming what is missing on partial input', function()
    local x, y = mx.sym.Variable('x'), mx.sym.Variable('y')
    local s = mx.sym.FullyConnected{data = x, num_hidden = 4, name = 'f'} + y
    local args, msg = s:infer_shape{}
    assert.is_nil(args)
    assert.matches('x', msg)
    -- the weight follows from x, the sum fills y
    local a2 = s:infer_shape{x = {2, 3}}
    assert.are.same({{2, 3}, {4, 3}, {4}, {2, 4}}, a2)
  end)

  it('infer_shape_partial gives what it can, {} for the rest', function()
    local x, y = mx.sym.Variable('x'), mx.sym.Variable('y')
    local s = mx.sym.Group{mx.sym.FullyConnected{data = x, num_hidden = 4, name = 'f'}, y * 2}
    local args, outs = s:infer_shape_partial{x = {2, 3}}
    assert.are.same({{2, 3}, {4, 3}, {4}, {}}, args)
    assert.are.same({{2, 4}, {}}, outs)
  end)

  it('raises on inconsistent input, naming the operator and the shapes', function()
    local ok, err = pcall(function() return tutorial_mlp():infer_shape{data = {100, 784}, fc2_weight = {64, 100}} end)
    assert.is_false(ok)
    assert.matches('FullyConnected fc2', err)
    assert.matches('(64,100)', err, 1, true)
    assert.matches('(64,128)', err, 1, true)
  end)

  it('uses a Variable shape', function()
    local x = mx.sym.Variable('x', {shape = {5, 6}})
    local args, outs = mx.sym.FullyConnected{data = x, num_hidden = 2, name = 'f'}:infer_shape{}
    assert.are.same({5, 6}, args[1])
    assert.are.same({{5, 2}}, outs)
    assert.are.equal('(5,6)', x:attr('__shape__'))
  end)
end)

describe('Group, internals, outputs, attributes', function()
  it('get_internals lists every output; indexing picks one', function()
    local internals = tutorial_mlp():get_internals()
    local outs = internals:list_outputs()
    assert.are.equal('data', outs[1])
    assert.are.equal('fc1_output', outs[4])
    assert.are.equal('softmax_output', outs[#outs])
    local fc1 = internals['fc1_output']
    assert.are.same({'fc1_output'}, fc1:list_outputs())
    assert.are.same({'fc1_output'}, internals[4]:list_outputs())
    assert.are.same({'data', 'fc1_weight', 'fc1_bias'}, fc1:list_arguments())
  end)

  it('Group joins outputs', function()
    local mlp = tutorial_mlp()
    local fc1 = mlp:get_internals()['fc1_output']
    local g = mx.sym.Group{fc1, mlp}
    assert.are.same({'fc1_output', 'softmax_output'}, g:list_outputs())
    assert.are.equal(8, #g:list_arguments())
    assert.matches('^%[Symbol group: fc1_output, softmax_output%]$', tostring(g))
    local _, outs = g:infer_shape{data = {3, 784}}
    assert.are.same({{3, 128}, {3, 10}}, outs)
  end)

  it('attributes: parameters and user attributes', function()
    local fc = mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 7, name = 'f', attr = {lr_mult = 2}}
    assert.are.equal('7', fc:attr('num_hidden'))
    assert.are.equal('2', fc:attr('lr_mult'))
    assert.are.equal('2', fc:list_attr().__lr_mult__)
    fc:set_attr{ctx_group = 'dev1'}
    assert.are.equal('dev1', fc:attr('ctx_group'))
    assert.is_nil(fc:attr('nosuch'))
  end)
end)

describe('JSON', function()
  it('round-trips through tojson/load_json and save/load', function()
    local mlp = tutorial_mlp()
    local text = mlp:tojson()
    local j = cjson.decode(text)
    assert.are.same({num_hidden = '128'}, j.nodes[4].attrs)
    assert.are.same({'int', 10600}, j.attrs.mxnet_version)
    local again = mx.sym.load_json(text)
    assert.are.same(mlp:list_arguments(), again:list_arguments())
    assert.are.same(mlp:list_outputs(), again:list_outputs())
    assert.are.equal(tostring(mlp), tostring(again))
    assert.are.equal(text, again:tojson())
    local path = os.tmpname()
    mlp:save(path)
    local loaded = mx.sym.load(path)
    os.remove(path)
    assert.are.same({{100, 10}}, select(2, loaded:infer_shape{data = {100, 784}}))
  end)

  it('writes any UTF-8 name and attribute back as it was, and refuses other bytes naming the node', function()
    local odd = 'q"\\ \n\t\1\127 é 字'
    local v = mx.sym.Variable(odd)
    v:set_attr{note = odd}
    local text = v:tojson()
    assert.are.equal(odd, cjson.decode(text).nodes[1].name)
    local again = mx.sym.load_json(text)
    assert.are.same({odd}, again:list_arguments())
    assert.are.equal(odd, again:attr('note'))
    -- jansson's reader (ours) refuses bytes that are not UTF-8: writing them would make a file
    -- that does not load back
    local ok, err = pcall(function() return mx.sym.Variable('a\255b'):tojson() end)
    assert.is_false(ok)
    assert.matches('tojson: node 0 (a\255b): its name is not UTF-8 text', err, 1, true)
    local w = mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 2, name = 'f'}
    w:set_attr{note = 'bad \254'}
    ok, err = pcall(w.tojson, w)
    assert.is_false(ok)
    assert.matches('node 3 (f): its attribute value is not UTF-8 text', err, 1, true)
  end)

  it('writes the layout MXNet reads: nodes, arg_nodes, node_row_ptr, heads', function()
    local s = mx.sym.Dropout{data = mx.sym.FullyConnected{data = mx.sym.Variable('x'), num_hidden = 3, name = 'f'},
      name = 'd'}
    local j = cjson.decode(s:tojson())
    assert.are.same({0, 1, 2}, j.arg_nodes)
    assert.are.same({0, 1, 2, 3, 4, 6}, j.node_row_ptr) -- Dropout has two outputs (output, mask)
    assert.are.same({{4, 0, 0}}, j.heads)
    assert.are.equal('FullyConnected', j.nodes[4].op)
    assert.are.same({{0, 0, 0}, {1, 0, 0}, {2, 0, 0}}, j.nodes[4].inputs)
    assert.are.same({num_hidden = '3'}, j.nodes[4].attrs)
  end)

  -- Written by hand from MXNet's format description (1.x: attrs, [node, index, version]).
  local mxnet_1x = [==[
{
  "nodes": [
    {"op": "null", "name": "data", "inputs": []},
    {"op": "null", "name": "fc1_weight", "attrs": {"__lr_mult__": "0.5"}, "inputs": []},
    {"op": "null", "name": "fc1_bias", "inputs": []},
    {"op": "FullyConnected", "name": "fc1", "attrs": {"num_hidden": "16", "no_bias": "False"},
     "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
    {"op": "Activation", "name": "relu1", "attrs": {"act_type": "relu"}, "inputs": [[3, 0, 0]]},
    {"op": "null", "name": "softmax_label", "inputs": []},
    {"op": "SoftmaxOutput", "name": "softmax", "attrs": {"normalization": "batch"},
     "inputs": [[4, 0, 0], [5, 0, 0]]}
  ],
  "arg_nodes": [0, 1, 2, 5],
  "node_row_ptr": [0, 1, 2, 3, 4, 5, 6, 7],
  "heads": [[6, 0, 0]],
  "attrs": {"mxnet_version": ["int", 10600]}
}]==]

  it('loads a graph in MXNet 1.x layout', function()
    local s = mx.sym.load_json(mxnet_1x)
    assert.are.same({'data', 'fc1_weight', 'fc1_bias', 'softmax_label'}, s:list_arguments())
    assert.are.same({'softmax_output'}, s:list_outputs())
    assert.are.equal('batch', s:attr('normalization'))
    local args = s:infer_shape{data = {4, 9}}
    assert.are.same({16, 9}, args[2])
    local w = s:get_internals()['fc1_weight']
    assert.are.equal('0.5', w:attr('lr_mult'))
  end)

  -- MXNet 0.8: "param" instead of "attrs", inputs as [node, index] pairs, and
  -- missing weight inputs re-created as <name>_<arg>.
  local mxnet_08 = [==[
{
  "nodes": [
    {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
    {"op": "FullyConnected", "param": {"no_bias": "False", "num_hidden": "10"}, "name": "fc",
     "inputs": [[0, 0]], "backward_source_id": -1},
    {"op": "Activation", "param": {"act_type": "tanh"}, "name": "act", "attr": {"ctx_group": "stage1"},
     "inputs": [[1, 0]], "backward_source_id": -1}
  ],
  "arg_nodes": [0],
  "heads": [[2, 0]]
}]==]

  it('loads the 0.8 dialect, re-creating missing inputs', function()
    local s = mx.sym.load_json(mxnet_08)
    assert.are.same({'data', 'fc_weight', 'fc_bias'}, s:list_arguments())
    assert.are.equal('stage1', s:attr('ctx_group'))
    local _, outs = s:infer_shape{data = {2, 5}}
    assert.are.same({{2, 10}}, outs)
  end)

  -- MXNet 0.9-0.12: every attribute, parameters included, under "attr".
  local mxnet_09 = [==[
{
  "nodes": [
    {"op": "null", "name": "data", "attr": {"__shape__": "(8, 6)"}, "inputs": []},
    {"op": "null", "name": "fc_weight", "attr": {"lr_mult": "2"}, "inputs": []},
    {"op": "null", "name": "fc_bias", "inputs": []},
    {"op": "FullyConnected", "name": "fc", "attr": {"num_hidden": "3", "ctx_group": "dev1"},
     "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]}
  ],
  "arg_nodes": [0, 1, 2],
  "node_row_ptr": [0, 1, 2, 3, 4],
  "heads": [[3, 0, 0]],
  "attrs": {"mxnet_version": ["int", 901]}
}]==]

  it('loads the 0.9 dialect ("attr" for parameters and user attributes)', function()
    local s = mx.sym.load_json(mxnet_09)
    assert.are.equal('3', s:attr('num_hidden'))
    assert.are.equal('dev1', s:attr('ctx_group'))
    assert.are.equal('2', s:get_internals()['fc_weight']:attr('lr_mult'))
    local args, outs = s:infer_shape{} -- data's shape comes from its __shape__
    assert.are.same({3, 6}, args[2])
    assert.are.same({{8, 3}}, outs)
  end)

  it('reports malformed text with its position, and unknown operators', function()
    local ok, err = pcall(mx.sym.load_json, '{"nodes": [}')
    assert.is_false(ok)
    assert.matches('mx.symbol.load_json: .*line 1, column', err)
    ok, err = pcall(mx.sym.load_json, '{"nodes": [{"op": "NoSuchOp", "name": "z", "inputs": []}], "heads": [[0,0,0]]}')
    assert.is_false(ok)
    assert.matches("unknown operator 'NoSuchOp'", err)
    ok, err = pcall(mx.sym.load, '/nonexistent/x-symbol.json')
    assert.is_false(ok)
    assert.matches('cannot open', err)
  end)
end)
