"""Test-session setup: ROS isolation (private domain, localhost discovery, Fast DDS profile) and data paths."""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from leovl_ros.agent.paths import shared_data_dir
from leovl_ros.ros.env import ros_environment


def private_domain_id() -> int:
    """A ROS domain for this test process: random per run (two runs on one machine rarely meet) and, under
    pytest-xdist, different for each worker of the run (``make test`` runs two: they must never meet)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    run = int(hashlib.sha1(os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid())).encode()).hexdigest(), 16)
    return 1 + (run % (100 // workers)) * workers + worker


# Every test session (and every subprocess it starts) gets a private ROS domain and localhost-only
# discovery, so two runs on one machine never see each other's messages.
os.environ.update(ros_environment(domain_id=private_domain_id()))
# Encoder exports of the nodes (backend auto → ONNX under $ROS_HOME/leovl_engines) stay inside the session.
os.environ["ROS_HOME"] = tempfile.mkdtemp(prefix="leovl_test_ros_home_")
atexit.register(shutil.rmtree, os.environ["ROS_HOME"], True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared reference data folder; tests that need it skip with a clear reason where it is absent."""
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"shared reference data not found at {root} (set LEOVL_SHARED_DATA)")
    return root


@pytest.fixture(params=["compiled", "torch"])
def cfg_backend(request, monkeypatch) -> str:
    """Run a test on both per-frame fusion paths: the compiled CPU loops and the torch ops (CUDA's path)."""
    from leovl_ros.cfg import compiled

    if request.param == "compiled" and not compiled.AVAILABLE:
        pytest.skip("numba is not installed: only the torch path exists")
    if request.param == "torch":
        monkeypatch.setattr(compiled, "AVAILABLE", False)
    return request.param


@pytest.fixture(scope="module")
def benchmark(request):
    """The ``benchmarks/`` script a test module names in ``BENCHMARK``, imported as a module (its functions are the
    ones under test)."""
    path = Path(request.module.BENCHMARK)
    spec = importlib.util.spec_from_file_location(f"{path.stem}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)
