-- draw_digit_paths: puts the draw-a-digit demo's modules on package.path and package.cpath for
-- the specs that test them: scripts/draw_digit/*.lua (draw_digit.*) and its C module,
-- draw_digit.native, built into build/draw_digit/ ($MXLUA_BUILD_DIR when set).
local root = os.getenv('MXLUA_ROOT') or '.'
local build = os.getenv('MXLUA_BUILD_DIR') or 'build'
if build:sub(1, 1) ~= '/' then build = root .. '/' .. build end
if not package.path:find(root .. '/scripts/?.lua', 1, true) then
  package.path = root .. '/scripts/?.lua;' .. package.path
  package.cpath = build .. '/?.so;' .. package.cpath
end
return true
