# tests/cuda_emu/emu.mk: the emulated-GPU build (make gpu-emu, make test-gpu-emu): every
# core/*.cu and core/ops/*.cu compiled by g++ as host C++ against tests/cuda_emu's CUDA
# runtime, cuBLAS and NCCL (libcudart_emu.so, two emulated GPUs). Included by the Makefile
# only when CUDA_EMU is set; nothing here is ever installed.
override NVCC := $(CXX)
EMU_DIR   := tests/cuda_emu
EMU_LIB   := $(BUILD)/libcudart_emu.so
EMU_SRC   := $(EMU_DIR)/runtime.cpp $(EMU_DIR)/cublas.cpp $(EMU_DIR)/nccl.cpp
EMU_HDR   := $(wildcard $(EMU_DIR)/*.h)
CU_SRC    := $(wildcard core/*.cu core/ops/*.cu)
CU_OBJ    := $(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o)
CFLAGS    += -DMX_HAVE_CUDA -DMX_HAVE_NCCL -DMX_CUDA_EMU
# __CUDA_ARCH__: kernels take their device branches (#ifdef __CUDA_ARCH__), as on a GPU
# MX_CUBLAS_PATH: the soname, so that blas_cuda.cu's dlopen finds the emulator already loaded
NVFLAGS   := -x c++ -std=c++17 $(OPT) -g -fPIC -ffp-contract=off $(WARN) -Wno-unused-function \
             -D__CUDACC__ -D__CUDA_ARCH__=800 -DMX_CUDA_EMU -DMX_HAVE_CUDA -DMX_HAVE_NCCL \
             -I$(EMU_DIR) -Icore -DMX_CUBLAS_PATH='"libcudart_emu.so"'
LDLIBS    += -L$(BUILD) -lcudart_emu -Wl,-rpath,$(abspath $(BUILD)) -ldl -lstdc++

$(EMU_LIB): $(EMU_SRC) $(EMU_HDR)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -O2 -g -fPIC -shared -Wl,-soname,libcudart_emu.so $(WARN) -I$(EMU_DIR) -o $@ $(EMU_SRC) -lopenblas -lpthread

$(CU_OBJ): $(EMU_HDR)
$(BUILD)/libmxcore.a $(BUILD)/libmxcore.so $(BUILD)/lua/mx/core.so $(CTEST_BIN): | $(EMU_LIB)

# the emulator's own tests (tests/cuda_emu/run.sh)
$(BUILD)/cuda_emu_selftest: $(EMU_DIR)/selftest.cu core/cuda_util.h $(EMU_LIB)
	$(NVCC) $(NVFLAGS) -o $@ $< -L$(BUILD) -lcudart_emu -Wl,-rpath,$(abspath $(BUILD))

# Static shared memory: at most 48 KiB a block. Each object's __shared__ variables (all of
# its kernels together, so a bound on each) lie in section mx_emu_shared.
$(BUILD)/shared_mem.ok: $(CU_OBJ)
	@for o in $(CU_OBJ); do \
	  n=$$(size -A $$o | awk '$$1 == "mx_emu_shared" {print $$2}'); \
	  if [ "$${n:-0}" -gt 49152 ]; then \
	    echo "$$o: $$n bytes of __shared__ memory (a block may have 49152)"; exit 1; fi; \
	done; touch $@
