"""Managed (lifecycle) nodes over real DDS, driven through the standard services (``~/change_state``,
``~/get_state``): an inactive node receives, fuses and serves nothing; deactivate keeps the map; a failed
configure is a reported state, not a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from dialogue_fixtures import build_tiny_model, fused_store
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from ros_helpers import NodeProcess, RosProbe, node_process
from std_msgs.msg import String
from test_fusion_node_bad_input import PARAMS as FUSION_PARAMS
from test_fusion_node_bad_input import Rig, fuse_good

from leovl_interfaces.srv import Ask

pytestmark = pytest.mark.ros

COLOUR = "/camera/color/image_raw"


TRANSITION_STATES: dict[int, tuple[str, str]] = {
    Transition.TRANSITION_CONFIGURE: ("unconfigured", "inactive"),
    Transition.TRANSITION_ACTIVATE: ("inactive", "active"),
    Transition.TRANSITION_DEACTIVATE: ("active", "inactive"),
    Transition.TRANSITION_CLEANUP: ("inactive", "unconfigured"),
}
"""Transition id → (the state it starts from, the state it leads to on success)."""


class Lifecycle:
    """A client of one node's standard lifecycle services."""

    def __init__(self, probe: RosProbe, node: str, proc: NodeProcess) -> None:
        """Wait for ``/<node>/change_state`` and ``/<node>/get_state``."""
        self.probe = probe
        self.change = probe.wait_for_service(ChangeState, f"/{node}/change_state", timeout=60.0, proc=proc)
        self.get = probe.wait_for_service(GetState, f"/{node}/get_state", timeout=10.0, proc=proc)

    def state(self) -> str:
        """The node's current state label."""
        # A request sent right after discovery can be lost before the server's reader matches the client (seen
        # twice in CI on an idle machine: no reply in 120 s), and a node still starting answers late: ask again.
        for _ in range(11):
            future = self.get.call_async(GetState.Request())
            if self.probe.spin_until(future.done, 10.0):
                return future.result().current_state.label
        return self.probe.call(self.get, GetState.Request(), timeout=10.0).current_state.label

    def transition(self, transition_id: int) -> bool:
        """Request a transition (``lifecycle_msgs/Transition`` id); whether it succeeded.

        The first change_state request can be lost like get_state's (seen once in CI: no reply in 300 s). When no
        reply comes in 20 s, the state tells which: still the start state → the request was lost, send it again;
        the goal state → done, the reply was lost; a transition state → wait (configure loads the model)."""
        request = ChangeState.Request()
        request.transition.id = transition_id
        start, goal = TRANSITION_STATES[transition_id]
        future = self.change.call_async(request)
        for _ in range(15):
            if self.probe.spin_until(future.done, 20.0):
                return bool(future.result().success)
            label = self.state()
            if label == goal:
                return True
            if label == start:
                future = self.change.call_async(request)
        return bool(self.probe.call(self.change, request, timeout=10.0).success)


def latest_status(messages: list[DiagnosticArray], node: str) -> Optional[DiagnosticStatus]:
    """The newest /diagnostics status of ``node`` (its hardware_id)."""
    for msg in reversed(messages):
        for status in msg.status:
            if status.hardware_id == node:
                return status
    return None


def values(status: DiagnosticStatus) -> dict[str, str]:
    """A status's key/values."""
    return {kv.key: kv.value for kv in status.values}


def status_matches(messages: list[DiagnosticArray], node: str, **expected: Any) -> bool:
    """Whether the newest status of ``node`` has the ``expected`` values: ``level`` (an int), ``message_has`` (a
    substring of its message), any other name a key/value."""
    s = latest_status(messages, node)
    if s is None:
        return False
    v = values(s)
    return all((int.from_bytes(s.level, "little") == want) if key == "level"
               else (want in s.message) if key == "message_has" else v.get(key) == str(want)
               for key, want in expected.items())


