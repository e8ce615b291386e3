"""Sharded, streamed task datasets: scene-seed splits, JSONL(.gz) shard writer/reader, held-out QA, CLI.

A dataset folder holds ``{split}-{k:05d}.jsonl.gz`` shards (one :class:`~leovl_ros.sim.tasks.Sample` per line)
and ``index.json`` (shards per split with sample counts). Generation walks scene seeds one at a time and
reading yields one sample at a time, so 100k+ samples never sit in memory together.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from leovl_ros.sim import templates as T
from leovl_ros.sim.furnish import generate_scene
from leovl_ros.sim.phrasing import WORD_SLOTS, families, heldout_families
from leovl_ros.sim.scene import CLASSES, COLOURS
from leovl_ros.sim.tasks import Sample, TaskConfig, generate_samples

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""Dataset splits; a scene seed belongs to exactly one (see :func:`split_for_seed`)."""

HELDOUT_MIX: dict[str, float] = {
    c: 1.0 / 7.0
    for c in ("existence", "counting", "colour", "class", "spatial_relation", "distance/nearest", "situated_direction")
}
"""Share of each category in the held-out QA set, equal (``distance/nearest`` pools distance, nearest, farthest)."""

INDEX_NAME = "index.json"
"""File listing each split's shards and their sample counts."""


def split_for_seed(seed: int) -> str:
    """Deterministic split of a scene seed: ~80 % train, ~10 % val, ~10 % test (hash of the seed, not its range)."""
    h = int.from_bytes(hashlib.blake2b(str(int(seed)).encode(), digest_size=8).digest(), "little") % 10
    return "test" if h == 0 else ("val" if h == 1 else "train")


def parse_seeds(text: str) -> list[int]:
    """'0:200' (range), '3,5,9' (list) or '7' → seeds."""
    if ":" in text:
        lo, hi = (int(v) for v in text.split(":", 1))
        return list(range(lo, hi))
    return [int(v) for v in text.split(",") if v.strip()]


def _write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to a temporary file, then rename it over ``path``."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


class ShardWriter:
    """Appends samples of one split to fixed-size JSONL(.gz) shards and records them in the folder's index.

    Use as a context manager; the index is updated when a shard is closed, so a reader never sees a half-written
    shard listed. One writer per split and folder at a time, in one process (the index is read-modify-written).
    """

    def __init__(self, out_dir: str | Path, samples_per_shard: int = 10_000, split: str = "train",
                 compress: bool = True) -> None:
        """Open a writer for ``split`` in ``out_dir`` (created if missing); shards continue the existing numbering."""
        if samples_per_shard < 1:
            raise ValueError("samples_per_shard must be >= 1")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.samples_per_shard = samples_per_shard
        self.split = split
        self.suffix = ".jsonl.gz" if compress else ".jsonl"
        self._file: io.TextIOBase | None = None
        self._path: Path | None = None
        self._count = 0
        self.total = 0
        self._next = len(read_index(self.out_dir).get(split, []))

    def write(self, sample: Sample) -> None:
        """Append one sample, starting a new shard when the current one is full."""
        if self._file is None:
            self._path = self.out_dir / f"{self.split}-{self._next:05d}{self.suffix}"
            self._next += 1
            raw = gzip.open(self._path, "wt", encoding="utf-8") if self.suffix.endswith(".gz") else \
                open(self._path, "w", encoding="utf-8")
            self._file = raw
            self._count = 0
        self._file.write(json.dumps(sample.to_json(), separators=(",", ":")) + "\n")
        self._count += 1
        self.total += 1
        if self._count >= self.samples_per_shard:
            self._close_shard()

    def write_all(self, samples: Iterable[Sample]) -> None:
        """Append every sample of an iterable."""
        for s in samples:
            self.write(s)

    def _close_shard(self) -> None:
        """Close the open shard and list it in the index."""
        if self._file is None:
            return
        self._file.close()
        index = read_index(self.out_dir)
        index.setdefault(self.split, []).append({"path": self._path.name, "n_samples": self._count})
        _write_json_atomic(self.out_dir / INDEX_NAME, index)
        self._file = None

    def close(self) -> None:
        """Flush and index the last shard."""
        self._close_shard()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_index(data_dir: str | Path) -> dict[str, list[dict]]:
    """The folder's index: split → [{path, n_samples}] (empty when there is none yet)."""
    p = Path(data_dir) / INDEX_NAME
    return json.loads(p.read_text()) if p.is_file() else {}


