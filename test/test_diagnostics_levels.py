"""The health levels of the agent nodes (``agent.diagnostics``), from plain numbers, at the documented thresholds."""

from __future__ import annotations

import dataclasses

import pytest

from leovl_ros.agent.diagnostics import (
    DialogueDiagnosticsConfig,
    FrameCounts,
    FrameWindow,
    FusionDiagnosticsConfig,
    Level,
    TimedWindow,
    dialogue_health,
    fusion_health,
    lifecycle_health,
    worst,
)

LIMITS = FusionDiagnosticsConfig()  # the defaults docs/operations.md documents


def frames(fused: int, dropped: int, elapsed_s: float = 5.0) -> FrameWindow:
    """A window in which ``fused`` + ``dropped`` frames ended (every one received)."""
    return FrameWindow(elapsed_s, fused + dropped, fused, dropped)


def test_documented_defaults() -> None:
    assert (LIMITS.period_s, LIMITS.window_s, LIMITS.stale_input_s, LIMITS.warn_drop_share, LIMITS.error_drop_share,
            LIMITS.min_frames, LIMITS.warn_rate_fraction, LIMITS.error_stall_s) == (1.0, 5.0, 2.0, 0.5, 0.95, 5, 0.5,
                                                                                  5.0)
    d = DialogueDiagnosticsConfig()
    assert (d.window_s, d.warn_latency_s, d.error_latency_s, d.warn_map_age_s) == (60.0, 5.0, 30.0, 30.0)
    assert FusionDiagnosticsConfig.PARAMETER_PREFIX == "diagnostics."


@pytest.mark.parametrize("bad", [{"warn_drop_share": 0.99}, {"error_drop_share": 0.0}, {"error_drop_share": 1.5},
                                 {"window_s": 0.0}, {"period_s": -1.0}, {"min_frames": 0},
                                 {"warn_rate_fraction": 1.2}, {"error_stall_s": 0.0}, {"stale_input_s": 0.0}])
def test_fusion_thresholds_out_of_range_are_refused(bad: dict) -> None:
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"diagnostics.{name}="):
        FusionDiagnosticsConfig(**bad)


@pytest.mark.parametrize("bad", [{"warn_latency_s": 40.0}, {"warn_latency_s": 0.0}, {"warn_map_age_s": -1.0}])
def test_dialogue_thresholds_out_of_range_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match="out-of-range"):
        DialogueDiagnosticsConfig(**bad)


def test_healthy_stream_is_ok_with_its_rates() -> None:
    health = fusion_health(frames(140, 10), 30.0, 0.03, 0.04, LIMITS)
    assert health.level == Level.OK and health.message == "fusing 28.0 Hz of 30.0 Hz"


def test_drop_share_warns_above_the_warn_share_and_errors_at_the_error_share() -> None:
    at_warn = fusion_health(frames(50, 50), 0.0, 0.03, 0.1, LIMITS)  # 50 %: not above
    assert at_warn.level == Level.OK
    above = fusion_health(frames(49, 51), 0.0, 0.03, 0.1, LIMITS)
    assert above.level == Level.WARN and "51% of the last 100 frames dropped" in above.message
    just_below_error = fusion_health(frames(6, 94), 0.0, 0.03, 0.1, LIMITS)
    assert just_below_error.level == Level.WARN
    error = fusion_health(frames(5, 95), 0.0, 0.03, 0.1, LIMITS)
    assert error.level == Level.ERROR and "95% of the last 100 frames dropped" in error.message


def test_drop_share_needs_min_frames() -> None:
    assert fusion_health(frames(0, 4), 0.0, 0.03, 0.1, LIMITS).level == Level.OK
    assert fusion_health(frames(0, 5), 0.0, 0.03, 0.1, LIMITS).level == Level.ERROR


def test_low_fused_rate_warns_only_with_a_known_nominal_rate_and_a_full_enough_window() -> None:
    slow = frames(70, 0)  # 14 Hz over 5 s
    assert fusion_health(slow, 30.0, 0.03, 0.1, LIMITS).level == Level.WARN
    assert "fusing 14.0 Hz, below 50% of the camera's 30.0 Hz" in fusion_health(slow, 30.0, 0.03, 0.1, LIMITS).message
    assert fusion_health(frames(80, 0), 30.0, 0.03, 0.1, LIMITS).level == Level.OK  # 16 Hz ≥ 15 Hz
    assert fusion_health(slow, 0.0, 0.03, 0.1, LIMITS).level == Level.OK  # nominal unknown
    assert fusion_health(frames(2, 0, elapsed_s=2.0), 30.0, 0.03, 0.1, LIMITS).level == Level.OK  # window < half
    assert fusion_health(slow, 30.0, 3.0, 0.1, LIMITS).message.startswith("inputs stale"), "stale input: no rate"


