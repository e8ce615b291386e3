"""Robot-side configuration shared by ``agent.launch.py`` and ``leovl-agent``: camera remap sets, namespaced
parameter files and the Fast DDS profile default. ROS-free (plain files and strings; no rclpy, no launch).

Camera presets live in ``config/cameras/<name>.yaml`` (``realsense``, ``orbbec``, ``zed``): a ``remappings`` table
from the fusion node's default topic names to a driver's topics, plus comments on the driver settings they assume.
``camera:=NAME`` (launch) and ``--camera NAME`` (``leovl-agent``) turn it into remap rules; a path to a YAML of the
same shape works too. Explicit topic launch arguments win over a preset (their rules come first; ROS 2 applies the
first matching rule).

Parameter files keyed by plain node names (``fusion:``) only reach nodes outside any namespace; with a namespace
(``namespace:=robot1``, ``-r __ns:=/robot1``) ``namespaced_params_file`` writes a copy keyed ``/**/fusion`` that
reaches the node in any namespace.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from leovl_ros.agent.paths import PACKAGE_DIR

CAMERAS_SOURCE_DIR = PACKAGE_DIR.parent / "config" / "cameras"
"""Presets in the source tree (an installed package has them in ``share/leovl_ros/config/cameras``)."""
FASTDDS_RMWS = ("", "rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")
"""RMW_IMPLEMENTATION values that mean Fast DDS (unset = the distribution's default, Fast DDS on Humble-Kilted)."""


def cameras_dir() -> Path:
    """``config/cameras`` of the source tree, else of the installed package's share folder."""
    if CAMERAS_SOURCE_DIR.is_dir():
        return CAMERAS_SOURCE_DIR
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("leovl_ros")) / "config" / "cameras"
    except Exception:  # no ament index: report the source path in errors
        return CAMERAS_SOURCE_DIR


def camera_names() -> list[str]:
    """Names of the shipped camera presets."""
    return sorted(p.stem for p in cameras_dir().glob("*.yaml"))


@dataclass
class CameraPreset:
    """A camera driver's topic names as remap rules (default topic → driver topic)."""

    name: str
    """Preset name (file stem)."""
    description: str = ""
    """One line: driver and the settings it assumes."""
    remappings: dict[str, str] = field(default_factory=dict)
    """The fusion node's default topic name → the driver's topic."""


def camera_preset_path(name_or_path: str) -> Path:
    """A preset's file: a shipped name (``realsense``) or a path to a YAML; ``ValueError`` when neither exists."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate
    path = cameras_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown camera preset {name_or_path!r}: shipped presets are {', '.join(camera_names())} "
                         f"(in {cameras_dir()}), or give a path to a YAML with a 'remappings' table")
    return path


def load_camera_preset(name_or_path: str) -> CameraPreset:
    """Read and check a preset: a ``remappings`` mapping of non-empty topic names."""
    path = camera_preset_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    remaps = data.get("remappings") if isinstance(data, dict) else None
    if not isinstance(remaps, dict) or not remaps:
        raise ValueError(f"{path}: needs a non-empty 'remappings' table (default topic: driver topic)")
    bad = [f"{k}: {v}" for k, v in remaps.items() if not (isinstance(k, str) and isinstance(v, str) and k and v)
           or any(c.isspace() or c == ":" for c in f"{k}{v}")]
    if bad:
        raise ValueError(f"{path}: bad remappings {bad}")
    return CameraPreset(name=str(data.get("camera", path.stem)), description=str(data.get("description", "")),
                        remappings=dict(remaps))


def topic_remappings(explicit: Mapping[str, str], preset: CameraPreset | None) -> list[tuple[str, str]]:
    """Remap rules in precedence order: explicit (default topic → non-empty value) first, then the preset's."""
    rules = [(src, dst) for src, dst in explicit.items() if dst and dst != src]
    taken = {src for src, _ in rules}
    if preset is not None:
        rules += [(src, dst) for src, dst in preset.remappings.items() if src not in taken]
    return rules


def remap_arguments(rules: list[tuple[str, str]]) -> list[str]:
    """ROS command-line form of remap rules: ``["-r", "from:=to", ...]`` (after ``--ros-args``)."""
    out: list[str] = []
    for src, dst in rules:
        out += ["-r", f"{src}:={dst}"]
    return out


def namespaced_params_file(path: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> Path:
    """A copy of a parameter file whose plain node keys (``fusion``) become ``/**/fusion`` (any namespace).

    Keys that already start with ``/`` are kept. The copy goes to ``out_dir`` (default: the temp folder), named
    by the content's hash, so repeated launches reuse it. Returns the original path when nothing needs rewriting.
    """
    source = Path(path)
    text = source.read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict) or all(str(k).startswith("/") for k in data):
        return source
    rewritten = {(k if str(k).startswith("/") else f"/**/{k}"): v for k, v in data.items()}
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    target = Path(out_dir or tempfile.gettempdir()) / f"leovl_{source.stem}_{digest}.yaml"
    if not target.is_file():
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(f"# {source} with node keys for any namespace (leovl_ros robot_config)\n"
                       + yaml.safe_dump(rewritten, sort_keys=False))
        os.replace(tmp, target)
    return target


def fastdds_profile_environment(environ: Mapping[str, str], profile: str) -> dict[str, str]:
    """Variables to add so Fast DDS loads the shipped profile — only where the user chose nothing.

    Empty when ``FASTDDS_DEFAULT_PROFILES_FILE`` is already set or the RMW is not Fast DDS; the RMW itself is never
    set (on the PyPI stack ``leovl-agent`` names ``rmw_fastrtps_cpp``, see ``ros/env.py``).
    """
    if environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or environ.get("RMW_IMPLEMENTATION", "") not in FASTDDS_RMWS:
        return {}
    return {"FASTDDS_DEFAULT_PROFILES_FILE": str(profile)}
