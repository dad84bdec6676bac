# mxlua build: the core library, the Lua C module, the mxlua host, tests,
# data, benchmarks. `make run` and `make test` do every setup step first.

# Debian packages the project needs (installed by `make deps` when missing).
DEB_PACKAGES := build-essential pkg-config lua5.4 liblua5.4-dev libopenblas-dev lua-busted \
  libreadline-dev zlib1g-dev lua-check cppcheck clang-format lua-socket lua-cjson lua-filesystem graphviz \
  libpng-dev valgrind chromium libblis-dev libjansson-dev libmicrohttpd-dev
# lua-argparse: every script's command-line flags (lua/mx/cli.lua)
DEB_PACKAGES += lua-argparse
# LDoc, for make doc
DEB_PACKAGES += lua-ldoc
# Open MPI for kvstore 'mpi'.
DEB_PACKAGES += libopenmpi-dev openmpi-bin
# LuaRocks, for mxlua-scm-1.rockspec
DEB_PACKAGES += luarocks
# libxsmm's JIT small-GEMM kernels, a candidate of the GEMM plan (core/gemm_plan.c)
DEB_PACKAGES += libxsmm-dev
# Commands that may come from elsewhere than Debian (node's own npm): installed only when absent.
DEB_IF_NO_COMMAND := npm:npm

CC      ?= cc
BUILD   := build
PREFIX  ?= /usr/local
LUA_INC := $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIB := $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)

WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifneq ($(CI),)
WARN    += -Werror
endif
OPT     ?= -O2 -march=x86-64-v2 -mtune=native
CFLAGS  ?= $(OPT) -g
# -ffp-contract=off: no fused multiply-add, so every CPU (and simd.h's two builds of a
# loop) rounds alike
CFLAGS  += -std=c11 -D_GNU_SOURCE -fPIC -ffp-contract=off $(WARN) -Icore -I/usr/include/x86_64-linux-gnu
LDLIBS  := -lopenblas -lz -lpng -ljansson -lm -lpthread

