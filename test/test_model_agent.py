"""SpatialAgent over a real VoxelStore: empty map, scene-prefix cache per map version, bounded history, grounding."""

from __future__ import annotations

import torch

from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig
from leovl_ros.model.agent import EMPTY_MAP_ANSWER, SpatialAgent
from leovl_ros.model.config import LeoVLConfig, LLMConfig, PromptConfig
from leovl_ros.model.leovl import LeoVLModel
from leovl_ros.model.tokenizer import train_tokenizer


def make_agent() -> SpatialAgent:
    torch.manual_seed(0)
    tok = train_tokenizer(["how many chairs are there", "red", "two"] * 5, vocab_size=300)
    config = LeoVLConfig(cfg_encoder={"feature_dim": 8, "hidden_dim": 32, "num_heads": 2},
                         llm=LLMConfig(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4,
                                       num_kv_heads=2),
                         prompt=PromptConfig(max_history=2, max_new_tokens=4), condense={"budget": 64})
    return SpatialAgent(LeoVLModel(config, tok), top_cells=3)


def fill(store: VoxelStore, seed: int, n: int = 400) -> None:
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(n, 3, generator=g) * torch.tensor([3.0, 2.0, 1.5])
    store.fuse(pts, torch.randn(n, 8, generator=g), torch.rand(n, 3, generator=g))


def test_empty_map_and_empty_question():
    agent = make_agent()
    store = VoxelStore(VoxelStoreConfig(feature_dim=8))
    out = agent.answer(store, "how many chairs?")
    assert out.answer == EMPTY_MAP_ANSWER and out.error == "empty map" and out.scene_tokens == 0
    fill(store, 0)
    assert agent.answer(store, "   ").error == "empty question"


def test_prefix_cached_per_version_history_bounded_and_grounding(monkeypatch):
    agent = make_agent()
    store = VoxelStore(VoxelStoreConfig(feature_dim=8))
    fill(store, 1)
    calls = []
    original = agent.model.prefill
    monkeypatch.setattr(agent.model, "prefill", lambda s, **kw: calls.append(1) or original(s, **kw))
    first = agent.answer(store, "how many chairs?", session_id="a")
    second = agent.answer(store, "what colour?", session_id="a", situation_text="i sit on the bed",
                          situation_pose=(torch.tensor([1.0, 1.0, 0.0]).numpy(), [0, 0, 0, 1]))
    assert len(calls) == 1  # same map version: the scene prefix is reused
    batch = agent.scene_prefix(store).batch  # the scene the first answers were grounded in
    fill(store, 2)
    agent.answer(store, "and now?", session_id="a")
    assert len(calls) == 2  # map changed: recomputed
    assert 0 < first.scene_tokens <= 64 and first.latency_ms > 0 and first.answer_tokens <= 4
    assert second.prompt_tokens > first.prompt_tokens  # situation + one history turn in the prompt
    assert len(agent.history("a")) == 2 and agent.history("a")[-1][0] == "and now?"  # bounded to max_history
    assert agent.history("b") == []
    assert len(first.cell_ids) == 3 and all(0 <= c < first.scene_tokens for c in first.cell_ids)
    xy = batch.xy[first.cell_ids[0]]
    assert first.grounding_xyz[0][:2] == (float(xy[0]), float(xy[1]))
    assert first.object_ids and set(first.object_ids) <= set(first.cell_ids)
    assert 0.0 <= first.confidence <= 1.0


def test_the_object_the_answer_names_comes_first():
    """Grounded on a desk (most attention) and a lamp: answering "lamp", the lamp's cells lead (the goal and the
    time are the lamp's); answering "desk", "yes" or with no column classifier, the attention order stays."""
    from types import SimpleNamespace

    import numpy as np

    from leovl_ros.model.agent import named_object_first
    from leovl_ros.sim.scene import CLASSES

    batch = SimpleNamespace(xy=torch.tensor([[0.0, 0.0], [0.3, 0.0], [2.0, 0.0], [2.3, 0.0], [5.0, 5.0]]),
                            cell_size=torch.full((5,), 0.3))
    attention = torch.tensor([0.4, 0.2, 0.15, 0.1, 0.05])
    footprints = np.zeros((5, len(CLASSES)), dtype=np.float32)
    footprints[:2, CLASSES.index("desk")] = 0.9
    footprints[2:4, CLASSES.index("lamp")] = [0.3, 0.8]
    cells = [0, 1, 2, 3, 4]
    assert named_object_first(batch, cells, attention, footprints, "lamp") == [2, 3, 0, 1, 4]
    assert named_object_first(batch, cells, attention, footprints, "desk") == cells
    assert named_object_first(batch, cells, attention, footprints, "yes") == cells
    assert named_object_first(batch, cells, attention, footprints, "sofa") == cells  # no footprint: attention order
    assert named_object_first(batch, cells, attention, None, "lamp") == cells
    weak = footprints.copy()
    weak[2:4, CLASSES.index("lamp")] = 0.05  # a faint lamp footprint still beats none on the desk
    assert named_object_first(batch, cells, attention, weak, "lamp") == [2, 3, 0, 1, 4]
    # the object the map chose for a measured answer ("the first thing on my left") leads, as many cells as before
    assert named_object_first(batch, [0, 1, 2], attention, footprints, "lamp", measured=[4, 3]) == [4, 3, 0]
    assert named_object_first(batch, [], attention, footprints, "lamp", measured=[4, 3]) == [4]


def test_the_colour_the_question_names_picks_among_the_maps_objects_of_the_class():
    """Two boxes (white at cells 0–1 holding the attention, blue at cells 5–6 outside the grounded cells) and a
    desk: asked about "the blue carton", the blue box leads even though the model attended
    the white one; asked about "the white box" or "the box", the attended white one stays first; as many cells as
    given."""
    from types import SimpleNamespace

    import numpy as np

    from leovl_ros.model.agent import named_object_first
    from leovl_ros.sim.scene import CLASSES, COLOURS

    xy = torch.tensor([[0.0, 0.0], [0.3, 0.0], [2.0, 0.0], [2.3, 0.0], [5.0, 5.0], [3.0, 3.0], [3.3, 3.0]])
    batch = SimpleNamespace(xy=xy, cell_size=torch.full((7,), 0.3))
    attention = torch.tensor([0.4, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01])
    footprints = np.zeros((7, len(CLASSES)), dtype=np.float32)
    box, desk = CLASSES.index("box"), CLASSES.index("desk")
    footprints[[0, 1, 5, 6], box] = [0.9, 0.8, 0.7, 0.95]
    footprints[[2, 3], desk] = 0.9
    colours = np.full((7, len(COLOURS) + 1), 0.02, dtype=np.float32)
    colours[[0, 1], list(COLOURS).index("white")] = 0.9
    colours[[5, 6], list(COLOURS).index("blue")] = 0.8
    cells = [0, 1, 2, 3, 4]
    pick = lambda question: named_object_first(batch, cells, attention, footprints, "box", (), question,  # noqa: E731
                                               colours)
    assert pick("When did you last see the blue carton?") == [5, 6, 0, 1, 2]
    assert pick("When did you last see the white box?") == [0, 1, 2, 3, 4]
    assert pick("When did you last see the box?") == [0, 1, 2, 3, 4]
    assert pick("Is the box next to the blue chair?") == [0, 1, 2, 3, 4]  # the colour is the chair's
    # without the encoder's colours the attention decides, as before
    assert named_object_first(batch, cells, attention, footprints, "box", (), "the blue carton") == cells
