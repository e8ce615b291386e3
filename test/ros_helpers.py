"""Pytest helpers for node tests over real DDS (launch_testing is not on PyPI).

* ``NodeProcess`` / ``node_process(...)``: start ``python -m <module> --ros-args ...`` in a subprocess with the
  test session's private domain (inherited from ``conftest.py``), parameters from a YAML file, remaps; the
  output goes to a log file that ``.log()`` returns (attach it to assertion messages). Stopped with SIGINT,
  then killed after a timeout; ``.returncode`` tells whether it exited cleanly.
* ``RosProbe``: an in-test rclpy node on its own Context that publishes, subscribes, waits for topics and
  calls services with timeouts, spinning with ``spin_once`` loops (never EventsExecutor).

Example::

    with node_process("leovl_ros.ros.fusion_node", {"mode": "eval"}, name="fusion") as proc, RosProbe() as probe:
        client = probe.wait_for_service(Trigger, "/fusion/reset", timeout=20.0, proc=proc)
        reply = probe.call(client, Trigger.Request(), timeout=5.0)
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import rclpy
import yaml
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from leovl_ros.ros.env import ros_environment

_counter = itertools.count()


class NodeProcess:
    """A node module running in a subprocess (private domain inherited from the test session)."""

    def __init__(self, module: str, params: Optional[dict[str, Any]] = None, name: Optional[str] = None,
                 remap: Optional[dict[str, str]] = None, extra_args: Optional[list[str]] = None,
                 env: Optional[dict[str, str]] = None) -> None:
        """Start ``python -m module`` with ``params`` (node-name-agnostic YAML), ``name`` and ``remap``."""
        self._tmp = tempfile.TemporaryDirectory(prefix="leovl_node_")
        tmp = Path(self._tmp.name)
        self.log_path = tmp / "node.log"
        cmd = [sys.executable, "-u", "-m", module, *(extra_args or []), "--ros-args"]
        if params:
            params_file = tmp / "params.yaml"
            params_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
            cmd += ["--params-file", str(params_file)]
        if name:
            cmd += ["-r", f"__node:={name}"]
        for src, dst in (remap or {}).items():
            cmd += ["-r", f"{src}:={dst}"]
        full_env = dict(os.environ)
        full_env.update(ros_environment())
        full_env.update(env or {})
        full_env.setdefault("RCUTILS_LOGGING_BUFFERED_STREAM", "0")
        full_env.setdefault("PYTHONFAULTHANDLER", "1")  # a crash (exit -11) prints every thread's stack to the log
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=full_env,
                                     preexec_fn=_sigint_as_default)
        self.returncode: Optional[int] = None

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def log(self) -> str:
        """Everything the process printed so far."""
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float) -> bool:
        """Wait until ``text`` appears in the output (False on timeout or process exit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if not self.alive():
                return text in self.log()
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 10.0) -> int:
        """SIGINT, wait ``timeout``, then SIGKILL; returns the exit code (negative = killed by a signal)."""
        self.returncode = stop_process(self.proc, timeout)
        self._log_file.close()
        return self.returncode


def _sigint_as_default() -> None:
    """In a node process before it starts: SIGINT's default action back, so ``stop_process``'s Ctrl-C reaches the node
    however pytest was started (a shell's background job has SIGINT ignored, and its children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT (a node's clean shutdown), wait ``timeout``, then SIGKILL; returns the exit code (negative = signal)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5.0)
    return proc.returncode


@contextlib.contextmanager
def node_process(module: str, params: Optional[dict[str, Any]] = None, name: Optional[str] = None,
                 remap: Optional[dict[str, str]] = None, extra_args: Optional[list[str]] = None,
                 env: Optional[dict[str, str]] = None) -> Iterator[NodeProcess]:
    """Context manager around ``NodeProcess``; always stops the process, prints its log on failure."""
    proc = NodeProcess(module, params=params, name=name, remap=remap, extra_args=extra_args, env=env)
    try:
        yield proc
    except BaseException:
        proc.stop()
        sys.stderr.write(f"---- log of {module} ----\n{proc.log()}\n")
        raise
    else:
        proc.stop()


def reliable_qos(depth: int = 10) -> QoSProfile:
    """Reliable, keep-last QoS for test publishers/subscribers."""
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


class RosProbe:
    """A test-side node on a private rclpy Context; use as a context manager."""

    def __init__(self, name: Optional[str] = None) -> None:
        """Create (not yet start) a probe node called ``name``."""
        self.name = name or f"test_probe_{os.getpid()}_{next(_counter)}"
        self.context = Context()
        self.node: Node
        self.executor: SingleThreadedExecutor

    def __enter__(self) -> RosProbe:
        rclpy.init(context=self.context)
        self.node = Node(self.name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def spin_for(self, seconds: float) -> None:
        """Process callbacks for ``seconds``."""
        self.spin_until(lambda: False, seconds)

    def spin_until(self, predicate: Callable[[], bool], timeout: float, proc: Optional[NodeProcess] = None) -> bool:
        """Spin until ``predicate()`` holds (True) or ``timeout`` passes / ``proc`` dies (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if proc is not None and not proc.alive():
                return bool(predicate())
            self.executor.spin_once(timeout_sec=0.02)
        return bool(predicate())

    def collect(self, msg_type: Any, topic: str, qos: Optional[QoSProfile] = None) -> list[Any]:
        """Subscribe and return the (growing) list of received messages."""
        received: list[Any] = []
        self.node.create_subscription(msg_type, topic, received.append, qos or reliable_qos())
        return received

    def wait_for_message(self, msg_type: Any, topic: str, timeout: float,
                         predicate: Callable[[Any], bool] = lambda m: True,
                         qos: Optional[QoSProfile] = None, proc: Optional[NodeProcess] = None) -> Any:
        """The first message on ``topic`` satisfying ``predicate``; AssertionError on timeout."""
        received = self.collect(msg_type, topic, qos)
        found: list[Any] = []

        def check() -> bool:
            """Move matching messages to ``found``."""
            found.extend(m for m in received if predicate(m))
            received.clear()
            return bool(found)

        assert self.spin_until(check, timeout, proc), f"no matching message on {topic} within {timeout} s"
        return found[0]

    def publisher(self, msg_type: Any, topic: str, qos: Optional[QoSProfile] = None) -> Any:
        """Create a publisher (reliable by default)."""
        return self.node.create_publisher(msg_type, topic, qos or reliable_qos())

    def wait_for_subscribers(self, publisher: Any, count: int = 1, timeout: float = 20.0) -> None:
        """Wait until ``publisher`` has ``count`` matched subscriptions (discovery done)."""
        ok = self.spin_until(lambda: publisher.get_subscription_count() >= count, timeout)
        assert ok, f"no subscriber on {publisher.topic_name} within {timeout} s"

    def wait_for_service(self, srv_type: Any, name: str, timeout: float = 20.0,
                         proc: Optional[NodeProcess] = None) -> Any:
        """A client for ``name`` once the server is discovered; AssertionError on timeout or process exit."""
        client = self.node.create_client(srv_type, name)
        ok = self.spin_until(client.service_is_ready, timeout, proc)
        assert ok, f"service {name} not available within {timeout} s" + (f"\n{proc.log()}" if proc else "")
        return client

    def call(self, client: Any, request: Any, timeout: float = 10.0) -> Any:
        """Call a service and wait for the response; AssertionError on timeout."""
        future = client.call_async(request)
        assert self.spin_until(future.done, timeout), f"no response from {client.srv_name} within {timeout} s"
        return future.result()
