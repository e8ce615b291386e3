"""Class presence: the room statistics, the logits' training signal and labels, the reader's use of them (none at
first, then the answer's first token follows them), and the prefix / checkpoint paths that carry them."""

from __future__ import annotations

import math

import pytest
import torch

from leovl_ros.model.checkpoint import load_checkpoint, save_checkpoint
from leovl_ros.model.config import LeoVLConfig, LLMConfig, ReaderConfig
from leovl_ros.model.leovl import LeoVLModel, TrainItem
from leovl_ros.model.presence import (
    PRESENCE_STATS,
    ClassPresence,
    ColumnClasses,
    column_class_nll,
    presence_nll,
    presence_stats,
    upgrade_presence_weights,
)
from leovl_ros.model.tokenizer import train_tokenizer

CLASSES, COLOURS, FEATURES = 4, 2, 8
CORPUS = ["is there a sofa in the room", "what colour is the sofa", "yes", "no", "red", "there is no sofa",
          "how many sofas are there", "zero"] * 10


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(CORPUS, vocab_size=320)


def presence_model(tokenizer, presence: bool = True, question_copy: bool = False, columns: bool = False) -> LeoVLModel:
    """A tiny model with label anchors (class heads reading feature dims 0..3) and, by default, class presence."""
    torch.manual_seed(0)
    llm = LLMConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2)
    cfg = LeoVLConfig(cfg_encoder={"feature_dim": FEATURES, "hidden_dim": 32, "num_heads": 2,
                                   "anchor_classes": CLASSES, "anchor_colours": COLOURS},
                      llm=llm, text_encoder="none", question_copy=question_copy,
                      reader=ReaderConfig(heads=2, presence=presence, presence_columns=columns))
    model = LeoVLModel(cfg, tokenizer)
    with torch.no_grad():  # class c's head reads feature c (colours read 4, 5)
        model.cfg_encoder.anchor_heads.weight.copy_(torch.eye(CLASSES + COLOURS, FEATURES) * 6.0)
        model.cfg_encoder.anchor_heads.bias.zero_()
    return model


