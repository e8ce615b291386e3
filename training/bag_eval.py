"""Offline bag evaluation: fuse a posed RGB-D bag in-process and answer its questions as ``leovl-eval`` does over DDS.

    python -m training.bag_eval BAG --out DIR [--model DIR] [--annotations FILE] [--params config/agent.yaml]

The same bag, model and questions as ``leovl-eval BAG``, without ROS: the bag's messages are read in bag order
(``rosbags``) and go through the fusion node's input path — ``ApproxTimeSync`` of colour, depth and pose with the
node's ``sync_slop`` / ``max_pose_age``, the latest camera_info, the stamp-order and pose checks — into the node's
``FrameFuser`` (decode, depth mask, resize, encode, lift, fuse) over a ``MapHandle``; poses come from the bag's
``PoseStamped`` topic or, where it records ``/tf`` + ``/tf_static``, from ``leovl_ros.io.tf_buffer`` at each
colour image's stamp (what ``leovl-bag play`` publishes). The questions go to the dialogue node's ``Answerer``
(same session ids, situations and limits), at their ``bag_time_s`` or after the last frame. Parameters come from
``bag_report.eval_params`` (the file ``leovl-eval`` hands the agent). Outputs and the JSON summary line are
``leovl-eval``'s (``leovl_ros.eval.bag_report.write_outputs``); ``wall_over_bag`` is fusion wall time over bag time
and ``startup_s`` the model and encoder load. No rclpy.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leovl_ros.agent.node_config import DialogueConfig, FusionConfig
from leovl_ros.eval.bag_report import (
    EvalError,
    ReportInputs,
    bag_is_compressed,
    bag_questions,
    eval_params,
    prediction_record,
    session_id,
)


def node_config(cls: type, params: dict[str, Any]) -> Any:
    """A node's config (``agent.node_config``) from its YAML parameters (ROS-only keys such as use_sim_time
    skipped): the same defaults and checks the node applies at start."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in params.items() if k in names})


def _stamp_ns(msg: Any) -> int:
    """Header stamp in nanoseconds (the node's ``conv.stamp_to_ns``)."""
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def _pose_entry(msg: Any, map_frame: str) -> tuple[Optional[np.ndarray], Any]:
    """PoseStamped → (4×4 or None, rejection): ``ros.pose_input.PoseInput._on_pose`` (``pose_source: topic``)."""
    from leovl_ros.agent.validation import InputRejected, Reason, Rejection, check_pose_matrix, pose_matrix

    frame = msg.header.frame_id.lstrip("/")
    try:
        if frame and frame != map_frame:
            raise InputRejected(Rejection(Reason.POSE_INVALID, f"pose in frame {frame!r}, expected {map_frame!r}"))
        T = pose_matrix(msg.pose.position, msg.pose.orientation)
        return T, check_pose_matrix(T)
    except InputRejected as exc:
        return None, exc.rejection


def _tf_pose(tf: Any, map_frame: str, colour: Any) -> Optional[np.ndarray]:
    """map ← image frame at the colour stamp, as ``leovl-bag play`` publishes it (through a position + quaternion,
    the PoseStamped round trip); None where the TF tree has no answer (the player then publishes no pose)."""
    from leovl_ros.geometry.transforms import matrix_to_quat_xyzw, quat_xyzw_to_matrix
    from leovl_ros.io.tf_buffer import TfLookupError

    try:
        T = tf.lookup(map_frame, colour.header.frame_id, _stamp_ns(colour))
    except TfLookupError:
        return None
    out = np.eye(4)
    out[:3, :3] = quat_xyzw_to_matrix([float(v) for v in matrix_to_quat_xyzw(T[:3, :3])])
    out[:3, 3] = T[:3, 3]
    return out


