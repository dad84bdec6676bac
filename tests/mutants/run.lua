-- tests/mutants/run.lua [--ci] [id ...]: plants each bug of tests/mutants/list.lua, one at a
-- time, in a scratch copy of the tree (build/mutants/tree, its CPU-only build reused: only what
-- an edit touches is rebuilt), runs the entry's own tests, then the whole suite (tests/run.sh)
-- when those miss it, and prints "K caught of N", naming every survivor (the entries' tests are
-- first run on the unmutated copy, which must pass them). --ci: the entries
-- marked ci only. Exits non-zero when a survivor is not documented as equivalent.
-- Run from the repository root with plain lua5.4 (`make mutants`, `make mutants-ci`).
local root = io.popen('pwd'):read('l')
local scratch = root .. '/build/mutants/tree'
local log = root .. '/build/mutants/log.txt'
local list = dofile(root .. '/tests/mutants/list.lua')

local function sh(cmd) -- true when cmd exits 0
  local ok = os.execute(cmd)
  return ok == true
end
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function read(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end
local function write(path, s)
  local f = assert(io.open(path, 'wb'))
  f:write(s)
  f:close()
end
local function now() return os.time() end
local function count(s, find) -- plain occurrences
  local n, at = 0, 1
  while true do
    local i, j = s:find(find, at, true)
    if not i then return n end
    n, at = n + 1, j + 1
  end
end

-- which entries
local pick, ci = {}, false
for _, a in ipairs(arg) do
  if a == '--ci' then ci = true else pick[a] = true end
end
local todo = {}
for _, m in ipairs(list) do
  if (not ci or m.ci) and (next(pick) == nil or pick[m.id]) then todo[#todo + 1] = m end
end
for id in pairs(pick) do
  local known = false
  for _, m in ipairs(list) do known = known or m.id == id end
  if not known then io.stderr:write('mutants: no entry ', id, '\n') os.exit(2) end
end

-- the scratch tree: the tracked and new files (their times kept), the data linked, then built
os.execute('mkdir -p ' .. q(scratch))
local dirty = scratch .. '/.mutant_dirty' -- a file an interrupted run left mutated
local left = io.open(dirty)
local left_path = left and left:read('l')
if left then left:close() end
-- what the checkout no longer has goes (a file moved away would still build there); the build stays
os.execute(('find %s -mindepth 1 -maxdepth 1 ! -name build ! -name data ! -name .mutant_dirty -exec rm -rf {} +')
  :format(q(scratch)))
assert(sh(('cd %s && git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C %s')
  :format(q(root), q(scratch))), 'mutants: cannot copy the tree')
-- restored from the checkout with its older time: touched so that make rebuilds it
if left_path then os.execute('touch ' .. q(scratch .. '/' .. left_path)) end
os.execute('rm -f ' .. q(dirty))
if io.open(root .. '/data') then os.execute(('ln -sfn %s %s'):format(q(root .. '/data'), q(scratch .. '/data'))) end
-- the library, module and host; the C test binaries only when a C test is to run (relinking
-- every one of them after each edit would cost more than most entries' own tests)
local make_lib = ('cd %s && make -j2 --no-print-directory NVCC= all >>%s 2>&1'):format(q(scratch), q(log))
local make = make_lib:gsub(' all ', ' all build-tests ')
write(log, '')
io.write('mutants: building the scratch copy in build/mutants/tree (log: build/mutants/log.txt)\n')
io.flush()
assert(sh(make), 'mutants: the unmutated tree does not build (see build/mutants/log.txt)')

-- the environment of the tests (as tests/run.sh's), one GEMM plan (OpenBLAS) so that every process
-- rounds alike whatever a measured plan would pick, and the MXNet-written files of the real checkout
local interop = os.getenv('MXLUA_INTEROP') or (root .. '/../shared/interop')
local env = ('cd %s && export LUA_PATH=%s LUA_CPATH=%s MXLUA_ROOT=%s MXLUA_GEMM_PLAN=openblas MXLUA_INTEROP=%s && ')
  :format(q(scratch), q(scratch .. '/lua/?.lua;' .. scratch .. '/lua/?/init.lua;' .. scratch .. '/tests/spec/?.lua;;'),
          q(scratch .. '/build/lua/?.so;;'), q(scratch), q(interop))

-- caught when the entry's tests fail; else the whole suite
local function first_tests(m)
  local cmds = {}
  for _, t in ipairs(m.c or {}) do cmds[#cmds + 1] = 'timeout 600 build/tests/' .. t end
  if m.specs and #m.specs > 0 then cmds[#cmds + 1] = 'timeout 900 busted -o TAP ' .. table.concat(m.specs, ' ') end
  return cmds
end

-- first the unmutated tree must pass each test the entries name, or a failure would read as a catch
do
  local seen = {}
  assert(sh(make), 'mutants: the unmutated tree does not build (see build/mutants/log.txt)')
  for _, m in ipairs(todo) do
    for _, cmd in ipairs(first_tests(m)) do
      if not seen[cmd] then
        seen[cmd] = true
        if not sh(env .. cmd .. ' >>' .. q(log) .. ' 2>&1') then
          io.stderr:write('mutants: the unmutated tree fails ', cmd, ' (see build/mutants/log.txt)\n')
          os.exit(2)
        end
      end
    end
  end
end

local caught, documented, survivors, broken = 0, {}, {}, {}
local t_all = now()
for n, m in ipairs(todo) do
  local t0 = now()
  local path = scratch .. '/' .. m.file
  local orig = read(path)
  local status
  if count(orig, m.find) ~= 1 then
    status = ('bad entry: the search string occurs %d times in %s'):format(count(orig, m.find), m.file)
    broken[#broken + 1] = m
  else
    local i, j = orig:find(m.find, 1, true)
    write(dirty, m.file .. '\n')
    write(path, orig:sub(1, i - 1) .. m.replace .. orig:sub(j + 1))
    -- always: a C file the previous entry restored is rebuilt here too
    local builds = sh((m.c and #m.c > 0) and make or make_lib)
    if not builds then
      status = 'bad entry: does not build'
      broken[#broken + 1] = m
    else
      for _, cmd in ipairs(first_tests(m)) do
        if not sh(env .. cmd .. ' >>' .. q(log) .. ' 2>&1') then
          status = 'caught by ' .. cmd:gsub('^timeout %d+ ', '')
          break
        end
      end
      if not status then sh(make) end
      if not status and not sh(env .. 'timeout 3600 sh tests/run.sh all >>' .. q(log) .. ' 2>&1') then
        status = 'caught by the whole suite'
      end
      if status then caught = caught + 1
      elseif m.equivalent then
        status = 'survived, documented as equivalent'
        documented[#documented + 1] = m
      else
        status = 'SURVIVED'
        survivors[#survivors + 1] = m
      end
    end
    write(path, orig) -- a new time: the next make rebuilds what the mutant built (C)
    os.execute('rm -f ' .. q(dirty))
  end
  io.write(('[%d/%d] %-28s %s (%d s)\n'):format(n, #todo, m.id, status, now() - t0))
  io.flush()
end
sh(make) -- leaves the scratch build unmutated

io.write(('%d caught of %d (%d documented as equivalent, %d bad entries) in %d s\n'):format(
  caught, #todo - #broken, #documented, #broken, now() - t_all))
for _, m in ipairs(documented) do io.write(('  equivalent: %s: %s\n'):format(m.id, m.equivalent)) end
for _, m in ipairs(survivors) do io.write(('  SURVIVOR: %s (%s): %s\n'):format(m.id, m.file, m.why)) end
for _, m in ipairs(broken) do io.write(('  BAD ENTRY: %s (%s)\n'):format(m.id, m.file)) end
os.exit((#survivors == 0 and #broken == 0) and 0 or 1)