def room(shown: list[int], n: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    """A room whose first columns show the classes in ``shown`` (one column each); the rest show class 3 weakly."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, 2, FEATURES, generator=g) * 0.1
    features[:, :, 3] += 0.4
    for i, c in enumerate(shown):
        features[i, :, c] += 1.5
    labels = torch.tensor([float(c in shown) for c in range(CLASSES)])
    return {"features": features, "heights": torch.rand(n, 2, generator=g), "weights": torch.ones(n, 2),
            "mask": torch.ones(n, 2, dtype=torch.bool), "xy": torch.rand(n, 2, generator=g) * 4,
            "cell_size": torch.full((n,), 0.3), "colour": torch.rand(n, 3, generator=g),
            "mean_height": torch.rand(n, generator=g), "present_classes": labels}


def test_presence_stats_count_confident_columns_and_ignore_masked_ones():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [1.0, 1.0]])
    stats = presence_stats(probs, mask=torch.tensor([True, True, True, False]))
    assert stats.shape == (2, PRESENCE_STATS)
    expected0 = [0.9, (0.9 + 0.5 + 0.2) / 3, math.log1p(2), math.log1p(1), math.log1p(1.6)]
    assert stats[0].tolist() == pytest.approx(expected0, abs=1e-6)
    assert stats[1, 0] == pytest.approx(0.8) and stats[1, 2] == pytest.approx(math.log1p(2))
    assert presence_stats(torch.zeros((0, 3))).shape == (3, PRESENCE_STATS)


def test_presence_nll_leaves_unknown_classes_out():
    logits = torch.tensor([2.0, -2.0, 50.0])
    assert presence_nll(logits, torch.tensor([1.0, 0.0, -1.0])) < 0.2  # the unknown third class's 50 not counted
    assert presence_nll(logits, torch.tensor([-1.0, -1.0, -1.0])) == 0


def test_presence_logits_learn_which_classes_a_room_holds(tokenizer):
    model = presence_model(tokenizer)
    shown = [[0, 1], [2], [0, 2], [1], [0], [1, 2], [0, 1, 2], [], [2, 0], [1, 0], [2, 1], [0]]
    rooms = [room(s, seed=i) for i, s in enumerate(shown)]
    q = model.prompt("is there a sofa in the room?")
    items = [TrainItem(r, q, model.answer_ids("yes")) for r in rooms]
    opt = torch.optim.AdamW(model.parameters(), lr=5e-2)
    first = None
    for _ in range(150):
        nll, has = model(items, presence=True)[-2:]
        loss = nll.sum() / has.sum()
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert bool(has.all()) and float(loss.detach()) < first / 3, (first, float(loss.detach()))
    held_out = room([1, 2], seed=9)
    logits = model.class_presence(held_out)
    assert logits.shape == (CLASSES,)
    assert (logits[[1, 2]] > 0).all() and (logits[[0]] < 0).all(), logits  # class 3's weak glow is not an object


def test_reader_ignores_presence_at_first_then_the_first_token_follows_it(tokenizer):
    model = presence_model(tokenizer)
    r = room([0])
    q = model.prompt("what colour is the sofa?")
    item = TrainItem(r, q, model.answer_ids("red"))

    def first_logp(shift: float) -> float:
        with torch.no_grad():
            model.presence.linear.bias.fill_(shift)
        return float(model([item])[0].detach())

    assert first_logp(-8.0) == pytest.approx(first_logp(8.0), abs=1e-5)  # zero projection: no effect yet
    loss = -model([item])[0].sum()
    loss.backward()
    assert model.reader.presence_proj.weight.grad.abs().sum() > 0  # the answer loss reaches the projection
    with torch.no_grad():
        model.reader.presence_proj.weight.normal_(std=1.0)
    assert abs(first_logp(-8.0) - first_logp(8.0)) > 1e-3


def test_prefix_carries_presence_and_a_checkpoint_keeps_it(tokenizer, tmp_path):
    model = presence_model(tokenizer).eval()
    r = room([0, 2])
    prefix = model.scene_prefix(r)
    assert prefix.presence is not None and torch.equal(prefix.presence, model.class_presence(r))
    answer = model.generate(prefix, "what colour is the sofa?", max_new_tokens=3)
    with pytest.raises(ValueError, match="class presence"):
        model.generate(model.prefill(model.encode_scene(r), xy=r["xy"]), "what colour is the sofa?")
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "m", dtype=torch.float32))
    assert loaded.config.reader.presence and loaded.presence is not None
    assert torch.allclose(loaded.class_presence(r), model.class_presence(r))
    assert loaded.generate(loaded.scene_prefix(r), "what colour is the sofa?", max_new_tokens=3).text == answer.text


def test_absent_gate_forces_and_bars_absent_answers_at_its_thresholds(tokenizer, tmp_path):
    """Trained to answer "there is no sofa" and "zero" in a room without one, the model says so; with
    ``absent_above`` at 0 (the class surely present) "there is no sofa" may not come ("zero" may: "how many sofas
    are behind me?"); with ``absent_below`` at 1 (surely absent) an absent form is forced — but only on questions
    that name a class, by any of its phrasings, "there is no" completed with the class's own name — on a distance
    or a situated question too (a distance to, or a direction of, an object the room holds none of would be
    invented). The thresholds travel in the checkpoint (``update_config``), which refuses an inverted pair."""
    from leovl_ros.model.checkpoint import update_config
    from leovl_ros.model.leovl import ABSENT_FORMS

    model = presence_model(tokenizer, question_copy=True)
    r = room([0, 1])  # no sofa (class 2, its index in sim.scene.CLASSES)
    asked = {"what colour is the sofa?": "there is no sofa", "how many sofas are there?": "zero"}
    items = [TrainItem(r, model.prompt(q), model.answer_ids(a)) for q, a in asked.items()]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        model.nll(items).backward()
        opt.step()
    model.eval()
    prefix = model.scene_prefix(r)
    for q, a in asked.items():
        free = model.generate(prefix, q, max_new_tokens=5)
        assert free.text == a and free.absent_gate == "" and free.names_class
        assert 0.0 <= free.asked_presence <= 1.0
    model.config.reader.absent_above = 0.0
    barred = model.generate(prefix, "what colour is the sofa?", max_new_tokens=5)
    assert barred.absent_gate == "present" and barred.text and not barred.text.startswith("there"), barred.text
    assert model.generate(prefix, "how many sofas are there?", max_new_tokens=5).text == "zero"
    model.config.reader.absent_below = model.config.reader.absent_above = 1.0
    forced = model.generate(prefix, "is there a sofa in the room?", max_new_tokens=5)
    assert forced.absent_gate == "absent" and forced.text.startswith(ABSENT_FORMS), forced.text
    unnamed = model.generate(prefix, "what is in the room?", max_new_tokens=5)
    assert unnamed.absent_gate == "" and not unnamed.names_class
    first = torch.zeros(model.llm.get_input_embeddings().weight.shape[0])  # a first token starting a distance
    digit = next(i for i in model.answer_ids("2.5 meters") if model.tokenizer.decode([i]).strip())
    first[digit] = 5.0
    assert model._absent_gate(0.0, first, 2, ["distance"]) == ("absent", model.answer_ids("there is no sofa"), None)
    assert model._absent_gate(0.0, first, None) == ("", [], None)  # no class named: nothing to be absent
    situated = model.generate(prefix, "what colour is the sofa?", situation_text="i sit on the chair.",
                              max_new_tokens=5)
    assert situated.absent_gate == "absent" and situated.text.startswith(ABSENT_FORMS), situated.text
    synonym = model.generate(prefix, "what colour is the couch?", max_new_tokens=8)  # names the sofa: its presence
    assert synonym.names_class and synonym.asked_presence == pytest.approx(float(torch.sigmoid(prefix.presence[2])))
    assert synonym.absent_gate == "absent" and synonym.text == "there is no sofa", synonym.text
    path = save_checkpoint(model, tmp_path / "m", dtype=torch.float32)
    assert update_config(path, "reader", {"absent_below": 0.1, "absent_above": 0.7}).reader.absent_above == 0.7
    with pytest.raises(ValueError, match="absent_below"):
        update_config(path, "reader", {"absent_below": 0.9})
    assert load_checkpoint(path).config.reader.absent_below == 0.1  # the refused value never landed


def test_the_forced_absent_form_is_the_one_the_likely_answer_types_give(tokenizer):
    """In a room without a sofa: "zero" to a count, "no" to an existence question, "there is no sofa" to any other
    type — a colour, a distance, a yes/no relation ("is the sofa next to the bed?": "no" would read as the sofa
    standing elsewhere), a route — whatever the model's first token leans to; of the forms of several likely types
    the model's favourite; without answer types, of all three."""
    model = presence_model(tokenizer)
    model.config.reader.absent_below, model.config.reader.absent_above = 0.5, 0.9
    first = torch.zeros(model.llm.get_input_embeddings().weight.shape[0])
    first[model.answer_ids("no")[0]] = 5.0
    sofa = model.answer_ids("there is no sofa")
    for types in (["colour"], ["distance"], ["spatial_relation"], ["size"], ["open"], ["situated_direction"]):
        assert model._absent_gate(0.1, first, 2, types) == ("absent", sofa, None), types
    assert model._absent_gate(0.1, first, 2, ["counting"]) == ("absent", model.answer_ids("zero")[:-1], None)
    assert model._absent_gate(0.1, first, 2, ["situated_counting"])[1] == model.answer_ids("zero")[:-1]
    assert model._absent_gate(0.1, first, 2, ["existence"])[1] == model.answer_ids("no")[:-1]
    assert model._absent_gate(0.1, first, 2, ["existence", "spatial_relation"])[1] == model.answer_ids("no")[:-1]
    assert model._absent_gate(0.6, first, 2, ["colour"]) == ("", [], None)  # between the thresholds: the model's own
    first[sofa[0]] = 9.0
    assert model._absent_gate(0.1, first, 2) == ("absent", sofa, None)
    assert model._absent_gate(0.1, first, 2, ["existence", "spatial_relation"]) == ("absent", sofa, None)
    assert model._absent_gate(0.1, first, 2, ["counting"])[1] == model.answer_ids("zero")[:-1]


def test_the_models_own_absent_answer_names_the_class_the_question_names():
    """Trained to say "there is no sofa" to a colour question, the model's own (ungated) answer to the same question
    about a chair names the chair: an absent answer is about the class asked, never another."""
    words = train_tokenizer(CORPUS + ["what colour is the chair", "there is no chair"] * 10, vocab_size=320)
    model = presence_model(words)
    r = room([0, 1])
    item = TrainItem(r, model.prompt("what colour is the sofa?"), model.answer_ids("there is no sofa"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        model.nll([item]).backward()
        opt.step()
    model.eval()
    prefix = model.scene_prefix(r)
    assert model.generate(prefix, "what colour is the sofa?", max_new_tokens=6).text == "there is no sofa"
    chair = model.generate(prefix, "what colour is the chair?", max_new_tokens=10)
    assert chair.absent_gate == "" and chair.model_text == chair.text == "there is no chair", chair.text


def test_presence_head_reads_every_class_and_fits_as_a_logistic_regression():
    """Each class's logit reads every class's statistics; ``fit`` solves the L2-penalised logistic regression of
    scikit-learn (C = 1) per class, leaving unknown labels out. Compared in float64: in float32 L-BFGS stops up to
    ~1e-2 (logit) from scikit-learn's optimum, at a point that moves with the CPU's and the thread count's summation
    order; in float64 within ~1e-4 on 1, 2 and 4 threads."""
    from sklearn.linear_model import LogisticRegression

    g = torch.Generator().manual_seed(0)
    stats = torch.rand(300, CLASSES, PRESENCE_STATS, generator=g, dtype=torch.float64)
    labels = (stats[:, :, 0] + 0.5 * stats[:, [1, 2, 3, 0], 1]
              + 0.3 * torch.randn(300, CLASSES, generator=g, dtype=torch.float64) > 0.9).double()
    labels[:5, 3] = -1.0
    head = ClassPresence(CLASSES).double()
    head.fit(stats, labels)
    with torch.no_grad():
        ours = head(stats)
    for c in range(CLASSES):
        known = labels[:, c] >= 0
        reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(stats[known].flatten(1).numpy(),
                                                                               labels[known, c].numpy())
        expected = torch.tensor(reference.decision_function(stats.flatten(1).numpy()), dtype=torch.float64)
        assert torch.allclose(ours[:, c], expected, atol=1e-3), (c, (ours[:, c] - expected).abs().max())
    other = stats.clone()
    other[:, 1] += 1.0  # another class's evidence moves class 0's logit
    assert not torch.allclose(head(other)[:, 0], ours[:, 0])


def test_older_presence_weights_load_as_the_same_function(tokenizer, tmp_path):
    """A checkpoint written before 2026-12-06 holds one weighting of the statistics shared by every class, a per-class
    bias and a per-class gain on the best column; it loads into today's head as exactly that function, also through
    ``load_checkpoint``."""
    from safetensors.torch import load_file, save_file

    g = torch.Generator().manual_seed(1)
    old = {"presence.shared.weight": torch.randn(1, PRESENCE_STATS, generator=g).half(),
           "presence.shared.bias": torch.randn(1, generator=g).half(),
           "presence.class_bias": torch.randn(CLASSES, generator=g).half(),
           "presence.class_gain": torch.randn(CLASSES, generator=g).half(), "other.weight": torch.ones(2)}
    new = upgrade_presence_weights(old)
    assert set(new) == {"presence.linear.weight", "presence.linear.bias", "other.weight"}
    assert upgrade_presence_weights(new) == new  # today's weights: unchanged
    head = ClassPresence(CLASSES)
    head.load_state_dict({k.removeprefix("presence."): v for k, v in new.items() if k.startswith("presence.")})
    stats = torch.rand(7, CLASSES, PRESENCE_STATS, generator=g)
    o = {k: v.float() for k, v in old.items()}
    expected = (stats @ o["presence.shared.weight"][0] + o["presence.shared.bias"] + o["presence.class_bias"]
                + o["presence.class_gain"] * stats[..., 0])
    with torch.no_grad():
        assert torch.allclose(head(stats), expected, atol=1e-6)
    path = save_checkpoint(presence_model(tokenizer), tmp_path / "old", dtype=torch.float32)
    state = {k: v for k, v in load_file(str(path / "model.safetensors")).items() if not k.startswith("presence.")}
    save_file({**state, **{k: v for k, v in old.items() if k.startswith("presence.")}}, str(path / "model.safetensors"))
    loaded = load_checkpoint(path)
    with torch.no_grad():
        assert torch.allclose(loaded.presence(stats), expected, atol=1e-6)


def test_questions_name_classes_by_any_phrasing_longest_first():
    from leovl_ros.model.leovl import named_classes
    from leovl_ros.sim.scene import CLASSES as OBJECT_CLASSES
    from leovl_ros.sim.templates import classes_named

    assert classes_named("Where would I find the bedside table relative to me?") == ["nightstand"]
    assert classes_named("is the TABLE or the telly smaller?") == ["table", "tv"]
    assert classes_named("how many bookshelves and couches are there?") == ["shelf", "sofa"]
    assert classes_named("what is on the light grey settee?") == ["sofa"]  # "light" before a colour: no lamp
    assert classes_named("is the pillow blue?") == ["pillow"] and classes_named("are the couches grey?") == ["sofa"]
    assert classes_named("is the light on?") == ["lamp"] and classes_named("what is the smallest thing?") == []
    assert classes_named("where is the doorway?") == ["door"]
    assert named_classes("where is the doorway?") == []  # not an object class: no presence logit
    assert named_classes("count the rubbish bins") == [OBJECT_CLASSES.index("trash can")]


def test_the_colour_written_before_a_class_phrasing():
    from leovl_ros.sim.templates import colour_before

    assert colour_before("When did you last see the violet carton?", "box") == "purple"  # a colour synonym
    assert colour_before("remind me when you last saw the GREY storage cabinet", "cabinet") == "gray"
    assert colour_before("the white light", "lamp") == "white" and colour_before("the red boxes", "box") == "red"
    assert colour_before("is the box next to the blue chair?", "box") is None  # the chair's colour
    assert colour_before("the red box or the blue box?", "box") is None  # two colours: none chosen
    assert colour_before("a light blue sofa", "lamp") is None and colour_before("the box", "box") is None


def test_column_classes_read_occupied_bins_only_and_any_bin_count():
    """Bins the mask leaves out change nothing (whatever they hold), and a column with more bins than the classifier
    reads is cut, not refused."""
    torch.manual_seed(0)
    net = ColumnClasses(FEATURES, CLASSES, layers=3).eval()
    r = room([0, 2])  # 2 bins per column
    padded = dict(r)
    for key, fill in (("features", 9.0), ("heights", 5.0), ("weights", 7.0), ("mask", False)):
        extra = torch.full_like(r[key][:, :1], fill)
        padded[key] = torch.cat([r[key], extra], 1)
    assert net.inputs(r).shape == (8, 3 * (FEATURES + 3) + 5)
    assert torch.allclose(net(r), net(padded))
    taller = {k: torch.cat([v, v], 1) if k in ("features", "heights", "weights", "mask") else v for k, v in r.items()}
    assert net(taller).shape == (8, CLASSES) and torch.isfinite(net(taller)).all()
    with pytest.raises(ValueError, match="'colour'"):
        net({k: v for k, v in r.items() if k != "colour"})
    targets = torch.zeros(8, CLASSES)
    targets[:, -1] = -1.0  # unknown: left out
    assert torch.isclose(column_class_nll(torch.zeros(8, CLASSES), targets), torch.tensor(math.log(2.0)))


def test_presence_comes_from_the_column_classifier_when_the_model_has_one(tokenizer, tmp_path):
    model = presence_model(tokenizer, columns=True).eval()
    r = room([0, 2])
    from_columns = model.presence(presence_stats(torch.sigmoid(model.column_classes(r))))
    from_heads = model.presence(presence_stats(model.column_class_probs(r)))
    assert torch.allclose(model.class_presence(r), from_columns) and not torch.allclose(from_columns, from_heads)
    assert torch.allclose(model.class_presence(r, model.column_class_probs(r)), from_columns), "heads' probs unused"
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "m", dtype=torch.float32))
    assert loaded.config.reader.presence_columns and loaded.column_classes is not None
    assert torch.allclose(loaded.class_presence(r), model.class_presence(r))
    with pytest.raises(ValueError, match="needs reader.presence"):
        ReaderConfig(presence=False, presence_columns=True)


def test_presence_needs_label_anchors(tokenizer):
    llm = LLMConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2)
    cfg = LeoVLConfig(cfg_encoder={"feature_dim": FEATURES, "hidden_dim": 32, "num_heads": 2}, llm=llm,
                      text_encoder="none", reader=ReaderConfig(presence=True))
    with pytest.raises(ValueError, match="label anchors"):
        LeoVLModel(cfg, tokenizer)


def test_synthetic_rooms_carry_presence_labels():
    from leovl_ros.sim.world import CLASSES as OBJECT_CLASSES
    from leovl_ros.sim.world import generate_scene
    from training.data import present_classes, target_vocab

    scene = generate_scene(3)
    labels = present_classes(scene)
    names = target_vocab()[0]
    assert labels.shape == (len(names),)
    for name, value in zip(names, labels.tolist()):
        expected = float(any(o.cls == name for o in scene.objects)) if name in OBJECT_CLASSES else -1.0
        assert value == expected, name
    assert 0 < labels.clamp_min(0).sum() < len(OBJECT_CLASSES)
