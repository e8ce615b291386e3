"""Test-session setup: ROS isolation (private domain, localhost discovery, Fast DDS profile) and data paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leovl_ros.paths import shared_data_dir
from leovl_ros.ros_env import ros_environment

# Every test session (and every subprocess it starts) gets a private ROS domain and localhost-only
# discovery, so two runs on one machine never see each other's messages.
os.environ.update(ros_environment(domain_id=1 + os.getpid() % 100))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared reference data folder; tests that need it skip with a clear reason where it is absent."""
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"shared reference data not found at {root} (set LEOVL_SHARED_DATA)")
    return root
