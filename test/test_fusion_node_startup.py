"""Start-up failures are clear: a bad parameter exits with code 2 and says why."""

from __future__ import annotations

import pytest
from ros_helpers import node_process

pytestmark = pytest.mark.ros


@pytest.mark.parametrize(("params", "message"), [
    ({"pose_source": "tf", "tf_timeout": -1.0}, "tf_timeout=-1.0"),
    ({"mode": "fast"}, "mode must be live|eval"),
    ({"min_depth": 3.0, "max_depth": 1.0}, "min_depth < max_depth"),
    ({"encoder_width": 1.5}, "parameter encoder_width"),
    ({"sync_slop": "wide"}, "parameter sync_slop must be a number"),
])
def test_bad_configuration_exits_with_a_reason(params: dict, message: str) -> None:
    with node_process("leovl_ros.ros.fusion_node", params) as proc:
        proc.proc.wait(timeout=60.0)
    assert proc.returncode == 2, proc.log()
    assert "cannot start" in proc.log() and message in proc.log(), proc.log()


def test_integer_values_for_float_parameters_are_accepted() -> None:
    with node_process("leovl_ros.ros.fusion_node", {"sync_slop": 0, "max_depth": 6}) as proc:
        assert proc.wait_for_log("fusion ready", 60.0), proc.log()
    assert proc.returncode == 0, proc.log()
