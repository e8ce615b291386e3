"""``leovl-demo`` (``make demo``): the agent on a synthetic room over real ROS 2 topics, scripted questions, a report.

Steps, each with visible progress: (1) start the agent (``leovl-agent``: fusion + dialogue in one process) and,
in a separate process, the camera stand-in (``sim_camera_node``) that renders the synthetic room and streams
colour, depth, camera_info and the camera pose; (2) wait until the streamed frames are fused; (3) ask scripted
questions through ``/dialogue/ask`` — counting, colour, spatial relations, situated questions with a pose, a
multi-turn follow-up — whose ground truth comes from the scene itself (``leovl_ros.sim.tasks``), printing
question, answer, ground truth and latency; (4) save the map and write ``demo_out/`` with a top-down PNG of the
CFG (cells coloured, grounded cells highlighted, the camera path) and ``report.md``.
No robot, no downloads; the shipped model (``models/default``) answers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import yaml

from leovl_ros.agent.answering import check_model_dir


@dataclass
class DemoConfig:
    """Options of one demo run."""

    out: Path = Path("demo_out")
    """Output folder (report.md, topdown.png, answers.json, map, logs)."""
    seed: int = 0
    """Synthetic scene and trajectory seed."""
    frames: int = 150
    """Frames the camera stand-in renders and streams once."""
    rate: float = 15.0
    """Stream rate (Hz)."""
    width: int = 320
    """Rendered image width (the fusion node encodes at 320×240 anyway)."""
    height: int = 240
    """Rendered image height."""
    model: str = ""
    """Checkpoint folder; empty = the shipped default model."""
    max_questions: int = 14
    """Scripted questions asked (follow-up turns included)."""
    unseen_wordings: int = 4
    """How many of them are worded with phrasing families held out of training."""
    rerun: Optional[Path] = None
    """Also write a rerun recording here (camera images, CFG, trajectory, each answer's grounding)."""
    timeout_s: float = 300.0
    """Give up (exit 1, logs kept) after this long."""


@dataclass
class DemoQuestion:
    """A scripted question with its ground truth from the scene."""

    question: str
    """Question text."""
    answers: list[str]
    """Ground-truth answers (any counts as right)."""
    question_type: str
    """Task question type (counting, colour, spatial_relation, situated_direction, …)."""
    session_id: str = "demo"
    """Dialogue session (follow-ups share one)."""
    situation: str = ""
    """Situation text of situated questions."""
    position: Optional[list[float]] = None
    """Situation position (map frame) or None."""
    rotation_xyzw: Optional[list[float]] = None
    """Situation orientation (x, y, z, w) or None."""
    wording: str = "seen"
    """``unseen``: worded with a phrasing family held out of training (the model never saw that wording)."""


@dataclass
class DemoResult:
    """A question with what the agent answered."""

    q: DemoQuestion
    """The question."""
    answer: str = ""
    """The agent's answer (or the error text)."""
    success: bool = False
    """The service reported success."""
    em: bool = False
    """Exact match (LEO normalisation)."""
    em_refined: bool = False
    """Refined exact match."""
    latency_ms: float = 0.0
    """Server-side latency."""
    round_trip_ms: float = 0.0
    """Client round trip (DDS included)."""
    scene_tokens: int = 0
    """CFG tokens in the prompt."""
    cell_ids: list[int] = field(default_factory=list)
    """Grounded CFG cells."""


def demo_questions(samples: list[Any]) -> list[DemoQuestion]:
    """The scripted samples (``sim.demo_questions``) as questions: a dialogue sample's earlier turns first."""
    chosen: list[DemoQuestion] = []
    for s in samples:
        if s.task == "dialogue":
            for turn_q, turn_a in s.history:
                chosen.append(DemoQuestion(turn_q, [turn_a], "dialogue", session_id="demo-dialogue"))
            chosen.append(DemoQuestion(s.question, list(s.answers), f"follow-up ({s.question_type})",
                                       session_id="demo-dialogue", wording=s.wording))
            continue
        situated = s.task == "situated_qa"
        chosen.append(DemoQuestion(
            s.question, list(s.answers), s.question_type, session_id="demo-situated" if situated else "demo",
            situation=s.situation or "", wording=s.wording,
            position=None if s.position is None else [float(v) for v in s.position],
            rotation_xyzw=None if s.rotation_xyzw is None else [float(v) for v in s.rotation_xyzw]))
    return chosen


def when_question(scene: Any, seen: set[int]) -> str:
    """"When did you last see the X?" about the largest seen object whose class the room holds once (empty when
    none): the demo asks it on the ``~/question`` topic, whose answer says the time in words."""
    unique = [o for o in scene.objects
              if o.id in seen and sum(other.cls == o.cls for other in scene.objects) == 1]
    if not unique:
        return ""
    biggest = max(unique, key=lambda o: float(np.prod(o.size)))
    return f"when did you last see the {biggest.cls}?"


def score(answer: str, refs: list[str]) -> tuple[bool, bool]:
    """(EM, EM-refined) with the field's normalisation."""
    from leovl_ros.eval.metrics import exact_match, refined_exact_match

    return exact_match(answer, refs), refined_exact_match(answer, refs)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0 for no values)."""
    return float(np.percentile(values, q)) if values else 0.0


def write_report(out: Path, config: DemoConfig, results: list[DemoResult], stats: dict[str, Any],
                 topic: Optional[dict[str, str]] = None) -> Path:
    """``report.md``: run figures, the question table, the ``~/question`` topic exchange (``topic``) and notes."""
    lat = [r.latency_ms for r in results if r.success]
    lines = [
        "# leovl_ros embedded demo",
        "",
        f"Synthetic room seed {config.seed}: {stats.get('frames_published', 0)} frames of {config.width}×"
        f"{config.height} streamed at {config.rate:g} Hz over ROS 2 from a separate process; the agent fused "
        f"{stats.get('frames_fused', 0)} ({stats.get('frames_dropped', 0)} dropped, by reason: "
        f"{stats.get('drops', {})}) into {stats.get('voxels', 0)} voxels → {stats.get('tokens', 0)} CFG tokens.",
        f"Model: `{stats.get('model', '')}`. Wall time {stats.get('wall_s', 0):.0f} s.",
        "",
        f"Answered {sum(r.success for r in results)}/{len(results)}; EM {sum(r.em for r in results)}/{len(results)}, "
        f"EM-R {sum(r.em_refined for r in results)}/{len(results)}; ask latency p50 {percentile(lat, 50):.0f} ms, "
        f"p95 {percentile(lat, 95):.0f} ms.",
        "",
        "| # | type | session | question | answer | ground truth | EM | latency ms | scene tokens |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    for i, r in enumerate(results, 1):
        q = r.q.question + (f" *(situation: {r.q.situation})*" if r.q.situation else "")
        lines.append(f"| {i} | {r.q.question_type} | {r.q.session_id} | {cell(q)} | {cell(r.answer) or '—'} | "
                     f"{cell(' / '.join(r.q.answers))} | {'✓' if r.em else ('~' if r.em_refined else '✗')} | "
                     f"{r.latency_ms:.0f} | {r.scene_tokens} |")
    if topic and topic.get("question"):
        lines += ["", f"On the topics (`/dialogue/question` → `/dialogue/answer`, words a person reads; the time is "
                      f"the map's, not the model's): *{topic['question']}* → **{topic['answer'] or '(no answer)'}**"]
    lines += [
        "",
        "![top-down CFG](topdown.png)",
        "",
        "Top-down: one square per CFG cell in its fused colour; magenta outlines = cells the answers were grounded "
        "on (model attention); black line = camera path (green start, red end).",
        "",
        "Ground truth comes from the scene generator (`leovl_ros.sim.tasks`), restricted to objects the camera saw; "
        "answers come from the model only. EM uses LEO's normalisation; an empty answer scores 0. Logs: `logs/`.",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_params(config: DemoConfig, path: Path) -> Path:
    """``config/agent.yaml`` with the demo's overrides (model and its 2D encoder, stream seed/size/rate, once)."""
    from leovl_ros.agent.paths import image_encoder_dir
    from leovl_ros.ros.bringup import default_params_file

    params = yaml.safe_load(default_params_file().read_text())
    params["dialogue"]["ros__parameters"]["model_path"] = config.model
    if config.model:  # fuse with the 2D encoder this checkpoint was trained on, where it ships one
        found = image_encoder_dir(Path(config.model))
        if found is not None:
            params["fusion"]["ros__parameters"]["encoder_path"] = str(found)
    params["sim_camera"]["ros__parameters"].update(
        seed=config.seed, frames=config.frames, rate=float(config.rate), width=config.width, height=config.height,
        loop=False, wait_for_subscribers=1)  # the fusion node must be listening before the first frame goes out
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


