"""The cost of scale: time and memory of the course's methods at 10^5 to 10^7 events.

Each point runs in a fresh process on :func:`~recsys_tutorial.synthetic.make_large_platform`
(so its peak resident memory is its own) and records the seconds to generate and split the
log, to fit the model (one epoch for the trained ones) and to rank every item for a fixed
sample of users, and the process's peak RSS. The torch models' epochs are timed on their
first batches and extrapolated when an epoch is long; EASE is not run where its dense
``n_items x n_items`` matrices would not fit. :func:`exponents` fits the growth of each
method. The results and the figure are on :doc:`/book/scale`; ``python -m recsys_tutorial
bench --scale --out book/data/scale.json`` re-runs it.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform as pyplatform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

METHODS = ("data", "markov", "item2vec", "sasrec", "two_tower", "ease", "ann")
#: Users ranked against the full catalogue at every point.
EVAL_USERS = 1000
#: Seconds of timed batches (at least three) after which an epoch is extrapolated.
BATCH_SECONDS = 30.0
#: Bytes per item pair of EASE at its peak: about four float64 n_items x n_items arrays.
EASE_BYTES = 4 * 8
#: Points predicted to need more memory (bytes) are recorded as "does not fit", not run.
MEMORY_LIMIT = 16 * 2**30

#: Method -> its points ``(n_interactions, n_items)``: interactions grow at 10^4 items
#: (EASE: 10^3), the catalogue at 10^6 interactions.
#:
#: :meta hide-value:
GRID = {
    "data": [(10**5, 10**4), (10**6, 10**4), (10**7, 10**4), (10**6, 10**3), (10**6, 10**5)],
    "ease": [(10**5, 10**3), (10**6, 10**3), (10**7, 10**3), (10**6, 3 * 10**3),
             (10**6, 10**4), (10**6, 3 * 10**4), (10**6, 10**5)],
    "ann": [(10**6, 10**3), (10**6, 10**4), (10**6, 10**5)],
}
for _name in ("markov", "item2vec", "sasrec", "two_tower"):
    GRID[_name] = GRID["data"]


def _data_path(cache: Path, n: int, items: int) -> Path:
    return cache / f"platform_{n}_{items}.npz"


def _load(cache: Path, n: int, items: int) -> tuple[object, float, float]:
    """The point's log (generated once per size, then read back) and its split, timed."""
    import pandas as pd

    from .split import leave_one_out_split
    from .synthetic import make_large_platform

    path = _data_path(cache, n, items)
    start = time.perf_counter()
    if path.exists():
        frame = pd.DataFrame(dict(np.load(path)))
    else:
        frame = make_large_platform(n, items).interactions
        np.savez(path, **{c: frame[c].to_numpy() for c in ("user_id", "item_id", "timestamp")})
    generate = time.perf_counter() - start
    start = time.perf_counter()
    split = leave_one_out_split(frame)
    return split, generate, time.perf_counter() - start


def _model(method: str) -> object:
    if method == "markov":
        from .baselines import Markov
        return Markov()
    if method == "item2vec":
        from .embeddings.item2vec import Item2Vec
        return Item2Vec(vector_size=64, epochs=1, workers=1)
    if method == "sasrec":
        from .sequential.sasrec import SASRec
        return SASRec(max_len=50, dropout=0.3, epochs=1, device="cpu", progress=False)
    if method == "two_tower":
        from .retrieval.two_tower import TwoTower
        return TwoTower(epochs=1, device="cpu", progress=False)
    if method == "ease":
        from .classic import EASE
        return EASE()
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def _cap_epoch(model: object, record: dict) -> None:
    """Stop the model's one epoch after :data:`BATCH_SECONDS` of timed batches; record the
    batches of a whole epoch and the seconds per batch (the first batch is a warm-up)."""
    original = model.batches

    def batches(rng: np.random.Generator):
        record["epoch_batches"] = math.ceil(len(model.windows(rng)) / model.batch_size)
        start = None
        for i, batch in enumerate(original(rng)):
            if i == 1:
                start = time.perf_counter()
            elif i > 3 and time.perf_counter() - start > BATCH_SECONDS:
                record["timed_batches"] = i - 1
                record["batch_seconds"] = (time.perf_counter() - start) / (i - 1)
                return
            yield batch

    model.batches = batches


