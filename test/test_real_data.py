"""Real scans in the training subtree: a ScanNet-layout fixture built from the shared real frames (livingroom1),
hand-written SQA3D / ScanQA / Scan2Cap / Beacon3D files → scene caches + shards (evaluation sets never reach a
training shard), mixed with a synthetic folder, then a few SFT and SceneDPO steps and the evaluator on them."""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from leovl_ros.agent.paths import REPO_ROOT, shared_data_dir

sys.path.insert(0, str(REPO_ROOT))

from training import ddp
from training.config import load_preset
from training.data import HELDOUT, SAMPLES, SCENES, SPLITS, load_scenes, save_scene, target_vocab
from training.real_data import (
    RealDataConfig,
    frame_indices,
    interleave,
    mix_counts,
    prepare_real,
    read_ply_vertices,
    train_sample_leaks,
)

LIVINGROOM = "rgbd/livingroom1_clean_micro"
# scene id → frames of livingroom1 it holds; split files: 0000/0002/0003 train, 0001 val; Beacon3D asks about 0002;
# 0003 has annotations but no scan
SCANS = {"scene0000_00": range(0, 211, 30), "scene0001_00": range(15, 211, 40), "scene0002_00": range(5, 211, 50)}
ALIGN_YAW, ALIGN_T = np.deg2rad(30.0), np.array([1.0, -2.0, 0.0])


def _axis_alignment() -> np.ndarray:
    c, s = np.cos(ALIGN_YAW), np.sin(ALIGN_YAW)
    A = np.eye(4)
    A[:2, :2] = [[c, -s], [s, c]]
    A[:3, 3] = ALIGN_T
    return A


def _write_ply(path: Path, verts: np.ndarray) -> None:
    """Binary little-endian PLY as ScanNet's meshes: float xyz + uchar rgba vertices, then an (empty) face list."""
    head = ("ply\nformat binary_little_endian 1.0\ncomment fixture\n"
            f"element vertex {len(verts)}\nproperty float x\nproperty float y\nproperty float z\n"
            "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n"
            "element face 0\nproperty list uchar int vertex_indices\nend_header\n")
    body = b"".join(struct.pack("<fffBBBB", *v, 128, 128, 128, 255) for v in verts.astype(np.float32))
    path.write_bytes(head.encode() + body)


def _write_scan(seq, indices, folder: Path, scene_id: str, instances: bool) -> np.ndarray:
    """ScanNet export of some frames with poses in a 'raw' world (the axis alignment undone) + the meta file, and
    (``instances``) a mesh/segs/aggregation: three objects cut from the back-projected points; returns the
    axis-aligned vertices."""
    from leovl_ros.geometry.frame import Frame
    from leovl_ros.io.rgbd import write_scannet

    A = _axis_alignment()
    raw_frames, points = [], []
    for i in indices:
        f = seq[i]
        raw_frames.append(Frame(rgb=f.rgb, depth=f.depth, K=f.K, pose=np.linalg.inv(A) @ f.pose))
        v, u = np.mgrid[0:480:16, 0:640:16]
        z = f.depth[v, u]
        ok = z > 0.1
        cam = np.stack([(u[ok] - f.K[0, 2]) * z[ok] / f.K[0, 0], (v[ok] - f.K[1, 2]) * z[ok] / f.K[1, 1], z[ok]], 1)
        points.append(cam @ f.pose[:3, :3].T + f.pose[:3, 3])
    write_scannet(raw_frames, folder)
    (folder / f"{scene_id}.txt").write_text("axisAlignment = " + " ".join(repr(float(x)) for x in A.ravel()) + "\n"
                                            "sceneType = Living room / Lounge\n")
    aligned = np.concatenate(points)
    if instances:
        raw = aligned @ np.linalg.inv(A)[:3, :3].T + np.linalg.inv(A)[:3, 3]
        _write_ply(folder / f"{scene_id}_vh_clean_2.ply", raw)
        seg = (np.floor(aligned[:, 0] / 0.5) * 100 + np.floor(aligned[:, 1] / 0.5)).astype(np.int64)
        (folder / f"{scene_id}_vh_clean_2.0.010000.segs.json").write_text(json.dumps(
            {"sceneId": scene_id, "segIndices": seg.tolist()}))
        segs = np.unique(seg)
        x_of = {s: aligned[seg == s, 0].mean() for s in segs}
        lo, hi = np.quantile(list(x_of.values()), [0.25, 0.75])
        groups = [("chair", [int(s) for s in segs if x_of[s] <= lo]),
                  ("cabinet", [int(s) for s in segs if x_of[s] >= hi]),
                  ("tv", [int(s) for s in segs if lo < x_of[s] < hi][:2])]
        (folder / f"{scene_id}.aggregation.json").write_text(json.dumps({"sceneId": scene_id, "segGroups": [
            {"id": k, "objectId": k, "label": name, "segments": sg} for k, (name, sg) in enumerate(groups)]}))
    return aligned