def test_stale_and_missing_input_warn() -> None:
    none_yet = fusion_health(frames(0, 0, 0.0), 0.0, None, 60.0, LIMITS)
    assert none_yet.level == Level.WARN and none_yet.message == "no input yet"
    stale = fusion_health(frames(0, 0, 5.0), 30.0, 2.5, 60.0, LIMITS)
    assert stale.level == Level.WARN and stale.message == "inputs stale: no colour frame for 2.5 s"
    assert fusion_health(frames(10, 0), 0.0, 2.0, 0.1, LIMITS).level == Level.OK  # exactly the limit


def test_stall_while_input_arrives_is_an_error() -> None:
    stalled = fusion_health(frames(0, 0, 5.0), 0.0, 0.05, 5.1, LIMITS)
    assert stalled.level == Level.ERROR and stalled.message == "no frame fused for 5.1 s while input arrives"
    assert fusion_health(frames(0, 0, 5.0), 0.0, 0.05, 5.0, LIMITS).level == Level.OK
    assert fusion_health(frames(0, 0, 5.0), 0.0, 2.5, 60.0, LIMITS).level == Level.WARN, "no input: only stale"


def test_warm_up_is_a_warning_not_a_stall() -> None:
    warming = fusion_health(frames(0, 0, 5.0), 0.0, 0.05, 60.0, LIMITS, warming_up=True)
    assert warming.level == Level.WARN and warming.message == "warming up the fusion path (frames wait)"


def test_every_problem_is_named_worst_first() -> None:
    health = fusion_health(frames(1, 20), 30.0, 0.05, 9.0, LIMITS)
    assert health.level == Level.ERROR
    parts = health.message.split("; ")
    assert len(parts) == 3 and "dropped" in health.message and "no frame fused" in health.message
    assert parts[-1].startswith("fusing 0.2 Hz, below"), "the WARN comes after the ERRORs"
    assert worst([], "fine").level == Level.OK
    assert worst([(Level.WARN, "a"), (Level.ERROR, "b")], "x").message == "b; a"


def test_runtime_thresholds_change_the_verdict() -> None:
    strict = dataclasses.replace(LIMITS, warn_drop_share=0.05, error_drop_share=0.2)
    assert fusion_health(frames(90, 10), 0.0, 0.03, 0.1, LIMITS).level == Level.OK
    assert fusion_health(frames(90, 10), 0.0, 0.03, 0.1, strict).level == Level.WARN
    assert fusion_health(frames(80, 20), 0.0, 0.03, 0.1, strict).level == Level.ERROR


def test_lifecycle_states() -> None:
    assert lifecycle_health("active") is None
    inactive = lifecycle_health("inactive")
    assert inactive is not None and inactive.level == Level.WARN and inactive.message.startswith("inactive")
    failed = lifecycle_health("unconfigured", "configure failed: model checkpoint not found")
    assert failed is not None and failed.level == Level.ERROR
    assert failed.message == "unconfigured: configure failed: model checkpoint not found"


def test_dialogue_levels() -> None:
    d = DialogueDiagnosticsConfig()
    assert dialogue_health([], 100, None, d).message == "model loaded, ready"
    assert dialogue_health([0.5, 1.5], 100, 3.0, d).level == Level.OK
    warn = dialogue_health([4.0, 7.0], 100, 3.0, d)  # mean 5.5 s
    assert warn.level == Level.WARN and warn.message == "answers take 5.50 s on average"
    assert dialogue_health([31.0], 100, 3.0, d).level == Level.ERROR
    assert dialogue_health([], 0, None, d).message == "map empty: nothing to answer about yet"
    old = dialogue_health([], 100, 31.0, d)
    assert old.level == Level.WARN and old.message.startswith("map not updated for 31 s")
    assert dialogue_health([], 100, None, d).level == Level.OK, "a map from a file has no age to judge"
    assert dialogue_health([], 100, 1e6, dataclasses.replace(d, warn_map_age_s=0.0)).level == Level.OK


def test_frame_window_differences_over_the_last_seconds() -> None:
    window: TimedWindow[FrameCounts] = TimedWindow(2.0)
    assert FrameWindow.of(window) == FrameWindow(0.0, 0, 0, 0)
    for t in range(6):  # one sample a second: 10 received, 8 fused, 2 dropped per second
        window.add(float(t), FrameCounts(10 * t, 8 * t, 2 * t))
    f = FrameWindow.of(window)
    assert f == FrameWindow(2.0, 20, 16, 4) and f.fused_rate_hz == 8.0 and f.drop_share == 0.2
    window.clear()
    assert FrameWindow.of(window).ended == 0
    with pytest.raises(ValueError):
        TimedWindow(0.0)
