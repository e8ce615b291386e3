"""Health of the agent nodes from plain numbers (ROS-free): the levels and messages they publish on /diagnostics.

Each node samples its counters about once a second; these functions turn the samples into a level (``Level``:
the values of diagnostic_msgs/DiagnosticStatus) and one message naming every problem found, so the thresholds
are tested without ROS and documented in one place (docs/operations.md has the table):

* any node not ``active``: ERROR when its last configure or activate failed (the reason is the message), else WARN
  (``lifecycle_health``);
* fusion (``fusion_health``): WARN while the fusion path warms up, when no colour frame arrived for
  ``stale_input_s`` (or none yet), when the share of dropped frames over the window exceeds ``warn_drop_share``,
  or when the fused rate falls below ``warn_rate_fraction`` of the camera's nominal rate; ERROR when input
  arrives but no frame was fused for
  ``error_stall_s`` (counted from activation or the end of the warm-up until the first one), or when
  ``error_drop_share`` or more drop;
* dialogue (``dialogue_health``): WARN on an empty map or a live map not updated for ``warn_map_age_s``; WARN /
  ERROR when the mean answer latency over the window exceeds ``warn_latency_s`` / ``error_latency_s``.

The thresholds are node parameters under ``diagnostics.`` (``FusionDiagnosticsConfig``,
``DialogueDiagnosticsConfig``; ``PARAMETER_PREFIX``).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Generic, Optional, TypeVar

from leovl_ros.agent.node_config import param

T = TypeVar("T")


class Level(IntEnum):
    """Severity, numerically equal to diagnostic_msgs/DiagnosticStatus OK, WARN, ERROR, STALE."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


@dataclass(frozen=True)
class Health:
    """A level and the message explaining it (every problem found, worst first)."""

    level: Level
    message: str


def worst(problems: Sequence[tuple[Level, str]], ok_message: str) -> Health:
    """The highest level among ``problems`` with all their texts (worst first), or OK with ``ok_message``."""
    if not problems:
        return Health(Level.OK, ok_message)
    ordered = sorted(problems, key=lambda p: -p[0])
    return Health(ordered[0][0], "; ".join(text for _, text in ordered))


def lifecycle_health(state: str, failure: str = "") -> Optional[Health]:
    """The health of a node that is not ``active`` (None when it is: its own checks apply); ``failure``: why its
    last transition failed (e.g. "configure failed: ..."), an ERROR."""
    if state == "active":
        return None
    if failure:
        return Health(Level.ERROR, f"{state}: {failure}")
    return Health(Level.WARN, f"{state}: not taking input (activate it with ~/change_state)")


@dataclass
class DiagnosticsConfig:
    """Thresholds shared by both nodes (parameters ``diagnostics.<name>``)."""

    PARAMETER_PREFIX: ClassVar[str] = "diagnostics."

    period_s: float = param(1.0, "Period (s) of the node's /diagnostics status.")
    window_s: float = param(5.0, "Rates, drop shares and latencies are judged over this many recent seconds.")

    def __post_init__(self) -> None:
        """Every threshold must be in range (a bad YAML fails configure with the offending values)."""
        bad = [f"{self.PARAMETER_PREFIX}{name}={getattr(self, name)}" for name, ok in self._limits().items() if not ok]
        if bad:
            raise ValueError(f"out-of-range parameters: {', '.join(bad)}")

    def _limits(self) -> dict[str, bool]:
        """Field → whether its value is valid."""
        return {"period_s": self.period_s > 0, "window_s": self.window_s > 0}


