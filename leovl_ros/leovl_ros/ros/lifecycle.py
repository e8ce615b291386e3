"""Managed (lifecycle) nodes of the agent: load in ``on_configure``, take input only while active, always report.

``ManagedNode`` is an ``rclpy.lifecycle.LifecycleNode`` with the standard services (``~/change_state``,
``~/get_state``, ...) and the transitions Nav2's servers have:

* configure: read and validate the parameters into the node's ROS-free config, load the model, make the
  (lifecycle) publishers. Any error returns FAILURE with the reason logged (and kept for /diagnostics): the node
  stays unconfigured and can be configured again — it never crashes the process.
* activate: make the subscriptions, services and timers; the publishers start sending.
* deactivate: destroy what activate made (nothing is received, served or fused while inactive); the map and
  everything configured stay.
* cleanup: release the model and the publishers; shutdown (and ``destroy_node``): release everything.

Transitions run on the main thread (``executors.MAIN_THREAD``) whichever thread served ``~/change_state``, so the
model loads where ``autostart`` loads it. Subclasses implement ``configure_node`` / ``activate_node`` /
``deactivate_node`` / ``cleanup_node`` / ``shutdown_node`` and ``diagnostic_report``; every endpoint a hook creates
is recorded and destroyed by the matching release, so a hook never lists its endpoints twice. In every state the
node publishes its health on ``/diagnostics`` every ``diagnostics.period_s`` (``agent.diagnostics``: the lifecycle
state decides the level unless the node is active). ``bring_up`` drives configure → activate the way Nav2's
lifecycle manager does (``autostart``).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, Optional

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecyclePublisher, LifecycleState, TransitionCallbackReturn

from leovl_ros.agent.diagnostics import DiagnosticsConfig, Health, Level, lifecycle_health
from leovl_ros.ros.diagnostics import DIAGNOSTICS_TOPIC, diagnostic_array, diagnostic_status
from leovl_ros.ros.executors import MAIN_THREAD
from leovl_ros.ros.params import declare_parameters, read_config, validate_update
from leovl_ros.ros.qos import reliable_qos

SUCCESS = TransitionCallbackReturn.SUCCESS
FAILURE = TransitionCallbackReturn.FAILURE

AUTOSTART_DOC = ("Configure and activate this node when its executable starts (the lifecycle manager's autostart); "
                 "false: it waits unconfigured for ~/change_state.")


Transition = Callable[[Any, LifecycleState], TransitionCallbackReturn]


def on_main_thread(transition: Transition) -> Transition:
    """Run a transition callback on the main thread (``executors.MAIN_THREAD``), wherever the request arrived."""
    @functools.wraps(transition)
    def run(self: Any, state: LifecycleState) -> TransitionCallbackReturn:
        return MAIN_THREAD.run(lambda: transition(self, state))
    return run


def error_text(exc: BaseException) -> str:
    """A one-line reason for a failed transition: the message of an expected error, else with its type."""
    if isinstance(exc, (ValueError, RuntimeError, OSError)) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class ManagedNode(LifecycleNode):
    """A lifecycle node whose hooks load, start and stop; endpoints made in a hook are released by its opposite."""

    DIAGNOSTICS_CONFIG: ClassVar[type[DiagnosticsConfig]] = DiagnosticsConfig
    """Its thresholds (parameters ``diagnostics.<name>``)."""
    DIAGNOSTICS_TASK: ClassVar[str] = "node"
    """What the node's DiagnosticStatus is about (its name is ``<node>: <task>``)."""

    def __init__(self, node_name: str, **kwargs: Any) -> None:
        """Declare ``autostart`` and the diagnostics parameters; start publishing /diagnostics (unconfigured)."""
        super().__init__(node_name, **kwargs)
        self.lifecycle_state = "unconfigured"
        """The node's lifecycle state label (unconfigured, inactive, active, finalized)."""
        self.configure_error = ""
        """Why the last configure failed ("" after a success)."""
        self.activate_error = ""
        """Why the last activate failed."""
        self._parameter_errors: list[str] = []
        self.declare_parameter("autostart", True, ParameterDescriptor(description=AUTOSTART_DOC, read_only=True))
        self.declare_config_parameters(self.DIAGNOSTICS_CONFIG)
        self.diagnostics_config: DiagnosticsConfig = self.DIAGNOSTICS_CONFIG()
        self._configured: list[Any] = []
        self._activated: list[Any] = []
        self._transition_lock = threading.RLock()
        self.add_on_set_parameters_callback(self._on_set_diagnostics_parameters)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, DIAGNOSTICS_TOPIC, reliable_qos(10))
        period = self.get_parameter(DiagnosticsConfig.PARAMETER_PREFIX + "period_s").value
        period = float(period) if isinstance(period, (int, float)) and period > 0 else DiagnosticsConfig.period_s
        self._diagnostics_timer = self.create_timer(period, self._publish_diagnostics,
                                                    callback_group=MutuallyExclusiveCallbackGroup(),
                                                    clock=Clock(clock_type=ClockType.STEADY_TIME))

    @property
    def autostart(self) -> bool:
        """The ``autostart`` parameter."""
        return bool(self.get_parameter("autostart").value)

    def declare_config_parameters(self, cls: type) -> None:
        """Declare the parameters of config class ``cls``; overrides of the wrong type fail the next configure."""
        self._parameter_errors += declare_parameters(self, cls)

    # ---- hooks -----------------------------------------------------------------------------------------------
    def configure_node(self) -> None:
        """Read the config, load the model, make the publishers; raise with a clear message on any problem."""

    def activate_node(self) -> None:
        """Make the subscriptions, services and timers (destroyed again at deactivate)."""

    def deactivate_node(self) -> None:
        """After the input endpoints are gone: settle what is in flight (the map and the model stay)."""

    def cleanup_node(self) -> None:
        """Release what configure loaded (the publishers it made are destroyed afterwards); idempotent."""

    def shutdown_node(self) -> None:
        """After cleanup at shutdown: release the rest (e.g. the map); idempotent."""

    def diagnostic_report(self, active: bool) -> tuple[Optional[Health], list[tuple[str, str]]]:
        """The node's health while ``active`` (None otherwise: its lifecycle state decides) and its key/values."""
        return None, []

    # ---- transitions -----------------------------------------------------------------------------------------
    @on_main_thread
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Validate the parameters and load; FAILURE (logged, kept for /diagnostics) on any error."""
        with self._transition_lock:

            def configure() -> None:
                if self._parameter_errors:
                    raise ValueError(self._parameter_errors[0])
                self.diagnostics_config = read_config(self, self.DIAGNOSTICS_CONFIG)
                with self._recording(self._configured):
                    self.configure_node()

            self.configure_error = self._attempt("configure", configure, self._release_configuration)
            if self.configure_error:  # a bad config or a missing model: stay unconfigured
                return FAILURE
            self.lifecycle_state = "inactive"
            return SUCCESS

    @on_main_thread
    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Enable the publishers, then make the input endpoints; FAILURE (logged) leaves the node inactive."""
        with self._transition_lock:
            super().on_activate(state)
            silence = super().on_deactivate

            def activate() -> None:
                with self._recording(self._activated):
                    self.activate_node()

            def undo() -> None:
                self._destroy(self._activated)
                silence(state)

            self.activate_error = self._attempt("activate", activate, undo)
            if self.activate_error:
                return FAILURE
            self.lifecycle_state = "active"
            return SUCCESS

    def _attempt(self, transition: str, work: Callable[[], None], undo: Callable[[], None]) -> str:
        """Run a transition's work; on any error log it, undo what it made and return the error text ('' when it
        succeeded)."""
        try:
            work()
        except Exception as exc:  # reported on /diagnostics and ~/status, never raised into the executor
            text = error_text(exc)
            self.get_logger().error(f"{transition} failed: {text}")
            undo()
            return text
        return ""

    @on_main_thread
    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the input endpoints, settle in-flight work, silence the publishers."""
        with self._transition_lock:
            self._destroy(self._activated)
            self.deactivate_node()
            super().on_deactivate(state)
            self.lifecycle_state = "inactive"
            return SUCCESS

    @on_main_thread
    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the model and the publishers."""
        with self._transition_lock:
            self._release_configuration()
            self.lifecycle_state = "unconfigured"
            self.activate_error = ""
            return SUCCESS

    @on_main_thread
    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release everything (from any state)."""
        self._release_all()
        self.lifecycle_state = "finalized"
        return SUCCESS

    @on_main_thread
    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """A transition raised: release everything and go back to unconfigured."""
        self.get_logger().error(f"error in a transition from {state.label}: releasing everything")
        self._release_all()
        self.lifecycle_state = "unconfigured"
        return SUCCESS

    def destroy_node(self) -> None:
        """Release everything the hooks hold (the process is ending or the node is dropped), then the node."""
        self._release_all()
        super().destroy_node()

    # ---- plumbing --------------------------------------------------------------------------------------------
    def _entities(self) -> list[Any]:
        """Every endpoint and timer of the node now."""
        return [*self.publishers, *self.subscriptions, *self.services, *self.clients, *self.timers]

    @contextlib.contextmanager
    def _recording(self, into: list[Any]) -> Iterator[None]:
        """Record in ``into`` every endpoint or timer created inside the block (also when it raises)."""
        before = {id(e) for e in self._entities()}
        try:
            yield
        finally:
            into += [e for e in self._entities() if id(e) not in before]

    def _destroy(self, entities: list[Any]) -> None:
        """Destroy recorded endpoints and timers (newest first) and forget them."""
        for entity in reversed(entities):
            if isinstance(entity, LifecyclePublisher):
                self.destroy_lifecycle_publisher(entity)
            elif entity in self.publishers:
                self.destroy_publisher(entity)
            elif entity in self.subscriptions:
                self.destroy_subscription(entity)
            elif entity in self.services:
                self.destroy_service(entity)
            elif entity in self.clients:
                self.destroy_client(entity)
            elif entity in self.timers:
                self.destroy_timer(entity)
        entities.clear()

    def _release_configuration(self) -> None:
        """cleanup_node, then destroy what configure made."""
        self.cleanup_node()
        self._destroy(self._configured)

    def _release_all(self) -> None:
        """Everything the hooks hold, from any state (idempotent)."""
        with self._transition_lock:
            self._destroy(self._activated)
            self._release_configuration()
            self.shutdown_node()

    def _on_set_diagnostics_parameters(self, params: list) -> SetParametersResult:
        """Runtime threshold updates, validated like the configured ones."""
        result, new = validate_update(self.diagnostics_config, params)
        if result.successful:
            self.diagnostics_config = new
        return result

    def diagnostic_status(self) -> DiagnosticStatus:
        """The node's DiagnosticStatus now: its lifecycle state's verdict, or its own while active."""
        active = self.lifecycle_state == "active"
        health, values = self.diagnostic_report(active)
        failure = (f"configure failed: {self.configure_error}" if self.configure_error
                   else f"activate failed: {self.activate_error}" if self.activate_error else "")
        verdict = lifecycle_health(self.lifecycle_state, failure)
        health = verdict or health or Health(Level.OK, "active")
        return diagnostic_status(f"{self.get_fully_qualified_name()}: {self.DIAGNOSTICS_TASK}", self.get_name(),
                                 health, [("lifecycle_state", self.lifecycle_state), *values])  # type: ignore[arg-type]

    def _publish_diagnostics(self) -> None:
        """/diagnostics tick (skipped while a transition runs: its state is changing)."""
        if not self._transition_lock.acquire(blocking=False):
            return
        try:
            status = self.diagnostic_status()
        except Exception as exc:  # a report must never take the node down
            self.get_logger().error(f"cannot build /diagnostics: {error_text(exc)}", throttle_duration_sec=10.0)
            return
        finally:
            self._transition_lock.release()
        self._diagnostics_pub.publish(diagnostic_array([status], self.get_clock().now().nanoseconds))


def bring_up(nodes: Sequence[ManagedNode]) -> None:
    """Configure every node, then activate every node, in order (Nav2's lifecycle manager at startup);
    ``RuntimeError`` naming the node and the reason at the first failure."""
    for node in nodes:
        if node.trigger_configure() != SUCCESS:
            raise RuntimeError(f"{node.get_name()}: {node.configure_error or 'configure failed'}")
    for node in nodes:
        if node.trigger_activate() != SUCCESS:
            raise RuntimeError(f"{node.get_name()}: activate failed: {node.activate_error or 'see the log'}")
