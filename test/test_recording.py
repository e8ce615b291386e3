"""The rerun recording (``agent.recording``): written in file mode, read back with rerun's own RRD reader.

Checks what ``make demo RERUN=1`` must hold: camera images, the CFG (same positions and colours as ``~/cfg``), the
trajectory, and one grounding plus one text entry per answer, all on the sensor-time timeline.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from dialogue_fixtures import fused_store

from leovl_ros.agent.answering import Reply
from leovl_ros.agent.cfg_points import cfg_columns, colours_to_uint8
from leovl_ros.agent.recording import ENTITIES, Recorder, cfg_cells_in, read_recording, recording_summary

pytest.importorskip("rerun", reason="rerun-sdk is not installed (requirements.txt pins it)")

K = np.array([[120.0, 0.0, 40.0], [0.0, 120.0, 30.0], [0.0, 0.0, 1.0]])
T0 = 1_700_000_000_000_000_123
"""First frame stamp (ns): odd nanoseconds must survive the round trip."""


def pose(i: int) -> np.ndarray:
    """Camera i on a line along x, 1.2 m up, looking along +x (optical z forward)."""
    T = np.eye(4)
    T[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]
    T[:3, 3] = (0.1 * i, 0.5, 1.2)
    return T


def rgbd(i: int) -> tuple[np.ndarray, np.ndarray]:
    """An 80×60 colour image and a depth image with NaN, 0 and out-of-range pixels."""
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[..., 0] = (i * 20) % 256
    depth = np.full((60, 80), 2.0 + 0.01 * i, np.float32)
    depth[0, 0], depth[0, 1], depth[0, 2] = np.nan, 0.0, 99.0
    return rgb, depth


def test_recording_reads_back(tmp_path: Path) -> None:
    from leovl_ros.cfg.condense import condense

    path = tmp_path / "run" / "session.rrd"
    batch = condense(fused_store(seed=1))
    with Recorder(path, image_every=2, jpeg_quality=None, trajectory_every=3) as rec:
        for i in range(6):
            rec.log_frame(T0 + i * 33_000_000, *rgbd(i), K, pose(i))
        rec.log_cfg(batch, T0 + 200_000_000)
        rec.log_answer("what is left of the sofa?", "the lamp", [[1.0, 2.0, 0.4], [1.3, 2.0, 0.5]], [0.3, 0.15],
                       stamp_ns=T0 + 300_000_000)
        rec.log_reply("how many chairs?", Reply(success=True, answer="two"))
        rec.log_reply("", Reply(success=False, error="empty question"))
        assert rec.counts == {"frames": 6, "answers": 3}
    rec.log_answer("after close", "ignored")  # no error, nothing written
    assert path.stat().st_size > 0

    rows = read_recording(path)
    # camera: every frame's pose, images of every 2nd frame (raw, decodable), one pinhole
    cams = rows[ENTITIES["camera"]]
    assert [r["stamp"] for r in cams] == [T0 + i * 33_000_000 for i in range(6)]
    assert np.allclose(cams[4]["Transform3D:translation"][0], pose(4)[:3, 3])
    assert np.allclose(np.reshape(cams[4]["Transform3D:mat3x3"][0], (3, 3), order="F"), pose(4)[:3, :3])
    images = rows[ENTITIES["rgb"]]
    assert len(images) == 3 and [r["stamp"] for r in images] == [T0 + i * 33_000_000 for i in (0, 2, 4)]
    assert np.array_equal(np.asarray(images[1]["Image:buffer"][0], np.uint8).reshape(60, 80, 3), rgbd(2)[0])
    depth = np.asarray(rows[ENTITIES["depth"]][0]["DepthImage:buffer"][0], np.uint8).view("<u2").reshape(60, 80)
    assert depth[0, :3].tolist() == [0, 0, 0] and depth[5, 5] == 2000
    assert rows[ENTITIES["depth"]][0]["DepthImage:meter"] == [1000.0]
    pinholes = rows[ENTITIES["image"]]
    assert len(pinholes) == 1 and np.allclose(np.reshape(pinholes[0]["Pinhole:image_from_camera"][0], (3, 3),
                                                         order="F"), K)
    # CFG: ~/cfg's positions and colours
    (cells,) = cfg_cells_in(rows)
    cols = cfg_columns(batch)
    assert np.array_equal(np.asarray(cells, np.float32), cols["xyz"])
    packed = np.asarray(rows[ENTITIES["cfg"]][0]["Points3D:colors"], np.uint32)
    rgb = np.stack([(packed >> 24) & 255, (packed >> 16) & 255, (packed >> 8) & 255], axis=1).astype(np.uint8)
    assert np.array_equal(rgb, colours_to_uint8(cols["colour"]))
    # trajectory: the last strip holds every camera centre
    strip = np.asarray(rows[ENTITIES["trajectory"]][-1]["LineStrips3D:strips"][0])
    assert np.allclose(strip, [pose(i)[:3, 3] for i in range(6)], atol=1e-6)
    # one grounding and one text per answer, in order
    grounding = rows[ENTITIES["grounding"]]
    assert len(grounding) == 3
    assert np.allclose(grounding[0]["Boxes3D:centers"], [[1.0, 2.0, 0.4], [1.3, 2.0, 0.5]])
    assert np.allclose(np.asarray(grounding[0]["Boxes3D:half_sizes"])[:, 0], [0.15, 0.075])
    assert grounding[0]["Boxes3D:labels"] == ["the lamp", "the lamp"] and grounding[0]["stamp"] == T0 + 300_000_000
    assert not grounding[1].get("Boxes3D:centers")
    texts = [r["TextLog:text"][0] for r in rows[ENTITIES["answers"]]]
    assert texts[0].startswith("Q: what is left of the sofa?\nA: the lamp") and "A: two" in texts[1]
    assert "rejected: empty question" in texts[2]
    assert recording_summary(path) == {"frames": 6, "images": 3, "depth_images": 3, "cfg": 1, "groundings": 3,
                                       "answers": 3}


def test_recorder_is_thread_safe_and_validates(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Recorder(tmp_path / "bad.rrd", image_every=0)
    rec = Recorder(tmp_path / "threads.rrd", jpeg_quality=80)

    def frames() -> None:
        for i in range(20):
            rec.log_frame(T0 + i, *rgbd(i), K, pose(i))

    def answers() -> None:
        for i in range(20):
            rec.log_answer(f"q{i}", f"a{i}", [[0.0, 0.0, float(i)]], stamp_ns=T0 + 1000 + i)

    threads = [threading.Thread(target=frames), threading.Thread(target=answers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pytest.raises(ValueError):
        rec.log_answer("q", "a", [[0, 0, 0]], [0.3, 0.3])
    rec.close()
    rows = read_recording(tmp_path / "threads.rrd")
    assert len(rows[ENTITIES["camera"]]) == 20 and len(rows[ENTITIES["grounding"]]) == 20
    assert sorted(r["stamp"] for r in rows[ENTITIES["grounding"]]) == [T0 + 1000 + i for i in range(20)]
    assert rows[ENTITIES["rgb"]][0]["EncodedImage:media_type"] == ["image/jpeg"]


def test_a_recording_whose_writer_was_killed_reads_as_far_as_it_was_written(tmp_path: Path) -> None:
    """A process killed before closing its recording leaves no footer: what it flushed still reads back."""
    import subprocess
    import sys

    path = tmp_path / "killed.rrd"
    script = ("import os, sys; sys.path.insert(0, sys.argv[2]); from test_recording import K, T0, pose, rgbd; "
              "from leovl_ros.agent.recording import Recorder; rec = Recorder(sys.argv[1], jpeg_quality=None); "
              "[rec.log_frame(T0 + i * 33_000_000, *rgbd(i), K, pose(i)) for i in range(3)]; rec._rec.flush(); "
              "os._exit(0)")
    subprocess.run([sys.executable, "-c", script, str(path), str(Path(__file__).parent)], check=True, timeout=120)
    counts = recording_summary(path)
    assert counts["frames"] == counts["images"] == counts["depth_images"] == 3