class Stage:
    """A step with a deadline: prints what it waits for, raises ``TimeoutError`` with the reason."""

    def __init__(self, deadline: float) -> None:
        """Give up at ``deadline`` (time.monotonic())."""
        self.deadline = deadline

    def check(self, what: str, agent: Optional[subprocess.Popen]) -> None:
        """Raise when the deadline passed or the agent process died while ``what`` was awaited."""
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"timed out while {what}")
        if agent is not None and agent.poll() is not None:
            raise RuntimeError(f"the agent process exited (code {agent.returncode}) while {what}")


def run(config: DemoConfig) -> int:
    """The whole demo; returns the exit code."""
    import rclpy
    from geometry_msgs.msg import PoseStamped
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from std_msgs.msg import String
    from tqdm import tqdm

    from leovl_interfaces.msg import FusionStatus
    from leovl_interfaces.srv import Ask, MapFile
    from leovl_ros.ros.conversions import pose_to_matrix
    from leovl_ros.ros.env import ros_environment
    from leovl_ros.ros.qos import reliable_qos
    from leovl_ros.sim.demo_questions import seen_along, select_demo_questions
    from leovl_ros.sim.render import default_intrinsics
    from leovl_ros.sim.trajectory import robot_trajectory
    from leovl_ros.sim.world import generate_scene

    t_start = time.monotonic()
    stage = Stage(t_start + config.timeout_s)
    out = config.out.resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    model_dir = check_model_dir(config.model)
    config.model = str(model_dir)
    params = write_params(config, out / "params.yaml")
    env = {**os.environ, **ros_environment(), "RCUTILS_LOGGING_BUFFERED_STREAM": "0"}
    procs: dict[str, subprocess.Popen] = {}
    logs = {name: open(out / "logs" / f"{name}.log", "w") for name in ("agent", "sim_camera")}
    print(f"leovl-demo: model {model_dir}; outputs in {out}")
    rclpy.init()
    node = Node("leovl_demo")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    status: list[Any] = []
    poses: list[np.ndarray] = []

    def on_pose(msg: PoseStamped) -> None:
        poses.append(pose_to_matrix(msg.pose))

    node.create_subscription(FusionStatus, "/fusion/status", status.append, reliable_qos(10))
    node.create_subscription(PoseStamped, "/camera/pose", on_pose, reliable_qos(100))
    ask = node.create_client(Ask, "/dialogue/ask")
    topic_answers: list[str] = []
    node.create_subscription(String, "/dialogue/answer", lambda msg: topic_answers.append(msg.data), reliable_qos())
    topic_question = node.create_publisher(String, "/dialogue/question", reliable_qos())
    save = node.create_client(MapFile, "/fusion/save_map")

    def spin_until(predicate: Any, what: str) -> None:
        while not predicate():
            stage.check(what, procs.get("agent"))
            executor.spin_once(timeout_sec=0.05)

    def call(client: Any, request: Any, what: str) -> Any:
        future = client.call_async(request)
        spin_until(future.done, what)
        return future.result()

    try:
        print("[1/4] starting the agent: fusion + dialogue nodes in one process (logs/agent.log)")
        rerun = ["--rerun", str(config.rerun.resolve())] if config.rerun else []
        procs["agent"] = subprocess.Popen([sys.executable, "-m", "leovl_ros.ros.bringup", "--params", str(params),
                                           *rerun], stdout=logs["agent"], stderr=subprocess.STDOUT, env=env)
        spin_until(ask.service_is_ready, "waiting for the agent's /dialogue/ask service (see logs/agent.log)")
        spin_until(lambda: bool(status), "waiting for the fusion node's /fusion/status (see logs/agent.log)")
        print(f"      agent up after {time.monotonic() - t_start:.0f} s; starting the camera stand-in "
              f"(separate process, logs/sim_camera.log)")
        procs["sim_camera"] = subprocess.Popen(
            [sys.executable, "-m", "leovl_ros.ros.sim_camera_node", "--ros-args", "--params-file", str(params)],
            stdout=logs["sim_camera"], stderr=subprocess.STDOUT, env=env)
        bar = tqdm(total=config.frames, desc="[2/4] rendering the room", unit="frame", mininterval=0.5)
        log_path = out / "logs" / "sim_camera.log"

        def streamed() -> bool:
            text = log_path.read_text(errors="replace")
            prepared = [int(line.split("prepared ")[1].split("/")[0]) for line in text.splitlines()
                        if "prepared " in line]
            if prepared and prepared[-1] != bar.n:
                bar.update(prepared[-1] - bar.n)
            return "ready in" in text or procs["sim_camera"].poll() is not None

        spin_until(streamed, "waiting for the camera stand-in to render (see logs/sim_camera.log)")
        bar.close()
        bar = tqdm(total=config.frames, desc="[2/4] streaming + fusing", unit="frame", mininterval=0.5)

        def fused() -> int:
            return int(status[-1].frames_fused) if status else 0

        def stream_done() -> bool:
            if len(poses) != bar.n:
                bar.set_postfix(fused=fused(), refresh=False)
                bar.update(len(poses) - bar.n)
            return procs["sim_camera"].poll() is not None

        spin_until(stream_done, "streaming frames")
        settle = time.monotonic()
        last = fused()
        while time.monotonic() - settle < 1.5:  # the worker drains its last frame
            stage.check("waiting for the last frames to fuse", procs.get("agent"))
            executor.spin_once(timeout_sec=0.05)
            if fused() != last:
                last, settle = fused(), time.monotonic()
        bar.close()
        final = status[-1] if status else FusionStatus()
        # the frames that reached the agent: the demo's own pose subscription may match after the first went out
        streamed = max(len(poses), int(final.frames_fused) + int(final.frames_dropped))
        print(f"      fused {final.frames_fused} of {streamed} frames ({final.frames_dropped} dropped), "
              f"{final.voxels} voxels, {final.tokens} CFG tokens")
        if final.voxels == 0:
            raise RuntimeError("nothing was fused (see logs/agent.log)")

        scene = generate_scene(config.seed)
        K = default_intrinsics(config.width, config.height)
        # the path the stand-in follows (deterministic), not the poses this process happened to receive: on a
        # loaded machine the demo's own subscription can match after the first frames went out
        planned = np.array(robot_trajectory(scene, config.frames, config.seed, fps=config.rate))
        seen = seen_along(scene, planned, K, config.width, config.height)
        questions = demo_questions(select_demo_questions(scene, planned, K, config.width, config.height, config.seed,
                                                         config.max_questions, config.unseen_wordings, seen))
        if not questions:
            raise RuntimeError(f"no question to ask: the camera path saw {len(seen)} objects "
                               f"(frames {config.frames}, seed {config.seed})")
        held_out = sum(q.wording == "unseen" for q in questions)
        print(f"[3/4] asking {len(questions)} questions about the {len(seen)} objects the camera saw "
              f"(ground truth from the scene generator; {held_out} in wordings held out of training, marked *)")
        results: list[DemoResult] = []
        for i, q in enumerate(questions, 1):
            request = Ask.Request(question=q.question, session_id=q.session_id, situation_text=q.situation)
            if q.position is not None and q.rotation_xyzw is not None:
                request.has_situation_pose = True
                p, o = request.situation_pose.position, request.situation_pose.orientation
                p.x, p.y, p.z = q.position
                o.x, o.y, o.z, o.w = q.rotation_xyzw
            t0 = time.perf_counter()
            reply = call(ask, request, f"waiting for the answer to {q.question!r}")
            rt = (time.perf_counter() - t0) * 1e3
            answer = reply.answer if reply.success else f"[{reply.error}]"
            em, emr = score(reply.answer, q.answers) if reply.success else (False, False)
            results.append(DemoResult(q, answer, reply.success, em, emr, float(reply.latency_ms), rt,
                                      int(reply.scene_tokens), [int(c) for c in reply.cell_ids]))
            mark = "✓" if em else ("~" if emr else "✗")
            situation = f"  [situation: {q.situation}]" if q.situation else ""
            star = "*" if q.wording == "unseen" else " "
            print(f"  {i:2d}.{star}({q.question_type}, session {q.session_id}) {q.question}{situation}\n"
                  f"      answer: {answer!r}   ground truth: {' / '.join(q.answers)!r} {mark}   "
                  f"{reply.latency_ms:.0f} ms, {reply.scene_tokens} scene tokens")
        when = when_question(scene, seen)
        if when:
            topic_question.publish(String(data=when))
            spin_until(lambda: bool(topic_answers), f"waiting for /dialogue/answer to {when!r}")
            print(f"      on the topics (/dialogue/question → /dialogue/answer): {when}\n"
                  f"      answer: {topic_answers[-1]!r}")

        print("[4/4] saving the map and writing the report")
        saved = call(save, MapFile.Request(path=str(out / "map.safetensors")), "saving the map")
        if not saved.success:
            raise RuntimeError(f"save_map failed: {saved.message}")
        picture = topdown(out, model_dir, results, np.array(poses), config.seed)
        stats = {"frames_published": streamed, "frames_fused": int(final.frames_fused),
                 "frames_dropped": int(final.frames_dropped),
                 "drops": {r: int(c) for r, c in zip(final.drop_reasons, final.drop_counts) if c},
                 "voxels": int(final.voxels), "tokens": int(final.tokens), "model": str(model_dir),
                 "wall_s": time.monotonic() - t_start}
        topic = {"question": when, "answer": topic_answers[-1] if topic_answers else ""}
        (out / "answers.json").write_text(json.dumps(
            {"stats": stats, "results": [asdict(r) for r in results], "topic": topic}, indent=1, default=str))
        report = write_report(out, config, results, stats, topic)
        n = len(results)
        print(f"done in {stats['wall_s']:.0f} s: {sum(r.success for r in results)}/{n} answered, "
              f"EM {sum(r.em for r in results)}/{n}, EM-R {sum(r.em_refined for r in results)}/{n}\n"
              f"  report {report}\n  picture {picture}\n  map {out / 'map.safetensors'} "
              f"(try: leovl-ask --map {out / 'map.safetensors'} \"how many chairs are in the room?\")")
        return 0 if results and all(r.success for r in results) else 1
    except (TimeoutError, RuntimeError) as exc:
        print(f"leovl-demo: error: {exc}", file=sys.stderr)
        for name in procs:
            tail = (out / "logs" / f"{name}.log").read_text(errors="replace").splitlines()[-15:]
            print(f"---- last lines of logs/{name}.log ----\n" + "\n".join(tail), file=sys.stderr)
        return 1
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()  # SIGTERM: the same clean stop as Ctrl-C, and not ignored when run in the background
        for proc in procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for f in logs.values():
            f.close()
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        rclpy.try_shutdown()


