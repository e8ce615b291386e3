"""Sharded datasets: seed splits, shard round trips, streaming in bounded memory, benchmark files, CLI."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tracemalloc
from collections import Counter
from itertools import islice

import numpy as np
import pytest

from leovl_ros.io.annotations import read_beacon3d_qa, read_sqa3d
from leovl_ros.sim.shards import (
    SPLITS,
    ShardWriter,
    count_samples,
    generate_dataset,
    iter_samples,
    main,
    read_index,
    split_for_seed,
    vocabulary_corpus,
    write_benchmark_files,
)
from leovl_ros.sim.tasks import Sample, generate_samples
from leovl_ros.sim.world import CLASSES, generate_scene


@pytest.fixture(scope="module")
def scene_samples() -> list[Sample]:
    """Samples of a few scenes."""
    return [s for seed in range(4) for s in generate_samples(generate_scene(seed), seed)]


def test_split_for_seed_deterministic_and_proportioned() -> None:
    """Each seed maps to one split, always the same; ~80/10/10 over many seeds; not a contiguous range."""
    seeds = range(5000)
    splits = [split_for_seed(s) for s in seeds]
    assert splits == [split_for_seed(s) for s in seeds]
    share = Counter(splits)
    assert set(share) == set(SPLITS)
    assert 0.77 < share["train"] / 5000 < 0.83 and 0.08 < share["test"] / 5000 < 0.12
    tests = [s for s, sp in zip(seeds, splits) if sp == "test"]
    assert max(np.diff(tests)) > 5 and min(tests) < 50


def test_shard_roundtrip(tmp_path, scene_samples) -> None:
    """Samples come back identical and in order; shards hold at most samples_per_shard; the index counts them."""
    with ShardWriter(tmp_path, samples_per_shard=37, split="val") as w:
        w.write_all(scene_samples)
    index = read_index(tmp_path)
    assert [e["n_samples"] for e in index["val"]][:-1] == [37] * (len(index["val"]) - 1)
    assert count_samples(tmp_path, "val") == len(scene_samples)
    back = list(iter_samples(tmp_path, "val"))
    assert [s.to_json() for s in back] == [s.to_json() for s in scene_samples]
    part = list(iter_samples(tmp_path, "val", shard_ids=[1]))
    assert [s.question_id for s in part] == [s.question_id for s in scene_samples[37:74]]
    assert list(iter_samples(tmp_path, "train")) == []
    with gzip.open(tmp_path / index["val"][0]["path"], "rt") as fh:
        assert json.loads(fh.readline())["question_id"] == scene_samples[0].question_id
    with ShardWriter(tmp_path, samples_per_shard=1000, split="val") as w:
        w.write(scene_samples[0])
    assert count_samples(tmp_path, "val") == len(scene_samples) + 1
    assert len({e["path"] for e in read_index(tmp_path)["val"]}) == len(read_index(tmp_path)["val"])


def test_streaming_20k_samples_in_bounded_memory(tmp_path, scene_samples) -> None:
    """Iterating 20k samples keeps the traced peak far below what holding them would take."""
    n = 20_000
    with ShardWriter(tmp_path, samples_per_shard=2_000, split="train") as w:
        for k in range(n):
            s = scene_samples[k % len(scene_samples)]
            w.write(Sample.from_json({**s.to_json(), "question_id": f"{s.question_id}#{k}"}))
    tracemalloc.start()
    seen = 0
    for s in iter_samples(tmp_path, "train"):
        seen += 1
        assert s.answers
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen == n
    tracemalloc.start()
    held = list(islice(iter_samples(tmp_path, "train"), 4_000))
    _, held_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(held) == 4_000
    assert peak < 4 * 2**20, peak
    assert peak < held_peak / 2, (peak, held_peak)


def test_generate_dataset_splits_disjoint(tmp_path) -> None:
    """Every scene lands in its seed's split only; counts in the stats match the shards."""
    stats = generate_dataset(tmp_path, range(24), samples_per_shard=200, progress=False)
    scenes: dict[str, set[str]] = {}
    for split in SPLITS:
        ids = {s.scene_id for s in iter_samples(tmp_path, split)}
        scenes[split] = ids
        assert count_samples(tmp_path, split) == stats["samples"].get(split, 0)
        assert all(split_for_seed(int(i[len("synth"):])) == split for i in ids)
    assert not (scenes["train"] & scenes["val"]) and not (scenes["train"] & scenes["test"])
    assert len(set().union(*scenes.values())) == 24
    assert stats["by_task"]["qa"] > stats["by_task"]["scene_caption"] > 0


def test_benchmark_files_read_back(tmp_path, scene_samples) -> None:
    """QA → Beacon3D QA JSON and situated QA → SQA3D files, read back by the annotation readers."""
    counts = write_benchmark_files(scene_samples, tmp_path)
    qa = read_beacon3d_qa(tmp_path / "qa.json")
    sq = read_sqa3d(tmp_path / "sqa3d_questions.json", tmp_path / "sqa3d_annotations.json")
    plain = [s for s in scene_samples if s.task == "qa"]
    situated = [s for s in scene_samples if s.task == "situated_qa"]
    assert counts == {"qa": len(plain), "situated_qa": len(situated)} and situated
    assert [(i.question_id, i.answers, i.object_ids, i.question_type) for i in qa] == [
        (s.question_id, s.answers, s.object_ids, s.question_type) for s in plain]
    for item, s in zip(sq, situated):
        assert item.situation == s.situation and item.answers == s.answers
        assert np.allclose(item.position, s.position) and np.allclose(item.rotation_xyzw, s.rotation_xyzw)


def test_vocabulary_corpus_covers_samples() -> None:
    """The corpus names every class and contains every word of a training scene's samples."""
    corpus = list(vocabulary_corpus(2))
    words = {w for text in corpus for w in text.lower().replace("?", " ").replace(".", " ").split()}
    assert set(CLASSES) <= set(corpus)
    seed = next(s for s in range(50) if split_for_seed(s) == "train")
    for s in generate_samples(generate_scene(seed), np.random.default_rng([seed, 0x7A5C])):
        for text in [s.question, *s.answers]:
            assert set(text.lower().replace("?", " ").replace(".", " ").split()) <= words


def test_cli_help_and_run(tmp_path) -> None:
    """--help documents the options; a small run writes shards and prints JSON stats."""
    out = subprocess.run([sys.executable, "-m", "leovl_ros.sim.shards", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "--seeds" in out and "--out" in out and "--heldout" in out
    assert main(["--out", str(tmp_path), "--seeds", "0:6"]) == 0
    assert sum(count_samples(tmp_path, s) for s in SPLITS) > 50
