"""ROS 2 adapters: the nodes, message conversions, QoS, parameters, bring-up, environment and the demo.

Everything that imports rclpy or a ``*_msgs`` package lives here; each module is a thin layer over the ROS-free
core (``leovl_ros.agent``, ``cfg``, ``model``, ``geometry``, ``io``, ``sim``, ``runtime``, ``eval``).
"""
