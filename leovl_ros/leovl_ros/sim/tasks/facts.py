"""Per-scene facts shared by every generator: classes, colours, supports, doors and windows, unique referring
expressions and memoised relations.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from leovl_ros.sim import spatial
from leovl_ros.sim.phrasing import Phraser
from leovl_ros.sim.tasks.sample import TaskConfig


@dataclass
class Place:
    """A referable landmark that is not an object (a door or a window)."""

    kind: str
    """'door' or 'window'."""
    center: np.ndarray
    """(2,) centre of the opening on its wall, floor plane."""
    inward: np.ndarray
    """(2,) unit normal of its wall pointing into the room."""


class Facts:
    """Per-scene lookups shared by all generators: classes, colours, referring expressions, relations."""

    def __init__(self, scene, config: TaskConfig, seen_objects: Iterable[int] | None,
                 phraser: Phraser | None = None) -> None:
        self.scene = scene
        self.phr = phraser or Phraser(np.random.default_rng(0), config.wording)
        """Draws every wording (synonyms, phrasing families) from its own rng, apart from the facts."""
        self.cfg = config
        self.objects = list(scene.objects)
        self.by_id = {o.id: o for o in self.objects}
        self.seen_ids = {o.id for o in self.objects} if seen_objects is None else set(seen_objects)
        self.seen = [o for o in self.objects if o.id in self.seen_ids]
        self.by_class: dict[str, list] = defaultdict(list)
        for o in self.objects:
            self.by_class[o.cls].append(o)
        self.class_colour = Counter((o.cls, o.colour) for o in self.objects)
        self.colour_count = Counter(o.colour for o in self.objects)
        self.children: dict[int, list] = defaultdict(list)
        for o in self.objects:
            if o.support is not None:
                self.children[o.support].append(o)
        self.places = places_of(scene)
        self.place_count = Counter(p.kind for p in self.places)
        self._gaps: dict[tuple[int, int], float] = {}
        self._neighbours: dict[int, object | None] = {}

    def gap(self, a, b) -> float:
        """Footprint gap of two objects (memoised: many generators ask for the same pairs)."""
        key = (min(a.id, b.id), max(a.id, b.id))
        if key not in self._gaps:
            self._gaps[key] = spatial.gap(a, b)
        return self._gaps[key]

    def fully_seen(self, cls: str) -> bool:
        """Every instance of ``cls`` is among the seen objects (so counts are answerable)."""
        return all(o.id in self.seen_ids for o in self.by_class.get(cls, []))

    def stacked(self, a, b) -> bool:
        """One object stands on the other."""
        return a.support == b.id or b.support == a.id

    def ref(self, obj, rng: np.random.Generator | None, use_colour: bool = True, use_size: bool = True
            ) -> str | None:
        """A unique referring expression ('the red chair', 'the lamp on the desk', 'the largest box') or None.

        With ``rng`` (any generator: only whether it is given matters) class names are drawn from synonyms by the
        phraser; without, canonical names are used (captions).
        ``use_colour``/``use_size`` = False leave out expressions that would give away a colour/size answer.
        """
        name = (lambda c: self.phr.synonym(c)) if rng is not None else (lambda c: c)
        colour = (lambda c: self.phr.colour(c)) if rng is not None else (lambda c: c)
        if len(self.by_class[obj.cls]) == 1:
            return f"the {name(obj.cls)}"
        if use_colour and self.class_colour[(obj.cls, obj.colour)] == 1:
            return f"the {colour(obj.colour)} {name(obj.cls)}"
        if obj.support is not None:
            base = self.by_id[obj.support]
            same = [o for o in self.children[base.id] if o.cls == obj.cls]
            if len(same) == 1 and len(self.by_class[base.cls]) == 1:
                return f"the {name(obj.cls)} on the {name(base.cls)}"
        siblings = [o for o in self.by_class[obj.cls] if o.id != obj.id]
        nb = self.neighbour(obj)
        if nb is not None and len(self.by_class[nb.cls]) == 1 and all(
            self.gap(o, nb) > self.cfg.far_gap for o in siblings
        ):
            return f"the {name(obj.cls)} next to the {name(nb.cls)}"
        for p in self.places:
            if (self.place_count[p.kind] == 1 and spatial.point_gap(p.center, obj) < 1.0
                    and all(spatial.point_gap(p.center, o) > 2.0 for o in siblings)):
                return f"the {name(obj.cls)} near the {name(p.kind)}"
        vol = spatial.volume(obj)
        if not use_size:
            return None
        if all(vol > self.cfg.size_ratio * spatial.volume(o) for o in siblings):
            return f"the {'largest' if len(siblings) > 1 else 'bigger'} {name(obj.cls)}"
        if all(self.cfg.size_ratio * vol < spatial.volume(o) for o in siblings):
            return f"the {'smallest' if len(siblings) > 1 else 'smaller'} {name(obj.cls)}"
        return None

    def neighbour(self, target) -> object | None:
        """The object next to ``target`` (smallest footprint gap ≤ next_to_gap, unique by margin), or None."""
        if target.id not in self._neighbours:
            others = [o for o in self.objects if o.id != target.id and not self.stacked(o, target)]
            gaps = {o.id: self.gap(o, target) for o in others}
            best = spatial.unique_extreme(gaps, {o.id: o.cls for o in others}, self.cfg.distance_margin, False)
            ok = best is not None and gaps[best] <= self.cfg.next_to_gap
            self._neighbours[target.id] = self.by_id[best] if ok else None
        return self._neighbours[target.id]

    def place_ref(self, place: Place, rng: np.random.Generator | None) -> str | None:
        """'the window' when it is the only one of its kind, else None."""
        if self.place_count[place.kind] != 1:
            return None
        return f"the {self.phr.synonym(place.kind) if rng is not None else place.kind}"

    def referable(self, rng: np.random.Generator, use_colour: bool = True, use_size: bool = True
                  ) -> list[tuple[object, str]]:
        """Seen objects with a unique referring expression, as (object, phrase)."""
        out = []
        for o in self.seen:
            r = self.ref(o, rng, use_colour, use_size)
            if r is not None:
                out.append((o, r))
        return out


def places_of(scene) -> list[Place]:
    """Doors and windows of the room, each with its floor-plane centre and inward-pointing unit normal."""
    room = scene.room
    out = []
    for op in room.openings:
        center = room.wall_point(op.wall, op.center)
        inward = room.wall_point(op.wall, op.center, 1.0) - center
        out.append(Place(kind=op.kind, center=np.asarray(center, dtype=float), inward=inward))
    return out