def topdown(out: Path, model_dir: Path, results: list[DemoResult], poses: np.ndarray, seed: int) -> Path:
    """The saved map condensed as the model condenses it; answers' grounded cells highlighted; camera path."""
    from leovl_ros.agent.topdown import plot_topdown
    from leovl_ros.cfg.condense import CondenseConfig, condense
    from leovl_ros.cfg.voxel_store import VoxelStore
    from leovl_ros.model.checkpoint import read_config

    store = VoxelStore.from_file(out / "map.safetensors")
    batch = condense(store, CondenseConfig(**read_config(model_dir).condense))
    cells = sorted({c for r in results for c in r.cell_ids})
    path = poses[:, :3, 3] if len(poses) else None
    return plot_topdown(batch.xy, batch.cell_size, batch.colour, out / "topdown.png", highlight=cells,
                        camera_path=path, title=f"synthetic room {seed}: {len(batch)} CFG cells, "
                                                f"{len(cells)} grounded by {len(results)} answers")


def build_parser() -> argparse.ArgumentParser:
    """Command-line options (defaults: ``DemoConfig``)."""
    d = DemoConfig()
    parser = argparse.ArgumentParser(prog="leovl-demo", description=__doc__.split("\n\n")[0].replace("``", ""))
    parser.add_argument("--out", type=Path, default=d.out, help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed, help="synthetic room seed (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=d.frames, help="frames to stream (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=d.rate, help="stream rate in Hz (default: %(default)s)")
    parser.add_argument("--width", type=int, default=d.width, help="image width (default: %(default)s)")
    parser.add_argument("--height", type=int, default=d.height, help="image height (default: %(default)s)")
    parser.add_argument("--model", default=d.model, help="checkpoint folder (default: models/default)")
    parser.add_argument("--questions", type=int, default=d.max_questions, dest="max_questions",
                        help="questions to ask, follow-ups included (default: %(default)s)")
    parser.add_argument("--rerun", type=Path, default=None, metavar="FILE",
                        help="also write a rerun recording (.rrd) of the run; view it with `rerun FILE`")
    parser.add_argument("--unseen-wordings", type=int, default=d.unseen_wordings,
                        help="how many questions use wordings held out of training (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=d.timeout_s, dest="timeout_s",
                        help="give up after this many seconds (default: %(default)s)")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-demo``."""
    config = DemoConfig(**vars(build_parser().parse_args(argv)))
    try:
        check_model_dir(config.model)
    except RuntimeError as exc:
        print(f"leovl-demo: error: {exc}", file=sys.stderr)
        return 2
    return run(config)


if __name__ == "__main__":
    raise SystemExit(main())
