"""Frames, poses and world conventions (REP 103: metres, z up). ROS-free."""

from leovl_ros.geometry.frame import Frame

__all__ = ["Frame"]
