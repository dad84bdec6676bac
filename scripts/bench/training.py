# The side-by-side training benchmark: alternates the direct-GEMM ceiling, mxlua, numpy and
# PyTorch over several rounds on the same data and initial weights, then prints one table of
# medians (min-max) and ratios. Run by `make bench` with Debian's /usr/bin/python3:
#   /usr/bin/python3 scripts/bench/training.py [--rounds N] [--only gemm,mxlua,numpy,torch]
import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build", "bench")
DATA = os.path.join(ROOT, "data", "mnist")
sys.path.insert(0, HERE)
from mlp_numpy import BATCH, SHAPES, TIMED, WARMUP  # noqa: E402

BLAS_THREADS = "2"


def make_weights(path, seed=1234):
    """The initial parameters every runner reads: Uniform(-0.01, 0.01) weights (seeded), zero
    biases (MXNet's Uniform initializer), one raw little-endian float32 file per array."""
    import numpy as np
    os.makedirs(path, exist_ok=True)
    rs = np.random.RandomState(seed)
    for name, shape in SHAPES:
        if name.endswith("_weight"):
            a = rs.uniform(-0.01, 0.01, shape).astype("<f4")
        else:
            a = np.zeros(shape, "<f4")
        a.tofile(os.path.join(path, name + ".f32"))


def build_gemm():
    """Builds the direct-GEMM ceilings: OpenBLAS (always), and where Debian's libblis-dev or
    libxsmm-dev is installed, BLIS's cblas and OpenBLAS with libxsmm's kernels on the shapes
    where they win. Returns {runner: command}."""
    src = os.path.join(HERE, "gemm_ceiling.c")
    os.makedirs(BUILD, exist_ok=True)
    variants = {"gemm": ([], ["-lopenblas"])}
    if os.path.exists("/usr/include/libxsmm_source.h"):
        # Debian ships libxsmm's sources under /usr/include/libxsmm/ while libxsmm_source.h
        # includes them as ../src/: a folder of links gives it the layout it expects.
        inc = os.path.join(BUILD, "libxsmm")
        for sub in ("include", "src"):
            os.makedirs(os.path.join(inc, sub), exist_ok=True)
        for d, pattern in (("include", "/usr/include/libxsmm*.h"), ("src", "/usr/include/libxsmm/*")):
            for f in glob.glob(pattern):
                link = os.path.join(inc, d, os.path.basename(f))
                if not os.path.lexists(link):
                    os.symlink(f, link)
        variants["gemm+libxsmm"] = (["-DBENCH_LIBXSMM", "-DNDEBUG", "-I" + os.path.join(inc, "include")],
                                    ["-lopenblas", "-lpthread", "-ldl", "-lm", "-lrt"])
    if glob.glob("/usr/lib/*/libblis.so") or os.path.exists("/usr/lib/libblis.so"):
        variants["gemm-blis"] = (["-DBENCH_BLIS"], ["-lblis", "-lm", "-lpthread"])
    cmds = {}
    for name, (cflags, libs) in variants.items():
        exe = os.path.join(BUILD, name.replace("+", "_").replace("-", "_").replace("gemm", "gemm_ceiling"))
        if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
            r = subprocess.run(["cc", "-O2"] + cflags + ["-o", exe, src] + libs,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                if name == "gemm":
                    sys.exit("gemm_ceiling.c does not build:\n" + r.stdout)
                print("note: %s not built (%s)" % (name, r.stdout.strip().splitlines()[-1:]))
                continue
        cmds[name] = [exe, "500"]
    return cmds


def snapshot_mxlua():
    """Copies the built mxlua (host, C module, Lua library) to build/bench/mxlua, so that a
    rebuild during the benchmark cannot swap a file under a running round. Returns the host."""
    snap = os.path.join(BUILD, "mxlua")
    shutil.rmtree(snap, ignore_errors=True)
    os.makedirs(os.path.join(snap, "build", "lua", "mx"))
    shutil.copytree(os.path.join(ROOT, "lua"), os.path.join(snap, "lua"))
    shutil.copy2(os.path.join(ROOT, "build", "lua", "mx", "core.so"),
                 os.path.join(snap, "build", "lua", "mx", "core.so"))
    shutil.copy2(os.path.join(ROOT, "build", "mxlua"), os.path.join(snap, "build", "mxlua"))
    return os.path.join(snap, "build", "mxlua")


def env_for(runner):
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = BLAS_THREADS
    env["BLIS_NUM_THREADS"] = BLAS_THREADS
    env.pop("OMP_NUM_THREADS", None)
    if runner.startswith("mxlua"):
        env["MXLUA_ROOT"] = os.path.join(BUILD, "mxlua")
    if runner == "mxlua-openblas":  # the same build with every GEMM on OpenBLAS (no GEMM plan)
        env["MXLUA_GEMM_PLAN"] = "openblas"
    if runner in ("numpy", "torch"):
        # These slow a current OpenBLAS (see the machine notes): unset both together, for the
        # Python runners only; threadpoolctl then reports which kernel actually runs.
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def run_child(cmd, env, limit_s=900):
    """Runs cmd (killed after limit_s), returns (rc, stdout, stderr, peak RSS in MiB: wait4
    reports the largest of the child and its waited-for descendants)."""
    cmd = ["timeout", "-k", "10", str(limit_s)] + cmd
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT)
        out = p.stdout.read()
        p.stdout.close()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return p.returncode, out.decode(errors="replace"), err.read().decode(errors="replace"), \
            usage.ru_maxrss / 1024.0


