"""Questions asked from the robot's own point of view: its newest camera pose as the situation.

"Is the bed on your left?", "what is in front of you?", "take me to the chair", "how do I get to the sofa?", "is the
lamp left or right of the bed?" asked with no situation have one viewpoint the robot knows: its own. The model was
trained on situated questions worded from the asker's point of view ("is the bed on my left?") at a situation pose;
:func:`robot_viewpoint` gives the wording the model knows ("your left" → "my left", "in front of you" → "in front of
me") and :func:`robot_situation_pose` the pose, the camera's on the floor plane facing where the camera looks.
ROS-free, torch-free.
"""

from __future__ import annotations

import math
import re
from typing import Optional

import numpy as np

from leovl_ros.sim.templates import classes_named

_YOUR_SIDE = re.compile(r"\byour (left|right|front|side|position|location|viewpoint|point of view)\b", re.I)
_YOU_AFTER = re.compile(r"\b(in front of|behind|beside|next to|near|(?:nearest|closest|closer|nearer)(?: to)?"
                        r"|around|from|relative to|to the (?:left|right) of|on the (?:left|right) of|left of|right of"
                        r"|far from|away from)"
                        r" you(?:rself)?\b", re.I)
"""The robot as the viewpoint: "your left", "in front of you", "relative to you" (not "can you see", "do you know";
not "with your back to the door", the generator's viewpoint questions)."""


def asks_from_robot(text: str) -> bool:
    """Whether a question takes the robot as its viewpoint ("is the bed on your left?", "what is behind you?")."""
    return bool(_YOUR_SIDE.search(text) or _YOU_AFTER.search(text))


def as_asked_of_me(text: str) -> str:
    """The question in the trained situated wording, the robot's viewpoint as the asker's: "your left" → "my left",
    "in front of you" → "in front of me"; the rest as written."""
    text = _YOUR_SIDE.sub(lambda m: f"my {m[1]}", text)
    return _YOU_AFTER.sub(lambda m: f"{m[1]} me", text)


_HOW_FAR_AWAY = re.compile(r"^\W*how far(?: away)? (?:is|are) (?P<thing>[a-z ]+?)(?: from here)?\W*$", re.I)
"""A distance to one thing from nowhere named ("how far is the chair?", "how far away is the bed?")."""
_REFERENCE_WORDS = frozenset({"from", "to", "between", "and", "me", "you", "i", "it", "us"})
"""Words that name where a distance is measured from: "how far is the bed from the chair?" needs no viewpoint."""


_SIDE_OF = re.compile(r"\b(?:left|right) (?:side )?of\b", re.I)
_VIEWPOINT_NAMED = re.compile(r"\b(?:from|seen|viewed|standing|facing|looking|back|point of view|perspective|me|my|i)"
                              r"\b", re.I)
"""One object's side of another with no viewpoint named ("is the lamp left or right of the bed?"; not "seen from the
door, …", the generator's viewpoint questions, nor "left of me")."""


def asks_implicitly_from_robot(text: str, asks_route: bool) -> bool:
    """Whether a question needs a viewpoint it does not name, which the robot's own is (``asks_route``: "take me to
    the chair", "how do I get to the sofa?"; a distance to one thing: "how far is the chair?"; one thing's side of
    another: "is the lamp left or right of the bed?", "what is to the left of the bed?")."""
    if asks_route:
        return bool(classes_named(text))  # "take me to" with nowhere named asks nothing
    if _SIDE_OF.search(text) and not _VIEWPOINT_NAMED.search(text):  # "what is to the left of the bed?" too
        return len(classes_named(text)) == 2 or (len(classes_named(text)) == 1
                                                 and re.match(r"\W*(?:what|which)\b", text, re.I) is not None)
    found = _HOW_FAR_AWAY.match(text)
    return found is not None and _REFERENCE_WORDS.isdisjoint(found["thing"].lower().split()) \
        and len(classes_named(found["thing"])) <= 1  # "the cushion frmo the desk": two things, a typo between


def robot_viewpoint(text: str, asks_route: bool) -> Optional[str]:
    """The question to ask at the robot's pose: reworded (:func:`as_asked_of_me`) where it takes the robot as its
    viewpoint, as written where it needs one it does not name (:func:`asks_implicitly_from_robot`, answered from
    where the robot stands); None for any other question."""
    if asks_from_robot(text):
        return as_asked_of_me(text)
    return text if asks_implicitly_from_robot(text, asks_route) else None


def robot_situation_pose(camera_pose: np.ndarray) -> np.ndarray:
    """A 4×4 situation pose (map frame, x forward, z up) from the camera's optical-frame pose (z forward, y down):
    the camera's position, turned about z to where its optical axis points on the floor plane."""
    pose = np.asarray(camera_pose, dtype=np.float64)
    forward = pose[:3, 2]
    yaw = math.atan2(float(forward[1]), float(forward[0]))
    situation = np.eye(4)
    situation[:2, :2] = [[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]]
    situation[:3, 3] = pose[:3, 3]
    return situation
