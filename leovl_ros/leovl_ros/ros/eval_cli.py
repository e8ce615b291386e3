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
time); with ``--rerun FILE`` the agent also records the replay to a rerun ``.rrd`` (the fused images, the CFG,
the trajectory and each answer's grounding, as ``leovl-agent --rerun``). The last stdout line is a JSON summary
(frames_in_bag, frames_fused, questions, em, em_r, wall_over_bag, startup_s, ...; ``rerun`` with the recording's
counts). Steps 1, 4's records and 5 are the ROS-free ``leovl_ros.eval.bag_report``, which
the offline ``training/bag_eval.py`` shares.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from leovl_ros.eval.bag_report import (  # noqa: F401  (re-exported: the scoring half lives in the ROS-free core)
    EvalError,
    ReportInputs,
    bag_is_compressed,
    bag_questions,
    column_iou,
    eval_params,
    map_checksum,
    prediction_record,
    session_id,
    sha256_of,
    write_outputs,
)

STOP_TIMEOUT_S = 60.0
"""How long the started agent may take to shut down after SIGTERM before it is killed."""


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
    rerun: Optional[Path] = None


def agent_params(config: EvalConfig, path: Path, compressed: bool = False) -> Path:
    """``config/agent.yaml`` (or ``--params``) with the eval overrides of ``bag_report.eval_params``, written to
    ``path`` for the agent process."""
    params = eval_params(config.params, config.model, config.status_rate, compressed)
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


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
            rerun = ["--rerun", str(self.config.rerun)] if self.config.rerun else []
            self.agent = subprocess.Popen([sys.executable, "-m", "leovl_ros.ros.bringup", "--params", str(params),
                                           *rerun], stdout=self._log, stderr=subprocess.STDOUT, env=env)
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
        request = Ask.Request(question=item.question, session_id=session_id(q), situation_text=item.situation or "")
        if item.position is not None and item.rotation_xyzw is not None:
            request.has_situation_pose = True
            p, o = request.situation_pose.position, request.situation_pose.orientation
            p.x, p.y, p.z = (float(v) for v in item.position)
            o.x, o.y, o.z, o.w = (float(v) for v in item.rotation_xyzw)
        t0 = time.perf_counter()
        reply = self.call(self.ask, request, f"asking {item.question!r}")
        return prediction_record(q, prediction=reply.answer, success=reply.success, error=reply.error,
                                 confidence=reply.confidence, cell_ids=reply.cell_ids, object_ids=reply.object_ids,
                                 scene_tokens=reply.scene_tokens, latency_ms=reply.latency_ms,
                                 round_trip_ms=(time.perf_counter() - t0) * 1e3)

    def stop_agent(self) -> None:
        """SIGTERM the started agent (its clean stop, as Ctrl-C; SIGINT is ignored by a process a shell starts in the
        background) and wait for it (it closes its rerun recording on the way out: on a loaded machine that took over
        15 s once, and a kill leaves the recording's end unwritten)."""
        if self.agent is not None and self.agent.poll() is None:
            self.agent.terminate()
            try:
                self.agent.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.agent.kill()

    def close(self) -> None:
        self.stop_agent()
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()


def run(config: EvalConfig) -> int:
    """The whole evaluation; returns the exit code."""
    from leovl_ros.agent.answering import check_model_dir

    t_start = time.monotonic()
    questions, check = bag_questions(config.bag, config.annotations, config.scene_id)
    try:
        model_dir = check_model_dir(config.model)
    except RuntimeError as exc:
        raise EvalError(str(exc)) from exc
    config.model = str(model_dir)
    out = config.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    params = agent_params(config, out / "params.yaml", bag_is_compressed(check))
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
            inputs = ReportInputs(bag=config.bag, model=config.model, annotations=config.annotations,
                                  options={"rate": config.rate, "in_flight": config.in_flight,
                                           "use_running": config.use_running})
            if config.rerun:
                from leovl_ros.agent.recording import recording_summary

                replay.stop_agent()  # the recording is complete once the agent has closed it
                figures["rerun"] = {"path": str(config.rerun), "counts": recording_summary(config.rerun)}
            return write_outputs(inputs, out, check, results, figures, frame_log, replay.status_log, t_start)
        finally:
            if player is not None:
                player.close()
            replay.close()


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
                   "replay (default: a private one, 101 + pid %% 100; ignored with --use-running)")
    p.add_argument("--frame-timeout", type=float, default=20.0, dest="frame_timeout_s",
                   help="seconds to wait for one frame's status before sending the next anyway")
    p.add_argument("--startup-timeout", type=float, default=180.0, dest="startup_timeout_s",
                   help="seconds the started agent may take to offer /dialogue/ask and /fusion/status "
                        "(default %(default)s)")
    p.add_argument("--rerun", type=Path, default=None, metavar="FILE",
                   help="also record the replay to a rerun .rrd (fused images, CFG, trajectory, each answer's "
                        "grounding; as `leovl-agent --rerun`); view it with `rerun FILE`. Not with --use-running")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-eval``: 0 done, 1 failed during the run, 2 bad input (one line, no traceback)."""
    args = build_parser().parse_args(argv)
    if args.in_flight < 1 or args.rate < 0:
        print("leovl-eval: error: --in-flight must be >= 1 and --rate >= 0", file=sys.stderr)
        return 2
    if args.rerun and args.use_running:
        print("leovl-eval: error: --rerun records inside the agent leovl-eval starts; a running agent records "
              "with its own `leovl-agent --rerun FILE`", file=sys.stderr)
        return 2
    if args.rerun:
        args.rerun = args.rerun.expanduser().resolve()
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
