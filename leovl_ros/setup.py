"""ament_python package of leovl_ros: the ROS-free core library, nodes, launch and config."""

from glob import glob
from os.path import isfile

from setuptools import find_packages, setup

PACKAGE = "leovl_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    package_data={"leovl_ros.sim": ["answer_sets.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", [p for p in glob("config/*") if isfile(p)]),
        (f"share/{PACKAGE}/config/cameras", glob("config/cameras/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="leovl_ros developers",
    maintainer_email="dev@leovl.invalid",
    description="Spatial dialogue for ROS 2 robots over a Condensed Feature Grid (LEO-VL).",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            # ROS executables (ros2 run leovl_ros <name>).
            "fusion_node = leovl_ros.ros.fusion_node:main",
            "dialogue_node = leovl_ros.ros.dialogue_node:main",
            "sim_camera_node = leovl_ros.ros.sim_camera_node:main",
            "agent = leovl_ros.ros.bringup:main",
            # Commands for where `ros2 launch` / ROS are absent.
            "leovl-agent = leovl_ros.ros.bringup:main",
            "leovl-ask = leovl_ros.agent.ask_cli:main",
            "leovl-map = leovl_ros.agent.map_export:main",
            "leovl-sim = leovl_ros.sim.cli:main",
            "leovl-demo = leovl_ros.ros.demo:main",
            "leovl-bag = leovl_ros.io.bag:main",
            "leovl-eval = leovl_ros.ros.eval_cli:main",
        ],
    },
)