def train_script_run(target=0.97):
    """Runs `mxlua scripts/train_mnist.lua` once, as a user would: its peak RSS, and the wall
    time from start to the first `Validation-accuracy` log line at or above target."""
    cmd = [os.path.join(BUILD, "mxlua", "build", "mxlua"),
           os.path.join(ROOT, "scripts", "train_mnist.lua")]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env_for("mxlua"), cwd=ROOT, text=True)
    reached, last, epochs = None, None, 0
    for line in p.stdout:
        if "Validation-accuracy=" in line:
            epochs += 1
            last = float(line.rsplit("=", 1)[1])
            if reached is None and last >= target:
                reached = (time.perf_counter() - t0, epochs, last)
    p.stdout.close()
    _, status, usage = os.wait4(p.pid, 0)
    return {"rc": os.waitstatus_to_exitcode(status), "seconds": time.perf_counter() - t0,
            "reached": reached, "epochs": epochs, "last": last,
            "peak_rss_mib": usage.ru_maxrss / 1024.0}


def parse(out):
    """The last JSON line of a runner's output, or `key value` lines (the GEMM ceiling)."""
    for line in reversed(out.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    d = {}
    for line in out.splitlines():
        if line.startswith("backend "):
            k, _, v = line.rpartition(":")
            d[k.strip()] = v.strip()
            continue
        k, _, v = line.partition(" ")
        if k and k != "shape":
            d[k] = v.strip()
    return d


def commands(weights):
    py = sys.executable
    return {
        "mxlua": [os.path.join(BUILD, "mxlua", "build", "mxlua"),
                  os.path.join(HERE, "mlp_mxlua.lua"), weights, DATA],
        "mxlua-openblas": [os.path.join(BUILD, "mxlua", "build", "mxlua"),
                           os.path.join(HERE, "mlp_mxlua.lua"), weights, DATA],
        "mxlua-fit": [os.path.join(BUILD, "mxlua", "build", "mxlua"),
                      os.path.join(HERE, "mlp_fit.lua"), weights, DATA],
        "numpy": [py, os.path.join(HERE, "mlp_numpy.py"), weights, DATA],
        "torch": [py, os.path.join(HERE, "mlp_torch.py"), weights, DATA, "--threads", "1"],
        "torch2": [py, os.path.join(HERE, "mlp_torch.py"), weights, DATA, "--threads", "2"],
    }


def fmt_rate(xs):
    if not xs:
        return "-"
    return "%s (%s-%s)" % (f"{statistics.median(xs):,.0f}", f"{min(xs):,.0f}", f"{max(xs):,.0f}")


def lscpu_model():
    try:
        for line in subprocess.check_output(["lscpu"], text=True).splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def main():
    global BLAS_THREADS
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--blas-threads", default=BLAS_THREADS,
                    help="OPENBLAS_NUM_THREADS (and BLIS_NUM_THREADS) for every runner; 2 by "
                    "default (numpy's best here), 1 gives steadier figures on a busy machine")
    ap.add_argument("--no-other-blas", action="store_true",
                    help="measure only OpenBLAS's GEMM ceiling, not BLIS's nor libxsmm's")
    ap.add_argument("--no-script", action="store_true",
                    help="skip the run of scripts/train_mnist.lua (time to 97%%, peak memory)")
    ap.add_argument("--only", default="gemm,mxlua,mxlua-fit,mxlua-openblas,numpy,torch",
                    help="runners, comma-separated (gemm brings the BLIS and libxsmm ceilings "
                    "along where those libraries are installed; mxlua-fit trains through FeedForward:fit; mxlua-openblas is mxlua with "
                    "MXLUA_GEMM_PLAN=openblas; "
                    "torch2 is PyTorch with 2 threads)")
    args = ap.parse_args()
    BLAS_THREADS = str(args.blas_threads)
    only = args.only.split(",")
    order = [r for r in ["gemm", "mxlua", "mxlua-fit", "mxlua-openblas", "numpy", "torch", "torch2"] if r in only]
    weights = os.path.join(BUILD, "weights")
    make_weights(weights)
    cmds = commands(weights)
    if "gemm" in order:
        cmds.update(build_gemm())
        for extra in ("gemm-blis", "gemm+libxsmm"):
            if extra in cmds and not args.no_other_blas:
                order.insert(1, extra)
    if "mxlua" in order:
        if os.path.exists(os.path.join(ROOT, "build", "mxlua")):
            for _ in range(5):  # a copy taken mid-rebuild does not load: take it again
                host = snapshot_mxlua()
                if subprocess.run([host, "-e", "assert(mx.nd)"], env=env_for("mxlua"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(20)
        else:
            print("note: build/mxlua is missing (run `make all`): mxlua skipped")
            order = [r for r in order if not r.startswith("mxlua")]

    results = {r: [] for r in order}
    failures = {}
    load_before = os.getloadavg()[0]
    t_start = time.time()
    for rnd in range(args.rounds):
        for r in order:
            if r in failures:
                continue
            rc, out, err, rss = run_child(cmds[r], env_for(r))
            if rc != 0:
                failures[r] = "exit %d: %s" % (rc, (err or out).strip()[-600:])
                continue
            d = parse(out)
            d["peak_rss_mib"] = rss
            results[r].append(d)
            sys.stderr.write("round %d %-6s %s\n" % (rnd + 1, r, json.dumps(d)))
    elapsed = time.time() - t_start
    load_after = os.getloadavg()[0]

    def col(r, key):
        return [float(d[key]) for d in results.get(r, []) if key in d]

    ceiling = col("gemm", "samples_per_s")
    numpy_train = col("numpy", "train_samples_per_s")
    numpy_infer = col("numpy", "infer_samples_per_s")
    ceil_med = statistics.median(ceiling) if ceiling else None
    np_med = statistics.median(numpy_train) if numpy_train else None
    npi_med = statistics.median(numpy_infer) if numpy_infer else None

    first = {r: (results[r][0] if results[r] else {}) for r in order}
    print("## Training benchmark: MLP 784-128-64-10, batch %d, SGD lr 0.1 momentum 0.9 wd 1e-5"
          % BATCH)
    print()
    print("- CPU: %s, %d cores (`lscpu`); %d rounds, runners alternated in the order %s; "
          "%.0f s in all; 1-minute load average %.2f before, %.2f after (other work on the "
          "machine skews every figure)" % (lscpu_model(), os.cpu_count(), args.rounds,
                                           ", ".join(order), elapsed, load_before, load_after))
    print("- Each runner: same 60,000 MNIST training images (pixels/255, file order), same "
          "initial weights, %d warm-up batches then %d timed batches (one epoch); inference "
          "over the 10,000 test images in batches of %d, median of 5 passes after a warm-up pass"
          % (WARMUP, TIMED, BATCH))
    if "gemm" in first and first["gemm"]:
        g = first["gemm"]
        print("- GEMM ceiling: the 8 cblas_sgemm calls of one step (3 forward, 3 weight "
              "gradients, 2 input gradients), fresh batch each step, %s, core %s, %s threads"
              % (g.get("openblas", "?"), g.get("openblas_core", "?"), g.get("openblas_threads", "?")))
    if first.get("numpy"):
        print("- numpy %s, float32 `@`, %s (OPENBLAS_NUM_THREADS=%s)"
              % (first["numpy"].get("numpy", "?"), first["numpy"].get("blas", "?"), BLAS_THREADS))
    if first.get("torch"):
        t = first["torch"]
        print("- PyTorch %s, hand-written backward, torch.set_num_threads(%s) (its best setting "
              "here: with 2, its OpenMP threads spin against OpenBLAS's pool), BLAS: %s"
              % (t.get("torch", "?"), t.get("torch_threads", "?"), t.get("blas", "?")))
    if first.get("mxlua"):
        m = first["mxlua"]
        print("- mxlua %s, %s" % (m.get("version", "?"), m.get("setting", "raw executor loop")))
    print()
    print("| runner | training samples/s, median (min-max) | inference samples/s, median "
          "(min-max) | training vs numpy | inference vs numpy | of GEMM ceiling | "
          "test accuracy after 1 epoch | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in order:
        if r.startswith("gemm"):
            c = col(r, "samples_per_s")
            label = {"gemm": "OpenBLAS GEMMs alone (the ceiling)",
                     "gemm+libxsmm": "GEMMs alone, libxsmm where faster, else OpenBLAS",
                     "gemm-blis": "BLIS GEMMs alone"}[r]
            if not c:
                print("| %s | failed | - | - | - | - | - | - |" % label)
                continue
            print("| %s | %s | - | %s | - | %.0f%% | - | %.0f |"
                  % (label, fmt_rate(c),
                     ("%.2fx" % (statistics.median(c) / np_med)) if np_med else "-",
                     100 * statistics.median(c) / ceil_med if ceil_med else 100,
                     max(col(r, "peak_rss_mib") or [0])))
            continue
        tr, inf = col(r, "train_samples_per_s"), col(r, "infer_samples_per_s")
        if not tr:
            print("| %s | failed | - | - | - | - | - | - |" % r)
            continue
        tm, im = statistics.median(tr), statistics.median(inf)
        acc = col(r, "test_accuracy")
        label = {"torch": "PyTorch, 1 thread", "torch2": "PyTorch, 2 threads",
                 "mxlua": "mxlua, hand-written loop (GEMM plan)",
                 "mxlua-fit": "mxlua, FeedForward:fit (GEMM plan)",
                 "mxlua-openblas": "mxlua loop, OpenBLAS only (MXLUA_GEMM_PLAN=openblas)"}.get(r, r)
        print("| %s | %s | %s | %s | %s | %s | %s | %.0f |" % (
            label, fmt_rate(tr), fmt_rate(inf),
            ("%.2fx" % (tm / np_med)) if np_med else "-",
            ("%.2fx" % (im / npi_med)) if npi_med else "-",
            ("%.0f%%" % (100 * tm / ceil_med)) if ceil_med else "-",
            ("%.4f" % statistics.median(acc)) if acc else "-",
            max(col(r, "peak_rss_mib"))))
    print()
    for r in order:
        us = col(r, "us_per_step")
        if r.startswith("gemm") and us:
            print("- %s: %.0f us per step of 8 GEMMs, median (%.0f-%.0f)%s"
                  % (r, statistics.median(us), min(us), max(us),
                     "; libxsmm kernels on: " + ", ".join(
                         k[len("backend "):] for k, v in results[r][0].items()
                         if k.startswith("backend ") and v == "libxsmm")
                     if r == "gemm+libxsmm" else ""))
    # the best GEMM ceiling: the fastest of the direct-GEMM runners (OpenBLAS, BLIS, and libxsmm
    # where it wins a shape, else OpenBLAS), the target of the loop
    ceilings = {r: statistics.median(col(r, "samples_per_s")) for r in order
                if r.startswith("gemm") and col(r, "samples_per_s")}
    if ceilings:
        best = max(ceilings, key=ceilings.get)
        print()
        print("- best GEMM ceiling: %s, %s samples/s; of it: %s" % (
            best, f"{ceilings[best]:,.0f}", ", ".join(
                "%s %.0f%%" % (r, 100 * statistics.median(col(r, "train_samples_per_s")) / ceilings[best])
                for r in order if r.startswith("mxlua") and col(r, "train_samples_per_s"))))
    fit, loop = col("mxlua-fit", "train_samples_per_s"), col("mxlua", "train_samples_per_s")
    if fit and loop:
        cf, cl = col("mxlua-fit", "train_cpu_us_per_batch"), col("mxlua", "train_cpu_us_per_batch")
        print("- fit against the loop: %.2fx the loop's time per epoch (medians)%s" % (
            statistics.median(loop) / statistics.median(fit),
            "; CPU time per batch, all threads: fit %.0f us, loop %.0f us (medians)"
            % (statistics.median(cf), statistics.median(cl)) if cf and cl else ""))
    np_acc = col("numpy", "test_accuracy")
    for r in order:
        acc = col(r, "test_accuracy")
        if np_acc and acc and abs(statistics.median(acc) - statistics.median(np_acc)) > 0.01:
            print()
            print("warning: %s's accuracy after the epoch (%.4f) differs from numpy's (%.4f): the "
                  "runners do not compute the same recipe" % (r, statistics.median(acc),
                                                              statistics.median(np_acc)))
    script = os.path.join(ROOT, "scripts", "train_mnist.lua")
    if not args.no_script and "mxlua" in order and os.path.exists(script):
        t = train_script_run()
        print()
        if t["rc"] != 0:
            print("- `mxlua scripts/train_mnist.lua` failed (exit %d)" % t["rc"])
        else:
            print("- `mxlua scripts/train_mnist.lua` (the default script, run once): %.1f s in all, "
                  "%d epochs, last validation accuracy %s, peak RSS %.0f MiB; time to 97%% "
                  "validation accuracy: %s" % (
                      t["seconds"], t["epochs"], t["last"], t["peak_rss_mib"],
                      ("%.1f s (after %d epochs, %.4f)" % t["reached"]) if t["reached"] else "not reached"))
    for r, why in failures.items():
        print()
        print("%s failed: %s" % (r, why))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
