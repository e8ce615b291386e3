"""The agent's ROS-free pieces: input validation, frame sync, the shared map handle, answering, top-down
pictures, the offline ``leovl-ask`` command and where files live. Never imports rclpy or ``*_msgs``.
"""
