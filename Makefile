# mxlua build: the core library, the Lua C module, the mxlua host, tests,
# data, benchmarks. `make run` and `make test` do every setup step first.

# Debian packages the project needs (installed by `make deps` when missing).
DEB_PACKAGES := build-essential pkg-config lua5.4 liblua5.4-dev libopenblas-dev lua-busted \
  libreadline-dev zlib1g-dev lua-check cppcheck clang-format lua-socket lua-cjson graphviz \
  libpng-dev valgrind chromium libblis-dev libjansson-dev
# (scaling out) Open MPI for kvstore 'mpi'.
DEB_PACKAGES += libopenmpi-dev openmpi-bin
# Commands that may come from elsewhere than Debian (node's own npm): installed only when absent.
DEB_IF_NO_COMMAND := npm:npm

CC      ?= cc
NVCC    ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
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

# The CUDA device layer is built whenever nvcc is found.
ifneq ($(NVCC),)
# nvcc may be a wrapper script (/usr/local/bin/nvcc on some machines), so ask nvcc where it
# lives rather than trusting its path; the libraries are in lib64 or targets/<arch>/lib.
CUDA_HOME := $(patsubst %/bin,%,$(shell $(NVCC) --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^\#\$$ _HERE_=//p'))
ifeq ($(CUDA_HOME),)
CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC))
endif
CUDA_LIB  := $(firstword $(dir $(wildcard $(CUDA_HOME)/lib64/libcudart.so $(CUDA_HOME)/targets/*/lib/libcudart.so)) $(CUDA_HOME)/lib64/)
CUDA_LIB  := $(CUDA_LIB:%/=%)
CU_SRC    := $(wildcard core/*.cu core/ops/*.cu)
CU_OBJ    := $(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o)
CFLAGS    += -DMX_HAVE_CUDA -I$(CUDA_HOME)/include
# --fmad=false: no fused multiply-add, so element-wise results round as the CPU's
NVFLAGS   := -O2 -std=c++17 --fmad=false -DMX_HAVE_CUDA -Icore \
             -Xcompiler -fPIC,-Wall,-Wextra,-Wshadow,-Wno-unused-parameter \
             -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
ifneq ($(CI),)
NVFLAGS   += -Werror all-warnings -Xcompiler -Werror
endif
# cuBLAS is opened by blas_cuda.cu on the first GPU GEMM (loading it costs 150 MiB of
# resident memory, too much for a CPU run to pay); its path here is tried first.
CUBLAS_SO := $(firstword $(wildcard $(CUDA_LIB)/libcublas.so.[0-9]*) $(CUDA_LIB)/libcublas.so)
NVFLAGS   += -DMX_CUBLAS_PATH='"$(CUBLAS_SO)"'
LDLIBS    += -L$(CUDA_LIB) -Wl,-rpath,$(CUDA_LIB) -lcudart -ldl -lstdc++
endif

# (scaling out) kvstore 'nccl' when NCCL lies beside CUDA; kvstore 'mpi' when Open MPI is
# found (pkg-config ompi-c, else the mpicc wrapper). Without them those kvstores say so.
ifneq ($(NVCC),)
ifneq ($(and $(wildcard $(CUDA_LIB)/libnccl.so),$(wildcard $(CUDA_HOME)/include/nccl.h)),)
CFLAGS    += -DMX_HAVE_NCCL
NVFLAGS   += -DMX_HAVE_NCCL
LDLIBS    += -lnccl
endif
endif
# (speed) BLIS runs the CPU GEMMs big enough to share out over threads when Debian's libblis-dev
# is there (core/blas_blis.c); OpenBLAS does the rest and stays the BLAS of everything else.
# `make BLIS=` builds without it. Linked after OpenBLAS, whose cblas_* symbols then win.
BLIS_ARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BLIS      ?= $(firstword $(patsubst %/blis.h,%,$(wildcard /usr/include/$(BLIS_ARCH)/blis-*/blis.h)))
ifneq ($(BLIS),)
BLIS_LIBDIR := /usr/lib/$(BLIS_ARCH)/$(notdir $(BLIS))
CFLAGS    += -DMX_HAVE_BLIS
LDLIBS    += -L$(BLIS_LIBDIR) -Wl,-rpath,$(BLIS_LIBDIR) -lblis
# only blas_blis.c sees BLIS's headers (BLIS ships a cblas.h of its own beside blis.h)
BLIS_CFLAGS := -isystem $(BLIS)
endif
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null || mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null || mpicc --showme:link 2>/dev/null)
ifneq ($(MPI_LIBS),)
CFLAGS    += -DMX_HAVE_MPI $(MPI_CFLAGS)
LDLIBS    += $(MPI_LIBS)
endif

LIB_A   := $(BUILD)/libmxcore.a
LIB_SO  := $(BUILD)/libmxcore.so
MODULE  := $(BUILD)/lua/mx/core.so
HOST    := $(BUILD)/mxlua

.PHONY: all deps data run test test-c test-lua test-gpu bench lint format install clean
all: $(LIB_A) $(LIB_SO) $(MODULE) $(HOST)