@dataclass
class FusionDiagnosticsConfig(DiagnosticsConfig):
    """The fusion node's health thresholds (parameters ``diagnostics.<name>``)."""

    stale_input_s: float = param(2.0, "WARN when no colour frame arrived for this long (s).", False)
    warn_drop_share: float = param(0.5, "WARN when more than this share of the frames that ended in the window "
                                        "(fused + dropped) was dropped.", False)
    error_drop_share: float = param(0.95, "ERROR when at least this share of them was dropped.", False)
    min_frames: int = param(5, "Frames that must have ended in the window before the drop share is judged.", False)
    warn_rate_fraction: float = param(0.5, "WARN when the fused rate is below this fraction of the camera's "
                                           "nominal rate (estimated from the colour stamps).", False)
    error_stall_s: float = param(5.0, "ERROR when input arrives but no frame was fused for this long (s; from "
                                      "activation until the first one).", False)

    def _limits(self) -> dict[str, bool]:
        """Field → whether its value is valid."""
        return {**super()._limits(),
                "stale_input_s": self.stale_input_s > 0,
                "warn_drop_share": 0 <= self.warn_drop_share <= self.error_drop_share,
                "error_drop_share": 0 < self.error_drop_share <= 1,
                "min_frames": self.min_frames >= 1,
                "warn_rate_fraction": 0 <= self.warn_rate_fraction <= 1,
                "error_stall_s": self.error_stall_s > 0}


@dataclass
class DialogueDiagnosticsConfig(DiagnosticsConfig):
    """The dialogue node's health thresholds (parameters ``diagnostics.<name>``)."""

    window_s: float = param(60.0, "Answer latencies are judged over this many recent seconds.")
    warn_latency_s: float = param(5.0, "WARN when the mean answer latency over the window exceeds this (s).", False)
    error_latency_s: float = param(30.0, "ERROR when it exceeds this (s).", False)
    warn_map_age_s: float = param(30.0, "WARN when the live map (shared with a fusion node) did not change for "
                                        "this long (s); 0 disables. A map loaded from map_file is never judged.",
                                  False)

    def _limits(self) -> dict[str, bool]:
        """Field → whether its value is valid."""
        return {**super()._limits(),
                "warn_latency_s": 0 < self.warn_latency_s <= self.error_latency_s,
                "error_latency_s": self.error_latency_s > 0,
                "warn_map_age_s": self.warn_map_age_s >= 0}


class TimedWindow(Generic[T]):
    """Samples stamped with a monotonic time, keeping those of the last ``window_s`` seconds."""

    def __init__(self, window_s: float) -> None:
        """An empty window of ``window_s`` seconds (> 0)."""
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.window_s = window_s
        self._samples: collections.deque[tuple[float, T]] = collections.deque()

    def add(self, t: float, sample: T) -> None:
        """Append ``sample`` taken at ``t`` and forget the ones older than ``t - window_s``."""
        self._samples.append((t, sample))
        self.trim(t)

    def trim(self, now: float) -> None:
        """Forget the samples older than ``now - window_s``."""
        while self._samples and self._samples[0][0] < now - self.window_s:
            self._samples.popleft()

    def clear(self) -> None:
        """Forget every sample (a node re-activated starts a new window)."""
        self._samples.clear()

    def samples(self) -> list[tuple[float, T]]:
        """(time, sample) pairs, oldest first."""
        return list(self._samples)

    def values(self) -> list[T]:
        """The samples without their times, oldest first."""
        return [s for _, s in self._samples]


@dataclass(frozen=True)
class FrameCounts:
    """The fusion node's cumulative frame counters at one moment."""

    received: int
    fused: int
    dropped: int


@dataclass(frozen=True)
class FrameWindow:
    """What happened to the frames over the window (differences of two ``FrameCounts`` samples)."""

    elapsed_s: float
    received: int
    fused: int
    dropped: int

    @property
    def fused_rate_hz(self) -> float:
        """Frames fused per second over the window (0 for an empty window)."""
        return self.fused / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def ended(self) -> int:
        """Frames that ended in the window: fused or dropped."""
        return self.fused + self.dropped

    @property
    def drop_share(self) -> float:
        """Share of the frames that ended in the window that were dropped (0 when none ended)."""
        return self.dropped / self.ended if self.ended else 0.0

    @staticmethod
    def of(window: TimedWindow[FrameCounts]) -> FrameWindow:
        """The differences between the oldest and the newest sample of ``window`` (zeros with fewer than two)."""
        samples = window.samples()
        if len(samples) < 2:
            return FrameWindow(0.0, 0, 0, 0)
        (t0, a), (t1, b) = samples[0], samples[-1]
        return FrameWindow(t1 - t0, b.received - a.received, b.fused - a.fused, b.dropped - a.dropped)


