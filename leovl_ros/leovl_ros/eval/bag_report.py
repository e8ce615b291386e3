"""The ROS-free half of a bag evaluation: which questions, and the scored report of the answers.

Shared by ``leovl-eval`` (answers over DDS from a replayed bag, ``leovl_ros.ros.eval_cli``) and the offline
``training/bag_eval.py`` (the same bag fused in-process): ``bag_questions`` reads and checks the annotations and
the bag and keeps the questions of the bag's scene; ``prediction_record`` is one question's entry of
``predictions.json``; ``write_outputs`` scores the records and writes ``predictions.json``, ``report.json``
(figures, versions, model and bag checksums), ``report.md`` and PNGs (top-down CFG with trajectory and grounded
cells, accuracy per question type, answer latency, fusion over bag time) from a saved ``map.safetensors``, and
prints the one-line JSON summary. Nothing here imports rclpy.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

SUMMARY_KEYS = ("frames_in_bag", "frames_fused", "frames_dropped", "questions", "em", "em_r", "wall_over_bag",
                "startup_s", "map_checksum")
"""Figures of the one-line JSON summary (stdout's last line)."""


class EvalError(RuntimeError):
    """A one-line reason to stop a bag evaluation."""


@dataclass
class ReportInputs:
    """What a report names besides the answers: the bag, the model, the question files and the run's options."""

    bag: Path
    """rosbag2 folder (or file) that was evaluated."""
    model: str
    """Checkpoint folder that answered."""
    annotations: list[Path] = field(default_factory=list)
    """Question files (empty: BAG/annotations.json)."""
    options: dict[str, Any] = field(default_factory=dict)
    """How the run was made (replay rate, in-flight frames, offline, ...)."""
    title: str = "leovl-eval"
    """Heading of report.md."""


def sha256_of(paths: list[Path]) -> str:
    """SHA-256 over files (sorted by name, contents only)."""
    h = hashlib.sha256()
    for p in sorted(paths):
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def map_checksum(path: Path) -> tuple[str, np.ndarray]:
    """SHA-256 of a saved map's voxel keys and features (sorted by key) and its occupied (x, y) columns."""
    from leovl_ros.cfg.voxel_store import VoxelStore

    store = VoxelStore.from_file(path)
    arrays = {k: v.detach().cpu().numpy() for k, v in store.arrays().items()}
    order = np.argsort(arrays["keys"], kind="stable")
    h = hashlib.sha256()
    for name, a in sorted(arrays.items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(a[order]).tobytes())
    ijk = store.voxel_indices().detach().cpu().numpy()
    columns = np.unique(ijk[:, :2], axis=0) if len(ijk) else np.zeros((0, 2), dtype=np.int64)
    return h.hexdigest(), columns


def column_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two sets of integer (x, y) columns."""
    sa, sb = {tuple(r) for r in np.asarray(a).tolist()}, {tuple(r) for r in np.asarray(b).tolist()}
    return len(sa & sb) / max(len(sa | sb), 1)


def load_questions(bag: Path, annotations: Sequence[Path] = ()) -> list[Any]:
    """The annotation questions (default: BAG/annotations.json); EvalError with the reason."""
    from leovl_ros.io.bag_annotations import ANNOTATIONS_NAME, read_bag_annotations

    paths = list(annotations) or [Path(bag) / ANNOTATIONS_NAME]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EvalError(f"annotation file not found: {', '.join(missing)}"
                        + ("" if annotations else " (pass --annotations)"))
    try:
        questions = read_bag_annotations(paths)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise EvalError(f"cannot read the annotations: {exc}") from exc
    if not questions:
        raise EvalError(f"{paths[0]}: no questions")
    return questions


def bag_questions(bag: Path, annotations: Sequence[Path] = (), scene_id: Optional[str] = None) -> tuple[list[Any], Any]:
    """Questions + ``check_bag`` result: the bag checked against the annotations (EvalError naming the first
    problem), and only the questions of the bag's scene (or of none) kept."""
    from leovl_ros.io.bag_check import check_bag

    questions = load_questions(bag, annotations)
    check = check_bag(bag, {q.item.scene_id for q in questions}, scene_id=scene_id)
    if not check.ok:
        raise EvalError(check.summary())
    if check.scene_id:
        questions = [q for q in questions if not q.item.scene_id or q.item.scene_id == check.scene_id]
    return questions, check


def eval_params(params_file: Optional[Path] = None, model: str = "", status_rate: float = 50.0,
                compressed: bool = False) -> dict[str, Any]:
    """The agent's parameters for a bag evaluation: ``config/agent.yaml`` (or ``params_file``) with every frame
    fused (``mode: eval``, no age check, poses on the pose topic, ``compressed`` inputs as the bag has them), a fast
    status, and the dialogue's model and the fusion's 2D encoder both taken from ``model``. Keys: node name →
    ``ros__parameters``."""
    import yaml

    from leovl_ros.agent.paths import image_encoder_dir
    from leovl_ros.ros.bringup import default_params_file  # a path helper; rclpy is not imported

    params = yaml.safe_load((params_file or default_params_file()).read_text())
    fusion = params["fusion"]["ros__parameters"]
    fusion.update(mode="eval", pose_source="topic", max_frame_age=0.0, status_rate=float(status_rate),
                  compressed_inputs=bool(compressed))
    if model:
        params["dialogue"]["ros__parameters"]["model_path"] = model
        encoder = image_encoder_dir(Path(model))
        if encoder is not None:
            fusion["encoder_path"] = str(encoder)
    params.pop("sim_camera", None)
    return params


def prediction_record(q: Any, *, prediction: str, success: bool, error: str = "", confidence: float = 0.0,
                      cell_ids: Sequence[int] = (), object_ids: Sequence[int] = (), scene_tokens: int = 0,
                      latency_ms: float = 0.0, round_trip_ms: float = 0.0) -> dict[str, Any]:
    """One ``predictions.json`` entry: the question (a ``BagQuestion``) and what the agent replied."""
    item = q.item
    return {"question_id": str(item.question_id), "scene_id": item.scene_id, "question": item.question,
            "question_type": item.question_type, "situation": item.situation,
            "prediction": prediction if success else "", "answers": list(item.answers),
            "object_ids": list(item.object_ids), "success": bool(success), "error": error,
            "confidence": float(confidence), "grounded_cells": [int(c) for c in cell_ids],
            "grounded_objects": [int(c) for c in object_ids], "scene_tokens": int(scene_tokens),
            "latency_ms": float(latency_ms), "round_trip_ms": float(round_trip_ms), "asked_at_bag_s": q.bag_time_s}


def session_id(q: Any) -> str:
    """Dialogue session of one evaluation question (each question its own session: no history)."""
    return f"eval-{q.item.question_id}"


def versions() -> dict[str, str]:
    """Versions of what produced the numbers."""
    import importlib.metadata as md

    out = {"python": platform.python_version(), "ros_distro": os.environ.get("ROS_DISTRO", "kilted (PyPI wheels)")}
    for dist in ("leovl_ros", "torch", "rosbags", "numpy", "transformers"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            pass
    try:
        out["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                    cwd=Path(__file__).parent, timeout=5).stdout.strip()
    except OSError:
        pass
    return out


def write_outputs(config: ReportInputs, out: Path, check: Any, results: list[dict[str, Any]], figures: dict[str, Any],
                  frame_log: list[tuple[float, float]], status_log: list[tuple[float, int, int]],
                  t_start: float) -> int:
    """predictions.json, report.json, report.md, PNGs from ``out/map.safetensors``; prints the JSON summary line.

    ``figures`` holds the run's frame counts and timings (frames_in_bag, frames_sent, frames_fused,
    frames_dropped, drops, drained, gate_timeouts, pose_errors, bag_s, replay_wall_s, wall_over_bag, startup_s,
    voxels, tokens); ``frame_log`` is (bag s, wall s) per frame sent, ``status_log`` (wall s, fused, dropped).
    Returns 0 when something was fused and every question answered, else 1."""
    from leovl_ros.eval.metrics import beacon3d_scores
    from leovl_ros.eval.plots import plot_by_type
    from leovl_ros.eval.report import EMPTY_PREDICTION_NOTE, evaluate_qa, score_records

    scores = {s.question_id: s for s in score_records(results)}
    for r in results:
        s = scores[r["question_id"]]
        r["em"], r["em_r"] = bool(s.em), bool(s.em_r)
    (out / "predictions.json").write_text(json.dumps(results, indent=1))
    qa = evaluate_qa(results)
    beacon = beacon3d_scores(results)
    checksum, columns = map_checksum(out / "map.safetensors")
    np.save(out / "map_columns.npy", columns)
    figures.update(questions=len(results), answered=sum(r["success"] for r in results), em=qa["em"],
                   em_r=qa["em_r"], map_checksum=checksum, occupied_columns=len(columns),
                   total_wall_s=time.monotonic() - t_start)
    lat = [r["latency_ms"] for r in results]
    figures["ask_latency_ms"] = {"mean": float(np.mean(lat)), "p50": float(np.percentile(lat, 50)),
                                 "p95": float(np.percentile(lat, 95))} if lat else {}
    model_files = [p for p in Path(config.model).rglob("*") if p.is_file()]
    bag_files = [p for p in Path(config.bag).rglob("*") if p.is_file() and p.suffix in (".mcap", ".db3")] \
        if Path(config.bag).is_dir() else [Path(config.bag)]
    report = {"figures": figures, "qa": qa, "beacon3d": beacon, "bag": {
        "path": str(config.bag), "sha256": sha256_of(bag_files), "scene_id": check.scene_id,
        "pose_source": check.pose_source, "topics": check.topics, "encodings": check.encodings,
        "image_size": list(check.image_size), "duration_s": check.duration_s},
        "model": {"path": config.model, "sha256": sha256_of(model_files)},
        "annotations": [str(p) for p in config.annotations] or [str(Path(config.bag) / "annotations.json")],
        "options": dict(config.options),
        "versions": versions(), "note": EMPTY_PREDICTION_NOTE}
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    pictures = {"accuracy_by_type": plot_by_type(qa, out / "accuracy_by_type.png")}
    pictures.update(_plots(config, out, results, frame_log, status_log))
    _report_md(out, config, figures, qa, beacon, pictures)
    summary = {k: figures[k] for k in SUMMARY_KEYS}
    if "rerun" in figures:  # leovl-eval --rerun: what the recording holds
        summary["rerun"] = figures["rerun"]
    summary["out"] = str(out)
    print(json.dumps(summary))
    return 0 if figures["frames_fused"] > 0 and figures["answered"] == len(results) else 1


def _plots(config: ReportInputs, out: Path, results: list[dict[str, Any]], frame_log: list[tuple[float, float]],
           status_log: list[tuple[float, int, int]]) -> dict[str, Path]:
    """Top-down CFG with trajectory and grounded cells, latency histogram, fusion over bag time."""
    from leovl_ros.agent.topdown import plot_topdown
    from leovl_ros.cfg.condense import CondenseConfig, condense
    from leovl_ros.cfg.voxel_store import VoxelStore
    from leovl_ros.eval.plots import _pyplot
    from leovl_ros.model.checkpoint import read_config

    pictures: dict[str, Path] = {}
    store = VoxelStore.from_file(out / "map.safetensors")
    batch = condense(store, CondenseConfig(**read_config(Path(config.model)).condense))
    cells = sorted({c for r in results for c in r["grounded_cells"] if 0 <= c < len(batch)})
    trajectory = _trajectory(config.bag)
    pictures["topdown"] = plot_topdown(batch.xy, batch.cell_size, batch.colour, out / "topdown.png", highlight=cells,
                                       camera_path=trajectory,
                                       title=f"{Path(config.bag).name}: {len(batch)} CFG cells, {len(cells)} grounded")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist([r["latency_ms"] for r in results], bins=20, color="tab:blue")
    ax.set_xlabel("answer latency (ms, node-side)")
    ax.set_ylabel("questions")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    pictures["latency"] = out / "latency.png"
    if frame_log and status_log:
        wall0 = frame_log[0][1]
        bag_t = np.array([b for b, _ in frame_log])
        sent_wall = np.array([w for _, w in frame_log]) - wall0
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(bag_t, sent_wall, label="frame sent (wall s)")
        ax.plot(bag_t, bag_t, "k--", lw=0.8, label="real time")
        st = np.array(status_log, dtype=np.float64)
        st = st[st[:, 0] >= wall0]
        if len(st):
            fused = st[:, 1] - st[0, 1]
            # bag time of the k-th fused frame ~ bag time of frame k
            idx = np.clip(fused.astype(int) - 1, 0, len(bag_t) - 1)
            ax.plot(bag_t[idx], st[:, 0] - wall0, label="fused (wall s)")
        ax.set_xlabel("bag time (s)")
        ax.set_ylabel("wall time since first frame (s)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "fusion_over_bag_time.png", dpi=110)
        plt.close(fig)
        pictures["fusion_over_bag_time"] = out / "fusion_over_bag_time.png"
    return pictures


def _trajectory(bag: Path) -> Optional[np.ndarray]:
    """Camera positions of the bag (pose topic, else composed from /tf) for the top-down picture."""
    try:
        from leovl_ros.io.bag_check import check_bag

        check = check_bag(bag)
        if check.pose_source == "tf":
            from leovl_ros.io.tf_buffer import buffer_from_bag

            buf = buffer_from_bag(bag)
            return np.array([buf.lookup("map", check.frame_id, s)[:3, 3] for s in buf.sample_stamps()])
        from rosbags.rosbag2 import Reader
        from rosbags.typesys import Stores, get_typestore

        ts = get_typestore(Stores.ROS2_KILTED)
        with Reader(bag) as reader:
            conns = [c for c in reader.connections if c.topic == check.topics.get("pose")]
            pts = []
            for conn, _, raw in reader.messages(connections=conns):
                p = ts.deserialize_cdr(raw, conn.msgtype).pose.position
                pts.append((p.x, p.y, p.z))
        return np.array(pts) if pts else None
    except Exception:  # the picture without a path is still useful
        return None


def _report_md(out: Path, config: ReportInputs, f: dict[str, Any], qa: dict[str, Any], beacon: dict[str, Any],
               pictures: dict[str, Path]) -> None:
    lines = [
        f"# {config.title}: {Path(config.bag).name}", "",
        f"- frames: {f['frames_fused']} fused of {f['frames_in_bag']} in the bag ({f['frames_dropped']} dropped"
        f"{': ' + json.dumps(f['drops']) if f['drops'] else ''}); back-pressure timeouts {f['gate_timeouts']}",
        f"- replay: {f['replay_wall_s']:.1f} s wall for {f['bag_s']:.1f} s of bag (wall/bag {f['wall_over_bag']:.2f}); "
        f"agent start-up {f['startup_s']:.1f} s; map {f['voxels']} voxels, {f['tokens']} CFG tokens, "
        f"checksum `{f['map_checksum'][:16]}`",
        f"- questions: {f['questions']} ({f['answered']} answered); **EM {qa['em']:.1f} %** "
        f"[{qa['ci']['em'][0]:.1f}, {qa['ci']['em'][1]:.1f}], **EM-R {qa['em_r']:.1f} %** "
        f"[{qa['ci']['em_r'][0]:.1f}, {qa['ci']['em_r'][1]:.1f}] (95 % bootstrap CIs); Beacon3D Case "
        f"{beacon['case']:.1f} / Obj {beacon['obj']:.1f} without a judge",
        f"- answer latency: {json.dumps({k: round(v, 1) for k, v in f['ask_latency_ms'].items()})} ms",
    ]
    if "rerun" in f:
        lines.append(f"- rerun recording: `{f['rerun']['path']}` ({json.dumps(f['rerun']['counts'])}); view it "
                     f"with `rerun {f['rerun']['path']}`")
    lines += [
        "", "| type | n | EM % | EM-R % |", "|---|---|---|---|",
    ]
    lines += [f"| {t} | {v['n']} | {v['em']:.1f} | {v['em_r']:.1f} |" for t, v in qa["by_type"].items()]
    lines += [""] + [f"![{name}]({p.name})" for name, p in pictures.items()]
    lines += ["", f"Note: {qa['note']}. Predictions: `predictions.json`; every figure: `report.json`."]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def bag_is_compressed(check: Any) -> bool:
    """Whether the checked bag carries its images as image_transport ``…/compressed`` + ``…/compressedDepth``."""
    return check.topics.get("colour", "").endswith("/compressed")