class OfflineFusion:
    """The fusion node's input path and worker, synchronous: bag messages in, frames fused into ``map_handle``."""

    def __init__(self, fusion: FusionConfig) -> None:
        """``fusion``: the fusion node's configuration (from ``eval_params()['fusion']['ros__parameters']``)."""
        from leovl_ros.agent.frame_sync import ApproxTimeSync, DropCounters
        from leovl_ros.agent.map_handle import new_map_handle
        from leovl_ros.cfg.pipeline import FrameFuser, load_encoder

        self.p = fusion
        self.encoder = self._deploy(load_encoder(fusion.encoder_kind, fusion.encoder_path))
        self.map_handle = new_map_handle(int(self.encoder.feature_dim), fusion.voxel_size, fusion.capacity,
                                         fusion.compiled_fusion)
        self.fuser = FrameFuser(self.encoder, fusion.fuser_config())
        with self.map_handle.locked() as store:
            self.fuser.warm_up(store.config)
        slops = [fusion.sync_slop, fusion.max_pose_age]
        self.sync = ApproxTimeSync(3, slops[0], fusion.sync_queue_size, self._on_synced, self._on_unsynced,
                                   slops_s=slops)
        self.drops = DropCounters()
        self.info: Any = None
        self.last_stamp_ns: Optional[int] = None
        self.received = 0
        self.fused = 0

    def _deploy(self, encoder: Any) -> Any:
        """The fusion node's ``_deploy``: the encoder on the runtime its ``backend`` parameters select (where this
        tree has ``leovl_ros.runtime.deploy``; else the PyTorch module, as the node then runs it)."""
        import torch

        from leovl_ros.runtime.deploy import DeployedImageEncoder

        p = self.p
        deployed = DeployedImageEncoder(encoder, (p.encoder_height, p.encoder_width), p.deploy_config(),
                                        threads=max(1, torch.get_num_threads()))
        self.backend = deployed.description
        return deployed

    def _reject(self, rejection: Any) -> None:
        self.drops.add(rejection.reason.value)

    def add(self, role: str, msg: Any) -> None:
        """One bag message: role 'colour', 'depth', 'info' or 'pose' (a PoseStamped, or a 4×4 / None from TF)."""
        if role == "info":
            self.info = msg
        elif role == "colour":
            self.received += 1
            self.sync.add(0, _stamp_ns(msg), msg)
        elif role == "depth":
            self.sync.add(1, _stamp_ns(msg), msg)
        else:
            stamp, entry = msg
            self.sync.add(2, stamp, entry)

    def _on_unsynced(self, stamp_ns: int, msg: Any, missing: list[int]) -> None:
        from leovl_ros.agent.validation import Reason, Rejection

        if 1 in missing:
            self._reject(Rejection(Reason.UNSYNCED, "no depth"))
        elif self.sync.seen(2):
            self._reject(Rejection(Reason.POSE_STALE, "no pose within max_pose_age"))
        else:
            self._reject(Rejection(Reason.POSE_MISSING, "no pose"))

    def _on_synced(self, stamp_ns: int, msgs: list[Any]) -> None:
        """The node's ``_on_synced`` (order, camera_info, pose) and, in eval mode's order, its worker's ``_fuse``."""
        from leovl_ros.agent.validation import InputRejected, Reason, Rejection, check_stamp_order

        colour, depth, (pose, rejection) = msgs
        order = check_stamp_order(stamp_ns, self.last_stamp_ns)
        if order is not None:
            rejection = order
        elif self.info is None:
            rejection = Rejection(Reason.CAMERA_INFO, "no camera_info")
        if rejection is not None:
            self._reject(rejection)
            return
        self.last_stamp_ns = stamp_ns
        try:
            frame = self.fuser.prepare(colour, depth, self.info, pose, stamp_ns)
            with self.map_handle.locked() as store:
                self.fuser.fuse(store, frame)
        except InputRejected as exc:
            self._reject(exc.rejection)
            return
        except Exception:  # the node counts any fusion failure and keeps going
            self._reject(Rejection(Reason.FUSION_ERROR, "fusion error"))
            return
        self.fused += 1

    def tokens(self) -> int:
        """CFG tokens the fusion node would publish for the map (its cell size and token budget)."""
        from leovl_ros.cfg.condense import condense

        with self.map_handle.locked() as store:
            if len(store) == 0:
                return 0
            return len(condense(store, self.p.condense_config()))


def _answerer(dialogue: DialogueConfig, map_handle: Any, model_dir: Path, device: str) -> Any:
    """The dialogue node's ``Answerer`` with its parameters' limits."""
    from leovl_ros.agent.answering import Answerer, load_agent

    return Answerer(load_agent(str(model_dir), device, dialogue.max_sessions), map_handle, dialogue.answerer_config())