def _sqa3d(split: str, rows: list[tuple]) -> tuple[dict, dict]:
    questions, annotations = [], []
    for qid, scene, situation, question, answer, yaw in rows:
        questions.append({"question_id": qid, "scene_id": scene, "situation": situation, "question": question,
                          "alternative_situation": [situation]})
        annotations.append({"question_id": qid, "scene_id": scene, "question_type": "N/A", "answer_type": "other",
                            "answers": [{"answer": answer, "answer_confidence": "yes", "answer_id": 1}],
                            "position": {"x": 0.5, "y": -0.3, "z": 0.0},
                            "rotation": {"_x": 0.0, "_y": 0.0, "_z": float(np.sin(yaw / 2)),
                                         "_w": float(np.cos(yaw / 2))}})
    return {"questions": questions}, {"annotations": annotations}


def _scanqa(rows: list[tuple], with_answers: bool = True) -> list[dict]:
    out = []
    for qid, scene, question, answers, ids, names in rows:
        entry = {"question_id": qid, "scene_id": scene, "question": question}
        if with_answers:
            entry.update(answers=answers, object_ids=ids, object_names=names)
        out.append(entry)
    return out


def _scanrefer(rows: list[tuple]) -> list[dict]:
    return [{"scene_id": s, "object_id": str(o), "object_name": n, "ann_id": str(a), "description": d,
             "token": d.split()} for s, o, n, a, d in rows]


def write_annotations(folder: Path) -> None:
    """Hand-written files in each dataset's format and file name, plus ScanNet-style split files."""
    folder.mkdir(parents=True, exist_ok=True)
    dump = lambda name, data: (folder / name).write_text(json.dumps(data))  # noqa: E731
    q, a = _sqa3d("train", [
        (220602000000, "scene0000_00", "I am sitting on the chair facing the tv.", "What is on my left?", "cabinet",
         0.0),
        (220602000001, "scene0000_00", "I am standing by the window.", "Is the tv in front of me?", "yes", 1.5),
        (220602000002, "scene0000_00", "I am facing the cabinet.", "How many chairs are behind me?", "one", 3.1),
        (220602000003, "scene0001_00", "I am facing the tv.", "What color is the chair?", "white", 0.0),  # val scene
    ])
    dump("v1_balanced_questions_train_scannetv2.json", q)
    dump("v1_balanced_sqa_annotations_train_scannetv2.json", a)
    q, a = _sqa3d("test", [
        (220602009000, "scene0001_00", "I am sitting on the chair.", "What is in front of me?", "tv", 0.0),
        (220602009001, "scene0001_00", "I am facing the window.", "Is the cabinet on my right?", "no", 1.0),
    ])
    dump("v1_balanced_questions_test_scannetv2.json", q)
    dump("v1_balanced_sqa_annotations_test_scannetv2.json", a)
    dump("ScanQA_v1.0_train.json", _scanqa([
        ("train-scene0000-0", "scene0000_00", "What color is the chair?", ["white"], [0], ["chair"]),
        ("train-scene0000-1", "scene0000_00", "What is left of the cabinet?", ["chair"], [0, 1], ["chair", "cabinet"]),
        ("train-scene0000-2", "scene0000_00", "How many chairs are there?", ["one", "1"], [0], ["chair"]),
        ("train-scene0000-3", "scene0000_00", "Where is the lamp?", ["on table"], [99], ["lamp"]),  # not in the scan
        ("train-scene0002-0", "scene0002_00", "What is on the wall?", ["tv"], [2], ["tv"]),  # a Beacon3D scene
        ("train-scene0003-0", "scene0003_00", "What is the brown object?", ["cabinet"], [], []),  # no scan
    ]))
    dump("ScanQA_v1.0_val.json", _scanqa([
        ("val-scene0001-0", "scene0001_00", "What is under the tv?", ["cabinet"], [1], ["cabinet"]),
        ("val-scene0001-1", "scene0001_00", "What colour is the cabinet?", ["brown"], [1], ["cabinet"]),
    ]))
    dump("ScanQA_v1.0_test_wo_obj.json", _scanqa([
        ("test-scene0001-0", "scene0001_00", "What is next to the window?", [], [], []),
    ], with_answers=False))
    dump("ScanRefer_filtered_train.json", _scanrefer([
        ("scene0000_00", 0, "office_chair", 0, "this is a white chair. it is next to the window."),
        ("scene0000_00", 0, "office_chair", 1, "a white chair in the corner."),
        ("scene0000_00", 1, "cabinet", 0, "a brown wooden cabinet under the tv."),
    ]))
    dump("ScanRefer_filtered_val.json", _scanrefer([
        ("scene0001_00", 2, "tv", 0, "a black tv on the wall above the cabinet."),
    ]))
    dump("beacon3d_scannet_qa.json", [
        {"question_id": "scene0002_00_2_0_class_0", "scene_id": "scene0002_00", "question": "What is on the wall?",
         "object_ids": [2], "object_names": ["tv"], "answers": ["tv"]},
        {"question_id": "scene0002_00_0_0_appearance_0", "scene_id": "scene0002_00",
         "question": "What color is the chair?", "object_ids": [0], "object_names": ["chair"], "answers": ["white"]},
    ])
    dump("notes.json", {"not": "an annotation file"})
    (folder / "scannetv2_train.txt").write_text("scene0000_00\nscene0002_00\nscene0003_00\n")
    (folder / "scannetv2_val.txt").write_text("# ScanNet val\nscene0001_00\n")