def _rank_sample(model: object, split: object, n_users: int, seed: int = 0) -> float:
    """NDCG@10 of the test targets of ``n_users`` sampled users, every item ranked."""
    users = split.eval_users("test")
    users = np.sort(np.random.default_rng(seed).choice(users, min(n_users, len(users)), replace=False))
    histories = split.histories("test")
    seen = split.seen("test")
    gains = []
    for chunk in np.array_split(users, max(1, len(users) // 200)):
        scores = np.asarray(model.score([histories[u] for u in chunk]), dtype=np.float64)
        scores[seen[chunk].nonzero()] = -np.inf
        target = scores[np.arange(len(chunk)), split.test_targets[chunk]]
        rank = (scores > target[:, None]).sum(axis=1)
        gains.append(np.where(rank < 10, 1 / np.log2(rank + 2), 0.0))
    return float(np.concatenate(gains).mean())


def measure(method: str, n: int, items: int, cache: Path) -> dict:
    """One point, in this process: seconds to generate, split, fit and evaluate."""
    import torch

    torch.set_num_threads(1)
    row: dict = {"method": method, "n_interactions": n, "n_items": items}
    if method == "ease" and EASE_BYTES * items**2 > MEMORY_LIMIT:
        return {**row, "status": "does not fit", "predicted_gib": EASE_BYTES * items**2 / 2**30}
    split, row["generate_seconds"], row["split_seconds"] = _load(cache, n, items)
    row["events"] = int(sum(map(len, split.train.sequences)) + 2 * len(split.eval_users("test")))
    row["users"] = split.n_users
    row["rss_before_fit_mib"] = _peak_rss_mib()
    if method == "data":
        return {**row, "status": "measured"}
    if method == "ann":
        from .retrieval.ann import ANNIndex
        vectors = np.random.default_rng(0).standard_normal((split.n_items, 64)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        start = time.perf_counter()
        index = ANNIndex("hnsw").build(vectors)
        row["fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        index.search(vectors[:EVAL_USERS], 10)
        row["eval_seconds"] = time.perf_counter() - start
        return {**row, "status": "measured", "rss_mib": _peak_rss_mib()}
    model, record = _model(method), {}
    if method in ("sasrec", "two_tower"):
        _cap_epoch(model, record)
    start = time.perf_counter()
    model.fit(split.train)
    row["fit_seconds"] = time.perf_counter() - start
    row["status"] = "measured"
    if "batch_seconds" in record:  # the epoch was cut short: extrapolate the whole of it
        rest = record["epoch_batches"] - record["timed_batches"] - 1
        row["fit_seconds"] += rest * record["batch_seconds"]
        row["status"] = f"extrapolated from {record['timed_batches']} of {record['epoch_batches']} batches"
    start = time.perf_counter()
    row["ndcg@10"] = _rank_sample(model, split, EVAL_USERS)
    row["eval_seconds"] = time.perf_counter() - start
    return {**row, "rss_mib": _peak_rss_mib()}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def machine() -> dict:
    """CPU model, cores, memory, library versions and date of the run."""
    import torch

    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        names = [ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                 if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(pages / 2**30, 1),
        "threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None,
        "python": pyplatform.python_version(), "numpy": np.__version__,
        "torch": torch.__version__, "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "note": "a shared machine: other jobs ran on its other core during the run",
    }


def run(grid: dict[str, list[tuple[int, int]]] | None = None, methods: list[str] | None = None,
        timeout: float = 600.0, cache: Path | None = None) -> dict:
    """Every point of ``grid`` (default :data:`GRID`), each in its own process, the cheapest
    first (the largest logs and catalogues last). Returns ``{"machine", "points"}``."""
    grid = GRID if grid is None else grid
    methods = [m for m in METHODS if m in grid] if methods is None else methods
    points = sorted({(m, n, i) for m in methods for n, i in grid[m]},
                    key=lambda p: (p[1] * p[2], METHODS.index(p[0])))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) if cache is None else cache
        for method, n, items in points:
            command = [sys.executable, "-m", "recsys_tutorial.scale", "point", method, str(n),
                       str(items), str(cache)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
                row = (json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0
                       else {"status": f"failed: {done.stderr.strip().splitlines()[-1:]}"})
            except subprocess.TimeoutExpired:
                row = {"status": f"over {timeout:.0f} s"}
            row = {"method": method, "n_interactions": n, "n_items": items, **row}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return {"machine": machine(), "eval_users": EVAL_USERS, "points": rows}


def exponents(points: list[dict], key: str = "fit_seconds") -> dict[str, dict[str, float]]:
    """Each method's growth exponent: the least-squares slope of log ``key`` against log
    interactions (at the most common catalogue size) and against log items (at the most
    common log size), over the measured points."""
    out: dict[str, dict[str, float]] = {}
    for method in dict.fromkeys(p["method"] for p in points):
        rows = [p for p in points if p["method"] == method and p.get(key, 0) > 0]
        slopes = {}
        for axis, other in (("n_interactions", "n_items"), ("n_items", "n_interactions")):
            if not rows:
                continue
            fixed = max({p[other] for p in rows}, key=[p[other] for p in rows].count)
            x = [p[axis] for p in rows if p[other] == fixed]
            y = [p[key] for p in rows if p[other] == fixed]
            if len(set(x)) >= 2:
                slopes[axis] = float(np.polyfit(np.log(x), np.log(y), 1)[0])
        out[method] = slopes
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "point":  # the child process of one point
        method, n, items, cache = argv[1], int(argv[2]), int(argv[3]), Path(argv[4])
        print(json.dumps(measure(method, n, items, cache)))
        return 0
    out = Path(argv[0]) if argv else None
    result = run()
    data = [p for p in result["points"] if p["method"] == "data"]
    result["exponents"] = {"fit_seconds": exponents(result["points"]),
                           "eval_seconds": exponents(result["points"], "eval_seconds"),
                           "split_seconds": exponents(data, "split_seconds")["data"],
                           "generate_seconds": exponents(data, "generate_seconds")["data"]}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
