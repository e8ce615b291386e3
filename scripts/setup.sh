#!/usr/bin/env bash
# One-time (and incremental) set-up of .venv: pinned Python deps incl. ROS 2 Kilted wheels, the
# leovl_interfaces build (plus vendor/tf2_msgs where no tf2_msgs imports), and leovl_ros installed editable.
# Called by `make setup`; each step is a separate sub-command so make can skip the ones whose inputs did not change.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3.11}

step=${1:-all}

need_python() {
  if ! command -v "$PY" >/dev/null 2>&1; then
    echo "error: $PY not found. Install Python 3.11 (Debian/Ubuntu: apt-get install python3.11 python3.11-venv), or set PYTHON to a Python 3.10 or 3.12." >&2
    exit 1
  fi
}

system_deps() {
  # Open3D needs libusb-1.0; cmake and a C compiler build leovl_interfaces.
  local missing=()
  ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0' || missing+=(libusb-1.0-0)
  command -v cmake >/dev/null 2>&1 || missing+=(cmake)
  command -v cc >/dev/null 2>&1 || missing+=(gcc g++)
  command -v make >/dev/null 2>&1 || missing+=(make)
  # pycocoevalcap's tokenizer and METEOR run on Java (captioning metrics).
  command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "setup: apt-get install ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
      echo "error: missing system packages. Run: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
  fi
}

deps() {
  need_python
  system_deps
  if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV with $PY"
    "$PY" -m venv "$VENV"
  fi
  # colcon must not crawl the ROS wheels' share/*/package.xml inside the venv.
  touch "$VENV/COLCON_IGNORE"
  echo "setup: installing pinned requirements (first run: a few minutes)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
  "$VENV/bin/python" scripts/fix_ros_cmake.py "$VENV"
}

build_rosidl() {
  # build_rosidl SRC NAME: cmake-build the rosidl package in SRC and install it into the venv.
  local src=$1 name=$2 build=build/$2
  mkdir -p "$build"
  touch build/COLCON_IGNORE
  echo "setup: building $name into $VENV"
  local prefix
  prefix=$(cd "$VENV" && pwd)
  # The bootstrapper .pth re-executes Python with the ROS library path; cmake's python must be the venv's.
  PATH="$prefix/bin:$PATH" cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_PREFIX_PATH="$prefix" -DPython3_EXECUTABLE="$prefix/bin/python" -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=Release >"$build/configure.log" 2>&1 || { tail -40 "$build/configure.log"; exit 1; }
  PATH="$prefix/bin:$PATH" cmake --build "$build" -j2 >"$build/build.log" 2>&1 || { tail -40 "$build/build.log"; exit 1; }
  cmake --install "$build" >"$build/install.log" 2>&1 || { tail -40 "$build/install.log"; exit 1; }
}

interfaces() {
  "$VENV/bin/python" scripts/fix_ros_cmake.py "$VENV"
  build_rosidl leovl_interfaces leovl_interfaces
  "$VENV/bin/python" -c "from leovl_interfaces.srv import Ask; from leovl_interfaces.msg import FusionStatus" \
    || { echo "error: leovl_interfaces built but does not import" >&2; exit 1; }
  tf2_msgs
}

tf2_msgs() {
  # /tf and /tf_static (pose_source tf, extrinsics from /tf_static) need tf2_msgs, which the PyPI wheels lack:
  # build the vendored minimal one (TFMessage only) unless a tf2_msgs already imports (apt ROS 2 has the real one).
  if "$VENV/bin/python" -c "from tf2_msgs.msg import TFMessage" 2>/dev/null; then
    return
  fi
  build_rosidl vendor/tf2_msgs tf2_msgs
  "$VENV/bin/python" -c "from tf2_msgs.msg import TFMessage" \
    || { echo "error: the vendored tf2_msgs built but does not import" >&2; exit 1; }
}

package() {
  echo "setup: installing leovl_ros (editable)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e leovl_ros
}

case "$step" in
  deps) deps ;;
  interfaces) interfaces ;;
  tf2_msgs) tf2_msgs ;;
  package) package ;;
  all) deps; interfaces; package ;;
  *) echo "usage: $0 [deps|interfaces|tf2_msgs|package|all]" >&2; exit 2 ;;
esac
