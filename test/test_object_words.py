"""Words people use for a class that no training question uses, rewritten to the class name (``agent.object_words``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_question_scope import written_questions

from leovl_ros.agent.object_words import OBJECT_WORDS, with_trained_object_words
from leovl_ros.agent.question_scope import OTHER_OBJECTS
from leovl_ros.sim.templates import SYNONYMS, classes_named

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("question, read_as, pairs", [
    ("where is the armchair?", "where is the chair?", [("armchair", "chair")]),
    ("Where is the Closet?", "where is the cabinet?", [("closet", "cabinet")]),
    ("how many flowers are there?", "how many plants are there?", [("flowers", "plants")]),
    ("where are the wardrobes?", "where are the cabinets?", [("wardrobes", "cabinets")]),
    ("what colour is the bedside cabinet?", "what colour is the nightstand?", [("bedside cabinet", "nightstand")]),
    ("how many office chairs are there?", "how many chairs are there?", [("office chairs", "chairs")]),
    ("what is on the chest of drawers?", "what is on the cabinet?", [("chest of drawers", "cabinet")]),
    ("where is the trash?", "where is the trash can?", [("trash", "trash can")]),
    ("is the pc left of the loveseat?", "is the monitor left of the sofa?", [("pc", "monitor"), ("loveseat", "sofa")]),
])
def test_other_words_for_a_class_become_its_name(question, read_as, pairs):
    assert with_trained_object_words(question) == (read_as, pairs)


@pytest.mark.parametrize("question, read_as, pairs", [
    ("where is the desk lamp?", "where is the lamp?", [("desk lamp", "lamp")]),
    ("How many couch cushions are there?", "how many cushions are there?", [("couch cushions", "cushions")]),
    ("what colour is the bedside table lamp?", "what colour is the lamp?", [("bedside table lamp", "lamp")]),
    ("I am sitting on the sofa chair.", "i am sitting on the chair.", [("sofa chair", "chair")]),
    ("is the armchair by the TV cabinet?", "is the chair by the cabinet?", [("armchair", "chair"),
                                                                             ("tv cabinet", "cabinet")]),
])
def test_a_class_before_another_is_its_modifier(question, read_as, pairs):
    """The last noun is the object ("the desk lamp" is a lamp): read whole, the question named a desk."""
    assert with_trained_object_words(question) == (read_as, pairs)


@pytest.mark.parametrize("question", [
    "what is on the computer desk?",        # a modifier of the class after it
    "what colour is the bedside lamp?",
    "is there a garbage can?",              # inside a trained phrasing
    "is the computer monitor on?",
    "Where is the couch?",                  # trained phrasings stay as written
    "is the wardrobe-like shelf tall?",     # not inside a hyphenation
    "is the bed next to the sofa?",         # two classes apart are two objects
    "which is bigger, the bed or the sofa?",
])
def test_modifiers_and_trained_phrasings_stay(question):
    assert with_trained_object_words(question) == (question, [])


def test_the_words_are_no_trained_phrasing_nor_an_object_outside_the_classes():
    words = [w for ws in OBJECT_WORDS.values() for w in ws]
    assert set(OBJECT_WORDS) <= set(SYNONYMS)
    assert not set(words) & {p for ps in SYNONYMS.values() for p in ps}
    assert not set(words) & set(OTHER_OBJECTS)
    for cls, ws in OBJECT_WORDS.items():  # each rewrite names its class, and only it
        for word in ws:
            assert classes_named(with_trained_object_words(f"where is the {word}?")[0]) == [cls], word


def test_no_question_the_generator_or_a_person_wrote_is_rewritten():
    """What the generator and the benchmarks' hand-written files ask (``test_question_scope.written_questions``)
    reaches the model as written: the rewrite only touches words the model never saw."""
    changed = [(t, r) for t in written_questions() if (r := with_trained_object_words(t)[1])]
    assert not changed, changed[:5]

BENCHMARK = ROOT / "benchmarks" / "object_words.py"


def test_the_benchmark_keeps_the_number_of_what_it_rewords(benchmark):
    import numpy as np

    rng = np.random.default_rng(0)
    for question in ("how many couches are there?", "what colour is the bin?", "where is the bedside table?"):
        text, cls = benchmark.in_other_words(question, rng)
        read_as, pairs = with_trained_object_words(text)
        assert len(pairs) == 1 and classes_named(read_as) == [cls], (question, text)
        assert pairs[0][1].endswith("s") == question.startswith("how many"), (question, text)
    assert benchmark.in_other_words("is there a bed?", rng) is None  # no other words for a bed


def test_the_benchmarks_compounds_read_back_to_the_class(benchmark):
    import numpy as np

    rng = np.random.default_rng(0)
    for cls in benchmark.CLASS_MODIFIERS:
        question = f"how many {cls}s are there?" if cls != "trash can" else "where is the red trash can?"
        text, compound = benchmark.with_a_class_modifier(question, rng)
        assert text != question and compound in text.lower() and classes_named(text)[-1] == cls, text
        assert with_trained_object_words(text)[0] == question.lower(), text
    assert benchmark.with_a_class_modifier("is there a bed?", rng) is None


@pytest.mark.skipif(not (ROOT / "models" / "default" / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "8", "--per-type", "1", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "object_words"
    for form in ("other_words", "slip"):
        assert figures[form]["n"] >= 1 and figures[form]["rewritten"] > 0.5, form
        for key in ("em", "em_off", "em_generated"):
            assert 0.0 <= figures[form][key] <= 1.0, (form, key)
    by_class = figures["other_words"]["by_class"]
    assert sum(c["n"] for c in by_class.values()) == figures["other_words"]["n"]


def test_a_slip_is_one_edit_inside_a_class_word_and_spells_no_known_word(benchmark):
    import numpy as np

    from leovl_ros.agent.spelling import one_edit

    rng = np.random.default_rng(1)
    for question in ("how many chairs are there?", "what colour is the bedside table?", "is there a sofa?"):
        for _ in range(20):
            slipped, word, slip = benchmark.with_a_slip(question, rng, frozenset({"chairs"}))
            assert slipped == question.replace(word, slip, 1) and word in question
            assert word[0] == slip[0] and len(word) >= 4 and one_edit(slip, word) is not None
    assert benchmark.with_a_slip("is there a tv?", rng, frozenset()) is None  # no class word of four letters