def tiny_encoder(folder: Path) -> Path:
    """A randomly initialised SmallCNN of the quick preset's shape, saved (stage 1 is not under test here)."""
    from leovl_ros.model.config import ImageEncoderConfig
    from leovl_ros.model.image_encoder import SmallCNNEncoder

    classes, colours = target_vocab()
    cfg = load_preset("quick")
    torch.manual_seed(0)
    enc = SmallCNNEncoder(ImageEncoderConfig(**{**cfg.image_encoder, "num_classes": len(classes),
                                                "num_colours": len(colours)}))
    enc.save(folder)
    return folder


def synthetic_folder(folder: Path, encoder: Path) -> Path:
    """A one-room synthetic data folder as prepare.py writes it (4 rendered frames, that room's samples)."""
    from leovl_ros.sim.shards import ShardWriter
    from leovl_ros.sim.tasks import scene_id_for
    from training.config import DataConfig
    from training.prepare import _init_worker, fuse_scene, split_seeds

    (seed,) = split_seeds("train", 1)
    _init_worker(str(encoder), DataConfig(frames=4, tasks={"qa_per_type": 1, "situations": 1}))
    _, batch, samples = fuse_scene(seed)
    save_scene(batch, folder / SCENES / f"{scene_id_for(seed)}.safetensors")
    with ShardWriter(folder / SAMPLES, 1000, "train") as w:
        w.write_all(samples[:12])
    (folder / SPLITS).write_text(json.dumps({"train": [scene_id_for(seed)], "test": []}))
    return folder


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The fixture scans + annotations prepared once (mixed 1:1 with a one-room synthetic folder)."""
    from leovl_ros.io.rgbd import read_redwood

    root_data = shared_data_dir() / LIVINGROOM
    if not root_data.is_dir():
        pytest.skip(f"shared real frames not found at {root_data} (set LEOVL_SHARED_DATA)")
    root = tmp_path_factory.mktemp("real")
    seq = read_redwood(root_data)
    vertices = {sid: _write_scan(seq, idx, root / "scans" / sid, sid, instances=sid != "scene0001_00")
                for sid, idx in SCANS.items()}
    write_annotations(root / "annotations")
    encoder = tiny_encoder(root / "encoder")
    synth = synthetic_folder(root / "synthetic", encoder)
    cfg = load_preset("quick")
    cfg.data = dataclasses.replace(cfg.data, tokenizer_scenes=1, workers=1)
    real = RealDataConfig(frame_stride=1, max_frames=0, weights={"real": 1.0, "synthetic": 1.0})
    stats = prepare_real(cfg.data, real, root / "scans", root / "annotations", root / "out", encoder,
                         vocab_size=512, synthetic=synth)
    return root, root / "out", stats, vertices, cfg


def _samples(folder: Path, split: str) -> list:
    from leovl_ros.sim.shards import iter_samples

    return list(iter_samples(folder / SAMPLES, split))


def test_counts_and_files(prepared) -> None:
    """What is read, trained on, evaluated on and dropped, each counted; unknown files are listed."""
    _, out, stats, _, _ = prepared
    assert set(stats["annotation_sets"]) == {"sqa3d_train", "sqa3d_test", "scanqa_train", "scanqa_val",
                                             "scanqa_test", "scan2cap_train", "scan2cap_val", "beacon3d_test"}
    assert stats["ignored_files"] == ["notes.json"]
    assert stats["real_scenes_fused"] == 3 and stats["missing_scans"] == ["scene0003_00"]
    assert stats["train_real_samples"] == 3 + 4 + 2  # SQA3D, ScanQA, Scan2Cap objects on scene0000_00
    assert stats["dropped_from_training"] == {"evaluation_scene": 2}  # SQA3D on the val scene, ScanQA on Beacon3D's
    assert stats["dropped_without_scan"] == 1
    assert stats["eval_samples"] == {"beacon3d_test": 2, "scan2cap_val": 1, "scanqa_test": 0, "scanqa_val": 2,
                                     "sqa3d_test": 2}
    assert stats["eval_unanswered"] == 1 and stats["heldout_questions"] == 6
    assert stats["scenes_without_axis_alignment"] == 0 and stats["scenes_with_instances"] == 2
    splits = json.loads((out / SPLITS).read_text())
    assert splits["val"] == ["scene0001_00"] and splits["test"] == ["scene0002_00"]
    assert "scene0000_00" in splits["train"] and any(s.startswith("synth") for s in splits["train"])
    assert (out / "tokenizer.json").is_file() and not (out / "_real_train").exists()


def test_evaluation_sets_never_reach_training(prepared) -> None:
    """No Beacon3D / val / test scene or question is in a training shard: by the guard file and independently."""
    root, out, _, _, _ = prepared
    assert train_sample_leaks(out) == []
    train = _samples(out, "train")
    eval_scenes = {"scene0001_00", "scene0002_00"}
    eval_ids, eval_texts = set(), set()
    for name in ("beacon3d_scannet_qa.json", "ScanQA_v1.0_val.json", "ScanQA_v1.0_test_wo_obj.json"):
        for e in json.loads((root / "annotations" / name).read_text()):
            eval_ids.add(str(e["question_id"]))
            eval_texts.add((e["scene_id"], e["question"]))
    for e in json.loads((root / "annotations" / "v1_balanced_questions_test_scannetv2.json").read_text())["questions"]:
        eval_ids.add(str(e["question_id"]))
        eval_texts.add((e["scene_id"], e["question"]))
    for s in train:
        assert s.scene_id not in eval_scenes
        assert s.question_id.split(":", 1)[-1] not in eval_ids
        assert (s.scene_id, s.question) not in eval_texts
    held = [json.loads(line) for line in (out / HELDOUT).read_text().splitlines()]
    assert {h["scene_id"] for h in held} == eval_scenes
    assert not {h["scene_id"] for h in held} & {s.scene_id for s in train}


def test_sample_fields(prepared) -> None:
    """Task family, type, situation/pose as given, answers, object ids; captions pool every description."""
    _, out, _, _, _ = prepared
    real = [s for s in _samples(out, "train") if not s.scene_id.startswith("synth")]
    by_id = {s.question_id: s for s in real}
    sqa = by_id["sqa3d:220602000000"]
    assert sqa.task == "situated_qa" and sqa.question_type == "what" and sqa.answers == ["cabinet"]
    assert sqa.situation == "I am sitting on the chair facing the tv."
    np.testing.assert_allclose(sqa.position, [0.5, -0.3, 0.0])
    np.testing.assert_allclose(sqa.rotation_xyzw, [0, 0, 0, 1])
    qa = by_id["scanqa:train-scene0000-1"]
    assert qa.task == "qa" and qa.object_ids == [0, 1] and qa.object_names == ["chair", "cabinet"]
    cap = by_id["scan2cap:scene0000_00:0"]
    assert cap.task == "object_caption" and cap.question == "Describe the office chair." and len(cap.answers) == 2
    assert {s.task for s in _samples(out, "val")} == {"situated_qa", "qa", "object_caption"}


def test_mixing(prepared) -> None:
    """Weights 1:1 over 9 real + 12 synthetic samples: 21 in all, 10/11 split, interleaved."""
    _, out, stats, _, _ = prepared
    assert sorted(stats["mix"].values()) == [10, 11]
    train = _samples(out, "train")
    assert len(train) == 21
    kinds = ["s" if s.scene_id.startswith("synth") else "r" for s in train]
    assert "rrr" not in "".join(kinds) and "sss" not in "".join(kinds)
    assert mix_counts({"real": 10, "synthetic": 30}, {"real": 3, "synthetic": 1}) == {"real": 30, "synthetic": 10}
    assert mix_counts({"real": 10, "synthetic": 0}, {"real": 1, "synthetic": 1}) == {"real": 10, "synthetic": 0}
    seq = list(interleave({"a": lambda: iter("ab"), "b": lambda: iter("XYZ")}, {"a": 4, "b": 2}))
    assert seq == ["a", "X", "b", "a", "Y", "b"]  # spread evenly, the short stream re-opened
    assert frame_indices(100, 10, 0) == list(range(0, 100, 10)) and len(frame_indices(1000, 1, 7)) == 7


def test_scene_caches_and_grounding(prepared) -> None:
    """Caches in the axis-aligned frame (the mesh's footprint), with object columns where instances exist."""
    _, out, stats, vertices, _ = prepared
    scenes = load_scenes(out)
    s0 = scenes["scene0000_00"]
    assert s0["features"].shape[-1] == 32 and s0["object_ids"].tolist() == [0, 1, 2]
    assert s0["object_columns"].dtype == torch.bool and bool(s0["object_columns"][:2].any(1).all())
    lo, hi = np.quantile(vertices["scene0000_00"][:, :2], [0.02, 0.98], axis=0)
    xy = s0["xy"][s0["mask"].any(1) if s0["mask"].ndim == 2 else slice(None)].numpy()
    assert np.all(np.median(xy, 0) > lo) and np.all(np.median(xy, 0) < hi)  # the alignment was applied
    assert "object_ids" not in scenes["scene0001_00"]  # no instance files: no grounding targets
    g = stats["grounding"]
    assert g["with_target"] >= 5 and g["ids_not_in_scan"] == 1 and g["no_instance_files"] >= 3


def test_ply_reader_ascii(tmp_path: Path) -> None:
    """ASCII PLY vertices read too; a file whose first element is not 'vertex' is refused."""
    (tmp_path / "a.ply").write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                                    "property float z\nend_header\n1 2 3\n4 5 6\n")
    np.testing.assert_allclose(read_ply_vertices(tmp_path / "a.ply"), [[1, 2, 3], [4, 5, 6]])
    (tmp_path / "b.ply").write_text("ply\nformat ascii 1.0\nelement face 0\nproperty list uchar int v\nend_header\n")
    with pytest.raises(ValueError, match="vertex"):
        read_ply_vertices(tmp_path / "b.ply")


