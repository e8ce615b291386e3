"""The agent's ROS-free pieces: input validation, frame sync, the shared map handle, answering, top-down
pictures, the ``leovl-ask`` command (a
saved map here; a running agent through ``ros.ask_client``) and where files live. Never imports rclpy or ``*_msgs``.
"""
