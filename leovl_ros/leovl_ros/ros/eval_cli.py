"""``leovl-eval BAG``: replay a posed RGB-D bag into the agent losslessly, ask the annotation questions, score them.

Steps: (1) check the bag (``leovl_ros.io.bag_check``: topics, types, encodings, depth units, frame ids, pose
source, scene id against the annotations) and the annotations — any problem is one line on stderr and exit
code 2; (2) start the agent (``leovl-agent``, fusion ``mode: eval``, in a subprocess on this process's ROS
domain) or use a running one (``--use-running``: its map is reset first); (3) replay the bag with
``BagPlayer`` under back-pressure: colour image k goes out only when the fusion node's ``~/status`` shows
fused + dropped ≥ k − (in-flight − 1), so every frame is decided whatever the machine's speed; (4) ask every
question through ``/dialogue/ask`` (at the end, or at its ``bag_time_s``); (5) write ``predictions.json``,
``report.json`` (figures, versions, model and bag checksums), ``report.md``, ``map.safetensors`` and PNGs
(top-down CFG with trajectory and grounded cells, accuracy per question type, answer latency, fusion over bag
time). The last stdout line is a JSON summary (frames_in_bag, frames_fused, questions, em, em_r,
wall_over_bag, startup_s, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import yaml


class EvalError(RuntimeError):
    """A one-line reason to stop (exit code 2 before the agent starts, 1 after)."""


@dataclass
class EvalConfig:
    """Options of one evaluation run (see ``build_parser``)."""

    bag: Path
    annotations: list[Path]
    out: Path
    model: str = ""
    rate: float = 1.0
    in_flight: int = 1
    use_running: bool = False
    scene_id: Optional[str] = None
    params: Optional[Path] = None
    frame_timeout_s: float = 20.0
    startup_timeout_s: float = 180.0
    status_rate: float = 50.0
    domain_id: Optional[int] = None


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


def load_questions(config: EvalConfig) -> list[Any]:
    """The annotation questions (default: BAG/annotations.json); EvalError with the reason."""
    from leovl_ros.io.bag_annotations import ANNOTATIONS_NAME, read_bag_annotations

    paths = config.annotations or [config.bag / ANNOTATIONS_NAME]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EvalError(f"annotation file not found: {', '.join(missing)}"
                        + ("" if config.annotations else " (pass --annotations)"))
    try:
        questions = read_bag_annotations(paths)
    except (ValueError, OSError, KeyError, TypeError) as exc:
        raise EvalError(f"cannot read the annotations: {exc}") from exc
    if not questions:
        raise EvalError(f"{paths[0]}: no questions")
    return questions


def agent_params(config: EvalConfig, path: Path) -> Path:
    """``config/agent.yaml`` (or ``--params``) with eval overrides: every frame fused, fast status, no age check."""
    from leovl_ros.agent.paths import image_encoder_dir
    from leovl_ros.ros.bringup import default_params_file

    params = yaml.safe_load((config.params or default_params_file()).read_text())
    fusion = params["fusion"]["ros__parameters"]
    fusion.update(mode="eval", pose_source="topic", max_frame_age=0.0, status_rate=float(config.status_rate),
                  compressed_inputs=False)
    if config.model:
        params["dialogue"]["ros__parameters"]["model_path"] = config.model
        encoder = image_encoder_dir(Path(config.model))
        if encoder is not None:
            fusion["encoder_path"] = str(encoder)
    params.pop("sim_camera", None)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


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


class Replay:
    """The ROS side of one evaluation: probe node, agent process, back-pressured replay, questions."""

    def __init__(self, config: EvalConfig, out: Path) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from std_srvs.srv import Trigger

        from leovl_interfaces.msg import FusionStatus
        from leovl_interfaces.srv import Ask, MapFile
        from leovl_ros.ros.qos import reliable_qos

        self.config, self.out = config, out
        self.node = Node("leovl_eval")
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.status: Optional[Any] = None
        self.status_log: list[tuple[float, int, int]] = []
        self.node.create_subscription(FusionStatus, "/fusion/status", self._on_status, reliable_qos(10))
        self.ask = self.node.create_client(Ask, "/dialogue/ask")
        self.save = self.node.create_client(MapFile, "/fusion/save_map")
        self.reset = self.node.create_client(Trigger, "/fusion/reset")
        self.agent: Optional[subprocess.Popen] = None
        self._rclpy = rclpy
        self.base_done = 0
        self.gate_timeouts = 0

    def _on_status(self, msg: Any) -> None:
        self.status = msg
        self.status_log.append((time.monotonic(), int(msg.frames_fused), int(msg.frames_dropped)))

    def spin(self, seconds: float) -> None:
        self.executor.spin_once(timeout_sec=seconds)

    def done(self) -> int:
        """Frames the fusion node decided (fused + dropped) since the replay started."""
        if self.status is None:
            return 0
        return int(self.status.frames_fused) + int(self.status.frames_dropped) - self.base_done

    def wait(self, predicate: Any, timeout: float, what: str) -> bool:
        """Spin until ``predicate()``; False on timeout; EvalError when the agent died."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.agent is not None and self.agent.poll() is not None:
                raise EvalError(f"the agent exited (code {self.agent.returncode}) while {what}; see "
                                f"{self.out / 'logs' / 'agent.log'}")
            if time.monotonic() > deadline:
                return False
            self.spin(0.01)
        return True

    def start_agent(self, params: Path) -> float:
        """Start (or find) the agent; returns seconds until ~/ask and ~/status answered."""
        from leovl_ros.ros.env import ros_environment

        t0 = time.monotonic()
        if not self.config.use_running:
            env = {**os.environ, **ros_environment(), "RCUTILS_LOGGING_BUFFERED_STREAM": "0"}
            (self.out / "logs").mkdir(parents=True, exist_ok=True)
            self._log = open(self.out / "logs" / "agent.log", "w")
            self.agent = subprocess.Popen([sys.executable, "-m", "leovl_ros.ros.bringup", "--params", str(params)],
                                          stdout=self._log, stderr=subprocess.STDOUT, env=env)
        timeout = self.config.startup_timeout_s
        for client, name in ((self.ask, "/dialogue/ask"), (self.reset, "/fusion/reset")):
            if not self.wait(client.service_is_ready, timeout, f"waiting for {name}"):
                raise EvalError(f"{name} did not come up within {timeout:.0f} s"
                                + ("" if self.agent else " (is an agent running on this ROS_DOMAIN_ID?)"))
        if not self.wait(lambda: self.status is not None, timeout, "waiting for /fusion/status"):
            raise EvalError("/fusion/status did not arrive")
        if self.config.use_running:
            from std_srvs.srv import Trigger

            reply = self.call(self.reset, Trigger.Request(), "resetting the map")
            if not reply.success:
                raise EvalError(f"/fusion/reset failed: {reply.message}")
            self.status = None
            self.wait(lambda: self.status is not None, 10.0, "waiting for /fusion/status")
        self.base_done = self.done()
        if self.agent is not None and self.base_done:
            raise EvalError(f"the fusion node that answered had already seen {self.base_done} frames: another agent "
                            f"runs on ROS_DOMAIN_ID {os.environ.get('ROS_DOMAIN_ID')} (pass --domain-id)")
        return time.monotonic() - t0

    def call(self, client: Any, request: Any, what: str, timeout: float = 120.0) -> Any:
        future = client.call_async(request)
        if not self.wait(future.done, timeout, what):
            raise EvalError(f"no reply while {what} within {timeout:.0f} s")
        return future.result()

    def gate(self, k: int) -> None:
        """Back-pressure: hold colour image k until ≥ k − (in_flight − 1) frames are decided."""
        need = k - (self.config.in_flight - 1)
        if need > 0 and not self.wait(lambda: self.done() >= need, self.config.frame_timeout_s,
                                      f"waiting for frame {need} to be fused"):
            self.gate_timeouts += 1

    def ask_question(self, q: Any) -> dict[str, Any]:
        from leovl_interfaces.srv import Ask

        item = q.item
        request = Ask.Request(question=item.question, session_id=f"eval-{item.question_id}",
                              situation_text=item.situation or "")
        if item.position is not None and item.rotation_xyzw is not None:
            request.has_situation_pose = True
            p, o = request.situation_pose.position, request.situation_pose.orientation
            p.x, p.y, p.z = (float(v) for v in item.position)
            o.x, o.y, o.z, o.w = (float(v) for v in item.rotation_xyzw)
        t0 = time.perf_counter()
        reply = self.call(self.ask, request, f"asking {item.question!r}")
        return {"question_id": str(item.question_id), "scene_id": item.scene_id, "question": item.question,
                "question_type": item.question_type, "situation": item.situation,
                "prediction": reply.answer if reply.success else "", "answers": list(item.answers),
                "object_ids": list(item.object_ids), "success": bool(reply.success), "error": reply.error,
                "confidence": float(reply.confidence), "grounded_cells": [int(c) for c in reply.cell_ids],
                "grounded_objects": [int(c) for c in reply.object_ids], "scene_tokens": int(reply.scene_tokens),
                "latency_ms": float(reply.latency_ms), "round_trip_ms": (time.perf_counter() - t0) * 1e3,
                "asked_at_bag_s": q.bag_time_s}

    def close(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(2)
            try:
                self.agent.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.agent.kill()
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()


def run(config: EvalConfig) -> int:
    """The whole evaluation; returns the exit code."""
    from leovl_ros.agent.answering import check_model_dir
    from leovl_ros.io.bag_check import check_bag

    t_start = time.monotonic()
    questions = load_questions(config)
    check = check_bag(config.bag, {q.item.scene_id for q in questions}, scene_id=config.scene_id)
    if not check.ok:
        raise EvalError(check.summary())
    if check.scene_id:
        questions = [q for q in questions if not q.item.scene_id or q.item.scene_id == check.scene_id]
    try:
        model_dir = check_model_dir(config.model)
    except RuntimeError as exc:
        raise EvalError(str(exc)) from exc
    config.model = str(model_dir)
    out = config.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    params = agent_params(config, out / "params.yaml")
    print(f"leovl-eval: {check.frames} frames, {len(questions)} questions, poses from {check.pose_source}, "
          f"scene {check.scene_id or '?'}; outputs in {out}", file=sys.stderr)

    from leovl_ros.ros.bag_player import BagPlayer, PlayConfig
    from leovl_ros.ros.env import ros_environment
    from leovl_ros.ros.node_main import rclpy_session

    if not config.use_running:  # a private domain: no other agent or test run can answer for ours
        domain = config.domain_id if config.domain_id is not None else 101 + os.getpid() % 100
        os.environ.update(ros_environment(domain_id=domain))

    with rclpy_session(["leovl_eval"]):
        replay = Replay(config, out)
        player = None
        try:
            startup_s = replay.start_agent(params)
            print(f"leovl-eval: agent up in {startup_s:.1f} s; replaying", file=sys.stderr)
            timed = sorted((q for q in questions if q.bag_time_s is not None), key=lambda q: q.bag_time_s)
            results: list[dict[str, Any]] = []
            frame_log: list[tuple[float, float]] = []
            first_ns: list[int] = []

            def on_frame(k: int, ns: int) -> None:
                if not first_ns:
                    first_ns.append(ns)
                frame_log.append(((ns - first_ns[0]) * 1e-9, time.monotonic()))

            def gate(k: int) -> None:
                replay.gate(k)
                while timed and frame_log and timed[0].bag_time_s <= frame_log[-1][0]:
                    results.append(replay.ask_question(timed.pop(0)))

            player = BagPlayer(replay.node, PlayConfig(bag=config.bag, rate=config.rate, pose_from_tf="auto",
                                                       wait_for_subscribers=30.0), gate=gate, on_frame=on_frame)
            if not player.wait_for_subscribers(replay.spin):
                raise EvalError("the fusion node did not subscribe to the colour topic within 30 s")
            summary = player.play(replay.spin)
            sent = summary["frames"]
            drained = replay.wait(lambda: replay.done() >= sent, config.frame_timeout_s, "draining the last frames")
            t_done = time.monotonic()
            replay.wait(lambda: False, 2.0 / config.status_rate + 0.1, "reading the final status")
            status = replay.status
            for q in timed + [q for q in questions if q.bag_time_s is None]:
                results.append(replay.ask_question(q))
            from leovl_interfaces.srv import MapFile

            saved = replay.call(replay.save, MapFile.Request(path=str(out / "map.safetensors")), "saving the map")
            if not saved.success:
                raise EvalError(f"save_map failed: {saved.message}")
            first_wall = summary["first_frame_wall"] or t_done
            bag_s = max(summary["bag_s"], 1e-9)
            figures = {
                "frames_in_bag": check.frames, "frames_sent": sent,
                "frames_fused": int(status.frames_fused), "frames_dropped": int(status.frames_dropped),
                "drops": {r: int(c) for r, c in zip(status.drop_reasons, status.drop_counts) if c},
                "drained": drained, "gate_timeouts": replay.gate_timeouts, "pose_errors": summary["pose_errors"],
                "bag_s": bag_s, "replay_wall_s": t_done - first_wall, "wall_over_bag": (t_done - first_wall) / bag_s,
                "startup_s": startup_s, "voxels": int(status.voxels), "tokens": int(status.tokens),
            }
            return write_outputs(config, out, check, results, figures, frame_log, replay.status_log, t_start)
        finally:
            if player is not None:
                player.close()
            replay.close()


def write_outputs(config: EvalConfig, out: Path, check: Any, results: list[dict[str, Any]], figures: dict[str, Any],
                  frame_log: list[tuple[float, float]], status_log: list[tuple[float, int, int]],
                  t_start: float) -> int:
    """predictions.json, report.json, report.md, PNGs; prints the JSON summary line."""
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
        "annotations": [str(p) for p in config.annotations] or [str(config.bag / "annotations.json")],
        "options": {"rate": config.rate, "in_flight": config.in_flight, "use_running": config.use_running},
        "versions": versions(), "note": EMPTY_PREDICTION_NOTE}
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    pictures = {"accuracy_by_type": plot_by_type(qa, out / "accuracy_by_type.png")}
    pictures.update(_plots(config, out, results, frame_log, status_log))
    _report_md(out, config, figures, qa, beacon, pictures)
    summary = {k: figures[k] for k in ("frames_in_bag", "frames_fused", "frames_dropped", "questions", "em", "em_r",
                                       "wall_over_bag", "startup_s", "map_checksum")}
    summary["out"] = str(out)
    print(json.dumps(summary))
    return 0 if figures["frames_fused"] > 0 and figures["answered"] == len(results) else 1


