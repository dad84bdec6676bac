# PyTorch runner of the training benchmark: the same MLP, data, initial weights and MXNet SGD
# rule as mlp_numpy.py, written with plain CPU tensors and a hand-written backward (no autograd).
# Usage: mlp_torch.py WEIGHTS_DIR [DATA_DIR] [--threads N]   (default 1 intra-op thread)
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_numpy import (BATCH, INFER_PASSES, LR, MOMENTUM, SHAPES, TIMED, WARMUP,  # noqa: E402
                       WD, load_mnist, load_weights, median_time, report)


def main():
    args = [a for a in sys.argv[1:]]
    threads = 1
    if "--threads" in args:
        k = args.index("--threads")
        threads = int(args[k + 1])
        del args[k:k + 2]
    weights_dir = args[0]
    data_dir = args[1] if len(args) > 1 else "data/mnist"
    # 1 intra-op thread is PyTorch's best setting on this 2-core machine: with 2, its OpenMP
    # threads spin against OpenBLAS's own thread pool and the step gets several times slower.
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)

    train_x, train_y, test_x, test_y = (torch.from_numpy(a) for a in load_mnist(data_dir))
    p = {n: torch.from_numpy(a) for n, a in load_weights(weights_dir).items()}
    w1, b1, w2, b2, w3, b3 = (p[n] for n, _ in SHAPES)
    params = [w1, b1, w2, b2, w3, b3]
    moms = [torch.zeros_like(a) for a in params]
    decays = [WD if n.endswith("_weight") else 0.0 for n, _ in SHAPES]
    nbatch = train_x.shape[0] // BATCH
    eye = torch.eye(10)
    loss_first = [None]

    def step(i):
        j = i % nbatch
        x = train_x[j * BATCH:(j + 1) * BATCH]                  # a view, no copy
        y = train_y[j * BATCH:(j + 1) * BATCH]
        # forward: (batch, in) x (out, in)^T + b -> (batch, out)
        z1 = torch.addmm(b1, x, w1.t())
        h1 = torch.relu(z1)
        z2 = torch.addmm(b2, h1, w2.t())
        h2 = torch.relu(z2)
        z3 = torch.addmm(b3, h2, w3.t())
        prob = torch.softmax(z3, dim=1)
        if loss_first[0] is None:
            loss_first[0] = float(-torch.log(prob[torch.arange(BATCH), y]).mean())
        # backward: SoftmaxOutput's gradient prob - onehot, then the chain rule by hand
        d3 = prob - eye[y]
        g_w3 = d3.t() @ h2
        g_b3 = d3.sum(0)
        d2 = (d3 @ w3).mul_(z2 > 0)
        g_w2 = d2.t() @ h1
        g_b2 = d2.sum(0)
        d1 = (d2 @ w2).mul_(z1 > 0)
        g_w1 = d1.t() @ x
        g_b1 = d1.sum(0)
        # MXNet's SGD: mom = momentum*mom - lr*(g/batch + wd*w); w += mom (no wd on biases)
        for w, g, m, wd in zip(params, (g_w1, g_b1, g_w2, g_b2, g_w3, g_b3), moms, decays):
            g.mul_(1.0 / BATCH)
            if wd:
                g.add_(w, alpha=wd)
            m.mul_(MOMENTUM).add_(g, alpha=-LR)
            w.add_(m)

    def predict(x):
        h1 = torch.relu(torch.addmm(b1, x, w1.t()))
        h2 = torch.relu(torch.addmm(b2, h1, w2.t()))
        return torch.softmax(torch.addmm(b3, h2, w3.t()), dim=1)

    for i in range(WARMUP):
        step(i)
    t0 = time.perf_counter()
    for i in range(WARMUP, WARMUP + TIMED):
        step(i)
    train_s = time.perf_counter() - t0

    def infer():
        return [predict(test_x[k:k + BATCH]) for k in range(0, test_x.shape[0], BATCH)]
    probs = infer()                                           # warm-up pass
    infer_s = median_time(infer, INFER_PASSES)
    acc = float((torch.cat(probs).argmax(1) == test_y).float().mean())
    extra = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    try:
        import threadpoolctl
        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        if info:
            extra["blas"] = "%s %s %s, %d threads" % (info[0]["internal_api"], info[0]["version"],
                                                     info[0]["architecture"], info[0]["num_threads"])
    except ImportError:
        pass
    report("torch", TIMED * BATCH / train_s, test_x.shape[0] / infer_s, acc, loss_first[0], extra)


if __name__ == "__main__":
    main()
