"""``ros2 launch leovl_ros agent.launch.py``: fusion + dialogue nodes in one process (the ``agent`` executable).

The two nodes share the fused map in memory on one MultiThreadedExecutor (see ``leovl_ros.ros.bringup``); every
parameter comes from ``config/agent.yaml`` (the same file ``leovl-agent`` reads where ``ros2 launch`` is absent).
Camera topics are launch arguments so a robot's driver names plug in without editing the YAML, e.g.::

    ros2 launch leovl_ros agent.launch.py color_topic:=/head/rgb depth_topic:=/head/depth use_sim_time:=true
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "leovl_ros"

TOPIC_ARGUMENTS = {
    "color_topic": ("camera/color/image_raw", "colour image (sensor_msgs/Image or CompressedImage)"),
    "depth_topic": ("camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1 mm or 32FC1 m)"),
    "camera_info_topic": ("camera/color/camera_info", "intrinsics of the colour camera"),
    "pose_topic": ("camera/pose", "PoseStamped of the camera optical frame in map (pose_source: topic)"),
    "odom_topic": ("odom", "nav_msgs/Odometry of the base (pose_source: odometry)"),
}
"""Launch argument → (the nodes' default topic name, description); each becomes a remapping."""


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments, set the Fast DDS profile and start the ``agent`` executable with the YAML."""
    share = FindPackageShare(PACKAGE)
    arguments = [
        DeclareLaunchArgument("params_file", default_value=PathJoinSubstitution([share, "config", "agent.yaml"]),
                              description="ROS 2 parameter YAML for fusion_node and dialogue_node"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="use /clock (bag replay with --clock)"),
        DeclareLaunchArgument("log_level", default_value="info", description="rcutils log level"),
    ]
    arguments += [DeclareLaunchArgument(name, default_value=default, description=text)
                  for name, (default, text) in TOPIC_ARGUMENTS.items()]
    agent = Node(
        package=PACKAGE,
        executable="agent",
        output="screen",
        emulate_tty=True,
        parameters=[LaunchConfiguration("params_file"), {"use_sim_time": LaunchConfiguration("use_sim_time")}],
        remappings=[(default, LaunchConfiguration(name)) for name, (default, _) in TOPIC_ARGUMENTS.items()],
        ros_arguments=["--log-level", LaunchConfiguration("log_level")],
    )
    return LaunchDescription([
        SetEnvironmentVariable("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp"),
        SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", PathJoinSubstitution([share, "config", "fastdds.xml"])),
        *arguments,
        agent,
    ])
