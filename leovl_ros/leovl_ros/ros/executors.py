"""One executor per node, each in its own thread: the agent's nodes never share (or fight over) a wait set.

Measured here (issue 28): with the fusion and dialogue nodes on one rclpy ``MultiThreadedExecutor``, its Python
loop (rebuilding the wait set for every entity of both nodes, then polling task futures) took a large share of
the two cores at 30 Hz RGB-D and delivered frames in bursts — fused frames collapsed and ``~/ask`` waited
seconds. A ``SingleThreadedExecutor`` per node wakes once per ready entity and never polls futures; the callbacks
of one node run in order (the fusion node's are short: the heavy work is in its worker thread), and the dialogue
node's service runs beside them, in its own thread, instead of queueing behind frames.

``kind``: ``single`` (default: rclpy's ``SingleThreadedExecutor``) or ``multi`` (a ``MultiThreadedExecutor`` per
node, ``threads`` workers). ``rclpy.experimental.EventsExecutor`` is not offered: on Kilted its ``spin`` in a
thread never delivered a frame to the fusion node's raw image subscriptions here (2026-12-04, benchmarks/agent.py
--executor events: 0 frames fused in 3 min while the camera published), and DESIGN §8 records a hang of its
``spin_until_future_complete``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Optional

from rclpy.executors import Executor, ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node

EXECUTOR_KINDS = ("single", "multi")
"""Values of ``leovl-agent --executor``."""


def make_executor(kind: str, context: Any, threads: Optional[int] = None) -> Executor:
    """An executor of ``kind`` on ``context``; ``ValueError`` for an unknown kind or one this rclpy lacks."""
    if kind == "single":
        return SingleThreadedExecutor(context=context)
    if kind == "multi":
        return MultiThreadedExecutor(num_threads=threads, context=context)
    raise ValueError(f"unknown executor kind {kind!r}; choose from {EXECUTOR_KINDS}")


class NodeThreads:
    """Spins each node on its own executor in its own (daemon) thread until ``stop`` or context shutdown."""

    def __init__(self, nodes: Sequence[Node], kind: str = "single", threads: Optional[int] = None) -> None:
        """One executor of ``kind`` per node (``threads``: workers of a ``multi`` executor)."""
        if not nodes:
            raise ValueError("NodeThreads needs at least one node")
        self.nodes = list(nodes)
        self.kind = kind
        self.executors = [make_executor(kind, node.context, threads) for node in self.nodes]
        for executor, node in zip(self.executors, self.nodes):
            executor.add_node(node)
        self._threads = [threading.Thread(target=self._spin, args=(e,), name=f"spin_{n.get_name()}", daemon=True)
                         for e, n in zip(self.executors, self.nodes)]
        self.errors: list[BaseException] = []

    def _spin(self, executor: Executor) -> None:
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except BaseException as exc:  # a crashed spin thread must not go unnoticed: wake the others
            self.errors.append(exc)
            raise

    def start(self) -> NodeThreads:
        """Start the spin threads; returns self."""
        for t in self._threads:
            t.start()
        return self

    def alive(self) -> bool:
        """True while every spin thread runs."""
        return all(t.is_alive() for t in self._threads)

    def wait(self, poll_s: float = 0.2) -> None:
        """Block until a spin thread ends (shutdown, or a crash); Ctrl-C in the caller's thread interrupts."""
        while self.alive():
            self._threads[0].join(poll_s)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Shut the executors down and join their threads (nodes are not destroyed)."""
        for executor in self.executors:
            executor.shutdown(timeout_sec=timeout_s)
        for t in self._threads:
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout_s)