def _ask(answerer: Any, q: Any) -> dict[str, Any]:
    """The dialogue node's ``_on_ask`` for one annotation question (situation pose as ``leovl-eval`` sends it)."""
    from leovl_ros.agent.answering import situation_pose_matrix

    item = q.item
    pose = None
    if item.position is not None and item.rotation_xyzw is not None:
        pose = situation_pose_matrix(tuple(float(v) for v in item.position),
                                     tuple(float(v) for v in item.rotation_xyzw))
    t0 = time.perf_counter()
    reply = answerer.ask(item.question, session_id(q), item.situation or "", pose)
    return prediction_record(q, prediction=reply.answer, success=reply.success, error=reply.error,
                             confidence=reply.confidence, cell_ids=reply.cell_ids, object_ids=reply.object_ids,
                             scene_tokens=reply.scene_tokens, latency_ms=reply.latency_ms,
                             round_trip_ms=(time.perf_counter() - t0) * 1e3)


def _bag_messages(bag: Path, check: Any, map_frame: str) -> Any:
    """(role, message, log time ns) in bag order; with TF poses, a ('pose', (stamp, (T, rejection))) before each
    colour image whose pose composes (as ``leovl-bag play`` publishes them)."""
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    from leovl_ros.agent.validation import check_pose_matrix

    ts = get_typestore(Stores.ROS2_KILTED)
    roles = {check.topics[r]: r for r in ("colour", "depth", "info")}
    tf = None
    if check.pose_source == "tf":
        from leovl_ros.io.tf_buffer import buffer_from_bag

        tf = buffer_from_bag(bag)
    else:
        roles[check.topics["pose"]] = "pose"
    with Reader(bag) as reader:
        conns = [c for c in reader.connections if c.topic in roles]
        for conn, ns, raw in reader.messages(connections=conns):
            role = roles[conn.topic]
            msg = ts.deserialize_cdr(raw, conn.msgtype)
            if role == "pose":
                yield role, (_stamp_ns(msg), _pose_entry(msg, map_frame)), ns
                continue
            if role == "colour" and tf is not None:
                T = _tf_pose(tf, map_frame, msg)
                if T is not None:
                    yield "pose", (_stamp_ns(msg), (T, check_pose_matrix(T))), ns
                else:
                    yield "pose_error", None, ns
            yield role, msg, ns


