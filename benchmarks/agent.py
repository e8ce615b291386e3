"""The agent under load (one JSON line): RGB-D at ``--rate`` Hz over DDS from another process, fusion rate,
drops, frame accounting, stamp → fused latency, ``~/ask`` latency idle and while streaming, memory over time.

Set-up: this process hosts the agent exactly as ``leovl-agent`` does (fusion + dialogue nodes sharing the map,
each spun by the executor ``--executor`` names, torch intra-op threads as ``leovl-agent`` sets them; the fusion
node is subclassed only to record each fused frame's stamp → fused latency), plus a client node on its own DDS
participant that calls ``/dialogue/ask`` and records ``/fusion/status``. ``sim_camera_node`` runs in a separate
process and replays pre-rendered frames (rendered before the clock starts, so the renderer does not compete for
the cores) in a loop at ``--rate``; it is stopped with SIGINT and prints its own count of published frames.

Phases: warm-up until frames are fused; ``--minutes`` of streaming with ``--questions`` questions spread over it
(RSS sampled at 1 min and at the end); the camera stops, the fusion node drains; then the same questions are
asked idle. Figures (rates over the timed window, accounting over the whole stream):
``fused_fps`` and ``fused_fps_min_30s`` (worst 30 s window of the status counters), ``published_fps`` and
``published`` (the camera's own count), ``dropped_ratio`` (1 − fused / published in the window),
``uncounted_ratio`` (1 − (received + middleware-lost) / published), ``lost_inferred`` (frames missing from the
stamp sequence, ``~/status``) and ``lost_inferred_ratio``, ``frame_to_fused_ms_p50/p95``,
``ask_rtt_ms_idle_p95`` / ``ask_rtt_ms_streaming_p95`` (round trip; ``ask_ms_*`` service-side), ``backend``
(the 2D encoder's runtime), ``rss_growth_pct`` (minute 1 → end). No caching keyed on images or stamps; fusion
parameters as shipped in ``config/agent.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
import yaml
from geometry_msgs.msg import PoseStamped
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node

from leovl_interfaces.msg import FusionStatus
from leovl_interfaces.srv import Ask
from leovl_ros.ros.bringup import default_params_file
from leovl_ros.ros.dialogue_node import DialogueNode
from leovl_ros.ros.env import apply_ros_environment, ros_environment
from leovl_ros.ros.fusion_node import FusionNode
from leovl_ros.ros.lifecycle import bring_up
from leovl_ros.ros.qos import reliable_qos


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0, help="streaming duration in minutes (default 5)")
    p.add_argument("--questions", type=int, default=50, help="questions per phase (default 50)")
    p.add_argument("--rate", type=float, default=30.0, help="publish rate in Hz (default 30)")
    p.add_argument("--frames", type=int, default=60, help="pre-rendered frames replayed in a loop (default 60)")
    p.add_argument("--width", type=int, default=640, help="image width (default 640)")
    p.add_argument("--height", type=int, default=480, help="image height (default 480)")
    p.add_argument("--seed", type=int, default=0, help="synthetic room seed (default 0)")
    p.add_argument("--model", default="", help="checkpoint folder (default: models/default)")
    p.add_argument("--threads", type=int, default=4, help="threads of a 'multi'/'shared' executor (default 4)")
    p.add_argument("--executor", default="single", choices=("single", "multi", "shared"),
                   help="per-node executor kind as leovl-agent --executor, or 'shared': both nodes on one "
                        "MultiThreadedExecutor (the layout before issue 28) (default single)")
    p.add_argument("--torch-threads", type=int, default=-1,
                   help="torch intra-op threads (-1: what leovl-agent sets; 0: torch's default)")
    p.add_argument("--torch-fusion", action="store_true",
                   help="fuse with the torch ops instead of the compiled CPU loops (fusion parameter compiled_fusion)")
    return p.parse_args()


def rss_mb() -> float:
    """Resident set size of this process (MB) from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class TimedFusionNode(FusionNode):
    """The fusion node, recording the stamp → fused latency of every fused frame."""

    def __init__(self, **kwargs: Any) -> None:
        """As ``FusionNode``; ``latencies_ms`` collects one value per fused frame."""
        self.latencies_ms: list[float] = []
        super().__init__(**kwargs)

    def _inbox_empty(self) -> bool:
        """No frame waits for the worker (the drain check at the end of streaming)."""
        inbox = self._inbox
        return len(inbox) == 0 if hasattr(inbox, "__len__") else getattr(inbox, "_item", None) is None

    def _fuse(self, f: Any) -> None:
        before = self._fused
        super()._fuse(f)
        if self._fused > before:
            self.latencies_ms.append((self.get_clock().now().nanoseconds - f.stamp_ns) * 1e-6)


