-- draw_digit.digit: the demo's image math (digit.c, through draw_digit.native) on NDArrays:
-- MNIST-style preprocessing of a drawing into a (28, 28) NDArray, and the ink of a picture.
local mx = require 'mx'
local native = require 'draw_digit.native'

local M = {SIZE = native.digit_size}

-- A 2-D NDArray as a flat row-major sequence, with its height and width.
local function flat2d(where, what, nd)
  local s = nd:shape()
  if #s ~= 2 then
    error(string.format('%s: %s must be 2-D (height,width) (got (%s))', where, what, table.concat(s, ',')), 0)
  end
  return nd:reshape{s[1] * s[2]}:totable(), s[1], s[2]
end

--- preprocess(where, image) or preprocess(where, pixels, height, width) -> (28, 28) NDArray, has_ink.
-- image: an NDArray (height, width); pixels: a flat row-major sequence of numbers in [0, 1].
function M.preprocess(where, image, height, width)
  if mx.nd.is_ndarray(image) then image, height, width = flat2d(where, 'the image', image) end
  local px, has_ink = native.preprocess(where, image, height, width)
  return mx.nd.array(px):reshape{M.SIZE, M.SIZE}, has_ink
end

--- ink(where, gray, alpha) -> (h, w) NDArray: the ink of a decoded picture (gray and alpha
-- planes as mx.core.image_decode_png gives them; alpha may be nil): the alpha on a transparent
-- canvas, else the gray, inverted on bright paper.
function M.ink(where, gray, alpha)
  local g, h, w = flat2d(where, 'gray', gray)
  local a
  if alpha ~= nil then
    local ah, aw
    a, ah, aw = flat2d(where, 'alpha', alpha)
    if ah ~= h or aw ~= w then
      error(string.format('%s: alpha must have the shape of gray (got (%d,%d), expected (%d,%d))',
        where, ah, aw, h, w), 0)
    end
  end
  return mx.nd.array(native.ink(where, g, a, h, w)):reshape{h, w}
end

return M