def count_samples(data_dir: str | Path, split: str = "train") -> int:
    """Number of samples of a split, from the index (no shard is opened)."""
    return sum(e["n_samples"] for e in read_index(data_dir).get(split, []))


def iter_samples(data_dir: str | Path, split: str = "train",
                 shard_ids: Iterable[int] | None = None) -> Iterator[Sample]:
    """Stream the samples of a split shard by shard, line by line (constant memory).

    ``shard_ids`` restricts to some shards (e.g. ``range(rank, n, world_size)`` for data-parallel workers).
    """
    shards = read_index(data_dir).get(split, [])
    wanted = None if shard_ids is None else set(shard_ids)
    for k, entry in enumerate(shards):
        if wanted is not None and k not in wanted:
            continue
        path = Path(data_dir) / entry["path"]
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield Sample.from_json(json.loads(line))


def _scene_samples(seed: int, task_config: TaskConfig | None, scene_config=None,
                   seen_objects: Iterable[int] | None = None) -> list[Sample]:
    """Generate one scene and its samples (rng seeded by the scene seed, so reruns match)."""
    scene = generate_scene(seed, scene_config)
    return generate_samples(scene, np.random.default_rng([int(seed), 0x7A5C]), task_config, seen_objects)


def generate_dataset(out_dir: str | Path, seeds: Iterable[int], task_config: TaskConfig | None = None,
                     scene_config=None, samples_per_shard: int = 10_000, compress: bool = True,
                     progress: bool = True) -> dict:
    """Generate scenes and samples seed by seed into per-split shards; returns counts per split/task/type.

    Memory is bounded by one scene's samples plus one open shard per split.
    """
    from tqdm import tqdm

    seeds = list(dict.fromkeys(int(s) for s in seeds))
    stats: dict = {"scenes": defaultdict(int), "samples": defaultdict(int), "by_task": Counter(), "by_type": Counter()}
    writers = {s: ShardWriter(out_dir, samples_per_shard, s, compress) for s in SPLITS}
    try:
        for seed in tqdm(seeds, desc="scenes", unit="scene", disable=not progress):
            split = split_for_seed(seed)
            samples = _scene_samples(seed, task_config, scene_config)
            writers[split].write_all(samples)
            stats["scenes"][split] += 1
            stats["samples"][split] += len(samples)
            stats["by_task"].update(s.task for s in samples)
            stats["by_type"].update(s.question_type for s in samples)
    finally:
        for w in writers.values():
            w.close()
    return {k: dict(v) for k, v in stats.items()}


def heldout_category(sample: Sample) -> str | None:
    """The :data:`HELDOUT_MIX` category of a question sample, or None if it does not belong to the mix."""
    if sample.task == "situated_qa":
        return "situated_direction" if sample.question_type == "situated_direction" else None
    if sample.task != "qa":
        return None
    if sample.question_type in ("distance", "nearest", "farthest"):
        return "distance/nearest"
    return sample.question_type if sample.question_type in HELDOUT_MIX else None


