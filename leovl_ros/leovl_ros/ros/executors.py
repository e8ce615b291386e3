"""One executor per node, each in its own thread: the agent's nodes never share (or fight over) a wait set.

Measured here (issue 28): with the fusion and dialogue nodes on one rclpy ``MultiThreadedExecutor``, its Python
loop (rebuilding the wait set for every entity of both nodes, then polling task futures) took a large share of
the two cores at 30 Hz RGB-D and delivered frames in bursts — fused frames collapsed and ``~/ask`` waited
seconds. A ``SingleThreadedExecutor`` per node wakes once per ready entity and never polls futures; the callbacks
of one node run in order (the fusion node's are short: the heavy work is in its worker thread), and the dialogue
node's service runs beside them, in its own thread, instead of queueing behind frames.

``kind``: ``single`` (default: rclpy's ``SingleThreadedExecutor``) or ``multi`` (a ``MultiThreadedExecutor`` per
node, ``threads`` workers); ``NodeThreads`` also takes ``shared`` (one MultiThreadedExecutor for all nodes).
``rclpy.experimental.EventsExecutor`` is not offered: on Kilted its ``spin`` in a thread never delivered a frame to
the fusion node's raw image subscriptions here (2026-12-04, benchmarks/agent.py --executor events: 0 frames fused in
3 min while the camera published), and DESIGN §8 records a hang of its ``spin_until_future_complete``.

``MAIN_THREAD`` runs the managed nodes' lifecycle transitions on the main thread while it waits for the spin
threads (``NodeThreads.wait``), wherever the ``~/change_state`` request was served: a model, torch and ONNX Runtime
are then loaded where ``autostart`` loads them. Measured here (2026-12-05): a configure served in a spin thread
imported torch there, and the process then hung in the interpreter's final garbage collection after Ctrl-C (the
same node configured from the main thread exits 0).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, Optional, TypeVar

from rclpy.executors import Executor, ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node

EXECUTOR_KINDS = ("single", "multi")
"""Values of ``leovl-agent --executor``."""
T = TypeVar("T")


class MainThreadCalls:
    """Calls made from any thread but run on the main thread while it ``serve``s (inline where nobody serves)."""

    def __init__(self) -> None:
        """An idle runner (calls run inline until the main thread serves)."""
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._serving = False
        self._lock = threading.Lock()

    def run(self, call: Callable[[], T]) -> T:
        """``call()`` on the main thread (waiting for it there), or here when this is the main thread or nobody
        serves; its exception is raised here."""
        done, box = threading.Event(), {}

        def job(run: bool = True) -> None:
            try:
                if not run:
                    raise RuntimeError("the process is shutting down: call not run")
                box["result"] = call()
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            finally:
                done.set()

        with self._lock:
            queued = self._serving and threading.current_thread() is not threading.main_thread()
            if queued:
                self._jobs.put(job)
        if not queued:
            return call()
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["result"]

    def serve(self, timeout_s: float) -> None:
        """Run the calls that arrive within ``timeout_s`` (the main thread's wait loop)."""
        with self._lock:
            self._serving = True
        try:
            self._jobs.get(timeout=timeout_s)()
        except queue.Empty:
            pass

    def stop(self) -> None:
        """Stop serving: later calls run inline, queued ones fail (the process is shutting down)."""
        with self._lock:
            self._serving = False
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            job(run=False)


MAIN_THREAD = MainThreadCalls()
"""The process's runner of lifecycle transitions (``ros.lifecycle.ManagedNode``)."""


def make_executor(kind: str, context: Any, threads: Optional[int] = None) -> Executor:
    """An executor of ``kind`` on ``context``; ``ValueError`` for an unknown kind or one this rclpy lacks."""
    if kind == "single":
        return SingleThreadedExecutor(context=context)
    if kind == "multi":
        return MultiThreadedExecutor(num_threads=threads, context=context)
    raise ValueError(f"unknown executor kind {kind!r}; choose from {EXECUTOR_KINDS}")


class NodeThreads:
    """Spins each node on its own executor in its own (daemon) thread until ``stop`` or context shutdown
    (``shared``: all nodes on one MultiThreadedExecutor in one thread)."""

    def __init__(self, nodes: Sequence[Node], kind: str = "single", threads: Optional[int] = None) -> None:
        """One executor of ``kind`` per node (``threads``: workers of a ``multi`` or ``shared`` executor)."""
        if not nodes:
            raise ValueError("NodeThreads needs at least one node")
        self.nodes = list(nodes)
        self.kind = kind
        groups = [self.nodes] if kind == "shared" else [[node] for node in self.nodes]
        self.executors = [MultiThreadedExecutor(num_threads=threads, context=self.nodes[0].context)
                          if kind == "shared" else make_executor(kind, group[0].context, threads) for group in groups]
        for executor, group in zip(self.executors, groups):
            for node in group:
                executor.add_node(node)
        self._threads = [threading.Thread(target=self._spin, args=(e,), daemon=True,
                                          name="spin_" + "_".join(n.get_name() for n in group))
                         for e, group in zip(self.executors, groups)]
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
        """Block until a spin thread ends (shutdown, or a crash), running ``MAIN_THREAD`` calls meanwhile; Ctrl-C
        in the caller's thread interrupts."""
        try:
            while self.alive():
                MAIN_THREAD.serve(poll_s)
        finally:
            MAIN_THREAD.stop()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Shut the executors down and join their threads (nodes are not destroyed)."""
        for executor in self.executors:
            executor.shutdown(timeout_sec=timeout_s)
        for t in self._threads:
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout_s)