def _plots(config: EvalConfig, out: Path, results: list[dict[str, Any]], frame_log: list[tuple[float, float]],
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
                                       title=f"{config.bag.name}: {len(batch)} CFG cells, {len(cells)} grounded")
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


def _report_md(out: Path, config: EvalConfig, f: dict[str, Any], qa: dict[str, Any], beacon: dict[str, Any],
               pictures: dict[str, Path]) -> None:
    lines = [
        f"# leovl-eval: {config.bag.name}", "",
        f"- frames: {f['frames_fused']} fused of {f['frames_in_bag']} in the bag ({f['frames_dropped']} dropped"
        f"{': ' + json.dumps(f['drops']) if f['drops'] else ''}); back-pressure timeouts {f['gate_timeouts']}",
        f"- replay: {f['replay_wall_s']:.1f} s wall for {f['bag_s']:.1f} s of bag (wall/bag {f['wall_over_bag']:.2f}); "
        f"agent start-up {f['startup_s']:.1f} s; map {f['voxels']} voxels, {f['tokens']} CFG tokens, "
        f"checksum `{f['map_checksum'][:16]}`",
        f"- questions: {f['questions']} ({f['answered']} answered); **EM {qa['em']:.1f} %** "
        f"[{qa['ci']['em'][0]:.1f}, {qa['ci']['em'][1]:.1f}], **EM-R {qa['em_r']:.1f} %** "
        f"[{qa['ci']['em_r'][0]:.1f}, {qa['ci']['em_r'][1]:.1f}] (95 % bootstrap CIs); Beacon3D Case "
        f"{beacon['case']:.1f} / Obj {beacon['obj']:.1f} without a judge",
        f"- answer latency: {json.dumps({k: round(v, 1) for k, v in f['ask_latency_ms'].items()})} ms", "",
        "| type | n | EM % | EM-R % |", "|---|---|---|---|",
    ]
    lines += [f"| {t} | {v['n']} | {v['em']:.1f} | {v['em_r']:.1f} |" for t, v in qa["by_type"].items()]
    lines += [""] + [f"![{name}]({p.name})" for name, p in pictures.items()]
    lines += ["", f"Note: {qa['note']}. Predictions: `predictions.json`; every figure: `report.json`."]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def build_parser() -> argparse.ArgumentParser:
    """Options of ``leovl-eval``."""
    p = argparse.ArgumentParser(prog="leovl-eval", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("bag", type=Path, help="rosbag2 folder (MCAP or sqlite3) with posed RGB-D")
    p.add_argument("--annotations", type=Path, nargs="+", default=[],
                   help="Beacon3D-style QA file (situations in SQA3D fields) or SQA3D questions + annotations "
                        "(default: BAG/annotations.json)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--model", default="", help="checkpoint folder (default: the shipped models/default)")
    p.add_argument("--rate", type=float, default=1.0, help="replay speed cap relative to the bag; 0 = only "
                   "back-pressure (default %(default)s)")
    p.add_argument("--in-flight", type=int, default=1, help="frames sent ahead of the fusion node's status "
                   "(1: strictly one at a time; default %(default)s)")
    p.add_argument("--use-running", action="store_true", help="use the agent already running on this "
                   "ROS_DOMAIN_ID (mode: eval; its map is reset) instead of starting one")
    p.add_argument("--scene-id", default=None, help="scene of the bag when its metadata has none")
    p.add_argument("--params", type=Path, default=None, help="agent parameter file to start from "
                   "(default config/agent.yaml)")
    p.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID of the started agent and the "
                   "replay (default: a private one, 101 + pid % 100; ignored with --use-running)")
    p.add_argument("--frame-timeout", type=float, default=20.0, dest="frame_timeout_s",
                   help="seconds to wait for one frame's status before sending the next anyway")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-eval``: 0 done, 1 failed during the run, 2 bad input (one line, no traceback)."""
    args = build_parser().parse_args(argv)
    if args.in_flight < 1 or args.rate < 0:
        print("leovl-eval: error: --in-flight must be >= 1 and --rate >= 0", file=sys.stderr)
        return 2
    config = EvalConfig(**vars(args))
    started = False
    try:
        started = True
        return run(config)
    except EvalError as exc:
        print(f"leovl-eval: error: {exc}", file=sys.stderr)
        return 2 if "agent" not in str(exc) else 1
    except KeyboardInterrupt:
        return 130 if started else 2


if __name__ == "__main__":
    raise SystemExit(main())