def build_heldout_qa(seeds: Iterable[int], n_questions: int = 2000, min_scenes: int = 50,
                     max_yes_no_share: float = 0.25, task_config: TaskConfig | None = None,
                     scene_config=None, progress: bool = False,
                     seen_objects: Mapping[int, Iterable[int]] | None = None, wording: str = "seen",
                     split: str = "test") -> list[Sample]:
    """A fixed, balanced QA set from unseen (test-split) scenes: :data:`HELDOUT_MIX` shares, yes/no capped.

    Seeds outside ``split`` ("val" builds the same mix on validation rooms) and repeated seeds are ignored;
    questions are drawn round-robin over scenes within each category so no scene dominates. Raises ``ValueError``
    when fewer than ``min_scenes`` scenes of the split are given or the scenes cannot fill a category.
    ``seen_objects`` (scene seed → ids visible in its rendered walk; seeds missing from it count as fully seen)
    restricts each scene's questions to what a model fusing that walk could have seen. ``wording`` ('seen' or
    'unseen') picks the phrasing families: both wordings hold the same questions (ids, facts, answers, order) in
    different words (see :func:`build_heldout_qa_wordings`).
    """
    from tqdm import tqdm

    split_seeds = [s for s in dict.fromkeys(int(s) for s in seeds) if split_for_seed(s) == split]
    if len(split_seeds) < min_scenes:
        raise ValueError(f"{len(split_seeds)} {split}-split scenes among the seeds; need >= {min_scenes}")
    cfg = task_config or TaskConfig(qa_per_type=40, situations=4, situated_per_type=10, planning_per_situation=0,
                                    object_captions=0, scene_captions=0, dialogues=0, max_yes_no_share=1.0)
    cfg = dataclasses.replace(cfg, wording=wording)
    pools: dict[str, list[list[Sample]]] = {c: [] for c in HELDOUT_MIX}
    for seed in tqdm(split_seeds, desc="held-out scenes", disable=not progress):
        per_cat: dict[str, list[Sample]] = defaultdict(list)
        seen = None if seen_objects is None else seen_objects.get(seed)
        for s in _scene_samples(seed, cfg, scene_config, seen):
            cat = heldout_category(s)
            if cat is not None:
                per_cat[cat].append(s)
        for cat in HELDOUT_MIX:
            pools[cat].append(_interleave_types(per_cat[cat]))
    targets = _category_targets(n_questions)
    yes_no_budget = int(max_yes_no_share * n_questions)
    chosen: list[Sample] = []
    for cat in sorted(HELDOUT_MIX, key=lambda c: c != "existence"):
        picked = _round_robin(pools[cat], targets[cat], yes_no_budget)
        if len(picked) < targets[cat]:
            raise ValueError(f"held-out category {cat!r}: only {len(picked)} of {targets[cat]} questions")
        yes_no_budget -= sum(s.is_yes_no for s in picked)
        chosen.extend(picked)
    return chosen


def build_heldout_qa_wordings(seeds: Iterable[int], n_questions: int = 2000, min_scenes: int = 50,
                              **kwargs) -> dict[str, list[Sample]]:
    """The held-out QA set in both wordings: ``{"seen": [...], "unseen": [...]}``, the same questions in the same
    order (same ``question_id``, facts and answers), worded with training families and with held-out families.
    Other keyword arguments go to :func:`build_heldout_qa`."""
    out = {w: build_heldout_qa(seeds, n_questions, min_scenes, wording=w, **kwargs) for w in ("seen", "unseen")}
    if [s.question_id for s in out["seen"]] != [s.question_id for s in out["unseen"]]:
        raise AssertionError("the two wordings of the held-out set ask different questions")
    return out


def _interleave_types(samples: list[Sample]) -> list[Sample]:
    """Alternate question types (keeping each type's order), so a category pooling types mixes them."""
    by_type: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_type[s.question_type].append(s)
    lists = list(by_type.values())
    return [v[i] for i in range(max((len(v) for v in lists), default=0)) for v in lists if i < len(v)]


def _category_targets(n: int) -> dict[str, int]:
    """Integer question counts per category summing to ``n`` (largest remainders)."""
    raw = {c: HELDOUT_MIX[c] / sum(HELDOUT_MIX.values()) * n for c in HELDOUT_MIX}
    out = {c: int(v) for c, v in raw.items()}
    for c in sorted(raw, key=lambda c: out[c] - raw[c])[: n - sum(out.values())]:
        out[c] += 1
    return out


def _round_robin(per_scene: list[list[Sample]], target: int, yes_no_budget: int) -> list[Sample]:
    """Take one question per scene in turn until ``target``, skipping yes/no ones beyond the budget."""
    queues = [list(q) for q in per_scene]
    out: list[Sample] = []
    while len(out) < target and any(queues):
        for q in queues:
            while q:
                s = q.pop(0)
                if s.is_yes_no and yes_no_budget <= 0:
                    continue
                yes_no_budget -= s.is_yes_no
                out.append(s)
                break
            if len(out) >= target:
                break
    return out


def to_qa_item(sample: Sample):
    """The sample as an annotation-format :class:`~leovl_ros.io.annotations.QAItem`."""
    from leovl_ros.io.annotations import QAItem

    return QAItem(question_id=sample.question_id, scene_id=sample.scene_id, question=sample.question,
                  answers=list(sample.answers), question_type=sample.question_type,
                  object_ids=list(sample.object_ids), object_names=list(sample.object_names),
                  situation=sample.situation, position=sample.position, rotation_xyzw=sample.rotation_xyzw)


