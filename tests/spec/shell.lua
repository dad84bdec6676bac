-- shell: what the specs that start programs share: run a shell command for its output and
-- status, read a whole file.
local shell = {}

--- run(cmd) -> its stdout and stderr together, and true when it exited 0
function shell.run(cmd)
  local p = io.popen(cmd .. ' 2>&1')
  local out = p:read('a')
  local ok = p:close()
  return out, ok == true
end

--- read(path) -> the file's content, or nil when it cannot be opened
function shell.read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read('a')
  f:close()
  return s
end

return shell
