"""``ros2 launch leovl_ros agent.launch.py``: fusion + dialogue nodes in one process (the ``agent`` executable).

The two nodes share the fused map in memory, each on its own executor (see ``leovl_ros.ros.bringup``); every
parameter comes from ``config/agent.yaml`` (the same file ``leovl-agent`` reads where ``ros2 launch`` is absent).
Camera topics are launch arguments so a robot's driver names plug in without editing the YAML, e.g.::

    ros2 launch leovl_ros agent.launch.py colour_topic:=/head/rgb depth_topic:=/head/depth use_sim_time:=true
    ros2 launch leovl_ros agent.launch.py camera:=realsense namespace:=robot1 pose_source:=odometry

``camera`` takes a remap set from ``config/cameras/`` (realsense, orbbec, zed) or a path to one; explicit topic
arguments win over it. ``namespace`` puts both nodes under it (``params_file``'s node keys are matched in any
namespace). The RMW is the user's: nothing sets ``RMW_IMPLEMENTATION``; the shipped Fast DDS profile is set as
``FASTDDS_DEFAULT_PROFILES_FILE`` only when that variable is unset and the RMW is Fast DDS (or unset).

Both nodes are managed (lifecycle) nodes. ``autostart:=true`` (the default) has the agent process configure and
activate them itself, as Nav2's lifecycle manager does with ``autostart`` (both nodes live in that one process,
so it is their lifecycle driver); ``autostart:=false`` leaves them unconfigured for your lifecycle manager or
``ros2 lifecycle set /fusion configure`` (configure fusion before dialogue: dialogue takes fusion's map).
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "leovl_ros"

TOPIC_ARGUMENTS = {
    "colour_topic": ("camera/color/image_raw", "colour image (sensor_msgs/Image or CompressedImage)"),
    "depth_topic": ("camera/aligned_depth_to_color/image_raw", "depth aligned to colour (16UC1 mm or 32FC1 m)"),
    "camera_info_topic": ("camera/color/camera_info", "intrinsics of the colour camera"),
    "pose_topic": ("camera/pose", "PoseStamped of the camera optical frame in map (pose_source: topic)"),
    "odometry_topic": ("odom", "nav_msgs/Odometry of the base (pose_source: odometry)"),
}
"""Launch argument → (the nodes' default topic name, description); a non-empty value remaps that topic (ahead of
any camera preset's rule for it)."""


def start_agent(context, *args, **kwargs) -> list:
    """Resolve the arguments (preset, namespace, overrides) and return the DDS profile default and the agent."""
    from leovl_ros.agent import robot_config

    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    def flag(name: str) -> bool:
        return arg(name).strip().lower() in ("true", "1", "yes", "on")

    share = FindPackageShare(PACKAGE).perform(context)
    namespace = arg("namespace").strip("/")
    params_file = arg("params_file") or os.path.join(share, "config", "agent.yaml")
    if namespace:  # plain node keys (fusion:) only match outside a namespace
        params_file = str(robot_config.namespaced_params_file(params_file))
    overrides = {"use_sim_time": flag("use_sim_time")}
    if not flag("autostart"):  # the nodes' own default is true
        overrides["autostart"] = False
    if arg("pose_source"):
        overrides["pose_source"] = arg("pose_source")
    preset = robot_config.load_camera_preset(arg("camera")) if arg("camera") else None
    remappings = robot_config.topic_remappings({topic: arg(name) for name, (topic, _) in TOPIC_ARGUMENTS.items()},
                                               preset)
    profile = robot_config.fastdds_profile_environment(os.environ, os.path.join(share, "config", "fastdds.xml"))
    agent = Node(
        package=PACKAGE,
        executable="agent",
        namespace=namespace or None,
        output="screen",
        emulate_tty=True,
        parameters=[params_file, overrides],
        remappings=remappings,
        ros_arguments=["--log-level", arg("log_level")],
    )
    return [*(SetEnvironmentVariable(key, value) for key, value in profile.items()), agent]


def generate_launch_description() -> LaunchDescription:
    """Declare the arguments; ``start_agent`` starts the ``agent`` executable once they are known."""
    arguments = [
        DeclareLaunchArgument("params_file", default_value="",
                              description="ROS 2 parameter YAML for fusion_node and dialogue_node "
                                          "(empty: the package's config/agent.yaml)"),
        DeclareLaunchArgument("camera", default_value="",
                              description="camera remap set: realsense | orbbec | zed (config/cameras/) or a YAML "
                                          "path; empty: the default topic names"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of both nodes (empty: none)"),
        DeclareLaunchArgument("pose_source", default_value="",
                              description="topic | odometry | tf (empty: params_file's value)"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="use /clock (bag replay with --clock)"),
        DeclareLaunchArgument("log_level", default_value="info", description="rcutils log level"),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="configure and activate both (lifecycle) nodes at start; false: they "
                                          "wait unconfigured for a lifecycle manager or ~/change_state"),
    ]
    arguments += [DeclareLaunchArgument(name, default_value="", description=f"{text} (empty: {default} or the "
                                                                            "camera preset's)")
                  for name, (default, text) in TOPIC_ARGUMENTS.items()]
    return LaunchDescription([*arguments, OpaqueFunction(function=start_agent)])
