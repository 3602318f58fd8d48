#!/usr/bin/env python3
"""PyTorch's side of Keel's benchmarks (CPU): matMul, conv2d (channels_last) and the small-CNN training step.

Run by bench/run.mjs as `/usr/bin/python3 bench/torch_bench.py '<json spec>'`; it prints progress on stderr and
one line `@@KEEL_BENCH_RESULT {json}` on stdout. Timing mirrors bench/common.mjs measure(): warm-up calls, one
calibration call (none when minRepMs <= 0), then `reps` repetitions of enough calls to last `minRepMs`; the median per call is reported.
"""
import json
import math
import os
import statistics
import sys
import time

RESULT_MARK = "@@KEEL_BENCH_RESULT "


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(fn, warmup=2, reps=5, minRepMs=100, maxIters=1000, maxCaseMs=math.inf, minReps=2):
    for _ in range(warmup):
        fn()
    if minRepMs <= 0:  # one call per repetition, no calibration call (training steps)
        est, iters = 0.0, 1
    else:
        t0 = time.perf_counter()
        fn()
        est = max((time.perf_counter() - t0) * 1e3, 1e-3)
        iters = max(1, min(maxIters, round(minRepMs / est)))
    if est > 0 and math.isfinite(maxCaseMs):
        reps = max(min(reps, minReps), min(reps, int(maxCaseMs // (est * iters))))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - t0) * 1e3 / iters)
    return {
        "ms": statistics.median(samples),
        "minMs": min(samples),
        "reps": reps,
        "iters": iters,
        "samples": [round(s, 3) for s in samples],
    }


def measure_interleaved(fns, warmup, rounds, per_round):
    """bench/common.mjs measureInterleaved(): `warmup` calls of each fn, then `rounds` rounds in which
    every fn runs `per_round` timed calls in turn. Returns per fn the median and best ms and the samples."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                samples[k].append((time.perf_counter() - t0) * 1e3)
    return [
        {"ms": statistics.median(xs), "minMs": min(xs), "reps": len(xs), "iters": 1, "samples": [round(v, 3) for v in xs]}
        for xs in samples
    ]


def measure_flops(fn, flops, timing):
    m = measure(fn, **timing)
    m["gflops"] = flops / m["ms"] / 1e6
    m["bestGflops"] = flops / m["minMs"] / 1e6
    return m


def attempt(label, fn):
    try:
        return fn()
    except Exception as err:  # one failing case must not lose the others
        log(f"  {label}: FAILED {type(err).__name__}: {err}")
        return {"error": f"{type(err).__name__}: {err}"}


def fmt(m):
    return "error" if "error" in m else f"{m['ms']:.2f} ms, {m['gflops']:.1f} GFLOP/s"


def conv_out(size, k, stride, pad):
    return math.ceil(size / stride) if pad == "same" else (size - k) // stride + 1


def conv_flops(c):
    oh = conv_out(c["h"], c["k"], c["stride"], c["pad"])
    ow = conv_out(c["w"], c["k"], c["stride"], c["pad"])
    return 2 * c["n"] * oh * ow * c["oc"] * c["k"] * c["k"] * c["c"]


def blas_library():
    """The BLAS shared library this process mapped (Debian's torch links libblas.so.3 via alternatives)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return sorted(os.path.realpath(p) for p in libs)
    except OSError:
        return []


def cpu_capability(torch):
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            return line.split(":", 1)[1].strip()
    return None


def main():
    spec = json.loads(sys.argv[1])
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    timing = spec["timing"]
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16}
    result = {
        "info": {
            "torchVersion": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": sys.version.split()[0],
            "mkldnn": torch.backends.mkldnn.is_available(),
            "cpuCapability": cpu_capability(torch),
        }
    }
    log(f"torch {torch.__version__}: {torch.get_num_threads()} threads, mkldnn {result['info']['mkldnn']}")
    section = spec["section"]

    if section == "matmul":
        rows = []
        for n in spec["matmul"]["sizes"]:
            flops = 2 * n**3
            row = {"n": n, "flops": flops}
            for name in spec["matmul"]["torchDtypes"]:
                def case(n=n, dt=dtypes[name]):
                    a = torch.randn(n, n).to(dt)
                    b = torch.randn(n, n).to(dt)
                    with torch.no_grad():
                        return measure_flops(lambda: torch.matmul(a, b), flops, timing)

                row[name] = attempt(f"torch matMul {n} {name}", case)
                log(f"  torch matMul {n} {name}: {fmt(row[name])}")

            # OpenBLAS cblas_sgemm itself, through numpy (Debian's numpy calls libblas.so.3, which
            # the alternatives system points at OpenBLAS when libopenblas0-pthread is installed)
            def sgemm(n=n):
                import numpy as np
                a = np.random.rand(n, n).astype(np.float32)
                b = np.random.rand(n, n).astype(np.float32)
                return measure_flops(lambda: np.matmul(a, b), flops, timing)

            row["openblas_float32"] = attempt(f"numpy/OpenBLAS sgemm {n}", sgemm)
            log(f"  numpy/OpenBLAS sgemm {n}: {fmt(row['openblas_float32'])}")
            rows.append(row)
        result["matmul"] = rows

    elif section == "conv":
        rows = []
        for c in spec["conv"]["cases"]:
            flops = conv_flops(c)
            row = {"name": c["name"], "flops": flops}
            for name in spec["conv"]["torchDtypes"]:
                def case(c=c, dt=dtypes[name]):
                    k, s = c["k"], c["stride"]
                    # TensorFlow's 'same' pads (k-1)//2 before and the rest after; PyTorch pads symmetrically.
                    # k//2 gives the same output size (and FLOPs) for these odd kernels, also with stride 2.
                    pad = k // 2 if c["pad"] == "same" else 0
                    x = torch.randn(c["n"], c["c"], c["h"], c["w"]).to(dt).contiguous(memory_format=torch.channels_last)
                    w = torch.randn(c["oc"], c["c"], k, k).mul(0.1).to(dt).contiguous(memory_format=torch.channels_last)
                    with torch.no_grad():
                        y = F.conv2d(x, w, None, s, pad)
                        want = [c["n"], c["oc"], conv_out(c["h"], k, s, c["pad"]), conv_out(c["w"], k, s, c["pad"])]
                        if list(y.shape) != want:
                            raise RuntimeError(f"conv2d output {list(y.shape)}, want {want}")
                        return measure_flops(lambda: F.conv2d(x, w, None, s, pad), flops, timing)

                row[name] = attempt(f"torch conv2d {c['name']} {name}", case)
                log(f"  torch conv2d {c['name']} {name} (channels_last): {fmt(row[name])}")
            rows.append(row)
        result["conv"] = rows

    elif section == "train":
        t = spec["train"]
        out = {"flops": t["flops"]}

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.c1 = torch.nn.Conv2d(3, 16, 3, padding=1)
                self.c2 = torch.nn.Conv2d(16, 32, 3, padding=1)
                self.fc = torch.nn.Linear(32, t["classes"])

            def forward(self, x):
                h = F.relu(self.c1(x))
                h = F.relu(self.c2(h))
                return self.fc(h.mean(dim=(2, 3)))

        # PyTorch's faster memory layout is the peer: oneDNN's bf16 convolutions are at times faster
        # in NCHW than in channels_last on this small network (both are kept in the JSON)
        layouts = {"channels_last": torch.channels_last, "nchw": torch.contiguous_format}

        def make(name, fmt):
            torch.manual_seed(0)
            net = Net().to(memory_format=fmt)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            x = torch.randn(t["batch"], 3, t["size"], t["size"]).contiguous(memory_format=fmt)
            y = torch.arange(t["batch"]) % t["classes"]
            last = [math.nan]

            def step():
                opt.zero_grad(set_to_none=True)
                if name == "bfloat16_autocast":
                    with torch.autocast("cpu", dtype=torch.bfloat16):
                        logits = net(x)
                    loss = F.cross_entropy(logits.float(), y)
                else:
                    loss = F.cross_entropy(net(x), y)
                loss.backward()
                opt.step()
                last[0] = loss.item()

            return step, last

        # every (mode, layout) built first, then timed interleaved, as bench/common.mjs
        # measureInterleaved does for Keel's modes
        configs = []
        for name in spec["train"]["torchModes"]:
            for lname, mf in layouts.items():
                built = attempt(f"torch train step {name} {lname}", lambda name=name, mf=mf: make(name, mf))
                configs.append((name, lname, built))
        live = [c for c in configs if not isinstance(c[2], dict)]
        timed = measure_interleaved([step for _, _, (step, _) in live], t["warmup"], t["rounds"], t["perRound"])
        times = {(n, l): m for (n, l, _), m in zip(live, timed)}
        for name in spec["train"]["torchModes"]:
            per_layout = {}
            for n, l, built in configs:
                if n != name:
                    continue
                if isinstance(built, dict):
                    per_layout[l] = built
                    continue
                m = times[(n, l)]
                per_layout[l] = {**m, "gflops": t["flops"] / m["ms"] / 1e6, "loss": built[1][0]}
                log(f"  torch train step {name} ({l}): {fmt(per_layout[l])}")
            ok = {k: v for k, v in per_layout.items() if "error" not in v}
            best = min(ok, key=lambda k: ok[k]["ms"]) if ok else "channels_last"
            out[name] = {**per_layout[best], "layout": best, "layouts": per_layout}
            log(f"  torch train step {name}: {fmt(out[name])} (faster layout: {best})")
        result["train"] = out
    else:
        raise SystemExit(f"torch_bench.py: unknown section {section}")

    result["info"]["blas"] = blas_library()
    sys.stdout.write(RESULT_MARK + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
