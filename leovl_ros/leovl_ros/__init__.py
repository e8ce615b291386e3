"""leovl_ros: spatial dialogue for ROS 2 robots over a Condensed Feature Grid (LEO-VL).

``leovl_ros.ros`` holds every ROS 2 adapter (nodes, message conversions, QoS, parameters, bring-up, demo). All
other subpackages — ``agent``, ``geometry``, ``io``, ``sim``, ``cfg``, ``model``, ``runtime``, ``eval`` — are the
ROS-free core: they never import rclpy or a ROS message package, so they test and train without ROS.
"""

__version__ = "0.1.0"
