"""Named QoS profiles for leovl topics and services (a QoS mismatch is silent, so they are chosen in one place).

* ``sensor``: best effort, keep last 5, volatile — live RGB-D from cameras/bags (``qos_profile_sensor_data``).
* ``reliable``: reliable, keep last N — dialogue topics, the CFG cloud, status.
* ``eval``: reliable, keep all — eval replays where every frame must arrive (back-pressure).
* ``latched``: reliable + transient local, depth 1 — map metadata late joiners must see (status, markers).

``lost_message_callbacks`` makes the middleware's message-lost events visible as a counter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

QOS_NAMES = ("sensor", "reliable")
"""Values accepted by the ``qos`` parameters of the nodes."""


def sensor_qos(depth: int = 5) -> QoSProfile:
    """Best-effort, shallow keep-last: never stalls a camera driver, drops rather than queues."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


def reliable_qos(depth: int = 10) -> QoSProfile:
    """Reliable keep-last: every message delivered while the reader keeps up (back-pressure otherwise)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def eval_qos() -> QoSProfile:
    """Reliable keep-all: nothing is overwritten; a slow reader blocks the writer (back-pressure, eval replays)."""
    return QoSProfile(history=HistoryPolicy.KEEP_ALL, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def latched_qos() -> QoSProfile:
    """Reliable + transient local, depth 1: a late subscriber gets the last message."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def qos_by_name(name: str, depth: int = 10) -> QoSProfile:
    """``sensor`` or ``reliable`` (the parameter values); anything else raises ``ValueError``."""
    if depth < 1:
        raise ValueError(f"QoS depth must be >= 1, got {depth}")
    if name == "sensor":
        return sensor_qos(depth)
    if name == "reliable":
        return reliable_qos(depth)
    raise ValueError(f"unknown QoS name {name!r}; expected one of {QOS_NAMES}")


def lost_message_callbacks(on_lost: Callable[[int], None]) -> Any:
    """Subscription event callbacks calling ``on_lost(n)`` when the middleware reports n lost messages.

    Incompatible-QoS events keep rclpy's default warning. Works on Humble (``rclpy.qos_event``) and later.
    """
    try:
        from rclpy.event_handler import SubscriptionEventCallbacks
    except ImportError:  # Humble
        from rclpy.qos_event import SubscriptionEventCallbacks
    return SubscriptionEventCallbacks(message_lost=lambda info: on_lost(int(info.total_count_change)))
