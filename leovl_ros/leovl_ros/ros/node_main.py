"""Shared node plumbing: rclpy init/shutdown that works on Humble, Jazzy and Kilted, and throttled rejection logs.

Humble's ``rclpy.init`` is not a context manager, so ``rclpy_session`` wraps init + try_shutdown. ``run_nodes``
builds nodes inside the session, spins each on its own executor in its own thread (``leovl_ros.ros.executors``:
one node's callbacks never wait behind another's, and no shared MultiThreadedExecutor loop eats the cores;
``executor="shared"`` keeps the former single MultiThreadedExecutor). Managed nodes (``ros.lifecycle``) whose
``autostart`` parameter is true are configured, then activated, in order before spinning (Nav2's lifecycle
manager at startup); a configuration error at start — or a failed autostart transition — is a logged exit code 2.
``RejectionLog`` counts bad inputs by reason and logs each cause once per throttle period.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Optional

import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from leovl_ros.agent.frame_sync import DropCounters
from leovl_ros.agent.validation import Rejection
from leovl_ros.ros.env import apply_ros_environment
from leovl_ros.ros.params import parameter_name

PARENT_PID_ENV = "LEOVL_EXIT_WITH_PARENT"
"""A child node process (``leovl-agent --demo``'s sim camera) that gets this variable (its parent's pid) stops when
that parent dies, however it dies: a crashed agent must not leave a camera streaming into its ROS domain."""


def exit_with_parent() -> None:
    """Ask Linux to send SIGTERM when the parent named by :data:`PARENT_PID_ENV` dies (``prctl`` PDEATHSIG), and stop
    now if it already has; nothing without the variable or off Linux. SIGTERM, not SIGINT: a process a shell starts in
    the background (``leovl-agent --demo &`` in a script) inherits SIGINT ignored, and its camera outlived a killed
    agent."""
    parent = os.environ.pop(PARENT_PID_ENV, "")
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != int(parent):  # it died before the prctl
        raise KeyboardInterrupt


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM as Ctrl-C: the same clean stop."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def rclpy_session(args: Optional[Sequence[str]] = None, context: Optional[Context] = None) -> Iterator[Context]:
    """``rclpy.init`` … ``rclpy.try_shutdown`` as a context manager (Humble-compatible); yields the context.

    rclpy's own SIGINT / SIGTERM handlers are off where this rclpy has the switch: they shut the context down at once,
    under executor threads still waiting on it (a segfault in teardown, seen in CI); here Ctrl-C and SIGTERM raise
    ``KeyboardInterrupt`` in the main thread instead, and ``spin_nodes`` stops the executors, joins their threads and
    destroys the nodes before the context shuts down."""
    apply_ros_environment()
    exit_with_parent()
    ctx = context if context is not None else rclpy.get_default_context()
    options = {}
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread and "signal_handler_options" in inspect.signature(rclpy.init).parameters:
        from rclpy.signals import SignalHandlerOptions

        options["signal_handler_options"] = SignalHandlerOptions.NO
    rclpy.init(args=list(args) if args is not None else None, context=ctx, **options)
    previous = signal.signal(signal.SIGTERM, _interrupt) if options else None
    try:
        yield ctx
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        rclpy.try_shutdown(context=ctx)


def spin_nodes(nodes: Sequence[Node], num_threads: Optional[int] = None, executor: str = "single",
               on_stop: Optional[Callable[[], None]] = None) -> None:
    """Spin ``nodes`` until Ctrl-C / external shutdown, then call ``on_stop`` (a rerun recording closes there, so a
    fault while tearing ROS down cannot leave it unfinished) and destroy them: each on its own ``executor`` kind
    (``single`` | ``multi`` with ``num_threads``) in its own thread, or all on one MultiThreadedExecutor
    (``shared``); meanwhile the main thread runs the lifecycle transitions (``executors.MAIN_THREAD``)."""
    from leovl_ros.ros.executors import NodeThreads

    threads: Optional[NodeThreads] = None
    try:  # Ctrl-C may arrive while the executors are still being made: shut down cleanly then too
        threads = NodeThreads(nodes, executor, num_threads)
        threads.start().wait()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if on_stop is not None:
            on_stop()
        if threads is not None:
            threads.stop(timeout_s=5.0)  # a spin thread still in a callback must end before its node goes
        for node in nodes:
            node.destroy_node()


def run_nodes(factories: Sequence[Callable[[], Node]], args: Optional[Sequence[str]] = None,
              num_threads: Optional[int] = None, executor: str = "single",
              on_stop: Optional[Callable[[], None]] = None) -> int:
    """Entry-point body: init, build each node, bring the managed ones with ``autostart`` up (a ``ValueError`` /
    ``RuntimeError`` while building or a failed transition is a bad config: exit 2), spin (``on_stop``: see
    :func:`spin_nodes`)."""
    from leovl_ros.ros.lifecycle import ManagedNode, bring_up

    with rclpy_session(args if args is not None else sys.argv):
        nodes: list[Node] = []
        try:
            for factory in factories:
                nodes.append(factory())
            bring_up([n for n in nodes if isinstance(n, ManagedNode) and n.autostart])
        except (ValueError, RuntimeError) as exc:
            rclpy.logging.get_logger("leovl").error(f"cannot start: {exc}")
            for node in nodes:
                node.destroy_node()
            return 2
        except (KeyboardInterrupt, ExternalShutdownException):  # Ctrl-C while a model loads: a clean stop
            for node in nodes:
                node.destroy_node()
            return 0
        spin_nodes(nodes, num_threads=num_threads, executor=executor, on_stop=on_stop)
    return 0


def help_requested(args: Optional[Sequence[str]] = None) -> bool:
    """Whether ``-h``/``--help`` is among the program's own arguments (those before ``--ros-args``)."""
    argv = list(sys.argv if args is None else args)
    own = argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv
    return any(a in ("-h", "--help") for a in own)


