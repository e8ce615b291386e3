"""Answer types: which closed answer sets a question's answer may come from, and decoding kept inside them.

Asked in words the training data never used ("what shade is the TV?", "any chairs in here?"), the model sometimes
answers with a word of another type ("tv", "chair"). Every question type has a closed answer set (the generator's,
``sim.tasks.answers``, stored in the checkpoint as ``LeoVLConfig.answer_sets``). ``AnswerTypes`` reads the question's
frozen MiniLM features (mean over its tokens: the pretrained encoder knows that "shade" is about colour) and gives
a probability per type; decoding then keeps to the union of the sets of every type at or above ``TYPE_MIN_P``
(:class:`AnswerTrie`), so an unsure classifier widens the choice instead of forcing one; requests without a closed
set (captions) form one more type, ``OPEN_TYPE``, that leaves decoding free. Fitted after the rest of the
model on generated questions (``training/fit_answer_types.py``); the LLM and the reader are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import nn

from leovl_ros.sim.tasks.qa import absent_answer

TYPE_MIN_P = 0.1
"""A type whose probability is at least this contributes its answer set to what decoding may produce."""
NAMES_ANOTHER_CLASS = frozenset({"class", "nearest", "farthest", "spatial_relation"})
"""Types whose answer names an object other than the ones the question names ("what is on the table?", "what is
closest to the stool?", "what is the pillow lying on?"): when only these are likely, decoding may not answer with a
class the question names (:meth:`AnswerTrie.allowed`'s ``excluded``). In the generated held-out questions no
answer of the first three is one; of the spatial relations 6 of 572 are ("what is next to the chair?" → "chair"),
while the model answered a named class 121 times, 3 of them right."""
NAMES_ASKED_CLASS = frozenset({"last_seen"})
"""Types whose answer is the class the question names or its absence ("when did you last see the lamp?" → "lamp" or
"there is no lamp"): where one is likely and the question names classes, decoding may not give another class's
answer of theirs unless another likely type's set holds it too (:func:`excluded_answers`). Asked "where and when did
you last spot the monitor?" the model said "desk", and the reply's time was the desk's."""
NAMES_AN_OBJECT = frozenset({"distance", "existence", "farthest", "nearest", "last_seen", "object_caption", "planning",
                             "situated_counting", "situated_direction"})
"""Types every generated question of which names an object class (4,000 questions of 40 rooms, follow-ups
included): a question naming none is not of these types, whatever the classifier says (it read "what is to my
left?" as ``situated_direction``, and the answer was "right")."""
COUNT_TYPES = frozenset({"counting", "situated_counting"})
"""Types whose answer is a count: every generated question of theirs holds one of ``COUNT_WORDS``."""
COUNT_WORDS = ("many", "number", "count", "total", "tally", "quantity", "amount")
"""Words a question asking for a count holds ("how many", "the number of", "count the", "the total"): without one,
"got any plants in here?" is a yes/no question, and the classifier's counting type answered it "one"."""
OPEN_TYPE = "open"
"""The type of every request without a closed answer set (captions, descriptions): its set is empty and, when
likely, leaves decoding unconstrained."""


class AnswerTypes(nn.Module):
    """Mean-pooled frozen question features [B, F] → logits [B, T] over the answer types (a standardised linear
    read-out: the MiniLM sentence space already separates the kinds of question)."""

    def __init__(self, types: int, features: int):
        super().__init__()
        self.linear = nn.Linear(features, types)
        self.register_buffer("shift", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))

    @torch.no_grad()
    def standardise(self, pooled: torch.Tensor) -> None:
        """Set the input shift/scale from training questions' pooled features [M, F] (before fitting)."""
        self.shift.copy_(pooled.mean(0))
        self.scale.copy_(pooled.std(0).clamp_min(1e-4))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.linear((pooled.to(self.shift.device) - self.shift) / self.scale)


class AnswerTrie:
    """The answers of each type as token sequences (each ending with EOS), for constrained decoding."""

    def __init__(self, answer_sets: Mapping[str, Sequence[str]], encode: Callable[[str], list[int]]):
        self.types = sorted(answer_sets)
        self.sets: dict[str, tuple[str, ...]] = {t: tuple(answer_sets[t]) for t in self.types}
        """Type → its answers (read only)."""
        self._ids = {a: tuple(encode(a)) for t in self.types for a in self.sets[t]}
        self._built: dict[tuple, dict[tuple[int, ...], set[int]] | None] = {}
        """``allowed`` per set of types and excluded answers, built once (a few combinations recur)."""
        self._answer_sets: dict[tuple[str, ...], frozenset[str] | None] = {}

    def allowed(self, types: Iterable[str], excluded: Iterable[str] = ()) -> dict[tuple[int, ...], set[int]] | None:
        """Prefix (token ids so far) → the next tokens that continue some answer of these types other than the
        ``excluded`` answers; None when one of the types is open (an empty set: captions and other free answers).
        Shared between calls: do not modify."""
        key = (tuple(sorted(set(types))), tuple(sorted(set(excluded))))
        if key not in self._built:
            self._built[key] = self._build(*key)
        return self._built[key]

    def answers(self, types: Iterable[str]) -> frozenset[str] | None:
        """Every answer of these types' sets; None when there are no types or one of them is open. Built once per
        set of types, like ``allowed``."""
        key = tuple(sorted(set(types)))
        if key not in self._answer_sets:
            open_type = not key or any(not self.sets[t] for t in key)
            self._answer_sets[key] = None if open_type else frozenset(a for t in key for a in self.sets[t])
        return self._answer_sets[key]

    def _build(self, types: tuple[str, ...], excluded: tuple[str, ...]) -> dict[tuple[int, ...], set[int]] | None:
        if any(not self.sets[t] for t in types):
            return None
        out: dict[tuple[int, ...], set[int]] = {}
        for t in types:
            for ids in (self._ids[a] for a in self.sets[t] if a not in excluded):
                for i in range(len(ids)):
                    out.setdefault(ids[:i], set()).add(ids[i])
        return out

    def likely_types(self, probs: torch.Tensor) -> list[str]:
        """The types at or above ``TYPE_MIN_P`` (the most likely one at least) for probabilities [T]."""
        keep = [t for t, p in zip(self.types, probs.tolist()) if p >= TYPE_MIN_P]
        return keep or [self.types[int(probs.argmax())]]


def types_for_named(types: Sequence[str], named: Sequence[str]) -> list[str]:
    """The likely ``types`` a question naming the classes ``named`` can be of: without ``NAMES_AN_OBJECT`` when it
    names none, unless no type would be left."""
    if named:
        return list(types)
    return [t for t in types if t not in NAMES_AN_OBJECT] or list(types)


def types_for_words(types: Sequence[str], question: str) -> list[str]:
    """The likely ``types`` without ``COUNT_TYPES`` when the question holds none of ``COUNT_WORDS`` (a swapped pair
    of letters forgiven), unless no type would be left."""
    from leovl_ros.model.measure import mentions

    if mentions(question, COUNT_WORDS, ()):
        return list(types)
    return [t for t in types if t not in COUNT_TYPES] or list(types)


def excluded_answers(types: Sequence[str], named: Sequence[str],
                     sets: Mapping[str, Sequence[str]] | None = None, doubted: Sequence[str] = ()) -> tuple[str, ...]:
    """The answers decoding may not give, given the classes a question names (``named``), the types' answer
    ``sets`` and the classes the presence head doubts in the room (``doubted``): those doubted classes the question
    does not name, whatever the types ("what's behind the tv?" is not answered with a class the map's inventory
    leaves out); besides, the named classes when every likely type names another object (``NAMES_ANOTHER_CLASS``:
    not "tv" either); or, where a likely type names the asked class (``NAMES_ASKED_CLASS``), that type's answers
    other than those classes and their absence — but for the answers another likely type allows ("where and when
    did you last spot the lamp?" may still be answered "left"); none otherwise ("which is bigger, the sofa or the
    bed?")."""
    if not types:
        return ()
    others = [c for c in doubted if c not in named]
    if set(types) <= NAMES_ANOTHER_CLASS:
        return tuple(dict.fromkeys([*named, *others]))
    asked = [t for t in types if t in NAMES_ASKED_CLASS]
    if not (asked and named and sets):
        return tuple(others)
    keep = {*named, *(absent_answer(name) for name in named)}
    allowed = {a for t in types if t not in NAMES_ASKED_CLASS for a in sets.get(t, ())}
    return tuple(sorted({a for t in asked for a in sets.get(t, ())} - keep - allowed)) + \
        tuple(c for c in others if c in allowed)


def keep_allowed(logits: torch.Tensor, nxt: set[int] | None) -> torch.Tensor:
    """``logits`` [V] with every token outside ``nxt`` at −inf; unchanged when ``nxt`` is None (the prefix left the
    sets, e.g. after a forced absent form) or would leave nothing."""
    if not nxt:
        return logits
    keep = torch.full_like(logits, float("-inf"))
    idx = torch.tensor(sorted(nxt), device=logits.device)
    keep[idx] = logits[idx]
    return logits if bool(torch.isinf(keep).all()) else keep