$(BUILD)/obj/%.o: %.c $(wildcard core/*.h core/ops/*.h bindings/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LUA_INC) -c $< -o $@

$(BUILD)/obj/core/blas_blis.o: CFLAGS += $(BLIS_CFLAGS)

# The CPU kernels get -O3: at -O2, GCC 12's very-cheap cost model leaves their loops scalar.
$(BUILD)/obj/core/kernels_cpu.o: CFLAGS += -O3
# (training) the fused optimizer loops likewise.
$(BUILD)/obj/core/optimizer.o: CFLAGS += -O3

$(BUILD)/obj/%.cu.o: %.cu $(wildcard core/*.h core/ops/*.h)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(LIB_A): $(CORE_OBJ) $(CU_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(CORE_OBJ) $(CU_OBJ)
	$(CC) -shared -o $@ $^ $(LDLIBS)

$(MODULE): $(BIND_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(BIND_OBJ) $(LIB_A) $(LDLIBS)

$(HOST): bindings/mxlua.c $(wildcard bindings/*.h) core/mx.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LUA_INC) -DMXLUA_SOURCE_ROOT='"$(CURDIR)"' -DMXLUA_BUILD='"$(BUILD)"' -o $@ $< $(LUA_LIB) -lreadline -lm -ldl

$(BUILD)/tests/%: tests/c/%.c tests/c/ctest.h $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/c -o $@ $< $(LIB_A) $(LDLIBS)

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

run: deps all data
	$(HOST) scripts/train_mnist.lua

# ---- tests ----
# The browser test (tests/browser/) drives Debian's chromium with playwright-core from npm.
PLAYWRIGHT_CORE := playwright-core@1.65.1
.PHONY: browser-deps
browser-deps:
	@test -d $(BUILD)/node/node_modules/playwright-core || npm install --prefix $(BUILD)/node --no-audit --no-fund $(PLAYWRIGHT_CORE)

build-tests: all $(CTEST_BIN)

test: deps data build-tests browser-deps
	@sh tests/run.sh all

test-c: build-tests
	@sh tests/run.sh c

test-lua: all
	@sh tests/run.sh lua

test-gpu: deps data all
	@sh tests/run.sh gpu

bench: deps bench-deps data all
	@sh scripts/bench/run.sh

# Element-wise/reduction kernels against a plain C loop built with the same flags (run.sh runs it).
$(BUILD)/bench/elementwise: scripts/bench/elementwise.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

# One forward+backward step of the tutorial's MLP through the executor, beside its 8 GEMMs (run.sh runs it).
$(BUILD)/bench/mlp_step: scripts/bench/mlp_step.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

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
DEB_PACKAGES += clang libclang-rt-14-dev  # (robustness) libFuzzer; valgrind is above
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
	  $(FUZZ_BUILD)/libmxcore.a $(addprefix $(FUZZ_BUILD)/obj/,$(BIND_SRC:.c=.o))
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/fuzz_idx_gz: tests/fuzz/fuzz_idx.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libmxcore.a
	$(FUZZ_CC) $(FUZZ_LINK) -DFUZZ_GZ -Icore -o $@ $< $(FUZZ_BUILD)/libmxcore.a $(LDLIBS)
$(FUZZ_BUILD)/fuzz_web: tests/fuzz/fuzz_web.c $(FUZZ_BUILD)/libmxcore.a
	$(FUZZ_CC) $(FUZZ_LINK) $(LUA_INC) -DMXLUA_SOURCE_ROOT='"$(CURDIR)"' -o $@ $< \
	  $(addprefix $(FUZZ_BUILD)/obj/,$(BIND_SRC:.c=.o)) $(FUZZ_BUILD)/libmxcore.a $(LDLIBS) $(LUA_LIB)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_BUILD)/libmxcore.a
	$(FUZZ_CC) $(FUZZ_LINK) -Icore -o $@ $< $(FUZZ_BUILD)/libmxcore.a $(LDLIBS)

fuzz: deps fuzz-build
	@FUZZ_RUNS=$(FUZZ_RUNS) sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

lint:
	luacheck --no-color -q lua scripts tests/spec
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -Icore core bindings

format:
	clang-format -i $(wildcard core/*.[ch] core/ops/*.[ch] core/*.cu bindings/*.[ch] tests/c/*.[ch])

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/share/lua/5.4/mx $(DESTDIR)$(PREFIX)/lib/lua/5.4/mx
	$(CC) $(CFLAGS) $(LUA_INC) -DMXLUA_SOURCE_ROOT='""' -o $(DESTDIR)$(PREFIX)/bin/mxlua bindings/mxlua.c $(LUA_LIB) -lreadline -lm -ldl
	install -m 644 core/mx.h $(DESTDIR)$(PREFIX)/include/mx.h
	install -m 644 $(LIB_A) $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lua/mx/*.lua $(DESTDIR)$(PREFIX)/share/lua/5.4/mx/
	install -d $(DESTDIR)$(PREFIX)/share/lua/5.4/mx/web
	install -m 644 lua/mx/web/*.lua $(DESTDIR)$(PREFIX)/share/lua/5.4/mx/web/
	install -m 755 $(MODULE) $(DESTDIR)$(PREFIX)/lib/lua/5.4/mx/core.so

clean:
	rm -rf $(BUILD)
