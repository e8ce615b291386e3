"""Answer types: the trie keeps decoding inside the likely types' answer sets, an open type leaves it free, the
classifier travels in the checkpoint, and ``training/fit_answer_types.py`` fits it from generated questions."""

from __future__ import annotations

import json

import torch
from test_model_leovl import fake_scene, tiny_config

from leovl_ros.model.answer_types import (
    NAMES_ANOTHER_CLASS,
    NAMES_ASKED_CLASS,
    OPEN_TYPE,
    TYPE_MIN_P,
    AnswerTrie,
    excluded_answers,
    keep_allowed,
    types_for_named,
    types_for_words,
)
from leovl_ros.model.checkpoint import load_checkpoint, save_checkpoint
from leovl_ros.model.leovl import LeoVLModel
from leovl_ros.model.tokenizer import train_tokenizer

SETS = {"colour": ["red", "blue", "there is no sofa"], "existence": ["yes", "no"], OPEN_TYPE: []}
CORPUS = ["what colour is the sofa", "is there a sofa", "describe the sofa", "red", "blue", "yes", "no",
          "there is no sofa", "a red sofa by the wall"] * 10


def encode(text: str) -> list[int]:
    return [ord(c) for c in text] + [0]  # characters as tokens, 0 = EOS


def test_the_trie_allows_exactly_the_answers_of_the_types_asked():
    trie = AnswerTrie(SETS, encode)
    assert trie.types == sorted(SETS)
    allowed = trie.allowed(["existence"])
    assert allowed[()] == {ord("y"), ord("n")} and allowed[tuple(encode("no")[:-1])] == {0}
    both = trie.allowed(["existence", "colour"])
    assert both[()] == {ord(c) for c in "ybnrt"}
    assert trie.allowed(["colour", OPEN_TYPE]) is None  # an open type among them: decoding stays free
    probs = torch.tensor([0.5, 0.45, 0.05])  # sorted types: colour, existence, open
    assert trie.likely_types(probs) == ["colour", "existence"]
    assert trie.likely_types(torch.tensor([TYPE_MIN_P / 2] * 3)) == ["colour"]  # none sure: the most likely


def test_excluded_answers_leave_the_trie_and_only_where_every_likely_type_names_another_object():
    trie = AnswerTrie({"class": ["sofa", "stool", "bed"], "size": ["sofa", "bed"]}, encode)
    allowed = trie.allowed(["class"], excluded=["sofa", "lamp"])  # an excluded word outside the sets is harmless
    assert allowed[()] == {ord("s"), ord("b")} and allowed[tuple(encode("s")[:-1])] == {ord("t")}
    assert trie.allowed(["class"])[tuple(encode("s")[:-1])] == {ord("o"), ord("t")}  # the unexcluded trie kept
    assert "class" in NAMES_ANOTHER_CLASS and "size" not in NAMES_ANOTHER_CLASS
    assert excluded_answers(["class", "nearest"], ["sofa"]) == ("sofa",)  # "what is on the sofa?"
    assert excluded_answers(["size"], ["sofa", "bed"]) == ()  # "which is bigger, the sofa or the bed?"
    assert excluded_answers(["class", "size"], ["sofa"]) == ()  # unsure: the named class may be the answer
    assert excluded_answers([], ["sofa"]) == ()
    # classes the presence head doubts are no answer unless named ("what is behind the tv?" is not "desk")
    assert excluded_answers(["spatial_relation"], ["tv"], doubted=["desk", "bed"]) == ("tv", "desk", "bed")
    assert excluded_answers(["size"], ["sofa", "bed"], doubted=["desk", "bed"]) == ("desk",)  # bed: named
    assert excluded_answers(["situated_object"], [], doubted=["desk"]) == ("desk",)


def test_a_last_seen_answer_keeps_to_the_classes_the_question_names_or_their_absence():
    sets = {"last_seen": ["sofa", "lamp", "desk", "there is no sofa", "there is no lamp", "there is no desk"],
            "situated_direction": ["left", "right"], "class": ["sofa", "lamp", "desk"], "existence": ["yes", "no"]}
    assert NAMES_ASKED_CLASS == {"last_seen"}
    # "when did you last see the lamp?" in words no template uses: the model said "desk", and the time was the desk's
    others = {"sofa", "desk", "there is no sofa", "there is no desk"}
    assert set(excluded_answers(["last_seen"], ["lamp"], sets)) == others
    assert set(excluded_answers(["last_seen", "situated_direction"], ["lamp"], sets)) == others  # "where and when"
    assert set(excluded_answers(["existence", "last_seen"], ["lamp"], sets)) == others  # "have you seen the lamp?"
    assert set(excluded_answers(["last_seen"], ["lamp", "desk"], sets)) == {"sofa", "there is no sofa"}
    assert set(excluded_answers(["class", "last_seen"], ["lamp"], sets)) == {"there is no sofa", "there is no desk"}
    assert excluded_answers(["last_seen"], [], sets) == ()  # "the armchair": the model maps it to a chair itself
    assert excluded_answers(["last_seen"], ["lamp"]) == ()  # no answer sets, no constraint
    trie = AnswerTrie(sets, encode)
    allowed = trie.allowed(["last_seen", "situated_direction"],
                           excluded_answers(["last_seen", "situated_direction"], ["lamp"], trie.sets))
    assert allowed[()] == {ord("l"), ord("t"), ord("r")}  # "lamp", "left", "there is no lamp" or "right"
    assert allowed[tuple(encode("l")[:-1])] == {ord("a"), ord("e")}


