/* emu_internal.h (tests/cuda_emu): what the emulated cuBLAS and NCCL need from the
 * emulated runtime: queueing work on a stream, and opening device memory to host code
 * that runs as "the device" (a GEMM through the host BLAS, an all-reduce). */
#ifndef MX_CUDA_EMU_INTERNAL_H
#define MX_CUDA_EMU_INTERNAL_H

#include <functional>

#include "cuda_runtime.h"

/* Queues `work` on stream s (NULL: the current device's legacy stream), or records it
 * when s is being captured; returns the stream's device through *dev when not NULL. */
cudaError_t mx_emu_enqueue(cudaStream_t s, const char *what, std::function<void()> work);
/* The device of stream s (NULL: the current device). */
int mx_emu_stream_device(cudaStream_t s);
/* Runs s's queued work up to now (used by NCCL to meet the other ranks' streams). */
void mx_emu_drain_stream(cudaStream_t s);
/* The device that [p, p + bytes) lies on, -1 when it is not inside one live allocation. */
int mx_emu_device_of(const void *p, size_t bytes);
/* While queued work runs: makes [p, p + bytes) readable and writable to every host thread
 * (the host BLAS's own threads) until the work is over. */
void mx_emu_open(const void *p, size_t bytes);
/* Stops the process with a message naming an emulated-GPU failure. */
[[noreturn]] void mx_emu_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The current device of this thread. */
int mx_emu_current_device(void);
/* The global lock every emulated call holds (recursive). */
void mx_emu_lock(void);
void mx_emu_unlock(void);

#endif