def test_train_and_evaluate_on_real_shards(prepared, tmp_path: Path) -> None:
    """train.py (SFT, SceneDPO) and evaluate.py consume the prepared folder unchanged."""
    from training.evaluate import main as evaluate_main
    from training.train import stage2, stage3

    root, out, _, _, cfg = prepared
    cfg.sft = dataclasses.replace(cfg.sft, steps=2, batch_size=2, log_every=1, save_every=1)
    cfg.dpo = dataclasses.replace(cfg.dpo, steps=1, batch_size=2, log_every=1)
    cfg.eval.max_captions, cfg.eval.max_new_tokens = 2, 4
    preset = tmp_path / "tiny.yaml"
    preset.write_text(yaml.safe_dump(dataclasses.asdict(cfg)))
    d = ddp.Dist(rank=0, world_size=1, device=torch.device("cpu"))
    stage2(cfg, out, tmp_path / "sft", d, root / "encoder", blind=False)
    stage3(cfg, out, tmp_path / "dpo", d, tmp_path / "sft" / "model")
    assert evaluate_main(["--data", str(out), "--model", str(tmp_path / "dpo" / "model"), "--preset", str(preset),
                          "--out", str(tmp_path / "eval")]) == 0
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["qa"]["n"] == 6 and 0.0 <= metrics["qa"]["em"] <= 100.0  # the heldout_qa.jsonl questions


def test_prepare_cli_dispatches_to_real_data(tmp_path: Path) -> None:
    """``training.prepare scenes --source scannet`` reaches this module and names what it is missing."""
    from training.prepare import main as prepare_main

    with pytest.raises(SystemExit, match="--source scannet needs --scans, --annotations and --encoder"):
        prepare_main(["scenes", "--source", "scannet", "--out", str(tmp_path / "out"), "--encoder",
                      str(tmp_path / "enc")])