def test_keep_allowed_masks_everything_else_unless_nothing_would_remain():
    logits = torch.tensor([1.0, 5.0, 2.0, float("-inf")])
    kept = keep_allowed(logits, {0, 2})
    assert int(kept.argmax()) == 2 and torch.isinf(kept[1]) and kept[0] == 1.0
    assert torch.equal(keep_allowed(logits, None), logits) and torch.equal(keep_allowed(logits, {3}), logits)


def constrained_model(*favoured: str) -> LeoVLModel:
    """A tiny MiniLM model whose answer-type classifier always picks the ``favoured`` types, evenly (their bias
    dominates)."""
    torch.manual_seed(0)
    model = LeoVLModel(tiny_config(text_encoder="minilm", answer_sets=SETS), train_tokenizer(CORPUS, 320)).eval()
    with torch.no_grad():
        model.answer_types.linear.weight.zero_()
        model.answer_types.linear.bias.copy_(torch.tensor([20.0 if t in favoured else 0.0
                                                           for t in model.answer_trie.types]))
    return model


def test_decoding_keeps_to_the_likely_types_answers_and_travels_in_the_checkpoint(tmp_path):
    model = constrained_model("existence")  # untrained: unconstrained, it would say anything
    prefix = model.scene_prefix(fake_scene(0))
    out = model.generate(prefix, "what colour is the sofa?", max_new_tokens=6)
    assert out.answer_types == ["existence"] and out.text in ("yes", "no"), out.text
    again = load_checkpoint(save_checkpoint(model, tmp_path / "m", dtype=torch.float32))
    assert again.config.answer_sets == SETS and again.answer_trie.types == model.answer_trie.types
    assert again.generate(again.scene_prefix(fake_scene(0)), "what colour is the sofa?", max_new_tokens=6).text \
        == out.text
    free = constrained_model(OPEN_TYPE).generate(prefix, "describe the sofa", max_new_tokens=6)
    assert free.answer_types == [OPEN_TYPE]  # a caption: nothing constrained (no set to keep to)


def test_fit_answer_types_learns_question_types_from_generated_questions(tmp_path):
    from training.fit_answer_types import main as fit

    torch.manual_seed(0)
    model = LeoVLModel(tiny_config(text_encoder="minilm"), train_tokenizer(CORPUS, 320))
    path = save_checkpoint(model, tmp_path / "m", dtype=torch.float32)
    assert fit(["--model", str(path), "--rooms", "6", "--val-rooms", "3", "--steps", "300",
                "--out", str(tmp_path / "report.json")]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["train"]["top1"] > 0.95 and report["val_unseen"]["true_type_kept"] > 0.8, report
    fitted = load_checkpoint(path)
    assert OPEN_TYPE in fitted.config.answer_sets and "yes" in fitted.config.answer_sets["existence"]
    assert fitted.likely_answer_types("does this room contain a chair?") == ["existence"]
    assert "colour" in fitted.likely_answer_types("what shade is the bed?")


def test_a_question_naming_no_object_is_not_of_a_type_whose_questions_always_name_one():
    assert types_for_named(["situated_direction", "situated_object"], []) == ["situated_object"]
    assert types_for_named(["situated_direction", "situated_object"], [3]) == ["situated_direction", "situated_object"]
    assert types_for_named(["existence"], []) == ["existence"]  # nothing else likely: kept
    model = constrained_model("existence", "colour")  # "what is it like?" read as both
    prefix = model.scene_prefix(fake_scene(0))
    unnamed = model.generate(prefix, "what colour is it?", max_new_tokens=6)
    assert unnamed.answer_types == ["colour"] and unnamed.text in SETS["colour"], unnamed.text
    assert model.generate(prefix, "is there a sofa?", max_new_tokens=6).answer_types == ["colour", "existence"]


def test_a_question_without_a_counting_word_is_not_of_a_counting_type():
    # "got any plants in here?" was answered "one": the classifier read it as counting as much as existence
    both = ["counting", "existence"]
    assert types_for_words(both, "got any plants in here?") == ["existence"]
    for counting in ("How many plants are there?", "how mnay plants?", "What is the number of chairs here?",
                     "Count the lamps.", "cuont the lamps", "What's the total of boxes?"):
        assert types_for_words(both, counting) == both, counting
    assert types_for_words(["situated_counting", "situated_direction"], "what is on my left?") == ["situated_direction"]
    assert types_for_words(["counting"], "any chairs?") == ["counting"]  # nothing else likely: kept
