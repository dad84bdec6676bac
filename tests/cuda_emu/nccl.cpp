// nccl.cpp (tests/cuda_emu): the emulated NCCL: communicators over the emulated GPUs of
// one process and ncclAllReduce (sum of floats), which runs once every rank's stream
// has reached its part, as NCCL's kernels meet. Test tool only.
#include <string.h>

#include <memory>
#include <vector>

#include "emu_internal.h"
#include "nccl.h"

struct clique {
  int n;
  // the collective being gathered: one call per rank
  struct call {
    const float *send;
    float *recv;
    cudaStream_t stream;
    bool queued;
  };
  std::vector<call> calls;
  size_t count;
  int have = 0;
};

struct ncclComm {
  std::shared_ptr<clique> group;
  int rank, dev;
};

static int group_depth;

extern "C" const char *ncclGetErrorString(ncclResult_t r) {
  switch (r) {
  case ncclSuccess: return "no error";
  case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
  case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
  case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
  case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
  case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
  }
  return "unknown result code";
}

extern "C" ncclResult_t ncclCommInitAll(ncclComm_t *comms, int ndev, const int *devlist) {
  int count = 0;
  cudaGetDeviceCount(&count);
  if (ndev < 1) return ncclInvalidArgument;
  for (int i = 0; i < ndev; i++) {
    int d = devlist ? devlist[i] : i;
    if (d < 0 || d >= count) return ncclInvalidArgument;
    for (int j = 0; j < i; j++)
      if ((devlist ? devlist[j] : j) == d) return ncclInvalidUsage; // one rank per device
  }
  auto g = std::make_shared<clique>();
  g->n = ndev;
  g->calls.resize((size_t)ndev);
  for (int i = 0; i < ndev; i++) comms[i] = new ncclComm{g, i, devlist ? devlist[i] : i};
  return ncclSuccess;
}

extern "C" ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}

extern "C" ncclResult_t ncclGroupStart(void) {
  group_depth++;
  return ncclSuccess;
}
extern "C" ncclResult_t ncclGroupEnd(void) {
  if (group_depth == 0) return ncclInvalidUsage;
  group_depth--;
  return ncclSuccess;
}

// Queues every rank's part once the last rank has called: the first part to run
// brings each other rank's stream up to its own part, then sums into every buffer.
static void queue_collective(const std::shared_ptr<clique> &g) {
  auto done = std::make_shared<bool>(false);
  std::vector<clique::call> calls = g->calls;
  size_t count = g->count;
  for (int r = 0; r < g->n; r++) {
    cudaStream_t s = calls[(size_t)r].stream;
    mx_emu_enqueue(s, "ncclAllReduce", [calls, count, done, r]() {
      if (*done) return;
      *done = true;
      for (int o = 0; o < (int)calls.size(); o++)
        if (o != r) mx_emu_drain_stream(calls[(size_t)o].stream); // its work before its part
      std::vector<double> sum(count, 0.0);
      std::vector<float> part(count);
      for (const clique::call &c : calls) {
        memcpy(part.data(), c.send, count * sizeof(float));
        for (size_t i = 0; i < count; i++) sum[i] += part[i];
      }
      for (size_t i = 0; i < count; i++) part[i] = (float)sum[i];
      for (const clique::call &c : calls) memcpy(c.recv, part.data(), count * sizeof(float));
    });
  }
  g->have = 0;
  for (auto &c : g->calls) c.queued = false;
}

extern "C" ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype,
                                      ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  if (!comm) return ncclInvalidArgument;
  if (datatype != ncclFloat || op != ncclSum) return ncclInvalidArgument; // the emulation sums floats only
  if (mx_emu_stream_device(stream) != comm->dev) return ncclInvalidUsage;
  size_t bytes = count * sizeof(float);
  if (count && (mx_emu_device_of(sendbuff, bytes) != comm->dev || mx_emu_device_of(recvbuff, bytes) != comm->dev))
    return ncclInvalidArgument;
  clique &g = *comm->group;
  if (g.have > 0 && g.count != count) return ncclInvalidArgument;
  clique::call &c = g.calls[(size_t)comm->rank];
  if (c.queued) return ncclInvalidUsage; // this rank already called; another rank has not
  c = {(const float *)sendbuff, (float *)recvbuff, stream, true};
  g.count = count;
  if (++g.have == g.n) queue_collective(comm->group);
  return ncclSuccess;
}