def node_help(executable: str, doc: str, *configs: type, managed: bool = False) -> str:
    """``--help`` text of a node executable: what it does and every parameter with type, default and description
    (``managed``: also its lifecycle interface and ``autostart``)."""
    summary = (doc or "").strip().split("\n\n")[0].replace("``", "")
    lines = [f"usage: ros2 run leovl_ros {executable} [--ros-args [-p NAME:=VALUE] [--params-file YAML] "
             f"[-r FROM:=TO]]", "", summary, ""]
    for cls in configs:
        lines.append(f"parameters ({cls.__name__}; set with -p NAME:=VALUE or a --params-file YAML):")
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
            runtime = "" if f.metadata.get("read_only", True) else " [settable at runtime]"
            lines.append(f"  {parameter_name(cls, f.name)} ({f.type}, default {default!r}){runtime}")
            lines.append(f"      {f.metadata.get('doc', '')}")
        lines.append("")
    if managed:
        from leovl_ros.ros.lifecycle import AUTOSTART_DOC

        lines += ["a managed (lifecycle) node: ~/change_state, ~/get_state; /diagnostics (docs/operations.md)",
                  "  autostart (bool, default True)", f"      {AUTOSTART_DOC}", ""]
    return "\n".join(lines)


def main_or_help(executable: str, doc: str, configs: Sequence[type], factories: Sequence[Callable[[], Node]],
                 args: Optional[Sequence[str]] = None, num_threads: Optional[int] = None) -> int:
    """Entry-point body of a node executable: ``--help`` prints ``node_help`` and exits 0 without starting a node;
    anything else runs the nodes (``run_nodes``)."""
    if help_requested(args):
        from leovl_ros.ros.lifecycle import ManagedNode

        managed = any(isinstance(f, type) and issubclass(f, ManagedNode) for f in factories)
        print(node_help(executable, doc, *configs, managed=managed))
        return 0
    return run_nodes(factories, args=args, num_threads=num_threads)


class RejectionLog:
    """Counts rejections by reason and logs each cause once, then at most every ``throttle_s`` (with its count)."""

    def __init__(self, logger: Any, reasons: Sequence[str] = (), throttle_s: float = 5.0) -> None:
        """``logger`` needs ``.warning(str)`` (a node logger); ``reasons`` are pre-registered with count 0."""
        self.counters = DropCounters(reasons)
        self._logger = logger
        self._throttle_s = throttle_s
        self._last_logged: dict[str, float] = {}
        self._lock = threading.Lock()
        self.last_error = ""

    def reject(self, rejection: Rejection, what: str = "frame") -> int:
        """Count ``rejection`` and log it if its cause was not logged within the throttle; returns the count."""
        reason = rejection.reason.value
        count = self.counters.add(reason)
        now = time.monotonic()
        with self._lock:
            self.last_error = str(rejection)
            due = now - self._last_logged.get(reason, -1e18) >= self._throttle_s
            if due:
                self._last_logged[reason] = now
        if due:
            self._logger.warning(f"rejected {what} [{reason}] ({count} so far): {rejection.detail}")
        return count
