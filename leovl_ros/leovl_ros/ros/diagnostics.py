"""``agent.diagnostics`` health → diagnostic_msgs: one DiagnosticStatus per node, as diagnostic_updater writes it.

``name`` is ``<fully qualified node name>: <task>`` (unique under namespaces), ``hardware_id`` the node name, the
level one of ``agent.diagnostics.Level`` (the same numbers), values as strings. The wheels have diagnostic_msgs
but no diagnostic_updater, so the nodes publish the array themselves (``ros.lifecycle.ManagedNode``).
"""

from __future__ import annotations

from collections.abc import Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from leovl_ros.agent.diagnostics import Health
from leovl_ros.ros import conversions as conv

DIAGNOSTICS_TOPIC = "/diagnostics"
"""The ROS-wide diagnostics topic (rqt_runtime_monitor, diagnostic_aggregator and Foxglove read it)."""


def diagnostic_status(name: str, hardware_id: str, health: Health,
                      values: Sequence[tuple[str, str]]) -> DiagnosticStatus:
    """One DiagnosticStatus from a health verdict and its key/values."""
    status = DiagnosticStatus(level=bytes([int(health.level)]), name=name, message=health.message,
                              hardware_id=hardware_id)
    status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values]
    return status


def diagnostic_array(statuses: Sequence[DiagnosticStatus], stamp_ns: int) -> DiagnosticArray:
    """The array message carrying ``statuses``, stamped ``stamp_ns`` (the node clock)."""
    return DiagnosticArray(header=conv.make_header("", stamp_ns), status=list(statuses))
