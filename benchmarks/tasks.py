"""Task-data throughput: samples generated per second (scene + samples), shard write/read rates, bytes per sample.

Prints one JSON line. Usage: python benchmarks/tasks.py [--scenes N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from leovl_ros.sim.shards import count_samples, generate_dataset, iter_samples


def main() -> None:
    """Generate a small dataset, then stream it back; report rates and the streaming memory peak."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenes", type=int, default=60, help="scene seeds to generate (0..N-1)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        stats = generate_dataset(tmp, range(args.scenes), samples_per_shard=5000, progress=False)
        gen_s = time.perf_counter() - t0
        n = sum(stats["samples"].values())
        size = sum(p.stat().st_size for p in Path(tmp).glob("*.jsonl.gz"))
        tracemalloc.start()
        t0 = time.perf_counter()
        read = sum(1 for split in ("train", "val", "test") for _ in iter_samples(tmp, split))
        read_s = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert read == n == sum(count_samples(tmp, s) for s in ("train", "val", "test"))
    print(json.dumps({
        "benchmark": "tasks",
        "scenes": args.scenes,
        "samples": n,
        "samples_per_scene": round(n / args.scenes, 1),
        "generate_samples_per_s": round(n / gen_s, 1),
        "scenes_per_s": round(args.scenes / gen_s, 2),
        "read_samples_per_s": round(read / read_s, 1),
        "bytes_per_sample_gz": round(size / n, 1),
        "stream_peak_mib": round(peak / 2**20, 2),
        "est_minutes_for_100k": round(100_000 / (n / gen_s) / 60, 1),
    }))


if __name__ == "__main__":
    main()
