"""``leovl-agent`` over real DDS: fusion + dialogue in one process share the map; streamed frames become answers."""

from __future__ import annotations

import math
import os
import sys

import pytest
import yaml
from dialogue_fixtures import build_tiny_model
from geometry_msgs.msg import PoseStamped
from ros_helpers import RosProbe, node_process

from leovl_interfaces.msg import FusionStatus
from leovl_interfaces.srv import Ask, MapFile
from leovl_ros.ros.bringup import build_parser, default_params_file, ros_arguments
from leovl_ros.ros.qos import latched_qos

pytestmark = pytest.mark.ros


def test_ros_arguments_put_user_arguments_last(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("{}")
    args = ros_arguments([params], ["--demo", "--ros-args", "-p", "dialogue:device:=cpu"])
    assert args[1:4] == ["--ros-args", "--params-file", str(params)]
    assert args[-3:] == ["--ros-args", "-p", "dialogue:device:=cpu"], "user ROS arguments must come last (win)"
    with pytest.raises(FileNotFoundError):
        ros_arguments([tmp_path / "missing.yaml"], [])
    assert default_params_file().is_file()
    assert build_parser().parse_args(["--demo", "--threads", "6"]).threads == 6


@pytest.fixture(scope="module")
def params_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("agent")
    params = yaml.safe_load(default_params_file().read_text())
    params["dialogue"]["ros__parameters"]["model_path"] = str(build_tiny_model(root / "model", feature_dim=32))
    params["sim_camera"]["ros__parameters"].update(frames=15, width=320, height=240, rate=15.0, loop=True)
    path = root / "agent.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.mark.slow
def test_agent_shares_the_fused_map_with_dialogue(params_file, tmp_path):
    params = yaml.safe_load(params_file.read_text())
    with node_process("leovl_ros.ros.bringup", extra_args=["--params", str(params_file)]) as agent, RosProbe() as probe:
        status = probe.collect(FusionStatus, "/fusion/status")
        goals = probe.collect(PoseStamped, "/dialogue/goal", latched_qos())
        ask = probe.wait_for_service(Ask, "/dialogue/ask", timeout=90.0, proc=agent)
        empty = probe.call(ask, Ask.Request(question="how many chairs are in the room?"), timeout=30.0)
        assert not empty.success and "empty" in empty.answer and empty.error.startswith("empty_map")

        with node_process("leovl_ros.ros.sim_camera_node", params["sim_camera"]["ros__parameters"]) as camera:
            fused = probe.spin_until(lambda: status and status[-1].frames_fused >= 3, 90.0, agent)
            assert fused, f"no frames fused\n{agent.log()}\n{camera.log()}"
            reply = probe.call(ask, Ask.Request(question="what is next to the bed?", session_id="t"), timeout=30.0)
        assert reply.success, reply.error
        assert reply.answer and reply.scene_tokens > 0 and reply.latency_ms > 0
        assert probe.spin_until(lambda: bool(goals), 10.0, agent), "no goal published"
        assert goals[-1].header.frame_id == "map" and math.isfinite(goals[-1].pose.position.x)

        save = probe.wait_for_service(MapFile, "/fusion/save_map", timeout=10.0, proc=agent)
        saved = probe.call(save, MapFile.Request(path=str(tmp_path / "map.safetensors")), timeout=30.0)
        assert saved.success, saved.message
        assert agent.alive()

    from leovl_ros.agent.ask_cli import main as ask_main

    model = params["dialogue"]["ros__parameters"]["model_path"]
    assert ask_main(["--map", str(tmp_path / "map.safetensors"), "--model", model, "what is next to the bed?"]) == 0


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    from pathlib import Path

    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


@pytest.mark.slow
def test_agent_demo_flag_streams_and_shuts_down_cleanly(params_file):
    import os

    with node_process("leovl_ros.ros.bringup", extra_args=["--demo", "--params", str(params_file)]) as agent, \
            RosProbe() as probe:
        status = probe.collect(FusionStatus, "/fusion/status")
        assert probe.spin_until(lambda: status and status[-1].frames_fused >= 3, 120.0, agent), agent.log()
        children = child_pids(agent.proc.pid)
        assert children, "--demo must start the camera stand-in as a separate process"
    assert agent.returncode == 0, agent.log_path.read_text()
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower(), \
            f"camera stand-in {pid} outlived the agent"


CHILD = """
import sys, time
from leovl_ros.ros.node_main import exit_with_parent
try:
    exit_with_parent()
    print("ready", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    sys.exit(7)
"""
PARENT = """
import os, subprocess, sys, time
from leovl_ros.ros.node_main import PARENT_PID_ENV
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env={**os.environ, PARENT_PID_ENV: str(os.getpid())},
                         stdout=subprocess.PIPE, text=True)
print(child.pid, flush=True)
child.stdout.readline()
print("child ready", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("in_background", [False, True])
def test_a_demo_camera_stops_when_its_agent_dies_however_it_dies(in_background):
    """``leovl-agent --demo``'s camera process gets the agent's pid (``node_main.PARENT_PID_ENV``): a parent killed
    outright (as a crash ends it) takes the child with it, which would otherwise stream into the ROS domain — also
    when a shell started the agent in the background, which leaves SIGINT ignored in it and its children."""
    import signal
    import subprocess
    import time

    ignore_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if in_background else None
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, text=True,
                              preexec_fn=ignore_sigint)
    try:
        child_pid = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "child ready"
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{child_pid}") \
                and "Z" not in open(f"/proc/{child_pid}/stat").read().split()[2]:
            time.sleep(0.05)
        gone = not os.path.exists(f"/proc/{child_pid}") or "Z" in open(f"/proc/{child_pid}/stat").read().split()[2]
        assert gone, "the child outlived its parent"
    finally:
        parent.kill()
