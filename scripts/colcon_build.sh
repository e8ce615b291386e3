#!/usr/bin/env bash
# colcon build of leovl_interfaces + leovl_ros in a temporary workspace whose src/ links just the two
# packages (the venv holds the ROS wheels' package.xml files; colcon must not crawl it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$repo/.venv}
ws=$(mktemp -d /tmp/leovl_colcon.XXXXXX)
trap 'rm -rf "$ws"' EXIT
mkdir -p "$ws/src"
ln -s "$repo/leovl_interfaces" "$ws/src/leovl_interfaces"
ln -s "$repo/leovl_ros" "$ws/src/leovl_ros"
cd "$ws"
PATH="$venv/bin:$PATH" AMENT_PREFIX_PATH="$venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" \
  CMAKE_PREFIX_PATH="$venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" \
  "$venv/bin/colcon" build --base-paths src --cmake-args -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF "$@"
test -f install/leovl_interfaces/share/leovl_interfaces/package.xml
test -f install/leovl_ros/share/leovl_ros/package.xml
test -f install/leovl_ros/share/leovl_ros/launch/agent.launch.py || [ ! -f "$repo/leovl_ros/launch/agent.launch.py" ]
test -f install/leovl_ros/share/leovl_ros/config/cameras/realsense.yaml || [ ! -d "$repo/leovl_ros/config/cameras" ]
for exe in fusion_node dialogue_node agent; do test -x "install/leovl_ros/lib/leovl_ros/$exe"; done
python_pkg=$(find install/leovl_ros/lib -path "*site-packages/leovl_ros/__init__.py" | head -1)
test -n "$python_pkg"
echo "colcon: both packages built in $ws"
