-- features_spec: mx.features() says what this build has, and this build has every optional
-- library this machine has: one installed (seen through dpkg, its headers, its commands) but
-- not compiled in fails, naming it, unless the build was told to leave it out (`make BLIS=`).
-- A build made before `make deps` installed the libraries fails here. (.ci/run runs this spec.)
local mx = require 'mx'

local function sh_ok(cmd) return os.execute(cmd .. ' >/dev/null 2>&1') == true end

local function sh_out(cmd)
  local p = io.popen(cmd .. ' 2>/dev/null')
  local out = p:read('a')
  p:close()
  return out
end

local function dpkg_installed(pkg)
  return sh_out("dpkg-query -W -f='${Status}' " .. pkg):find('ok installed', 1, true) ~= nil
end

-- the first path a shell pattern names, or nil
local function glob(pattern) return sh_out('ls -d ' .. pattern):match('[^\n]+') end

local function nvcc() return glob('"$(command -v nvcc)"') or glob('/usr/local/cuda/bin/nvcc') end

-- Per optional library, the evidence that this machine has it, found without the build's
-- configure step: nil when absent, else what was seen. (LIBXSMM gets its probe with the
-- option itself, branch i15.)
local PROBES = {
  {feature = 'CUDA', seen = nvcc},
  {feature = 'CUBLAS', needs = 'CUDA',
   seen = function()
     return nvcc() and glob('/usr/local/cuda*/targets/*/lib/libcublas.so /usr/local/cuda*/lib64/libcublas.so')
   end},
  {feature = 'NCCL', needs = 'CUDA',
   seen = function()
     return nvcc() and glob('/usr/local/cuda*/include/nccl.h')
       and glob('/usr/local/cuda*/targets/*/lib/libnccl.so /usr/local/cuda*/lib64/libnccl.so')
   end},
  {feature = 'MPI',
   seen = function()
     return (dpkg_installed('libopenmpi-dev') and 'libopenmpi-dev') or (sh_ok('command -v mpicc') and 'mpicc')
   end},
  {feature = 'BLIS',
   seen = function()
     return (dpkg_installed('libblis-dev') and 'libblis-dev') or glob('/usr/include/*/blis-*/blis.h')
   end},
  {feature = 'LIBXSMM',
   seen = function()
     return (dpkg_installed('libxsmm-dev') and 'libxsmm-dev') or glob('/usr/include/libxsmm.h')
   end},
}

-- the shared libraries the loaded mx.core links (ldd), to check the list against
local function linked_libraries()
  local so = assert(package.searchpath('mx.core', package.cpath))
  return sh_out('ldd ' .. so), so
end

describe('mx.features()', function()
  local fs = mx.features()

  it('lists every feature in order, by name too, as MXNet Features do', function()
    local names = {}
    for i, f in ipairs(fs) do
      names[i] = f.name
      assert.are.equal(f, fs[f.name])
      assert.are.equal('boolean', type(f.enabled))
      assert.are.equal(f.enabled, fs:is_enabled(f.name))
    end
    assert.are.same({'CUDA', 'CUBLAS', 'NCCL', 'MPI', 'BLIS', 'LIBXSMM', 'OPENBLAS', 'AVX2'}, names)
    assert.has_error(function() fs:is_enabled('CUDNN') end,
      'mx.runtime.Features: no feature "CUDNN" (features: CUDA, CUBLAS, NCCL, MPI, BLIS, LIBXSMM, OPENBLAS, AVX2)')
    local text = tostring(fs)
    assert.truthy(text:find('[✔ CUDA', 1, true) == 1 or text:find('[✖ CUDA', 1, true) == 1, text)
    assert.are.equal(#fs, #mx.runtime.feature_list())
  end)

  it('agrees with the libraries the module links', function()
    local ldd, so = linked_libraries()
    assert.are.equal(fs.BLIS.enabled, ldd:find('libblis', 1, true) ~= nil, so .. ':\n' .. ldd)
    assert.are.equal(fs.MPI.enabled, ldd:find('libmpi', 1, true) ~= nil, so .. ':\n' .. ldd)
    assert.are.equal(fs.CUDA.enabled, ldd:find('libcudart', 1, true) ~= nil, so .. ':\n' .. ldd)
    assert.are.equal(fs.NCCL.enabled, ldd:find('libnccl', 1, true) ~= nil, so .. ':\n' .. ldd)
    assert.are.equal(fs.MPI.enabled, mx.core.dist_compiled())
    assert.are.equal(fs.NCCL.enabled, mx.core.nccl_compiled())
  end)

  it("gives OpenBLAS's version (as dpkg has it) and core", function()
    local version = sh_out("dpkg-query -W -f='${Version}\\n' 'libopenblas0*' | head -n 1"):match('^(%d+%.%d+%.%d+)')
    assert.truthy(fs.OPENBLAS.enabled)
    if version then assert.truthy(fs.OPENBLAS.detail:find('OpenBLAS ' .. version, 1, true), fs.OPENBLAS.detail) end
    assert.truthy(fs.OPENBLAS.detail:find('; core %S+'), fs.OPENBLAS.detail)
  end)

  it('says the AVX2 paths run when they are built and /proc/cpuinfo has AVX2, FMA, BMI2', function()
    local flags = sh_out('grep -m1 ^flags /proc/cpuinfo')
    local cpu = flags:find(' avx2') and flags:find(' fma') and flags:find(' bmi2') and true or false
    local built = fs.AVX2.detail:find('^built') ~= nil
    assert.are.equal(built and cpu, fs.AVX2.enabled, fs.AVX2.detail)
  end)

  for _, probe in ipairs(PROBES) do
    it(probe.feature .. ': compiled in when this machine has it', function()
      local f = fs[probe.feature]
      local seen = probe.seen()
      local off = f.off_on_request or (probe.needs and fs[probe.needs].off_on_request)
      if seen and not f.enabled and not off then
        error(('%s is installed (%s) but this build has no %s: the build was configured before it was '
               .. 'installed; run `make` again (or `make deps` then `make`)'):format(
               probe.feature, seen, probe.feature))
      end
      -- a feature compiled in needs the library here too (it links it)
      if f.enabled and not probe.needs then
        assert.truthy(seen, probe.feature .. ' is compiled in but not seen here')
      end
    end)
  end
end)
