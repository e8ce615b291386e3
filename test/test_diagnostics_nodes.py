"""/diagnostics over real DDS: the fusion node goes OK → WARN → ERROR → WARN as injected drops rise and the input
stops, at thresholds set by parameters; the dialogue node's level follows its answer latency (thresholds changed
at run time through the parameter service)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from ros_helpers import RosProbe, node_process
from test_fusion_node_bad_input import PARAMS as FUSION_PARAMS
from test_fusion_node_bad_input import Rig
from test_lifecycle_nodes import dialogue_assets, status_matches, values, wait_status

from leovl_interfaces.srv import Ask

pytestmark = pytest.mark.ros

OK, WARN, ERROR = 0, 1, 2
THRESHOLDS = {"diagnostics.period_s": 0.25, "diagnostics.window_s": 2.0, "diagnostics.stale_input_s": 1.5,
              "diagnostics.min_frames": 4, "diagnostics.warn_drop_share": 0.3, "diagnostics.error_drop_share": 0.9,
              "diagnostics.error_stall_s": 3.0, "diagnostics.warn_rate_fraction": 0.1}
"""Short windows so the test runs in seconds (the defaults are documented in docs/operations.md)."""


def stream(rig: Rig, pattern: list[bool], until: Callable[[], bool], timeout: float) -> None:
    """Send frames every ~0.2 s, good or malformed (an unknown colour encoding) cycling through ``pattern``,
    until ``until()`` holds (AssertionError after ``timeout``)."""
    deadline, i = time.monotonic() + timeout, 0
    while not until():
        assert time.monotonic() < deadline and rig.proc.alive(), rig.proc.log()[-3000:]
        rig.send(colour_encoding="rgb8" if pattern[i % len(pattern)] else "yuv422")
        rig.probe.spin_for(0.2)
        i += 1


@pytest.mark.slow
def test_fusion_diagnostics_follow_injected_drops() -> None:
    params = {**FUSION_PARAMS, **THRESHOLDS, "max_frame_age": 0.0}
    with node_process("leovl_ros.ros.fusion_node", params) as proc, RosProbe() as probe:
        diagnostics = probe.collect(DiagnosticArray, "/diagnostics")
        assert proc.wait_for_log("fusion ready", 300.0), proc.log()
        rig = Rig(probe, proc)
        first = wait_status(probe, diagnostics, "fusion", proc, 10.0, level=WARN, message_has="no input yet")
        assert first.hardware_id == "fusion" and first.name == "/fusion: frame fusion"
        assert proc.wait_for_log("fusion path warmed up", 300.0), proc.log()
        rig.send_info()

        def level_is(level: int, text: str) -> Callable[[], bool]:
            return lambda: status_matches(diagnostics, "fusion", level=level, message_has=text)

        stream(rig, [True], level_is(OK, "fusing"), 60.0)
        stream(rig, [True, False], level_is(WARN, "frames dropped"), 60.0)  # 50 % > warn 30 %, < error 90 %
        stream(rig, [False], level_is(ERROR, "frames dropped"), 60.0)  # 100 % ≥ 90 %
        stream(rig, [False], level_is(ERROR, "no frame fused for"), 60.0)  # input arrives, nothing fused for 3 s
        stalled = wait_status(probe, diagnostics, "fusion", proc, 5.0, level=ERROR)
        v = values(stalled)
        assert int(v["dropped.encoding"]) >= 5 and int(v["frames_fused"]) >= 3 and int(v["map_voxels"]) > 0
        assert v["lifecycle_state"] == "active" and v["encoder_backend"] != "not loaded" and v["cfg_cells"] != ""
        assert float(v["window_drop_share"]) == 1.0
        # The camera stops: stale input is a WARN (no ERROR for a stall without input).
        wait_status(probe, diagnostics, "fusion", proc, 15.0, level=WARN, message_has="inputs stale")
        assert proc.alive()
    assert proc.returncode == 0, proc.log()


@pytest.fixture(scope="module")
def assets(tmp_path_factory) -> dict[str, str]:
    """The dialogue node's model and map."""
    return dialogue_assets(tmp_path_factory.mktemp("diagnostics_dialogue"))


def test_dialogue_diagnostics_follow_answer_latency(assets: dict[str, str]) -> None:
    params = {"model_path": assets["model"], "map_file": assets["map"], "diagnostics.period_s": 0.2,
              "diagnostics.warn_latency_s": 1e-6, "diagnostics.error_latency_s": 1000.0}
    with node_process("leovl_ros.ros.dialogue_node", params) as proc, RosProbe() as probe:
        diagnostics = probe.collect(DiagnosticArray, "/diagnostics")
        ask = probe.wait_for_service(Ask, "/dialogue/ask", timeout=300.0, proc=proc)
        ready = wait_status(probe, diagnostics, "dialogue", proc, 10.0, level=OK, message_has="model loaded")
        assert values(ready)["model"] == assets["model"] and int(values(ready)["map_voxels"]) > 0
        assert values(ready)["map"] == assets["map"], "a map from a file: its age is not judged"
        assert probe.call(ask, Ask.Request(question="where is the red chair?"), timeout=30.0).success
        warn = wait_status(probe, diagnostics, "dialogue", proc, 10.0, level=WARN, message_has="answers take")
        assert int(values(warn)["answers_in_window"]) >= 1 and float(values(warn)["mean_latency_s"]) > 0
        setter = probe.wait_for_service(SetParameters, "/dialogue/set_parameters", proc=proc)
        request = SetParameters.Request(parameters=[Parameter("diagnostics.error_latency_s",
                                                              value=1e-5).to_parameter_msg()])
        assert probe.call(setter, request).results[0].successful
        wait_status(probe, diagnostics, "dialogue", proc, 10.0, level=ERROR, message_has="answers take")
        refused = SetParameters.Request(parameters=[Parameter("diagnostics.error_latency_s",
                                                              value=1e-7).to_parameter_msg()])
        assert not probe.call(setter, refused).results[0].successful, "error below warn must be refused"
    assert proc.returncode == 0, proc.log()