CORE_SRC  := $(wildcard core/*.c core/ops/*.c)
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
BIND_SRC  := $(filter-out bindings/mxlua.c,$(wildcard bindings/*.c))
BIND_OBJ  := $(BIND_SRC:%.c=$(BUILD)/obj/%.o)
CTEST_SRC := $(wildcard tests/c/test_*.c)
CTEST_BIN := $(CTEST_SRC:tests/c/%.c=$(BUILD)/tests/%)

# The optional parts (CUDA with cuBLAS, NCCL, BLIS, MPI) are decided by scripts/configure.sh
# each time make parses this file, from what is installed then, into $(BUILD)/config.mk. Targets that
# install first (run, test, ...) build in a second make, after `make deps`. The objects depend on
# config.mk, rewritten only when it changes: a library that appears or goes, or an option given
# (`make BLIS=` or `make NVCC=`: built without it) rebuilds them. MX_OPTIONS: the make variables
# that choose an optional part; a new optional library adds its variable here and its block in
# scripts/configure.sh (which says how).
MX_OPTIONS := NVCC BLIS MPI NCCL LIBXSMM
MX_GIVEN   := $(foreach v,$(MX_OPTIONS),$(if $(filter command line environment override,$(origin $(v))),$(v)))
NO_CONFIG_GOALS := deps data clean lint format run test test-unit test-system test-gpu bench bench-deps test-asan test-valgrind fuzz \
  gpu-emu test-gpu-emu mutants mutants-ci
CONFIGURE  = MX_GIVEN='$(MX_GIVEN)' CC='$(CC)' $(foreach v,$(MX_GIVEN),$(v)='$($(v))') sh scripts/configure.sh $(BUILD)
CONFIG    := $(BUILD)/config.mk
ifneq ($(filter-out $(NO_CONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
CONFIGURED := $(shell $(CONFIGURE))
include $(CONFIG)
endif
CFLAGS    += $(FEATURES:%=-DMX_HAVE_%) $(foreach f,$(FEATURES),$($(f)_CFLAGS))
LDLIBS    += $(foreach f,$(FEATURES),$($(f)_LIBS))

# The CUDA device layer is built whenever nvcc is found.
ifneq ($(NVCC),)
CU_SRC    := $(wildcard core/*.cu core/ops/*.cu)
CU_OBJ    := $(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o)
# --fmad=false: no fused multiply-add, so element-wise results round as the CPU's
NVFLAGS   := -O2 -std=c++17 --fmad=false $(FEATURES:%=-DMX_HAVE_%) -Icore \
             -Xcompiler -fPIC,-Wall,-Wextra,-Wshadow,-Wno-unused-parameter \
             -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
ifneq ($(CI),)
NVFLAGS   += -Werror all-warnings -Xcompiler -Werror
endif
# cuBLAS is opened by blas_cuda.cu on the first GPU GEMM (loading it costs 150 MiB of
# resident memory, too much for a CPU run to pay); its path here is tried first.
NVFLAGS   += -DMX_CUBLAS_PATH='"$(CUBLAS_SO)"'
endif

# (tests/cuda_emu) `make gpu-emu`: the CUDA code on an emulated GPU; a test tool
ifneq ($(CUDA_EMU),)
include tests/cuda_emu/emu.mk
endif

LIB_A   := $(BUILD)/libmxcore.a
LIB_SO  := $(BUILD)/libmxcore.so
MODULE  := $(BUILD)/lua/mx/core.so
HOST    := $(BUILD)/mxlua
# The draw-a-digit demo's own C module (scripts/draw_digit/*.c: its digit math, the libmicrohttpd
# server, Ctrl-C), which scripts/draw_digit.lua loads as draw_digit.native; never installed.
DEMO_SRC := $(wildcard scripts/draw_digit/*.c)
DEMO_OBJ := $(DEMO_SRC:%.c=$(BUILD)/obj/%.o)
DEMO     := $(BUILD)/draw_digit/native.so

.PHONY: all deps data run test test-unit test-system test-c test-lua test-gpu bench lint format install clean doc
all: $(LIB_A) $(LIB_SO) $(MODULE) $(HOST) $(DEMO)

# The core compiles without the Lua include path: it can never include lua.h. The bindings and
# anything else (a fuzz target's bindings objects) get it.
$(BUILD)/obj/core/%.o: core/%.c $(wildcard core/*.h core/ops/*.h) $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(wildcard core/*.h core/ops/*.h bindings/*.h) $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LUA_INC) -c $< -o $@

# (again after `make clean` in the same make)
$(CONFIG):
	@$(CONFIGURE)

$(BUILD)/obj/core/blas_blis.o: CFLAGS += $(BLIS_INC)
# mx.features() names the optional parts turned off on request
$(BUILD)/obj/core/features.o: CFLAGS += -DMX_OFF_ON_REQUEST='"$(strip $(OFF_ON_REQUEST))"' -DMX_CUBLAS_PATH='"$(CUBLAS_SO)"'

# The CPU kernels get -O3: at -O2, GCC 12's very-cheap cost model leaves their loops scalar.
$(BUILD)/obj/core/kernels_cpu.o: CFLAGS += -O3
# the fused optimizer loops likewise.
$(BUILD)/obj/core/optimizer.o: CFLAGS += -O3

$(BUILD)/obj/%.cu.o: %.cu $(wildcard core/*.h core/ops/*.h) $(CONFIG)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(LIB_A): $(CORE_OBJ) $(CU_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(CORE_OBJ) $(CU_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

# -z nodelete: Lua unloads C modules at exit, but the GEMM libraries' worker threads (BLIS's
# OpenMP team) may still be running their code then.
$(MODULE): $(BIND_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-z,nodelete -o $@ $(BIND_OBJ) $(LIB_A) $(LDLIBS)

$(DEMO_OBJ): $(wildcard scripts/draw_digit/*.h)
$(DEMO): $(DEMO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ -lmicrohttpd -lm

$(HOST): bindings/mxlua.c $(wildcard bindings/*.h) core/mx.h $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LUA_INC) -DMXLUA_SOURCE_ROOT='"$(CURDIR)"' -DMXLUA_BUILD='"$(BUILD)"' -o $@ $< $(LUA_LIB) -lreadline -lm -ldl

$(BUILD)/tests/%: tests/c/%.c tests/c/ctest.h $(LIB_A) $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/c -o $@ $< $(LIB_A) $(LDLIBS)

# test_digit: the demo's digit math (scripts/draw_digit/digit.c), which needs no engine.
$(BUILD)/tests/test_digit: tests/c/test_digit.c tests/c/ctest.h scripts/draw_digit/digit.c scripts/draw_digit/digit.h $(CONFIG)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/c -Iscripts/draw_digit -o $@ $< scripts/draw_digit/digit.c -lm

# ---- setup ----
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	for pc in $(DEB_IF_NO_COMMAND); do \
	  command -v $${pc%%:*} >/dev/null 2>&1 || missing="$$missing $${pc#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

data:
	@sh scripts/get_mnist.sh data/mnist

# run, test, test-gpu, bench, fuzz: `make deps` first, then a second make, configured after it
run: deps
	@$(MAKE) --no-print-directory all data
	$(HOST) scripts/train_mnist.lua

# ---- tests ----
# The browser test (tests/browser/) drives Debian's chromium with playwright-core from npm.
PLAYWRIGHT_CORE := playwright-core@1.65.1
.PHONY: browser-deps
browser-deps:
	@test -d $(BUILD)/node/node_modules/playwright-core || npm install --prefix $(BUILD)/node --no-audit --no-fund $(PLAYWRIGHT_CORE)

build-tests: all $(CTEST_BIN)

# test = test-unit + test-system with one closing line. Unit: the C tests and the specs of one
# part each; system: whole runs (the SIGKILL loop, the soak, RSS limits, the browser), see tests/run.sh.
test: deps
	@$(MAKE) --no-print-directory data build-tests browser-deps
	@sh tests/run.sh all

test-unit: deps
	@$(MAKE) --no-print-directory data build-tests
	@sh tests/run.sh unit

test-system: deps
	@$(MAKE) --no-print-directory data all browser-deps
	@sh tests/run.sh system

test-c: build-tests
	@sh tests/run.sh c

test-lua: all
	@sh tests/run.sh lua

test-gpu: deps
	@$(MAKE) --no-print-directory data all
	@sh tests/run.sh gpu

# build-gpu-emu/mxlua: mxlua on two emulated GPUs (tests/cuda_emu); a test tool, never installed.
# test-gpu-emu: the emulator's own bug-catching tests, then the GPU suite on it.
.PHONY: gpu-emu test-gpu-emu
gpu-emu:
	@$(MAKE) --no-print-directory NVCC= CUDA_EMU=1 BUILD=build-gpu-emu all build-gpu-emu/cuda_emu_selftest \
	  build-gpu-emu/shared_mem.ok

test-gpu-emu: deps
	@$(MAKE) --no-print-directory data gpu-emu
	@sh tests/cuda_emu/run.sh

# Planted bugs (tests/mutants/list.lua), each in a scratch copy: `make mutants [MUTANTS="id ..."]`;
# mutants-ci: the five fixed entries marked ci.
.PHONY: mutants mutants-ci
mutants: deps data
	@lua5.4 tests/mutants/run.lua $(MUTANTS)
mutants-ci: deps data
	@lua5.4 tests/mutants/run.lua --ci

bench: deps bench-deps
	@$(MAKE) --no-print-directory data all
	@sh scripts/bench/run.sh

# Element-wise/reduction kernels against a plain C loop built with the same flags (run.sh runs it).
$(BUILD)/bench/elementwise: scripts/bench/elementwise.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

# One forward+backward step of the tutorial's MLP through the executor, beside its 8 GEMMs (run.sh runs it).
$(BUILD)/bench/mlp_step: scripts/bench/mlp_step.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

# This machine's float32 peak (FMA chains in registers, one thread and all): its own flags, as the
# widest vectors the CPU has are the point (run.sh runs it; LeNet's share of it is printed).
$(BUILD)/bench/peak: scripts/bench/peak.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -march=native -pthread -o $@ $<

# The benchmark's comparison runners: Debian's numpy and PyTorch (for /usr/bin/python3), and
# BLIS and libxsmm for the GEMM ceilings measured beside OpenBLAS's (the build never needs them).
BENCH_PACKAGES := python3-numpy python3-torch python3-threadpoolctl libblis-dev libxsmm-dev
.PHONY: bench-deps
bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

# ---- robustness (tests/fuzz/, tests/sanitize.sh): sanitizers, valgrind, libFuzzer ----
# test-asan: C tests and busted specs built with ASan+UBSan into build/asan (CPU-only, no -Werror).
# test-valgrind: the C tests and a short training run under memcheck (CPU-only build). fuzz: each libFuzzer target
# (clang) for FUZZ_SECONDS, new crash inputs left in build/fuzz/crashes (keep them in tests/fuzz/regressions/).
DEB_PACKAGES += clang libclang-rt-14-dev  # libFuzzer; valgrind is above
SAN_OPT      := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_CC      := clang
FUZZ_OPT     := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_LINK    = $(subst fuzzer-no-link,fuzzer,$(FUZZ_OPT))
FUZZ_BUILD   := build/fuzz
FUZZ_TARGETS := idx idx_gz params symbol_json web
FUZZ_SECONDS ?= 60
.PHONY: test-asan test-valgrind fuzz fuzz-build
test-asan: deps data
	@$(MAKE) --no-print-directory CI= NVCC= BUILD=build/asan OPT='$(SAN_OPT)' build-tests
	@sh tests/sanitize.sh asan build/asan

test-valgrind: deps data
	@$(MAKE) --no-print-directory NVCC= BUILD=build/cpu-only build-tests
	@sh tests/sanitize.sh valgrind build/cpu-only

fuzz-build:
	@$(MAKE) --no-print-directory CI= NVCC= CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) OPT='$(FUZZ_OPT)' \
	  $(FUZZ_BUILD)/libmxcore.a $(addprefix $(FUZZ_BUILD)/obj/,$(BIND_SRC:.c=.o) $(DEMO_SRC:.c=.o))
	@$(MAKE) --no-print-directory CI= NVCC= CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/fuzz_idx_gz: tests/fuzz/fuzz_idx.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libmxcore.a
	$(FUZZ_CC) $(FUZZ_LINK) -DFUZZ_GZ -Icore -o $@ $< $(FUZZ_BUILD)/libmxcore.a $(LDLIBS)
$(FUZZ_BUILD)/fuzz_web: tests/fuzz/fuzz_web.c $(FUZZ_BUILD)/libmxcore.a
	$(FUZZ_CC) $(FUZZ_LINK) $(LUA_INC) -DMXLUA_SOURCE_ROOT='"$(CURDIR)"' -o $@ $< \
	  $(addprefix $(FUZZ_BUILD)/obj/,$(BIND_SRC:.c=.o) $(DEMO_SRC:.c=.o)) $(FUZZ_BUILD)/libmxcore.a $(LDLIBS) \
	  -lmicrohttpd $(LUA_LIB)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libmxcore.a
	$(FUZZ_CC) $(FUZZ_LINK) -Icore -o $@ $< $(FUZZ_BUILD)/libmxcore.a $(LDLIBS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_RUNS=$(FUZZ_RUNS) sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The HTML reference of the Lua API in build/doc: LDoc (scripts/doc/config.ld) over the ---
# comments of lua/mx/ and the operators' page scripts/doc/operators.lua writes from the registry.
# Fails on any LDoc warning (CI builds it).
DOC_OPS := build/doc-src/mx/symbol_operators.lua
doc: $(HOST) $(MODULE)
	@mkdir -p $(dir $(DOC_OPS))
	$(HOST) scripts/doc/operators.lua $(DOC_OPS)
	@rm -rf build/doc
	LUA_PATH="$(CURDIR)/scripts/doc/?.lua;;" ldoc -c scripts/doc/config.ld --fatalwarnings .

lint:
	luacheck --no-color -q lua scripts tests/spec tests/mutants
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Icore core bindings scripts/draw_digit

format:
	clang-format -i $(wildcard core/*.[ch] core/ops/*.[ch] core/*.cu bindings/*.[ch] scripts/draw_digit/*.[ch] tests/c/*.[ch])

# `make install PREFIX=DIR`, any DIR: the installed mxlua finds mx beside itself
# (DIR/share/lua/5.4, DIR/lib/lua/5.4). install-lua alone is what `luarocks make` runs
# (mxlua-scm-1.rockspec), with the tree's folders as LUA_DIR, LUA_CDIR and BIN_DIR.
LUA_DIR  ?= $(PREFIX)/share/lua/5.4
LUA_CDIR ?= $(PREFIX)/lib/lua/5.4
BIN_DIR  ?= $(PREFIX)/bin
.PHONY: install-lua
install: install-lua
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 644 core/mx.h $(DESTDIR)$(PREFIX)/include/mx.h
	install -m 644 $(LIB_A) $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/

install-lua: all
	install -d $(DESTDIR)$(BIN_DIR) $(DESTDIR)$(LUA_DIR)/mx $(DESTDIR)$(LUA_CDIR)/mx
	$(CC) $(CFLAGS) $(LUA_INC) -DMXLUA_SOURCE_ROOT='""' -o $(DESTDIR)$(BIN_DIR)/mxlua bindings/mxlua.c $(LUA_LIB) -lreadline -lm -ldl
	install -m 644 lua/mx/*.lua $(DESTDIR)$(LUA_DIR)/mx/
	install -m 755 $(MODULE) $(DESTDIR)$(LUA_CDIR)/mx/core.so

clean:
	rm -rf $(BUILD) build-gpu-emu