def evaluate_bag(model_dir: str | Path | None, bag: str | Path, out: str | Path, annotations: tuple = (),
                 scene_id: Optional[str] = None, params: Optional[Path] = None, device: str = "cpu",
                 threads: Optional[int] = None) -> dict[str, Any]:
    """Fuse ``bag`` offline with ``model_dir``'s encoder, answer its annotations, write ``leovl-eval``'s outputs to
    ``out``; returns the figures (``report.json``'s) with ``exit_code``. ``EvalError`` for a bad bag/annotations.
    ``threads``: torch intra-op threads while it runs (None: torch's default); the caller's count is restored."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        return _evaluate_bag(model_dir, bag, out, annotations, scene_id, params, device, threads)
    finally:
        torch.set_num_threads(before)


def _evaluate_bag(model_dir: str | Path | None, bag: str | Path, out: str | Path, annotations: tuple,
                  scene_id: Optional[str], params: Optional[Path], device: str, threads: Optional[int]
                  ) -> dict[str, Any]:
    """``evaluate_bag``'s body."""
    from leovl_ros.agent.answering import check_model_dir
    from leovl_ros.eval.bag_report import write_outputs

    t_start = time.monotonic()
    bag, out = Path(bag), Path(out).resolve()
    questions, check = bag_questions(bag, [Path(a) for a in annotations], scene_id)
    try:
        model = check_model_dir(str(model_dir) if model_dir else "")
    except RuntimeError as exc:
        raise EvalError(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    p = eval_params(params, str(model), compressed=bag_is_compressed(check))
    fusion_p = node_config(FusionConfig, p["fusion"]["ros__parameters"])
    dialogue_p = node_config(DialogueConfig, p["dialogue"]["ros__parameters"])
    print(f"bag_eval: {check.frames} frames, {len(questions)} questions, poses from {check.pose_source}, "
          f"scene {check.scene_id or '?'}; outputs in {out}", file=sys.stderr)

    fusion = OfflineFusion(fusion_p)
    answerer = _answerer(dialogue_p, fusion.map_handle, model, device)
    startup_s = time.monotonic() - t_start

    timed = sorted((q for q in questions if q.bag_time_s is not None), key=lambda q: q.bag_time_s)
    results: list[dict[str, Any]] = []
    frame_log: list[tuple[float, float]] = []
    status_log: list[tuple[float, int, int]] = []
    first_colour: Optional[int] = None
    first_ns = last_ns = None
    pose_errors = 0
    t_first = None
    for role, msg, ns in _bag_messages(bag, check, fusion_p.map_frame):
        first_ns = ns if first_ns is None else first_ns
        last_ns = ns
        if role == "pose_error":
            pose_errors += 1
            continue
        if role == "colour":  # leovl-eval's gate: frames before this one fused, then the questions now due
            while timed and frame_log and timed[0].bag_time_s <= frame_log[-1][0]:
                results.append(_ask(answerer, timed.pop(0)))
            first_colour = ns if first_colour is None else first_colour
            t_first = time.monotonic() if t_first is None else t_first
            frame_log.append(((ns - first_colour) * 1e-9, time.monotonic()))
        fusion.add(role, msg)
        if role == "depth":
            status_log.append((time.monotonic(), fusion.fused, fusion.drops.total()))
    t_done = time.monotonic()
    for q in timed + [q for q in questions if q.bag_time_s is None]:
        results.append(_ask(answerer, q))
    fusion.map_handle.save(out / "map.safetensors")
    bag_s = max((last_ns - first_ns) * 1e-9 if first_ns is not None else 0.0, 1e-9)
    replay_wall_s = t_done - (t_first or t_done)
    figures = {
        "frames_in_bag": check.frames, "frames_sent": fusion.received, "frames_fused": fusion.fused,
        "frames_dropped": fusion.drops.total(), "drops": {r: c for r, c in fusion.drops.snapshot().items() if c},
        "drained": True, "gate_timeouts": 0, "pose_errors": pose_errors, "bag_s": bag_s,
        "replay_wall_s": replay_wall_s, "wall_over_bag": replay_wall_s / bag_s, "startup_s": startup_s,
        "voxels": len(fusion.map_handle), "tokens": fusion.tokens(),
    }
    inputs = ReportInputs(bag=bag, model=str(model), annotations=[Path(a) for a in annotations],
                          options={"offline": True, "device": device, "threads": threads,
                                   "encoder_backend": getattr(fusion, "backend", "pytorch")},
                          title="bag_eval (offline)")
    figures["exit_code"] = write_outputs(inputs, out, check, results, figures, frame_log, status_log, t_start)
    return figures


def build_parser() -> argparse.ArgumentParser:
    """Options of ``python -m training.bag_eval``."""
    p = argparse.ArgumentParser(prog="python -m training.bag_eval", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("bag", type=Path, help="rosbag2 folder (MCAP or sqlite3) with posed RGB-D")
    p.add_argument("--out", type=Path, required=True, help="output folder (leovl-eval's files)")
    p.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: the shipped models/default)")
    p.add_argument("--annotations", type=Path, nargs="+", default=[],
                   help="question file(s) (default: BAG/annotations.json)")
    p.add_argument("--scene-id", default=None, help="scene of the bag when its metadata has none")
    p.add_argument("--params", type=Path, default=None, help="agent parameter file (default config/agent.yaml)")
    p.add_argument("--device", default="cpu", help="torch device of the language model")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's; 1 is much "
                   "faster on a loaded machine)")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """0 done, 1 nothing fused or a question unanswered, 2 bad input (one line)."""
    args = build_parser().parse_args(argv)
    try:
        figures = evaluate_bag(args.model, args.bag, args.out, tuple(args.annotations), args.scene_id, args.params,
                               args.device, args.threads)
    except EvalError as exc:
        print(f"bag_eval: error: {exc}", file=sys.stderr)
        return 2
    return int(figures["exit_code"])


if __name__ == "__main__":
    raise SystemExit(main())
