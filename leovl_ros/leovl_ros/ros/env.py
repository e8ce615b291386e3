"""Environment every process that starts ROS 2 nodes needs (no rclpy import here)."""

from __future__ import annotations

import os
from typing import Optional

from leovl_ros.agent.paths import PACKAGE_DIR

FASTDDS_PROFILE = PACKAGE_DIR.parent / "config" / "fastdds.xml"


def fastdds_profile_path() -> str:
    """The shipped Fast DDS profile: source tree, or the ament share folder of an installed package."""
    if FASTDDS_PROFILE.is_file():
        return str(FASTDDS_PROFILE)
    try:
        from ament_index_python.packages import get_package_share_directory

        return os.path.join(get_package_share_directory("leovl_ros"), "config", "fastdds.xml")
    except Exception:
        return str(FASTDDS_PROFILE)


def ros_environment(domain_id: Optional[int] = None) -> dict[str, str]:
    """Variables for node processes: Fast DDS with the shared-memory profile, optional private domain.

    Values already set by the user win, except the domain when one is passed explicitly.
    """
    env = {
        "RMW_IMPLEMENTATION": os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp"),
        "FASTDDS_DEFAULT_PROFILES_FILE": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", fastdds_profile_path()),
    }
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # Jazzy and later
        if os.environ.get("ROS_DISTRO") == "humble":
            env["ROS_LOCALHOST_ONLY"] = "1"  # Humble's equivalent
    return env


def apply_ros_environment() -> None:
    """Set the defaults above in this process (before rclpy initialises its middleware)."""
    for key, value in ros_environment().items():
        os.environ.setdefault(key, value)