def wait_status(probe: RosProbe, messages: list[DiagnosticArray], node: str, proc: NodeProcess, timeout: float,
                **expected: Any) -> DiagnosticStatus:
    """Spin until the newest status of ``node`` matches ``expected`` (``status_matches``); returns it."""
    ok = probe.spin_until(lambda: status_matches(messages, node, **expected), timeout, proc)
    last = latest_status(messages, node)
    assert ok, f"no /diagnostics status of {node} with {expected}; last: " \
               f"{last and (last.level, last.message, values(last))}\n{proc.log()[-3000:]}"
    assert last is not None
    return last


def service_listed(probe: RosProbe, name: str) -> bool:
    """Whether the graph lists a service called ``name``."""
    return name in dict(probe.node.get_service_names_and_types())


@pytest.mark.slow
def test_fusion_lifecycle_keeps_the_map_and_takes_no_input_while_inactive(tmp_path: Path) -> None:
    params = {**FUSION_PARAMS, "autostart": False, "diagnostics.period_s": 0.2}
    with node_process("leovl_ros.ros.fusion_node", params) as proc, RosProbe() as probe:
        diagnostics = probe.collect(DiagnosticArray, "/diagnostics")
        life = Lifecycle(probe, "fusion", proc)
        assert life.state() == "unconfigured"
        wait_status(probe, diagnostics, "fusion", proc, 20.0, lifecycle_state="unconfigured", level=1)
        assert life.transition(Transition.TRANSITION_CONFIGURE), proc.log()
        assert life.state() == "inactive"
        probe.spin_for(0.5)
        assert probe.node.count_subscribers(COLOUR) == 0 and not service_listed(probe, "/fusion/save_map")

        assert life.transition(Transition.TRANSITION_ACTIVATE), proc.log()
        assert life.state() == "active"
        assert proc.wait_for_log("fusion path warmed up", 300.0), proc.log()  # compiling takes a while on CPU
        rig = Rig(probe, proc)
        rig.send_info()
        for _ in range(3):
            fuse_good(rig)
        before = rig.status()
        assert before.frames_fused == 3 and before.voxels > 0

        assert life.transition(Transition.TRANSITION_DEACTIVATE)
        assert life.state() == "inactive"
        gone = probe.spin_until(lambda: probe.node.count_subscribers(COLOUR) == 0
                                and not service_listed(probe, "/fusion/save_map"), 10.0, proc)
        assert gone, "an inactive fusion node must neither subscribe nor serve"
        published = len(rig.statuses)
        for _ in range(5):  # a camera that keeps streaming while the node is inactive
            rig.send()
            probe.spin_for(0.1)
        inactive = wait_status(probe, diagnostics, "fusion", proc, 10.0, lifecycle_state="inactive", level=1)
        assert values(inactive)["frames_fused"] == "3" and values(inactive)["map_voxels"] == str(before.voxels)
        assert values(inactive)["frames_received"] == str(before.frames_received)
        assert len(rig.statuses) == published, "~/status is a lifecycle publisher: silent while inactive"

        assert life.transition(Transition.TRANSITION_ACTIVATE)
        assert probe.spin_until(lambda: len(rig.statuses) > published, 10.0, proc), proc.log()
        after = rig.statuses[-1]
        assert (after.frames_received, after.frames_fused) == (before.frames_received, before.frames_fused), \
            "frames sent while inactive must not be received or fused"
        assert (after.voxels, after.map_version) == (before.voxels, before.map_version), "the map must be kept"
        saved = rig.map_file("save", str(tmp_path / "map.safetensors"))
        assert saved.success and f"saved {before.voxels} voxels" in saved.message, saved.message
        for pub in (rig.colour, rig.depth, rig.info, rig.pose):  # re-matched with the new subscriptions
            probe.wait_for_subscribers(pub, 1, timeout=20.0)
        assert fuse_good(rig).frames_fused == 4

        assert life.transition(Transition.TRANSITION_DEACTIVATE)
        assert life.transition(Transition.TRANSITION_CLEANUP)
        assert life.state() == "unconfigured"
        wait_status(probe, diagnostics, "fusion", proc, 10.0, lifecycle_state="unconfigured",
                    encoder_backend="not loaded")
        assert proc.alive()
    assert proc.returncode == 0, proc.log()