def write_benchmark_files(samples: Iterable[Sample], out_dir: str | Path) -> dict[str, int]:
    """Write question samples in the field's formats: plain QA as Beacon3D QA JSON (``qa.json``), situated QA as
    SQA3D questions + annotations (``sqa3d_questions.json``, ``sqa3d_annotations.json``); returns counts."""
    from leovl_ros.io.annotations import write_beacon3d_qa, write_sqa3d

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plain, situated = [], []
    for s in samples:
        if s.task == "qa":
            plain.append(to_qa_item(s))
        elif s.task == "situated_qa":
            situated.append(to_qa_item(s))
    write_beacon3d_qa(plain, out / "qa.json")
    write_sqa3d(situated, out / "sqa3d_questions.json", out / "sqa3d_annotations.json")
    return {"qa": len(plain), "situated_qa": len(situated)}


def vocabulary_corpus(n_scenes: int = 200, first_seed: int = 0) -> Iterator[str]:
    """Text for training the tokenizer: the training (seen) phrasing families' words and the questions, answers,
    situations, captions and dialogue turns of ``n_scenes`` training scenes."""
    for name in list(CLASSES) + list(COLOURS) + list(T.NUMBER_WORDS):
        yield name
    for phrasings in list(T.SYNONYMS.values()) + list(T.SITUATED_PLACES.values()) + list(T.COLOUR_WORDS.values()):
        yield from phrasings
    held = heldout_families()
    for fams in families().values():
        for fam in fams:
            if fam.id not in held:  # the tokenizer never sees a held-out family's own words
                yield re.sub(r"\{[a-z_0-9]+\}", " ", fam.pattern)
    for words in WORD_SLOTS.values():
        yield from words
    for name in CLASSES:
        yield T.plural(name)
    seed = first_seed
    done = 0
    while done < n_scenes:
        if split_for_seed(seed) == "train":
            for s in _scene_samples(seed, None):
                if s.situation:
                    yield s.situation
                for q, a in s.history:
                    yield q
                    yield a
                yield s.question
                yield from s.answers
            done += 1
        seed += 1


def main(argv: list[str] | None = None) -> int:
    """CLI: generate a sharded dataset (and optionally the held-out QA set) from scene seeds."""
    ap = argparse.ArgumentParser(
        prog="python -m leovl_ros.sim.shards",
        description="Generate LEO-VL task samples (captions, QA, situated QA, dialogue, planning) from synthetic "
                    "scenes into sharded JSONL.gz files split by scene seed (train/val/test).",
    )
    ap.add_argument("--out", required=True, type=Path, help="output folder (shards + index.json)")
    ap.add_argument("--seeds", default="0:200", help="scene seeds: 'A:B' range, 'a,b,c' list (default 0:200)")
    ap.add_argument("--samples-per-shard", type=int, default=10_000, help="samples per shard file")
    ap.add_argument("--no-compress", action="store_true", help="write plain .jsonl instead of .jsonl.gz")
    ap.add_argument("--heldout", type=int, default=0, metavar="N",
                    help="also write a balanced held-out QA set of N questions into OUT/heldout/ (qa.json in "
                         "Beacon3D format, sqa3d_questions.json + sqa3d_annotations.json in SQA3D format), and the "
                         "same questions in held-out wordings into OUT/heldout_unseen_wording/")
    ap.add_argument("--heldout-seeds", default="0:1000",
                    help="seed pool for the held-out set; only its test-split seeds are used (default 0:1000, "
                         "~100 scenes)")
    args = ap.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    stats = generate_dataset(args.out, seeds, samples_per_shard=args.samples_per_shard,
                             compress=not args.no_compress)
    if args.heldout:
        both = build_heldout_qa_wordings(parse_seeds(args.heldout_seeds), n_questions=args.heldout, progress=True)
        stats["heldout"] = write_benchmark_files(both["seen"], args.out / "heldout")
        stats["heldout_unseen_wording"] = write_benchmark_files(both["unseen"], args.out / "heldout_unseen_wording")
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
