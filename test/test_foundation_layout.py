"""The repository's shape: two ROS packages, a ROS-free core, pinned set-up, CI = `make test`, lint clean."""

from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from leovl_ros.agent.paths import REPO_ROOT
from leovl_ros.ros.env import fastdds_profile_path, ros_environment

CORE_PACKAGES = ("agent", "geometry", "io", "sim", "cfg", "model", "runtime", "eval")
"""Subpackages that never import rclpy or a ROS message package (only ``leovl_ros.ros`` may)."""
PKG_DIR = REPO_ROOT / "leovl_ros" / "leovl_ros"


def _core_files() -> list[Path]:
    return [p for sub in CORE_PACKAGES for p in sorted((PKG_DIR / sub).rglob("*.py"))]


def test_two_ros_packages_side_by_side() -> None:
    for pkg, build_type in (("leovl_ros", "ament_python"), ("leovl_interfaces", "ament_cmake")):
        root = ET.parse(REPO_ROOT / pkg / "package.xml").getroot()
        assert root.get("format") == "3"
        assert root.findtext("name") == pkg
        assert root.find("export").findtext("build_type") == build_type
    assert (REPO_ROOT / "leovl_ros" / "resource" / "leovl_ros").is_file()
    for top in ("engines", "training", "benchmarks", "test"):
        assert (REPO_ROOT / top).is_dir(), top


def _is_ros(module: str) -> bool:
    """rclpy, a ROS message/service package (``*_msgs``, ``*_srvs``, ``*_interfaces``) or a ROS client library."""
    top = module.split(".")[0]
    return top in ("rclpy", "tf2_ros", "builtin_interfaces", "rosidl_runtime_py", "launch", "launch_ros") or \
        top.endswith(("_msgs", "_srvs", "_interfaces"))


def test_no_loose_modules_at_the_package_root() -> None:
    """Every module sits in a subpackage: ``ros/`` for ROS adapters, the ROS-free core elsewhere."""
    loose = sorted(p.name for p in PKG_DIR.glob("*.py") if p.name != "__init__.py")
    assert loose == [], loose


def test_core_never_imports_rclpy_statically() -> None:
    offenders = []
    for path in _core_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(REPO_ROOT)}: {n}" for n in names if _is_ros(n)]
    assert not offenders, offenders
    assert len(_core_files()) >= len(CORE_PACKAGES)


def test_core_imports_without_loading_rclpy() -> None:
    modules = sorted(
        ".".join(p.relative_to(PKG_DIR.parent).with_suffix("").parts).removesuffix(".__init__")
        for p in _core_files()
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "bad = [t for t in tops if t in ('rclpy', 'leovl_interfaces') or t.endswith('_msgs')]\n"
        "print('RCLPY' if bad else 'CLEAN')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("CLEAN")


def test_ci_runs_exactly_make_test() -> None:
    lines = [ln.strip() for ln in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [ln for ln in lines if ln and not ln.startswith("#") and not ln.startswith(("set ", "cd "))]
    assert commands == ["make test"]


def _lock_for(python_version: str) -> dict[str, str]:
    """{name: version} of the lock lines whose marker holds on that Python; a name pinned twice is an error."""
    from packaging.markers import Marker

    pins: dict[str, str] = {}
    for ln in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        if not ln.strip() or ln.startswith("#"):
            continue
        pin, _, marker = ln.partition(";")
        if marker and not Marker(marker).evaluate({"python_version": python_version}):
            continue
        name, sep, version = pin.strip().partition("==")
        assert sep and version, ln
        assert name.lower() not in pins, f"{name} pinned twice for Python {python_version}"
        pins[name.lower()] = version
    return pins


@pytest.mark.parametrize("python_version", ["3.10", "3.11", "3.12"])
def test_requirements_are_pinned(python_version: str) -> None:
    """Every line is an exact pin, once per Python, the project's direct needs included, torch at 2.13.0."""
    pins = _lock_for(python_version)
    for needed in ("torch", "ros-kilted-rclpy", "ros-kilted-rmw-fastrtps-cpp", "open3d-cpu", "onnxruntime",
                   "transformers", "tokenizers", "safetensors", "rosbags", "mcap-ros2-support", "hypothesis", "numpy"):
        assert needed in pins, needed
    assert pins["torch"] == "2.13.0"


def test_lock_merge_marks_only_what_differs() -> None:
    """scripts/lock.py merge: a shared pin stays unmarked, a differing or one-sided one gets its Python's marker."""
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import lock
    finally:
        sys.path.pop(0)
    lines = lock.merge({"numpy": "2.4.6", "PyYAML": "6.0.3", "ipython_pygments_lexers": "1.1.1"},
                       {"numpy": "2.2.6", "pyyaml": "6.0.3", "tomli": "2.5.0"})
    assert lines == ['ipython_pygments_lexers==1.1.1; python_version >= "3.11"',
                     'numpy==2.4.6; python_version >= "3.11"', 'numpy==2.2.6; python_version < "3.11"',
                     "PyYAML==6.0.3", 'tomli==2.5.0; python_version < "3.11"']


def test_fastdds_profile_is_shared_memory_with_big_segment() -> None:
    path = Path(fastdds_profile_path())
    root = ET.parse(path).getroot()
    ns = {"f": "http://www.eprosima.com"}
    kinds = {d.findtext("f:type", namespaces=ns): d for d in root.iterfind(".//f:transport_descriptor", ns)}
    assert set(kinds) == {"SHM", "UDPv4"}
    assert int(kinds["SHM"].findtext("f:segment_size", namespaces=ns)) == 32 * 1024 * 1024
    assert root.findtext(".//f:useBuiltinTransports", namespaces=ns) == "false"
    env = ros_environment(domain_id=42)
    assert env["ROS_DOMAIN_ID"] == "42" and env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert env["RMW_IMPLEMENTATION"] == "rmw_fastrtps_cpp"


def test_setup_is_up_to_date_after_make_setup() -> None:
    """`make setup` a second time has nothing to do (make -q exits 0 when every stamp is current)."""
    result = subprocess.run(["make", "-q", "setup"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, "make setup would rebuild: a stamp is older than its inputs"


def test_ruff_lint_clean() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "."], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.mark.slow
def test_colcon_builds_both_packages() -> None:
    result = subprocess.run(["bash", "scripts/colcon_build.sh"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    assert "colcon: both packages built" in result.stdout