def dialogue_assets(root: Path) -> dict[str, str]:
    """A tiny model and a saved map for a dialogue node, under ``root``."""
    fused_store().save(root / "map.safetensors")
    return {"model": str(build_tiny_model(root / "model")), "map": str(root / "map.safetensors")}


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> dict[str, str]:
    """The dialogue node's model and map."""
    return dialogue_assets(tmp_path_factory.mktemp("lifecycle_dialogue"))


def test_dialogue_answers_only_while_active(assets: dict[str, str]) -> None:
    params = {"autostart": False, "model_path": assets["model"], "map_file": assets["map"],
              "diagnostics.period_s": 0.2}
    with node_process("leovl_ros.ros.dialogue_node", params) as proc, RosProbe() as probe:
        life = Lifecycle(probe, "dialogue", proc)
        answers = probe.collect(String, "/dialogue/answer")
        question = probe.publisher(String, "/dialogue/question")
        ask = probe.node.create_client(Ask, "/dialogue/ask")
        assert life.transition(Transition.TRANSITION_CONFIGURE), proc.log()
        probe.spin_for(0.5)
        assert not ask.service_is_ready(), "an inactive dialogue node is not there to ask"

        assert life.transition(Transition.TRANSITION_ACTIVATE)
        assert probe.spin_until(ask.service_is_ready, 10.0, proc)
        assert probe.call(ask, Ask.Request(question="where is the red chair?"), timeout=30.0).success

        assert life.transition(Transition.TRANSITION_DEACTIVATE)
        assert probe.spin_until(lambda: not ask.service_is_ready(), 10.0, proc), "~/ask must go with deactivate"
        assert probe.spin_until(lambda: question.get_subscription_count() == 0, 10.0, proc)
        question.publish(String(data="how many chairs are in the room?"))
        probe.spin_for(1.0)
        assert answers == [], "an inactive node must not answer"

        assert life.transition(Transition.TRANSITION_ACTIVATE)
        assert probe.spin_until(ask.service_is_ready, 10.0, proc)
        assert probe.call(ask, Ask.Request(question="is there a lamp?"), timeout=30.0).success
        assert life.transition(Transition.TRANSITION_DEACTIVATE) and life.transition(Transition.TRANSITION_CLEANUP)
        assert life.state() == "unconfigured"
    assert proc.returncode == 0, proc.log()


def test_failed_configure_is_reported_not_fatal(tmp_path: Path) -> None:
    params = {"autostart": False, "model_path": str(tmp_path / "none"), "diagnostics.period_s": 0.2}
    with node_process("leovl_ros.ros.dialogue_node", params) as proc, RosProbe() as probe:
        diagnostics = probe.collect(DiagnosticArray, "/diagnostics")
        life = Lifecycle(probe, "dialogue", proc)
        assert not life.transition(Transition.TRANSITION_CONFIGURE)
        assert life.state() == "unconfigured" and proc.alive()
        failed = wait_status(probe, diagnostics, "dialogue", proc, 10.0, level=2,
                             message_has="configure failed: model checkpoint not found")
        assert failed.name == "/dialogue: answers" and values(failed)["model"] == "not loaded"
        assert "configure failed: model checkpoint not found" in proc.log()
        assert not life.transition(Transition.TRANSITION_CONFIGURE), "a retry fails the same way, still alive"
        assert proc.alive()
    assert proc.returncode == 0, proc.log()


def test_launch_autostart_argument(monkeypatch) -> None:
    from test_launch_static import run_launch

    declared, actions = run_launch(monkeypatch)
    assert declared["autostart"] == "true"
    (node,) = [a for a in actions if type(a).__name__ == "Node"]
    assert "autostart" not in node.kwargs["parameters"][-1], "default: the nodes' own autostart (true)"
    _, actions = run_launch(monkeypatch, autostart="false")
    (node,) = [a for a in actions if type(a).__name__ == "Node"]
    assert node.kwargs["parameters"][-1]["autostart"] is False