class Client:
    """A client node on its own Context/participant: asks questions, counts poses, records the fusion status."""

    def __init__(self) -> None:
        """Create the node, the ask client and the subscriptions."""
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = Node("agent_benchmark_client", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.poses = 0
        self.status: FusionStatus | None = None
        self.fused_series: list[tuple[float, int]] = []  # (monotonic s, frames_fused) per status message
        self.node.create_subscription(PoseStamped, "/camera/pose", self._on_pose, reliable_qos(100))
        self.node.create_subscription(FusionStatus, "/fusion/status", self._on_status, reliable_qos(10))
        self.ask_client = self.node.create_client(Ask, "/dialogue/ask")

    def _on_pose(self, _msg: PoseStamped) -> None:
        self.poses += 1

    def _on_status(self, msg: FusionStatus) -> None:
        self.status = msg
        self.fused_series.append((time.monotonic(), int(msg.frames_fused)))

    def spin_until(self, predicate: Any, timeout: float, what: str) -> None:
        """Spin until ``predicate()``; RuntimeError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out {what}")
            self.executor.spin_once(timeout_sec=0.02)

    def ask(self, question: str, session: str) -> tuple[float, float, bool]:
        """(service latency ms, round trip ms, success)."""
        t0 = time.perf_counter()
        future = self.ask_client.call_async(Ask.Request(question=question, session_id=session))
        self.spin_until(future.done, 60.0, f"waiting for an answer to {question!r}")
        reply = future.result()
        return float(reply.latency_ms), (time.perf_counter() - t0) * 1e3, bool(reply.success)

    def close(self) -> None:
        """Destroy the node and shut its context down."""
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def questions_for(seed: int, n: int) -> list[str]:
    """``n`` varied questions about the scene (task generator), cycled."""
    from leovl_ros.sim.tasks import generate_samples
    from leovl_ros.sim.world import generate_scene

    texts = [s.question for s in generate_samples(generate_scene(seed), seed) if s.task in ("qa", "dialogue")]
    return [texts[i % len(texts)] for i in range(n)]


def pct(values: list[float], q: float) -> float:
    """Rounded percentile (NaN when empty)."""
    return round(float(np.percentile(values, q)), 1) if values else float("nan")


def worst_window_fps(series: list[tuple[float, int]], t0: float, t1: float, window_s: float = 30.0) -> float:
    """Lowest fused frames/s over any ``window_s`` window inside [t0, t1] of (time, cumulative count) samples."""
    pts = [(t, n) for t, n in series if t0 - 1.0 <= t <= t1 + 1.0]
    worst = float("nan")
    j = 0
    for ti, ni in pts:
        while j < len(pts) and pts[j][0] - ti < window_s:
            j += 1
        if j == len(pts):
            break
        tj, nj = pts[j]
        rate = (nj - ni) / (tj - ti)
        worst = rate if not worst <= rate else worst
    return round(worst, 2)


def drop_count(status: FusionStatus, reason: str) -> int:
    """One drop counter of a status message (0 when absent)."""
    return next((int(c) for r, c in zip(status.drop_reasons, status.drop_counts) if r == reason), 0)


def camera_count(log_path: Path) -> int | None:
    """The camera's own count of published frames, from the line it prints when it stops."""
    from leovl_ros.ros.sim_camera_node import PUBLISHED_LOG

    found = re.findall(re.escape(PUBLISHED_LOG) + r" (\d+)", log_path.read_text(errors="replace"))
    return int(found[-1]) if found else None


def spin_agent(nodes: list[Node], kind: str, threads: int) -> Any:
    """Spin the agent's nodes like leovl-agent (per-node executors) or on one shared MultiThreadedExecutor."""
    if kind == "shared":
        executor = MultiThreadedExecutor(num_threads=threads)
        for node in nodes:
            executor.add_node(node)
        threading.Thread(target=executor.spin, daemon=True).start()
        return executor
    from leovl_ros.ros.executors import NodeThreads

    return NodeThreads(nodes, kind, threads).start()


def set_torch_threads(n: int) -> int:
    """Apply ``--torch-threads`` (-1: the agent's own choice where it makes one) and return the count in use."""
    import torch

    if n < 0:
        try:
            from leovl_ros.ros.bringup import configure_torch_threads
        except ImportError:  # a tree whose agent makes no choice
            return torch.get_num_threads()
        configure_torch_threads()
    elif n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def main() -> None:
    """Run the benchmark and print one JSON line of figures."""
    args = parse_args()
    apply_ros_environment()
    tmp = Path(tempfile.mkdtemp(prefix="leovl_agent_bench_"))
    params = yaml.safe_load(default_params_file().read_text())
    params["dialogue"]["ros__parameters"]["model_path"] = args.model
    params["fusion"]["ros__parameters"]["compiled_fusion"] = not args.torch_fusion
    params["sim_camera"]["ros__parameters"].update(seed=args.seed, frames=args.frames, width=args.width,
                                                   height=args.height, rate=float(args.rate), loop=True)
    params_path = tmp / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    torch_threads = set_torch_threads(args.torch_threads)
    rclpy.init(args=["--ros-args", "--params-file", str(params_path)])
    fusion = TimedFusionNode()
    dialogue = DialogueNode(map_handle=lambda: fusion.map_handle)
    bring_up([fusion, dialogue])  # lifecycle nodes, brought up like leovl-agent does
    spinner = spin_agent([fusion, dialogue], args.executor, args.threads)
    client = Client()
    camera_log = tmp / "sim_camera.log"
    log = open(camera_log, "w")  # closed in the finally block
    publisher = subprocess.Popen([sys.executable, "-m", "leovl_ros.ros.sim_camera_node", "--ros-args", "--params-file",
                                  str(params_path)], stdout=log, stderr=subprocess.STDOUT,
                                 env={**os.environ, **ros_environment()})
    questions = questions_for(args.seed, args.questions)
    result: dict[str, Any] = {"benchmark": "agent", "rate_hz": args.rate, "width": args.width, "height": args.height,
                              "minutes": args.minutes, "questions": args.questions, "threads": args.threads,
                              "executor": args.executor, "torch_threads": torch_threads,
                              "cpus": os.cpu_count(), "model": args.model or "default",
                              "compiled_fusion": not args.torch_fusion}
    try:
        client.spin_until(client.ask_client.service_is_ready, 60.0, "waiting for /dialogue/ask")
        client.spin_until(lambda: client.status is not None and client.status.frames_fused >= 10, 600.0,
                          "waiting for the first fused frames (pre-rendering + discovery)")
        fusion.latencies_ms.clear()
        t0, poses0, fused0 = time.monotonic(), client.poses, client.status.frames_fused
        duration = args.minutes * 60.0
        streaming_ask: list[tuple[float, float, bool]] = []
        rss_1min = None
        for i, question in enumerate(questions):  # spread the questions over the streaming phase
            target = t0 + duration * (i + 1) / (len(questions) + 1)
            client.spin_until(lambda t=target: time.monotonic() >= t, duration + 60.0, "pacing questions")
            streaming_ask.append(client.ask(question, f"s{i % 4}"))
            if rss_1min is None and time.monotonic() - t0 >= 60.0:
                rss_1min = rss_mb()
        client.spin_until(lambda: time.monotonic() >= t0 + duration, duration + 60.0, "streaming")
        rss_1min = rss_1min if rss_1min is not None else rss_mb()
        t_end = time.monotonic()
        elapsed = t_end - t0
        status = client.status
        published_window = client.poses - poses0
        fused = status.frames_fused - fused0
        latencies = list(fusion.latencies_ms)
        rss_end = rss_mb()
        publisher.send_signal(signal.SIGINT)  # the camera prints its own count as it stops
        publisher.wait(timeout=10)
        stamp_end = client.status.header.stamp
        client.spin_until(lambda: client.status.header.stamp != stamp_end and fusion._inbox_empty(), 10.0,
                          "waiting for the fusion node to drain")
        settle = time.monotonic() + 1.2  # more status periods: every frame that arrived is counted
        client.spin_until(lambda: time.monotonic() >= settle, 5.0, "settling")
        final = client.status
        published = camera_count(camera_log)
        received, lost = int(final.frames_received), drop_count(final, "lost")
        lost_inferred = int(getattr(final, "lost_inferred", getattr(getattr(fusion, "_gaps", None), "lost", -1)))
        idle_ask = [client.ask(q, f"i{i % 4}") for i, q in enumerate(questions)]
        result.update({
            "fused_fps": round(fused / elapsed, 2),
            "fused_fps_min_30s": worst_window_fps(client.fused_series, t0, t_end),
            "published_fps": round(published_window / elapsed, 2),
            "published": published,
            "received": received, "lost": lost,
            "uncounted_ratio": round(1.0 - (received + lost) / published, 4) if published else float("nan"),
            "lost_inferred": lost_inferred,
            "lost_inferred_ratio": round(lost_inferred / published, 4) if published else float("nan"),
            "backend": getattr(final, "encoder_backend", "") or getattr(fusion, "encoder_backend", "pytorch"),
            "cfg_encoder_backend": getattr(dialogue, "cfg_encoder_backend", "pytorch").split(" ")[0],
            "dropped_ratio": round(1.0 - fused / published_window, 3) if published_window else float("nan"),
            "drops_by_reason": {r: int(c) for r, c in zip(status.drop_reasons, status.drop_counts) if c},
            "frame_to_fused_ms_p50": pct(latencies, 50), "frame_to_fused_ms_p95": pct(latencies, 95),
            "ask_ms_idle_p50": pct([a[0] for a in idle_ask], 50), "ask_ms_idle_p95": pct([a[0] for a in idle_ask], 95),
            "ask_rtt_ms_idle_p95": pct([a[1] for a in idle_ask], 95),
            "ask_ms_streaming_p50": pct([a[0] for a in streaming_ask], 50),
            "ask_ms_streaming_p95": pct([a[0] for a in streaming_ask], 95),
            "ask_rtt_ms_streaming_p95": pct([a[1] for a in streaming_ask], 95),
            "ask_success": sum(a[2] for a in idle_ask + streaming_ask), "asks": len(idle_ask) + len(streaming_ask),
            "scene_tokens": int(status.tokens), "voxels": int(status.voxels),
            "rss_mb_1min": round(rss_1min, 1), "rss_mb_end": round(rss_end, 1),
            "rss_growth_mb": round(rss_end - rss_1min, 1),
            "rss_growth_pct": round(100.0 * (rss_end - rss_1min) / rss_1min, 2),
        })
    finally:
        if publisher.poll() is None:
            publisher.kill()
        log.close()
        client.close()
        if isinstance(spinner, MultiThreadedExecutor):
            spinner.shutdown(timeout_sec=2.0)
        else:
            spinner.stop()
        dialogue.destroy_node()
        fusion.destroy_node()
        rclpy.try_shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