def fusion_health(frames: FrameWindow, nominal_rate_hz: float, input_age_s: Optional[float], since_fused_s: float,
                  limits: FusionDiagnosticsConfig, warming_up: bool = False) -> Health:
    """The fusion node's health while active.

    ``frames``: the window's counts; ``nominal_rate_hz``: the camera's rate from its stamps (0 while unknown);
    ``input_age_s``: seconds since the last colour frame arrived (None: none since activation);
    ``since_fused_s``: seconds since the last fused frame (or since activation / the end of the warm-up when none
    was fused); ``warming_up``: the fusion path is still being compiled (frames wait: a WARN, never a stall)."""
    problems: list[tuple[Level, str]] = []
    if warming_up:
        problems.append((Level.WARN, "warming up the fusion path (frames wait)"))
    if input_age_s is None:
        problems.append((Level.WARN, "no input yet"))
    elif input_age_s > limits.stale_input_s:
        problems.append((Level.WARN, f"inputs stale: no colour frame for {input_age_s:.1f} s"))
    input_arrives = input_age_s is not None and input_age_s <= limits.stale_input_s
    if input_arrives and not warming_up and since_fused_s > limits.error_stall_s:
        problems.append((Level.ERROR, f"no frame fused for {since_fused_s:.1f} s while input arrives"))
    if frames.ended >= limits.min_frames:
        share = frames.drop_share
        text = f"{share:.0%} of the last {frames.ended} frames dropped (see the drop reasons)"
        if share >= limits.error_drop_share:
            problems.append((Level.ERROR, text))
        elif share > limits.warn_drop_share:
            problems.append((Level.WARN, text))
    judged_rate = input_arrives and nominal_rate_hz > 0 and frames.elapsed_s >= 0.5 * limits.window_s
    if judged_rate and frames.fused_rate_hz < limits.warn_rate_fraction * nominal_rate_hz:
        problems.append((Level.WARN, f"fusing {frames.fused_rate_hz:.1f} Hz, below {limits.warn_rate_fraction:.0%} "
                                     f"of the camera's {nominal_rate_hz:.1f} Hz"))
    nominal = f" of {nominal_rate_hz:.1f} Hz" if nominal_rate_hz > 0 else ""
    return worst(problems, f"fusing {frames.fused_rate_hz:.1f} Hz{nominal}")


def dialogue_health(latencies_s: Iterable[float], map_voxels: int, map_age_s: Optional[float],
                    limits: DialogueDiagnosticsConfig) -> Health:
    """The dialogue node's health while active (its model is loaded then).

    ``latencies_s``: the answers' latencies over the window; ``map_age_s``: seconds since the live map last
    changed (None for a map that is not live: loaded from a file)."""
    problems: list[tuple[Level, str]] = []
    if map_voxels == 0:
        problems.append((Level.WARN, "map empty: nothing to answer about yet"))
    elif map_age_s is not None and limits.warn_map_age_s > 0 and map_age_s > limits.warn_map_age_s:
        problems.append((Level.WARN, f"map not updated for {map_age_s:.0f} s (is the fusion node active and fed?)"))
    latencies = list(latencies_s)
    mean = sum(latencies) / len(latencies) if latencies else 0.0
    if latencies and mean > limits.error_latency_s:
        problems.append((Level.ERROR, f"answers take {mean:.2f} s on average"))
    elif latencies and mean > limits.warn_latency_s:
        problems.append((Level.WARN, f"answers take {mean:.2f} s on average"))
    ok = (f"{len(latencies)} answered in the last {limits.window_s:.0f} s, {mean:.2f} s on average" if latencies
          else "model loaded, ready")
    return worst(problems, ok)
