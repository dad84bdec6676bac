# numpy runner of the training benchmark: the tutorial's MLP 784-128-64-10 trained with
# plain float32 numpy (`@` on OpenBLAS), MXNet's SGD rule. Also holds the MNIST / weight
# loaders that mlp_torch.py imports. Usage: mlp_numpy.py WEIGHTS_DIR [DATA_DIR]
import json
import os
import struct
import sys
import time

import numpy as np

BATCH = 100
WARMUP = 20          # batches run before the clock starts
TIMED = 600          # batches timed: one epoch of the 60,000 training images
INFER_PASSES = 5     # timed passes over the 10,000 test images; the median is reported
LR, MOMENTUM, WD = 0.1, 0.9, 1e-5
SHAPES = [("fc1_weight", (128, 784)), ("fc1_bias", (128,)),
          ("fc2_weight", (64, 128)), ("fc2_bias", (64,)),
          ("fc3_weight", (10, 64)), ("fc3_bias", (10,))]


def read_idx(path):
    """An MNIST IDX file (ubyte) as a numpy uint8 array of its declared shape."""
    with open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    assert zero == 0 and dtype == 0x08, path + ": not an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_mnist(data_dir):
    """(train_x, train_y, test_x, test_y): images flattened to 784 float32 in [0,1], labels int64."""
    def images(name):
        return (read_idx(os.path.join(data_dir, name)).reshape(-1, 784).astype(np.float32) / 255.0)

    def labels(name):
        return read_idx(os.path.join(data_dir, name)).astype(np.int64)
    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def load_weights(weights_dir):
    """The initial parameters, name -> float32 array, from raw little-endian float32 files NAME.f32."""
    out = {}
    for name, shape in SHAPES:
        a = np.fromfile(os.path.join(weights_dir, name + ".f32"), dtype="<f4")
        assert a.size == int(np.prod(shape)), name + ": wrong size"
        out[name] = a.reshape(shape).copy()
    return out


def median_time(fn, passes):
    """The median wall time of `passes` calls of fn()."""
    ts = []
    for _ in range(passes):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[len(ts) // 2]


def report(runner, train_sps, infer_sps, acc, loss_first, extra=None):
    d = {"runner": runner, "train_samples_per_s": train_sps, "infer_samples_per_s": infer_sps,
         "test_accuracy": acc, "first_batch_loss": loss_first}
    d.update(extra or {})
    print(json.dumps(d))


def main():
    weights_dir = sys.argv[1]
    data_dir = sys.argv[2] if len(sys.argv) > 2 else "data/mnist"
    train_x, train_y, test_x, test_y = load_mnist(data_dir)
    p = load_weights(weights_dir)
    w1, b1, w2, b2, w3, b3 = (p[n] for n, _ in SHAPES)
    params = [w1, b1, w2, b2, w3, b3]
    moms = [np.zeros_like(a) for a in params]
    decays = [WD if n.endswith("_weight") else 0.0 for n, _ in SHAPES]
    nbatch = train_x.shape[0] // BATCH
    onehot_eye = np.eye(10, dtype=np.float32)
    loss_first = None

    def step(i):
        nonlocal loss_first
        j = i % nbatch
        x = train_x[j * BATCH:(j + 1) * BATCH]                 # a view, no copy
        y = train_y[j * BATCH:(j + 1) * BATCH]
        # forward: FullyConnected is x @ W^T + b, (batch, in) x (out, in)^T -> (batch, out)
        z1 = x @ w1.T
        z1 += b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2.T
        z2 += b2
        h2 = np.maximum(z2, 0)
        z3 = h2 @ w3.T
        z3 += b3
        z3 -= z3.max(axis=1, keepdims=True)
        e = np.exp(z3)
        prob = e / e.sum(axis=1, keepdims=True)
        if loss_first is None:
            loss_first = float(-np.log(prob[np.arange(BATCH), y]).mean())
        # backward: SoftmaxOutput's gradient is prob - onehot (not divided by batch)
        d3 = prob - onehot_eye[y]
        g_w3 = d3.T @ h2
        g_b3 = d3.sum(axis=0)
        d2 = d3 @ w3
        d2 *= (z2 > 0)
        g_w2 = d2.T @ h1
        g_b2 = d2.sum(axis=0)
        d1 = d2 @ w2
        d1 *= (z1 > 0)
        g_w1 = d1.T @ x
        g_b1 = d1.sum(axis=0)
        # MXNet's SGD: mom = momentum*mom - lr*(g/batch + wd*w); w += mom (no wd on biases)
        for w, g, m, wd in zip(params, (g_w1, g_b1, g_w2, g_b2, g_w3, g_b3), moms, decays):
            g *= 1.0 / BATCH
            if wd:
                g += wd * w
            m *= MOMENTUM
            m -= LR * g
            w += m

    def predict(x):
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        z3 = h2 @ w3.T + b3
        z3 -= z3.max(axis=1, keepdims=True)
        e = np.exp(z3)
        return e / e.sum(axis=1, keepdims=True)

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
    acc = float((np.concatenate(probs).argmax(axis=1) == test_y).mean())
    extra = {"numpy": np.__version__}
    try:
        import threadpoolctl
        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        if info:
            extra["blas"] = "%s %s %s, %d threads" % (info[0]["internal_api"], info[0]["version"],
                                                     info[0]["architecture"], info[0]["num_threads"])
    except ImportError:
        pass
    report("numpy", TIMED * BATCH / train_s, test_x.shape[0] / infer_s, acc, loss_first, extra)


if __name__ == "__main__":
    main()
