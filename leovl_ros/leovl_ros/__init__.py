"""leovl_ros: spatial dialogue for ROS 2 robots over a Condensed Feature Grid (LEO-VL).

The subpackages ``geometry``, ``io``, ``sim``, ``cfg``, ``model``, ``runtime`` and ``eval`` are the
ROS-free core: they never import rclpy. Node modules (``*_node.py``) are thin adapters over them.
"""

__version__ = "0.1.0"
