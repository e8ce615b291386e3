"""The one answer path of the dialogue node and ``leovl-ask``: checks, one request at a time, empty map, model.

ROS-free. ``Answerer.ask`` validates the question and session id (``leovl_ros.agent.validation``), refuses a request
while another one holds the model longer than ``busy_timeout_s`` (``busy``), answers an empty map with a clear
message instead of running the model, and otherwise answers with ``SpatialAgent`` over the shared map
(``MapHandle``): the scene prefix (condense + encode + KV prefill, cached per map version in the agent — the one
scene cache) is built under the map lock, the generation runs on it without the lock so fusion continues. Every
rejection is counted by reason.

Time in the answer. ``Reply.last_seen`` is when the answer's object was last seen, read from the map, never from the
model: the sensor-time ``last_seen`` of the CFG cells the answer is grounded on (the ``~/grounding`` cells), taken over
the *primary object*: the first grounded cell (the first object id, the ``~/goal`` target: the grounded object the
answer names, ``model.agent.named_object_first``) and the grounded cells adjacent to it (within 1.5 cell edges, the rule
that groups cells into object ids), grown over the adjacent cells the model's column classifier (else the 2D encoder)
sees as the class the answer names (``object_region``: the few most-attended cells of a bed or a desk are rarely the
part the camera saw last); the latest of their times. Cells of a second grounded object, which the top cells of an
attention map often include, do not count; on held-out synthetic rooms this rule beat the most-attended cell alone, all
grounded cells and the primary object's grounded cells without growth (``benchmarks/last_seen.py``, ``docs/model.md``).
It is None when none of those cells has a time (a map fused without stamps, or saved before maps kept times), and None
when the answer says the asked class is not there ("there is no X", "no", "zero"): the cells the model attended then are
not that object's. A column holds more than the object (the wall behind a cabinet, a box beside it), seen in frames that
no longer show the object, so where the store is at hand (``Answerer``) the time is read from the store's voxels
standing in the region instead, only those the 2D encoder's class head reads as the answered class
(:func:`class_voxel_last_seen`); the columns' times remain the fallback.

Unknown session ids are accepted: a session id the agent has not seen starts a new (bounded) history; only malformed
ids (too long, characters outside letters, digits and ``-_.:@``) are rejected. Questions in none of the model's words or
about objects outside its classes are rejected too (``question_scope``; ``AnswererConfig.check_scope``); words people
use for a class that no training question uses ("armchair", "wardrobe") reach the model as the class name
(``object_words``; ``AnswererConfig.object_words``), and typing slips in the task's words are put right first
(``spelling``; ``AnswererConfig.correct_spelling``). A message that is only a greeting, a thanks or a goodbye gets a
reply in kind (``small_talk``), not a refusal. "Where are you?" and "how tall is the lamp?" are answered here from
the store (its newest camera pose, its voxels' heights): the model sees neither.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

import numpy as np

from leovl_ros.agent.compound import split_compound, with_pronouns_resolved
from leovl_ros.agent.inline_situation import split_situation
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.object_words import with_trained_object_words
from leovl_ros.agent.question_scope import check_question_scope, known_words
from leovl_ros.agent.referents import NO_REFERENT_ANSWER, Referents, follow_up, needs_referent, with_referent
from leovl_ros.agent.robot_view import asks_implicitly_from_robot, robot_situation_pose, robot_viewpoint
from leovl_ros.agent.small_talk import small_talk_reply
from leovl_ros.agent.spelling import corrected_spelling
from leovl_ros.agent.validation import Reason, Rejection, check_pose_matrix, check_question, check_session_id
from leovl_ros.eval.normalize import points_at_no_object, says_no_such_object
from leovl_ros.geometry.transforms import pose_from_position_quat, yaw_to_quat_xyzw

if TYPE_CHECKING:  # the model (torch) loads on first use, so --help and imports stay light
    from leovl_ros.model.agent import SpatialAgent

EMPTY_MAP_REASON = "empty_map"
"""Counter name (and ``Reply.reason``) of a question asked before anything was fused."""


class ModelNotFoundError(RuntimeError):
    """The model checkpoint folder is missing or incomplete (nodes fail at configure with this message)."""


@dataclass
class AnswererConfig:
    """Limits of the answer path (the dialogue node's parameters of the same names)."""

    max_question_chars: int = 1000
    """Longer questions are rejected (``question_too_long``)."""
    max_session_id_chars: int = 64
    """Longer session ids are rejected (``session_invalid``)."""
    busy_timeout_s: float = 2.0
    """How long a request waits for the model (one request at a time) before it is refused as ``busy``."""
    scene_refresh_s: float = 0.0
    """While the map keeps changing, rebuild the scene prefix at most this often (seconds): questions within it
    reuse the cached prefix of a slightly older map version instead of re-encoding it; 0 = always the latest."""
    check_scope: bool = True
    """Reject questions in none of the model's words or about objects outside its classes
    (``question_scope.check_question_scope``) instead of answering them with one of its classes."""
    object_words: bool = True
    """Ask the model with the class name in place of the words people use for a class that no training question
    uses ("where is the armchair?" → "where is the chair?"; ``object_words.with_trained_object_words``)."""
    correct_spelling: bool = True
    """Ask the model with typing slips in the task's words put right ("how many chiars" → "how many chairs";
    ``spelling.corrected_spelling``)."""
    inline_situation: bool = True
    """Ask a question typed after a clause that places the asker ("I'm on the bed. What is on my left?") in that
    situation (``inline_situation.split_situation``), where the request gives none apart."""
    situation_from_map: bool = True
    """Ask a question whose situation comes as text alone ("I am sitting on the bed facing the tv") at the pose the
    text gives on the map (``model.situation_pose``), where the map places the objects it names."""
    robot_viewpoint: bool = True
    """Ask a question with no situation that takes the robot as its viewpoint ("is the bed on your left?") or asks
    a route ("take me to the chair") at the robot's newest camera pose (``robot_view``)."""
    compound_questions: bool = True
    """Answer two questions typed as one ("where is the bed and what colour is it?") one after the other in the
    same dialogue (``compound.split_compound``), the answers joined."""

    def __post_init__(self) -> None:
        if self.max_question_chars < 1 or self.max_session_id_chars < 1:
            raise ValueError("max_question_chars and max_session_id_chars must be >= 1")
        if not 0.0 <= self.busy_timeout_s <= 600.0:
            raise ValueError(f"busy_timeout_s must be in [0, 600], got {self.busy_timeout_s}")
        if not 0.0 <= self.scene_refresh_s <= 3600.0:
            raise ValueError(f"scene_refresh_s must be in [0, 3600], got {self.scene_refresh_s}")


SENTENCE_MIN_WORDS = 4
"""An answer of this many words says what it answers ("the bed is next to the lamp"); a shorter one ("gray",
"2.5 meters") follows its question in a compound reply (``Answerer._ask_in_turn``)."""

UNKNOWN_HEADING_ANSWER = ("I know you are at the {thing}, but not which way you face: tell me what you are facing, "
                          "e.g. \"I am at the {thing} facing the {other}\"")
"""The answer to a question that needs the asker's heading ("what is behind me?") in a situation that gives none."""

NO_CAMERA_POSE_ANSWER = "I do not know where I am: the map holds no camera pose (a map saved before 2026-12-07)"
"""The answer to "where are you?" on a map without the newest camera pose (``VoxelStore.camera_pose``)."""


@dataclass
class Reply:
    """What a question gets back (the fields of ``leovl_interfaces/srv/Ask`` plus grounding points)."""

    success: bool
    """False when the request was rejected or the map is empty (``reason`` says why)."""
    answer: str = ""
    """The model's answer (or, for an empty map, the message saying so)."""
    confidence: float = 0.0
    """Mean token probability of the generated answer, 0–1."""
    object_ids: list[int] = field(default_factory=list)
    """Ids of the objects the answer refers to (as the model grounds them)."""
    cell_ids: list[int] = field(default_factory=list)
    """Indices of the CFG cells the answer refers to."""
    grounding_xyz: list[tuple[float, float, float]] = field(default_factory=list)
    """World positions (map frame) of the grounded cells (column centre at its mean height), primary first."""
    grounding_size: list[float] = field(default_factory=list)
    """Edge length (m) of each grounded cell (multi-resolution grid: cells differ in size)."""
    scene_tokens: int = 0
    """CFG tokens in the prompt."""
    prompt_tokens: int = 0
    """Tokens of the per-question part of the prompt (situation, history, question)."""
    answer_tokens: int = 0
    """Generated tokens."""
    latency_ms: float = 0.0
    """Wall time of the whole request, waiting for the model included."""
    error: str = ""
    """Empty on success; the reason text otherwise."""
    reason: str = ""
    """Counter name of a rejection (``validation.Reason`` value, ``empty_map``, or ``model_error``)."""
    map_version: int = -1
    """Version of the map the answer was computed on."""
    last_seen: Optional[float] = None
    """Sensor time (s) the answer's object was last seen (:func:`answer_last_seen`); None when unknown."""
    first_seen: Optional[float] = None
    """Sensor time (s) the object was first seen, for "when did you first see the X?" (not in the Ask service: the
    answer says it); None otherwise."""
    model_answer: str = ""
    """What the language model said where ``answer`` was measured on the map instead (``model.measure``); empty
    otherwise."""
    answer_types: list[str] = field(default_factory=list)
    """The question types the model read the question as (``model.answer_types``): with ``last_seen`` the topic and
    Rviz say the time (``agent.spoken``)."""
    read_as: str = ""
    """The question as the model was asked it where words were rewritten (:meth:`Answerer.read_as`: "where is the
    chair?" for "where is the armchair?" or "where is the chiar?"); empty otherwise."""
    situation_placed: Optional[tuple[float, float, float]] = None
    """(x, y, yaw) where the situation text put the asker on the map (``model.situation_pose``, map frame, yaw in
    radians from +x); None where the request gave a pose, the map placed no object the text names, or no situation
    was given."""
    spoken: str = ""
    """The sentence the dialogue node said for it (``agent.spoken``, its "ago" on the node's clock: sim time in a
    replay) where the reply came over the Ask service; empty on the ROS-free path, which says it itself."""

    def last_seen_time(self) -> tuple[int, int]:
        """``last_seen`` as (sec, nanosec) of a builtin_interfaces/Time; (0, 0) when unknown."""
        if self.last_seen is None or not self.last_seen >= 0.0:
            return 0, 0
        sec = math.floor(self.last_seen)
        nanosec = round((self.last_seen - sec) * 1e9)  # the fraction alone: exact, unlike last_seen · 1e9
        return (sec + 1, 0) if nanosec == 1_000_000_000 else (sec, nanosec)


def primary_object_cells(batch: Any, cell_ids: list[int]) -> list[int]:
    """The grounded cells of the answer's primary object: the most-attended cell (first) and the grounded cells
    within ``SAME_OBJECT_CELLS`` cell edges of it (the rule that groups cells into object ids)."""
    from leovl_ros.model.agent import SAME_OBJECT_CELLS

    if not cell_ids:
        return []
    first = batch.xy[cell_ids[0]].double()
    return [c for c in cell_ids
            if float((batch.xy[c].double() - first).norm()) <= SAME_OBJECT_CELLS * float(batch.cell_size[c]) + 1e-6]


def latest_seen(batch: Any, cells: list[int]) -> Optional[float]:
    """The latest known ``last_seen`` (sensor seconds) among CFG cells; None when none has one or the batch carries
    no times."""
    times = getattr(batch, "last_seen", None)
    if times is None:
        return None
    known = [t for t in (float(times[c]) for c in cells) if not math.isnan(t)]
    return max(known) if known else None


REGION_MIN_SHARE = 0.5
"""Without a column classifier, a cell joins the answered object's region when its 2D probability of the answered
class is at least this share of the grounded cells' mean probability of it (:func:`object_region`)."""

REGION_MIN_FOOTPRINT = 0.6
"""With a column classifier, a cell joins the answered object's region when its footprint probability of the
answered class is at least this (:func:`object_region`)."""


def named_class(answer: str) -> Optional[int]:
    """Index in ``sim.scene.CLASSES`` of the class the answer names first ("the chair is next to the bed": the
    chair, the answer's object); None if it names none."""
    from leovl_ros.model.leovl import named_classes

    named = named_classes(answer)
    return named[0] if named else None


def object_region(batch: Any, seeds: list[int], class_probs: np.ndarray,
                  footprint: Optional[np.ndarray] = None) -> list[int]:
    """The seed cells grown over adjacent cells (within ``SAME_OBJECT_CELLS`` cell edges) that belong to the answered
    class: whose column-classifier ``footprint`` [N] of it is at least ``REGION_MIN_FOOTPRINT`` where the model has
    one, else whose 2D probability in ``class_probs`` [N] is at least ``REGION_MIN_SHARE`` of the seeds' mean. The
    whole object, not just the few cells the answer attended most (a bed spans dozens of cells; the camera's last look
    at it may have shown another part). The footprint comes first because it marks an object's extent far more
    evenly: across a bed it reads ~0.9–1.0 where the 2D head's class probability wanders between 0.1 and 0.6."""
    from leovl_ros.model.agent import SAME_OBJECT_CELLS

    if not seeds:
        return []
    xy = batch.xy.double().numpy()
    reach = SAME_OBJECT_CELLS * batch.cell_size.double().numpy()
    if footprint is not None:
        joins = footprint >= REGION_MIN_FOOTPRINT
    else:
        joins = class_probs >= REGION_MIN_SHARE * float(np.mean(class_probs[seeds]))
    region, front = set(seeds), list(seeds)
    while front:
        cell = front.pop()
        near = np.linalg.norm(xy - xy[cell], axis=1) <= np.maximum(reach, reach[cell]) + 1e-6
        new = [int(c) for c in np.nonzero(near & joins)[0] if int(c) not in region]
        region.update(new)
        front.extend(new)
    return sorted(region)


VOXEL_MIN_SHARE = 0.2
"""A voxel of the answer's region counts for its time when its probability of the answered class is at least this
share of the region's most likely voxel's (:func:`class_voxel_last_seen`)."""


class ObjectVoxels(NamedTuple):
    """The store's voxels standing in some CFG cells (``Answerer.voxels_of``), per voxel."""

    class_prob: Any
    """The 2D encoder's probability of the class asked about [V]."""
    first_seen: Any
    """Sensor time (s) of the first frame that hit it [V] (float64, NaN unknown)."""
    last_seen: Any
    """Sensor time (s) of the last frame that hit it [V]."""
    z: Any
    """Height of its centre [V] (m)."""


ClassVoxels = Callable[[list[int], int], tuple[np.ndarray, np.ndarray]]
"""(CFG cells, class index) → the probability of that class [V] and the last seen time [V] of the store voxels
standing in those cells (``Answerer.class_voxels``)."""


def class_voxel_last_seen(class_prob: np.ndarray, last_seen: np.ndarray) -> Optional[float]:
    """The latest known time among the voxels whose probability of the answered class is at least
    ``VOXEL_MIN_SHARE`` of the most likely one's: the object's own voxels, not the wall or the neighbour that share
    its columns and were seen after it left the view; None when there are none or none has a time."""
    if class_prob.size == 0:
        return None
    times = last_seen[class_prob >= VOXEL_MIN_SHARE * float(class_prob.max())]
    times = times[~np.isnan(times)]
    return float(times.max()) if times.size else None


def answer_object_cells(batch: Any, cell_ids: list[int], class_probs: Optional[np.ndarray] = None,
                        footprint: Optional[np.ndarray] = None) -> list[int]:
    """The answer's object: its primary object's grounded cells (:func:`primary_object_cells`), grown over the
    object's extent by ``footprint`` or ``class_probs`` [N] (the answered class's column-classifier footprint and 2D
    probability per cell, :func:`object_region`) when given."""
    cells = primary_object_cells(batch, cell_ids)
    return cells if class_probs is None else object_region(batch, cells, class_probs, footprint)


def grounded_last_seen(batch: Any, cell_ids: list[int]) -> Optional[float]:
    """When the answer's object was last seen, from the map's columns: the latest ``last_seen`` among its primary
    object's grounded cells (:func:`primary_object_cells`); None when none of them has a time."""
    return latest_seen(batch, primary_object_cells(batch, cell_ids))


def answer_last_seen(batch: Any, answer: str, cell_ids: list[int], class_probs: Optional[np.ndarray] = None,
                     class_voxels: Optional[ClassVoxels] = None, footprints: Optional[np.ndarray] = None
                     ) -> Optional[float]:
    """``Reply.last_seen``: the latest time of :func:`answer_object_cells` grown over the class the answer names
    (``class_probs`` and ``footprints`` [N, C] per cell, the scene cache's; :func:`object_region`) — read from that
    region's voxels of the class (:func:`class_voxel_last_seen`) when ``class_voxels`` gives them, else from its
    columns; the primary object's columns when the answer names no class — or None when the answer points at no
    object: 'there is no sofa' (what the model attended is not a sofa), 'no', 'zero' (``points_at_no_object``)."""
    if points_at_no_object(answer):
        return None
    named, region = answer_region(batch, answer, cell_ids, class_probs, footprints)
    if named is None:
        return latest_seen(batch, region)
    voxel_time = None if class_voxels is None or not region else class_voxel_last_seen(*class_voxels(region, named))
    return voxel_time if voxel_time is not None else latest_seen(batch, region)


def answer_region(batch: Any, answer: str, cell_ids: list[int], class_probs: Optional[np.ndarray] = None,
                  footprints: Optional[np.ndarray] = None) -> tuple[Optional[int], list[int]]:
    """The class the answer names (None when it names none or there are no ``class_probs``) and the cells whose
    time :func:`answer_last_seen` reads: :func:`answer_object_cells` grown over that class, else the primary
    object's grounded cells."""
    named = named_class(answer) if class_probs is not None else None
    if named is None:
        return None, primary_object_cells(batch, cell_ids)
    return named, answer_object_cells(batch, cell_ids, class_probs[:, named],
                                      None if footprints is None else footprints[:, named])


def check_model_dir(path: Optional[str]) -> Path:
    """Resolve the checkpoint folder (``""``/None = the shipped default) or raise ``ModelNotFoundError``."""
    from leovl_ros.agent.paths import default_model_dir

    folder = Path(path).expanduser() if path else default_model_dir()
    if not folder.is_dir() or not any(folder.iterdir()):
        raise ModelNotFoundError(
            f"model checkpoint not found at {folder}: train the default model with `make train-default` "
            f"(or `make train-quick`), or point the model_path parameter / --model option at a checkpoint folder")
    return folder


def load_agent(path: Optional[str] = None, device: str = "cpu", max_sessions: int = 64) -> SpatialAgent:
    """Load the checkpoint at ``path`` (default model when empty) into a ``SpatialAgent``; clear error if absent.

    ``max_sessions`` bounds the dialogue histories kept (least recently used sessions are forgotten).
    """
    from leovl_ros.model.agent import SpatialAgent
    from leovl_ros.model.leovl import load_model

    folder = check_model_dir(path)
    try:
        model = load_model(folder, device=device)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFoundError(f"cannot load the model checkpoint at {folder}: {exc}") from exc
    return SpatialAgent(model, max_sessions=max_sessions)


def situation_pose_matrix(position: tuple[float, float, float], quaternion_xyzw: tuple[float, float, float, float]
                          ) -> np.ndarray:
    """4×4 pose from a position and an (x, y, z, w) quaternion (SQA3D's agent pose; ROS geometry_msgs/Pose).

    A zero or non-finite quaternion gives an all-NaN matrix, which ``check_pose_matrix`` then rejects.
    """
    try:
        return pose_from_position_quat(np.asarray(position, dtype=np.float64), quaternion_xyzw)
    except ValueError:
        return np.full((4, 4), np.nan)


class Answerer:
    """Validates questions and serialises them onto one ``SpatialAgent`` over a shared ``MapHandle``."""

    def __init__(self, agent: SpatialAgent, map_handle: MapHandle, config: Optional[AnswererConfig] = None) -> None:
        """Answer with ``agent`` over the map in ``map_handle`` (shared with the fusion node when in-process)."""
        self.agent = agent
        self.map = map_handle
        self.config = config or AnswererConfig()
        self._model_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._referents = Referents(getattr(agent, "max_sessions", 64))
        self.rejections: Counter[str] = Counter()
        """Rejected requests by reason (``validation.Reason`` values, ``empty_map``, ``model_error``)."""
        self.answered = 0
        """Questions the model answered."""
        self._vocabulary = known_words(agent.model.tokenizer)
        """The words the scope check accepts (built here, not on the first question: ~0.4 s once per process)."""

    def counters(self) -> dict[str, int]:
        """A snapshot of the counters: ``answered`` plus one entry per rejection reason seen."""
        with self._count_lock:
            return {"answered": self.answered, **dict(self.rejections)}

    def _reject(self, reason: str, detail: str, start: float, answer: str = "", version: int = -1) -> Reply:
        """Count and build a rejection reply."""
        with self._count_lock:
            self.rejections[reason] += 1
        return Reply(success=False, answer=answer, error=f"{reason}: {detail}", reason=reason,
                     latency_ms=(time.perf_counter() - start) * 1e3, map_version=version)

    def check(self, question: Any, session_id: str) -> Optional[Rejection]:
        """The request checks alone (question text, its scope, session id): ``None`` when acceptable."""
        return self._checked(question, session_id)[0]

    def _checked(self, question: Any, session_id: str) -> tuple[Optional[Rejection], str]:
        """:meth:`check`'s rejection and the question as the model reads it (:meth:`read_as`, computed once; empty
        when the text itself was rejected)."""
        rejection = (check_question(question, self.config.max_question_chars)
                     or check_session_id(session_id, self.config.max_session_id_chars))
        if rejection is not None:
            return rejection, ""
        text = bytes(question).decode("utf-8") if isinstance(question, (bytes, bytearray)) else question
        if small_talk_reply(text) is not None:  # "hello", "thanks": no question, nothing to read or refuse
            return None, text
        read_as = self.read_as(text)
        if not self.config.check_scope:
            return None, read_as
        return check_question_scope(read_as, self._vocabulary), read_as  # "waste basket" is a trash can

    @property
    def vocabulary(self) -> frozenset[str]:
        """The words the model knows (``question_scope.known_words``): the scope check's and the speller's."""
        return self._vocabulary

    def read_as(self, question: str) -> str:
        """The question (or situation) as the model is asked it: typing slips put right (``spelling``), then the
        class name for words no training question uses (``object_words``), each unless its ``config`` switch is
        off."""
        if self.config.correct_spelling:
            question = corrected_spelling(question, self._vocabulary)[0]
        return with_trained_object_words(question)[0] if self.config.object_words else question

    def ask(self, question: Any, session_id: str = "", situation_text: str = "",
            situation_pose: Optional[np.ndarray] = None) -> Reply:
        """Answer ``question`` about the current map, or a counted rejection with a clear error text."""
        start = time.perf_counter()
        rejection, read_as = self._checked(question, session_id)
        if rejection is None and situation_text:
            rejection = check_question(situation_text, self.config.max_question_chars)
        if rejection is None and situation_pose is not None:
            rejection = check_pose_matrix(situation_pose)
        if rejection is not None:
            return self._reject(rejection.reason.value, rejection.detail, start)
        if isinstance(question, (bytes, bytearray)):
            question = bytes(question).decode("utf-8")
        talk = small_talk_reply(read_as)
        if talk is not None:  # answered in kind, whatever the map holds (an empty one too)
            with self._count_lock:
                self.answered += 1
            return Reply(success=True, answer=talk, confidence=1.0, latency_ms=(time.perf_counter() - start) * 1e3)
        inline = None if situation_text or situation_pose is not None or not self.config.inline_situation \
            else split_situation(read_as)
        if inline is not None:  # "I'm on the bed. What is on my left?": the situation apart, as the model reads it
            situation_text, read_as = inline
        with self._count_lock:
            previous = self._referents.last_question(session_id)
        read_as = follow_up(read_as, previous) or read_as  # "and the chair?" after "what colour is the bed?"
        parts = split_compound(read_as) if self.config.compound_questions else None
        if parts is not None:  # "where is the bed and what colour is it?": each in turn, the answers joined
            return self._ask_in_turn(parts, session_id, situation_text, situation_pose, start)
        situation_read = self.read_as(situation_text) if situation_text else ""  # as the model reads it

        def shown() -> str:
            """The question as the model was asked it, for the reply (empty where asked as written)."""
            return (f"{read_as} [situation: {situation_text}]" if inline is not None
                    else read_as if read_as != question else "")

        if not self._model_lock.acquire(timeout=self.config.busy_timeout_s):
            return self._reject(Reason.BUSY.value, f"the model is answering another question (waited "
                                                   f"{self.config.busy_timeout_s:.1f} s); try again", start)
        try:
            with self.map.locked() as store:
                version = int(store.version)
                camera_pose = getattr(store, "camera_pose", None)
                if len(store) == 0:
                    from leovl_ros.model.agent import EMPTY_MAP_ANSWER

                    return self._reject(EMPTY_MAP_REASON, "the map is empty (nothing fused yet)", start,
                                        answer=EMPTY_MAP_ANSWER, version=version)
                scene = self.agent.cached_scene if self.agent.has_scene_of(store) else None
                if scene is None or (scene.version != version
                                     and time.monotonic() - scene.built_s >= self.config.scene_refresh_s):
                    try:
                        scene = self.agent.scene_prefix(store)
                    except (RuntimeError, ValueError) as exc:
                        return self._reject("model_error", f"cannot encode the scene: {exc}", start,
                                            version=version)
            # The agent's one scene cache holds this scene now: generation runs on it without the map lock, so
            # the fusion worker keeps fusing meanwhile.
            version = scene.version
            early, read_as = self._before_model(scene, camera_pose, question, read_as, session_id, start)
            if early is not None:
                return early
            from leovl_ros.model.measure import asks_route

            route = asks_route(read_as)
            placed = None
            if situation_pose is None and situation_text and self.config.situation_from_map:
                from leovl_ros.model.situation_pose import needs_heading, unknown_heading

                where = self._situation_on_map(scene, situation_read)
                if where is not None and (where.heading_given or not needs_heading(read_as, route)):
                    situation_pose = pose_from_position_quat(np.array([where.x, where.y, 0.0]),
                                                             yaw_to_quat_xyzw(where.yaw))
                    if where.heading_given:  # a heading the text does not give is not reported (no answer needs it)
                        placed = (where.x, where.y, where.yaw)
                elif scene.footprints is not None:  # a map that places objects: it would have placed a heading
                    at = unknown_heading(situation_read, read_as, route)
                    if at is not None:  # "I am sitting on the chair" + "what is behind me?": ask, do not guess
                        presence = self.agent.presence(scene)  # the example: the likeliest other class in the room
                        other = max((c for c in presence if c != at), key=presence.get, default="door")
                        return self._map_reply(scene, UNKNOWN_HEADING_ANSWER.format(thing=at, other=other), [],
                                               shown(), start)
            robot_view = None if situation_pose is not None or situation_text or camera_pose is None \
                or not self.config.robot_viewpoint else robot_viewpoint(read_as, route)
            if robot_view is not None:  # "is the bed on your left?", "take me to the chair": from where it stands
                read_as, situation_pose = robot_view, robot_situation_pose(camera_pose)
            try:
                result = self.agent.answer(None, read_as.strip(), session_id=session_id,
                                           situation_text=situation_read,
                                           situation_pose=situation_pose, scene=scene)
            except Exception as exc:  # a fault in one answer is that answer's error, not the node's end
                return self._reject("model_error", f"{type(exc).__name__}: {exc}", start, version=version)
        finally:
            self._model_lock.release()
        if getattr(result, "error", ""):
            return self._reject("model_error", result.error, start, version=version)
        last_seen = answer_last_seen(scene.batch, result.answer, result.cell_ids, scene.class_probs,
                                     lambda cells, cls: self.class_voxels(scene.batch, cells, cls), scene.footprints)
        implicit = robot_view is not None and asks_implicitly_from_robot(robot_view, route)  # it did not say "you"
        answer = f"from where I am: {result.answer}" if implicit and not says_no_such_object(result.answer) \
            else result.answer
        self._note_referent(session_id, read_as, result.answer)
        with self._count_lock:
            self.answered += 1
        return Reply(success=True, answer=answer, confidence=float(result.confidence),
                     object_ids=[int(i) for i in result.object_ids], cell_ids=[int(i) for i in result.cell_ids],
                     grounding_xyz=[tuple(float(v) for v in p) for p in result.grounding_xyz],
                     grounding_size=[float(scene.batch.cell_size[c]) for c in result.cell_ids],
                     scene_tokens=int(result.scene_tokens), prompt_tokens=int(result.prompt_tokens),
                     answer_tokens=int(result.answer_tokens), latency_ms=(time.perf_counter() - start) * 1e3,
                     map_version=version, model_answer=result.model_answer,
                     last_seen=last_seen, answer_types=list(result.answer_types), situation_placed=placed,
                     read_as=shown())

    def _ask_in_turn(self, parts: list[str], session_id: str, situation_text: str,
                     situation_pose: Optional[np.ndarray], start: float) -> Reply:
        """The questions of a compound one asked one after the other in the session (a later one's "it" the object
        the earlier answer was about, ``compound.with_pronouns_resolved``), as one reply: each answer as a person
        reads it (``spoken.spoken_answer``: "I last saw the bed at …"), one that is no sentence of its own after the
        question it answers ("the bed is next to the lamp; what colour is the bed: gray"), the groundings in order
        (the first question's object first: the ``~/goal``), the lowest confidence, the first time known; the
        first failed part's reply where one fails."""
        replies, asked = [], []
        for i, part in enumerate(parts):
            with self._count_lock:
                referent = self._referents.get(session_id)
            part = with_pronouns_resolved(part, referent) if i else part
            reply = self.ask(part, session_id, situation_text, situation_pose)
            if not reply.success:
                return reply
            replies.append(reply)
            asked.append(reply.read_as or part)  # a part carries no situation of its own to split off
        from leovl_ros.agent.spoken import spoken_answer  # "I last saw the bed at …" for a last-seen part

        spoken = [spoken_answer(r, None, q) for q, r in zip(asked, replies)]
        said = list(dict.fromkeys(  # "there is no sofa" once for "where is the sofa and what colour is it?"
            text if len(text.split()) >= SENTENCE_MIN_WORDS else f"{q.rstrip('?')}: {text}"
            for q, text in zip(asked, spoken)))
        return Reply(success=True, answer="; ".join(said), confidence=min(r.confidence for r in replies),
                     object_ids=[i for r in replies for i in r.object_ids],
                     cell_ids=[c for r in replies for c in r.cell_ids],
                     grounding_xyz=[p for r in replies for p in r.grounding_xyz],
                     grounding_size=[g for r in replies for g in r.grounding_size],
                     scene_tokens=max(r.scene_tokens for r in replies),
                     prompt_tokens=sum(r.prompt_tokens for r in replies),
                     answer_tokens=sum(r.answer_tokens for r in replies),
                     latency_ms=(time.perf_counter() - start) * 1e3, map_version=replies[-1].map_version,
                     last_seen=next((r.last_seen for r in replies if r.last_seen is not None), None),
                     first_seen=next((r.first_seen for r in replies if r.first_seen is not None), None),
                     answer_types=list(dict.fromkeys(t for r in replies for t in r.answer_types)),
                     situation_placed=next((r.situation_placed for r in replies if r.situation_placed), None),
                     read_as=" | ".join(asked))

    def _before_model(self, scene: Any, camera_pose: Optional[np.ndarray], question: str, read_as: str,
                      session_id: str, start: float) -> tuple[Optional[Reply], str]:
        """The answers the store gives before the model runs, and the question as the model is then asked it:
        "where are you?" (the camera pose), "where is it?" read about the session's last object (or, before one,
        which object is meant), then "how tall / when did you first see …?" (the voxels)."""
        from leovl_ros.model.room_questions import asks_scene_caption, asks_whereabouts  # torch: loaded with the model
        from leovl_ros.model.voxel_questions import asks_about_one_object

        def shown(text: str) -> str:
            return text if text != question else ""

        if asks_whereabouts(read_as):
            return self._whereabouts(scene, camera_pose, shown(read_as), start), read_as
        with self._count_lock:
            referent = self._referents.get(session_id)
        if not asks_scene_caption(read_as):  # "what does it look like around here?": its "it" is the room
            if referent is None and needs_referent(read_as, asks_about_one_object):  # "where is it?" out of nowhere
                return self._map_reply(scene, NO_REFERENT_ANSWER, [], shown(read_as), start), read_as
            read_as = with_referent(read_as, referent, asks_about_one_object) or read_as  # "where is it?"
        measured = self._from_voxels(scene, read_as, shown(read_as), start)
        if measured is not None:
            self._note_referent(session_id, read_as, measured.answer)
        return measured, read_as

    def _note_referent(self, session_id: str, read_as: str, answer: str) -> None:
        """Remember what the session's answered question was about (``referents``: "where is it?" next)."""
        with self._count_lock:
            self._referents.note(session_id, read_as, answer)

    def _map_reply(self, scene: Any, answer: str, cells: list[int], read_as: str, start: float,
                   last_seen: Optional[float] = None, first_seen: Optional[float] = None) -> Reply:
        """A counted reply measured from the store, not generated (no tokens), grounded on ``cells``."""
        batch = scene.batch
        with self._count_lock:
            self.answered += 1
        return Reply(success=True, answer=answer, confidence=1.0, cell_ids=cells,
                     object_ids=self.agent.object_ids(batch, cells),
                     grounding_xyz=[self.agent.cell_xyz(batch, c) for c in cells],
                     grounding_size=[float(batch.cell_size[c]) for c in cells], scene_tokens=len(batch),
                     latency_ms=(time.perf_counter() - start) * 1e3, map_version=scene.version,
                     last_seen=last_seen, first_seen=first_seen, read_as=read_as)

    def _situation_on_map(self, scene: Any, situation_text: str) -> Optional[Any]:
        """Where a situation text puts the asker on the map (``model.situation_pose.Placement``: at the object sat on
        or stood by, facing the faced one where it names one), over the room inventory's objects; None where the map
        places no anchor or the model reads no footprints."""
        if scene.footprints is None:
            return None
        import torch

        from leovl_ros.model.measure import AskedQuestion
        from leovl_ros.model.room_questions import room_inventory
        from leovl_ros.model.situation_pose import place_situation

        batch, footprints = scene.batch, torch.as_tensor(scene.footprints)
        xy, cell_size = batch.xy.cpu(), batch.cell_size.cpu()
        inventory = room_inventory(AskedQuestion("", presence=self.agent.presence(scene)), footprints, xy, cell_size)
        colours = None if scene.colour_probs is None else torch.as_tensor(scene.colour_probs)
        return place_situation(situation_text, dict(inventory), footprints, xy, cell_size, colours)

    def _whereabouts(self, scene: Any, camera_pose: Optional[np.ndarray], read_as: str, start: float) -> Reply:
        """The answer to "where are you?": the newest fused camera pose among the map's objects
        (``room_questions.measured_whereabouts``), grounded on the nearest one; the language model has no pose to go
        by. A map without a camera pose (saved before 2026-12-07) says so."""
        import torch

        from leovl_ros.model.room_questions import measured_whereabouts
        from leovl_ros.sim.scene import CLASSES

        batch, answer, cells = scene.batch, NO_CAMERA_POSE_ANSWER, []
        if camera_pose is not None:  # a model without the column classifier sees no objects: the place alone
            footprints = torch.zeros((len(batch), len(CLASSES))) if scene.footprints is None else scene.footprints
            measured = measured_whereabouts(torch.as_tensor(camera_pose), torch.as_tensor(footprints),
                                            batch.xy.cpu(), batch.cell_size.cpu())
            answer, cells = measured.text, [int(c) for c in measured.cells]
        return self._map_reply(scene, answer, cells, read_as, start)

    def _from_voxels(self, scene: Any, read_as: str, shown_read_as: str, start: float) -> Optional[Reply]:
        """The answers read from the voxels of the named object's columns, which the language model never sees:
        "how tall is the lamp?" (``voxel_questions.measured_height``), "which is taller, the lamp or the chair?"
        (``voxel_questions.measured_taller``), "which lamp is bigger?" (``voxel_questions.measured_which_size``)
        and "when did you first see the lamp?" (the
        earliest first-seen time of its class's voxels, ``voxel_questions.object_first_seen``); None for another
        question, or a height the map cannot measure (the model answers those)."""
        import torch

        from leovl_ros.agent.spoken import clock_words
        from leovl_ros.model.measure import AskedQuestion
        from leovl_ros.model.room_questions import not_seen
        from leovl_ros.model.voxel_questions import (
            asks_first_seen,
            asks_height,
            asks_taller,
            asks_tallest,
            measured_height,
            measured_taller,
            measured_tallest,
            measured_which_size,
            named_object,
            object_first_seen,
            which_size_asked,
        )
        from leovl_ros.sim.scene import CLASSES
        from leovl_ros.sim.tasks.qa import absent_answer

        question = AskedQuestion(read_as)
        height, taller, first = asks_height(question), asks_taller(question), asks_first_seen(question)
        tallest, which = asks_tallest(question), which_size_asked(question) is not None
        if scene.footprints is None or not (height or taller or first or tallest or which):
            return None
        question.presence = self.agent.presence(scene)  # only for the questions read here
        absent = [cls for cls in question.named if self.agent.judged_absent(scene, cls)]  # as the model's gate
        if absent:  # "how tall is the sofa?", "is the cabinet taller than the lamp?" in a room without one
            return self._map_reply(scene, absent_answer(absent[0]), [], shown_read_as, start)
        batch, footprints = scene.batch, torch.as_tensor(scene.footprints)
        xy, cell_size = batch.xy.cpu(), batch.cell_size.cpu()
        if height or taller or tallest or which:
            with self.map.locked() as store:
                voxel_size = float(store.config.voxel_size)

            def heights(cells: list[int], cls: int) -> tuple[Any, Any]:
                voxels = self.voxels_of(batch, cells, cls)
                return voxels.class_prob, voxels.z

            measure = (measured_height if height else measured_taller if taller else measured_tallest if tallest
                       else measured_which_size)
            measured = measure(question, footprints, xy, cell_size, heights, voxel_size)
            if measured is None:
                return None
            cells = [int(c) for c in measured.cells]
            return self._map_reply(scene, measured.text, cells, shown_read_as, start, latest_seen(batch, cells))
        asked = question.named[0]
        cells = [int(c) for c in named_object(question, footprints, xy, cell_size)]
        if not cells:
            return self._map_reply(scene, not_seen(asked).text, [], shown_read_as, start)
        voxels = self.voxels_of(batch, cells, CLASSES.index(asked))
        first_time = object_first_seen(voxels.class_prob, voxels.first_seen)
        answer = (f"I do not know when I first saw the {asked}" if first_time is None
                  else f"I first saw the {asked} at {clock_words(first_time)}")
        return self._map_reply(scene, answer, cells, shown_read_as, start,
                               class_voxel_last_seen(voxels.class_prob.double().numpy(), voxels.last_seen.numpy()),
                               first_time)

    def class_voxels(self, batch: Any, cells: list[int], cls: int) -> tuple[np.ndarray, np.ndarray]:
        """The map's voxels standing in CFG ``cells`` of ``batch`` (above the floor bin, as condensation's column
        times): the 2D encoder's probability of class ``cls`` [V] and their last seen times [V] (``ClassVoxels``)."""
        voxels = self.voxels_of(batch, cells, cls)
        return voxels.class_prob.double().numpy(), voxels.last_seen.numpy()

    def voxels_of(self, batch: Any, cells: list[int], cls: int) -> ObjectVoxels:
        """The map's voxels standing in CFG ``cells`` above the floor bin: the 2D encoder's probability of class
        ``cls``, their first and last seen times and their centres' heights (empty for a model without label
        anchors)."""
        import torch

        with self.map.locked() as store:
            index = store.voxels_in_squares(batch.xy[cells], batch.cell_size[cells],
                                            min_z=self.agent.condense_config.bin_height / 2)
            features = store.mean_features(index).float()
            first, last = store.first_seen(index).cpu(), store.last_seen(index).cpu()
            z = store.voxel_centers(index)[:, 2].cpu()
        with torch.inference_mode():
            probs = self.agent.model.voxel_class_probs(features)
        if probs is None:
            empty = torch.zeros(0, dtype=torch.float64)
            return ObjectVoxels(torch.zeros(0), empty, empty, empty)
        return ObjectVoxels(probs[:, cls].cpu(), first, last, z)
