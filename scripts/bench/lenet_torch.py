# PyTorch runner of the LeNet benchmark: the same network, batch and SGD recipe as
# lenet_mxlua.lua (conv 5x5x20, tanh, max-pool 2/2, conv 5x5x50, tanh, max-pool 2/2, fc 500,
# tanh, fc 10, softmax cross-entropy), autograd and torch.optim.SGD, 1 intra-op thread.
# Usage: lenet_torch.py [DATA_DIR] [--threads N]; prints one JSON line.
import json
import os
import sys
import time

import numpy as np
import torch


def load_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    args = sys.argv[1:]
    threads = 1
    if "--threads" in args:
        k = args.index("--threads")
        threads = int(args[k + 1])
        del args[k:k + 2]
    data_dir = args[0] if args else "data/mnist"
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    batch, warmup = 100, 5
    timed = int(os.environ.get("BENCH_TIMED", "100"))
    x = torch.from_numpy(load_idx(os.path.join(data_dir, "train-images-idx3-ubyte")).astype(np.float32) / 255)
    x = x.reshape(-1, 1, 28, 28)
    y = torch.from_numpy(load_idx(os.path.join(data_dir, "train-labels-idx1-ubyte")).astype(np.int64))
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 20, 5), torch.nn.Tanh(), torch.nn.MaxPool2d(2, 2),
        torch.nn.Conv2d(20, 50, 5), torch.nn.Tanh(), torch.nn.MaxPool2d(2, 2),
        torch.nn.Flatten(), torch.nn.Linear(800, 500), torch.nn.Tanh(), torch.nn.Linear(500, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-5)
    loss_fn = torch.nn.CrossEntropyLoss()
    nbatch = x.shape[0] // batch

    def step(i):
        j = i % nbatch
        opt.zero_grad()
        loss = loss_fn(net(x[j * batch:(j + 1) * batch]), y[j * batch:(j + 1) * batch])
        loss.backward()
        opt.step()

    for i in range(warmup):
        step(i)
    # wall time, and the process's CPU time (steadier on a shared machine)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(warmup, warmup + timed):
        step(i)
    s, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"runner": "torch", "version": torch.__version__, "threads": threads, "network": "lenet",
                      "batch": batch, "steps": timed, "train_samples_per_s": round(timed * batch / s, 1),
                      "train_samples_per_cpu_s": round(timed * batch / cpu, 1)}))


if __name__ == "__main__":
    main()
