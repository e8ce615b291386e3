"""``leovl-agent`` / ``agent``: the fusion and dialogue nodes in one process sharing the fused map in memory.

Component style, as ``ros2 launch leovl_ros agent.launch.py`` starts it (the launch file runs this executable):
each node on its own executor in its own thread (``--executor``; issue 28: one shared MultiThreadedExecutor
collapsed at 30 Hz RGB-D), the fusion worker and the model one request at a time beside them, torch and ONNX
Runtime on ``--torch-threads`` intra-op threads so fusion and questions do not fight over the cores. Both nodes
hold the same
``MapHandle``: zero copies, one voxel store, no file round trips, and every answer sees the latest fused frame.
(``dialogue_node`` alone answers over a saved map via its ``map_file`` parameter.)

Both are managed (lifecycle) nodes: bring-up configures, then activates them (fusion first) as Nav2's lifecycle
manager does with ``autostart``; ``-p autostart:=false`` leaves them unconfigured for ``~/change_state`` (configure
fusion before dialogue: the dialogue node takes the fusion node's map at its own configure).

Parameters come from ``config/agent.yaml`` (``--params`` to use others; ROS arguments after ``--ros-args`` work
as usual: remaps, ``-p``, ``--params-file``). ``--demo`` also streams the synthetic room from a separate
``sim_camera_node`` process, so the agent can be tried (Rviz, ``~/ask``) without a robot.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

from leovl_ros.agent.paths import PACKAGE_DIR

CONFIG_NAME = "agent.yaml"


def default_params_file() -> Path:
    """``config/agent.yaml`` of the source tree, else of the installed package's share folder."""
    source = PACKAGE_DIR.parent / "config" / CONFIG_NAME
    if source.is_file():
        return source
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("leovl_ros")) / "config" / CONFIG_NAME
    except Exception:  # no ament index: report the source path in the error
        return source


DEFAULT_TORCH_THREADS = 1
"""Intra-op threads of torch and ONNX Runtime in the agent process: the fusion worker's 2D encoder and the dialogue
model each compute on one thread, so neither spreads over both cores while the other (and the executors) waits —
on 2 cores this keeps ``~/ask`` prompt while fusion runs at the camera's rate (benchmarks/agent.py, issue 28)."""


def configure_torch_threads(n: int = DEFAULT_TORCH_THREADS) -> int:
    """Set torch's intra-op threads for the process (0 = leave torch's default); returns the count in use."""
    import torch

    if n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def build_parser() -> argparse.ArgumentParser:
    """Options of ``leovl-agent`` (ROS arguments go after ``--ros-args``)."""
    parser = argparse.ArgumentParser(
        prog="leovl-agent", description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog="example: leovl-agent --demo    then, in another terminal: leovl-ask 'where is the bed?' (or "
               "leovl-ask alone to type questions), Rviz with config/leovl.rviz, or the ~/ask service. "
               "Lifecycle: leovl-agent --ros-args -p autostart:=false starts both nodes unconfigured.")
    parser.add_argument("--params", action="append", type=Path, metavar="YAML",
                        help=f"ROS 2 parameter file (repeatable, later ones win; default: config/{CONFIG_NAME})")
    parser.add_argument("--demo", action="store_true",
                        help="also stream the synthetic room from a separate sim_camera_node process")
    parser.add_argument("--camera", metavar="NAME",
                        help="camera topic remap set: realsense | orbbec | zed (config/cameras/) or a YAML path; "
                             "your own -r rules still win")
    parser.add_argument("--rerun", type=Path, metavar="FILE",
                        help="also write a rerun recording (.rrd: images, CFG, trajectory, answers with their "
                             "grounding); view it with `rerun FILE`")
    parser.add_argument("--executor", default="single", choices=("single", "multi", "shared"),
                        help="single: a SingleThreadedExecutor per node, each in its own thread (default); multi: "
                             "a MultiThreadedExecutor per node; shared: both nodes on one MultiThreadedExecutor")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads of a multi/shared executor (>= 3 for shared: sensors, fusion services and "
                             "questions never wait on each other)")
    parser.add_argument("--torch-threads", type=int, default=DEFAULT_TORCH_THREADS,
                        help=f"torch / ONNX Runtime intra-op threads (default {DEFAULT_TORCH_THREADS}; 0: torch's "
                             f"default)")
    return parser


def ros_arguments(params: list[Path], argv: list[str]) -> list[str]:
    """rclpy arguments: ``--params-file`` for each YAML first, then the user's arguments (their ROS ones win)."""
    files: list[str] = []
    for path in params:
        if not path.is_file():
            raise FileNotFoundError(f"parameter file not found: {path}")
        files += ["--params-file", str(path)]
    return ["leovl-agent", "--ros-args", *files, "--", *argv]


def start_sim_camera(params: list[Path]) -> subprocess.Popen:
    """The synthetic room streamed from its own process (same parameter files, same ROS environment), which stops
    when this one dies (``node_main.exit_with_parent``)."""
    from leovl_ros.ros.env import ros_environment
    from leovl_ros.ros.node_main import PARENT_PID_ENV

    cmd = [sys.executable, "-m", "leovl_ros.ros.sim_camera_node", "--ros-args"]
    for path in params:
        cmd += ["--params-file", str(path)]
    return subprocess.Popen(cmd, env={**os.environ, **ros_environment(), PARENT_PID_ENV: str(os.getpid())})


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-agent`` and the ``agent`` executable."""
    from rclpy.utilities import remove_ros_args

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(remove_ros_args(args=argv))
    if args.threads < 3 or args.torch_threads < 0:
        print("leovl-agent: error: --threads must be >= 3 and --torch-threads >= 0", file=sys.stderr)
        return 2
    user_params_files = "--params-file" in argv
    params = list(args.params or ([] if user_params_files else [default_params_file()]))
    try:
        rclpy_args = ros_arguments(params, argv)
    except FileNotFoundError as exc:
        print(f"leovl-agent: error: {exc}", file=sys.stderr)
        return 2
    if args.camera:
        from leovl_ros.agent.robot_config import load_camera_preset, remap_arguments, topic_remappings

        try:
            rules = topic_remappings({}, load_camera_preset(args.camera))
        except ValueError as exc:
            print(f"leovl-agent: error: {exc}", file=sys.stderr)
            return 2
        rclpy_args += ["--ros-args", *remap_arguments(rules)]  # after the user's: their own -r rules win
    from leovl_ros.ros.dialogue_node import DialogueNode
    from leovl_ros.ros.fusion_node import FusionNode
    from leovl_ros.ros.node_main import run_nodes

    recorder = None
    if args.rerun:
        from leovl_ros.agent.recording import Recorder

        recorder = Recorder(args.rerun)
    nodes: dict[str, object] = {}

    def fusion() -> FusionNode:
        nodes["fusion"] = FusionNode(recorder=recorder)
        return nodes["fusion"]  # type: ignore[return-value]

    def dialogue() -> DialogueNode:
        fusion_node: FusionNode = nodes["fusion"]  # type: ignore[assignment]
        return DialogueNode(map_handle=lambda: fusion_node.map_handle, recorder=recorder)

    sim = start_sim_camera(params) if args.demo else None
    try:
        configure_torch_threads(args.torch_threads)
        return run_nodes([fusion, dialogue], args=rclpy_args, num_threads=args.threads, executor=args.executor,
                         on_stop=recorder.close if recorder is not None else None)
    finally:
        if recorder is not None:
            recorder.close()
        if sim is not None:
            sim.terminate()
            try:
                sim.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                sim.kill()


if __name__ == "__main__":
    raise SystemExit(main())
