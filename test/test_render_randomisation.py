"""Camera-like randomisation of the renderer (``sim/appearance.py``): off is the flat renderer byte for byte, every
effect is wired, on is seeded, labels stay exact, named colours keep their hue family, depth is only perturbed within
the sensor model or removed (0/NaN, what ``valid_depth_mask`` drops), and fusion and the training data path work on
randomised frames."""

from __future__ import annotations

import colorsys
import dataclasses
import sys

import numpy as np
import pytest

from leovl_ros.agent.paths import REPO_ROOT
from leovl_ros.cfg import CondenseConfig, VoxelStore, VoxelStoreConfig, condense, fuse_frame
from leovl_ros.cfg.stand_in import PooledColourEncoder
from leovl_ros.geometry.frame import valid_depth_mask
from leovl_ros.sim.appearance import CAMERA, AppearanceConfig, projector_shadow
from leovl_ros.sim.render import RenderConfig, Renderer, render_sequence
from leovl_ros.sim.trajectory import robot_trajectory
from leovl_ros.sim.world import COLOURS, WALL_ID, generate_scene

sys.path.insert(0, str(REPO_ROOT))

W, H = 160, 120
ON = RenderConfig(appearance=CAMERA)


def _walk(seed: int, config: RenderConfig | None = None, frames: int = 6, render_seed: int = 0) -> list:
    """Frames of scene ``seed`` along its robot walk (the same poses whatever the config)."""
    scene = generate_scene(seed)
    renderer = Renderer(scene, W, H, config=config, seed=render_seed)
    return [renderer.render(p) for p in robot_trajectory(scene, frames, seed=seed)]


@pytest.fixture(scope="module")
def pairs() -> list[tuple[object, list, list]]:
    """(scene, flat frames, CAMERA frames) of the same poses for three scenes."""
    return [(generate_scene(s), _walk(s), _walk(s, ON)) for s in (1, 2, 3)]


def _same(a, b) -> bool:
    """Byte-identical colour, depth (NaN included) and instance ids."""
    return (a.rgb.tobytes() == b.rgb.tobytes() and a.depth.tobytes() == b.depth.tobytes()
            and a.instance.tobytes() == b.instance.tobytes())


def test_all_effects_off_is_the_flat_renderer_byte_for_byte() -> None:
    off = AppearanceConfig(**{f.name: 0 for f in dataclasses.fields(AppearanceConfig)})
    assert not off.enabled and off == AppearanceConfig() and CAMERA.enabled
    for seed in (0, 4):
        plain, explicit = _walk(seed, frames=3), _walk(seed, RenderConfig(appearance=off), frames=3, render_seed=9)
        assert all(_same(a, b) for a, b in zip(plain, explicit))


def test_every_effect_alone_changes_the_frames(pairs) -> None:
    # each field switched on alone at CAMERA's strength; at this small size more blur (sigma 1 px at 160 wide), and a
    # short range and NaN in every frame so that a room shows them. An effect needs its trigger in view (glossy
    # dropout a screen or glazed ceramic, which of the three walks shows one can differ by a few pixels between
    # CPUs), so it must change the frames of at least one of the three scenes, and never their labels.
    strengths = {**dataclasses.asdict(CAMERA), "blur": 4.0, "max_range": 2.0, "nan_share": 1.0}
    for name, value in strengths.items():
        changed = False
        for scene, clean, _ in pairs:
            renderer = Renderer(scene, W, H, config=RenderConfig(appearance=AppearanceConfig(**{name: value})))
            frames = [renderer.render(f.pose) for f in clean]
            assert all(np.array_equal(a.instance, b.instance) for a, b in zip(clean, frames))
            if not all(_same(a, b) for a, b in zip(clean, frames)):
                changed = True
                break
        assert changed, f"{name} alone changes nothing"


def test_randomised_frames_are_seeded() -> None:
    a, b = _walk(2, ON, frames=4, render_seed=5), _walk(2, ON, frames=4, render_seed=5)
    assert all(_same(x, y) for x, y in zip(a, b))
    other = _walk(2, ON, frames=4, render_seed=6)
    assert not any(np.array_equal(x.rgb, y.rgb) for x, y in zip(a, other))


def test_labels_stay_exact(pairs) -> None:
    for _, clean, noisy in pairs:
        for a, b in zip(clean, noisy):
            assert np.array_equal(a.instance, b.instance) and np.array_equal(a.pose, b.pose)
            assert not np.array_equal(a.rgb, b.rgb)


def _hue_family_matches(rgb: np.ndarray, name: str) -> bool:
    """The mean colour is in the named colour's hue family: white/gray/black nearly neutral (channel spread ≤ 20 %),
    the others saturated and within 30° of the name's hue (dark orange counts as orange, as brown shares its hue)."""
    if name in ("white", "gray", "black"):
        return float(rgb.max() - rgb.min()) / 255.0 <= 0.2
    h, s, _ = colorsys.rgb_to_hsv(*(rgb / 255.0))
    h0 = colorsys.rgb_to_hsv(*(np.asarray(COLOURS[name]) / 255.0))[0]
    d = abs(h - h0) * 360.0
    return s > 0.3 and min(d, 360.0 - d) <= 30.0


def test_named_colours_keep_their_hue_family() -> None:
    hits = total = 0
    for seed in range(8):
        scene = generate_scene(seed)
        frames = _walk(seed, ON, frames=8, render_seed=seed)
        for obj in scene.objects:
            rgb = np.concatenate([f.rgb[f.instance == obj.id] for f in frames]).astype(np.float64)
            if len(rgb) >= 20:
                total += 1
                hits += _hue_family_matches(rgb.mean(axis=0), obj.colour)
    assert total >= 40 and hits / total >= 0.95, (hits, total)


def test_depth_is_removed_or_kept_within_the_sensor_model(pairs) -> None:
    tolerance = 6 * CAMERA.depth_noise + CAMERA.depth_quantisation / 2 + 1e-4  # on inverse depth (1/m)
    removed, pixels, nan_frames, zero_frames = 0, 0, 0, 0
    for _, clean, noisy in pairs:
        for a, b in zip(clean, noisy):
            kept = valid_depth_mask(b.depth)
            holes = b.depth[~kept]
            assert np.isnan(holes).all() or (holes == 0).all(), "a frame marks holes one way"
            nan_frames += bool(np.isnan(holes).any())
            zero_frames += bool((holes == 0).any())
            assert not (kept & ~valid_depth_mask(a.depth)).any(), "no depth where the ray hit nothing"
            inv_a, inv_b = 1.0 / a.depth[kept].astype(np.float64), 1.0 / b.depth[kept].astype(np.float64)
            assert np.abs(inv_a - inv_b).max() <= tolerance
            removed += int((valid_depth_mask(a.depth) & ~kept).sum())
            pixels += int(valid_depth_mask(a.depth).sum())
    assert nan_frames and zero_frames
    assert 0.01 <= removed / pixels <= 0.4, removed / pixels


def test_projector_shadow_is_the_band_left_of_a_near_edge() -> None:
    # a 1 m box in front of a 3 m wall: the projector f·b to the right cannot reach the wall over
    # f·b·(1/1 − 1/3) pixels left of the box (a pixel centre counts when it is half a pixel inside)
    depth = np.full((3, 200), 3.0)
    depth[:, 100:141] = 1.0
    fb = 525.0 * 0.075
    shadow = projector_shadow(depth, fb)
    band = fb * (1.0 / 1.0 - 1.0 / 3.0)
    expected = [u for u in range(200) if u < 100 and 100 - u < band - 0.5]
    assert np.flatnonzero(shadow[0]).tolist() == expected and len(expected) == 25
    assert (shadow == shadow[0]).all()
    zero = depth.copy()
    zero[:, 150:] = 0.0  # no surface: casts no shadow and has none
    assert np.array_equal(projector_shadow(zero, fb)[:, :150], shadow[:, :150])


def test_single_depth_effects_do_what_they_say(pairs) -> None:
    scene, clean, _ = pairs[0]
    poses = [f.pose for f in clean]

    def render(**strengths: float) -> list:
        renderer = Renderer(scene, W, H, config=RenderConfig(appearance=AppearanceConfig(**strengths)))
        return [renderer.render(p) for p in poses]

    for a, b in zip(clean, render(max_range=2.5)):
        assert np.nanmax(b.depth, initial=0.0) <= 2.5
        assert np.array_equal(b.depth[a.depth < 2.0], a.depth[a.depth < 2.0])
    q = 0.01
    for a, b in zip(clean, render(depth_quantisation=q)):
        kept = valid_depth_mask(b.depth)
        steps = 1.0 / b.depth[kept].astype(np.float64) / q
        assert np.abs(steps - np.round(steps)).max() < 1e-3
        assert np.abs(1.0 / b.depth[kept] - 1.0 / a.depth[kept]).max() <= q / 2 + 1e-5  # the nearest step
    dark = {o.id for o in scene.objects if o.colour == "black"}
    lost = {"dark": [0, 0], "light": [0, 0]}
    for a, b in zip(clean, render(dark_dropout=1.0)):
        for key, ids in (("dark", dark), ("light", {WALL_ID})):  # black objects, light walls
            sel = np.isin(a.instance, list(ids)) & (a.depth > 0)
            lost[key][0] += int((sel & ~valid_depth_mask(b.depth)).sum())
            lost[key][1] += int(sel.sum())
    assert lost["dark"][1] >= 100 and lost["light"][1] >= 100, lost
    assert lost["dark"][0] / lost["dark"][1] >= 0.2 and lost["light"][0] == 0, lost


def test_fusion_works_on_a_randomised_walk() -> None:
    scene = generate_scene(2)
    encoder = PooledColourEncoder(feature_dim=16, stride=8)
    stores = {}
    for name, config in (("clean", None), ("randomised", ON)):
        store = VoxelStore(VoxelStoreConfig(feature_dim=16))
        for frame in render_sequence(scene, 30, seed=2, width=320, height=240, config=config):
            fuse_frame(store, frame, encoder)
        stores[name] = store
    clean, noisy = (set(stores[k].keys().tolist()) for k in ("clean", "randomised"))
    assert torch_finite(stores["randomised"])
    assert len(noisy & clean) >= 0.9 * len(noisy), "randomised depth puts voxels where no surface is"
    assert len(noisy & clean) >= 0.75 * len(clean), "randomised depth loses too much of the room"
    tokens = {k: len(condense(s, CondenseConfig())) for k, s in stores.items()}
    assert abs(tokens["randomised"] - tokens["clean"]) <= 0.15 * tokens["clean"], tokens


def torch_finite(store: VoxelStore) -> bool:
    """Every fused mean feature, height and colour is finite."""
    return all(bool(t.isfinite().all()) for t in (store.mean_features(), store.mean_heights(), store.mean_colours()))


def test_preset_and_stage1_data_use_the_randomisation(tmp_path) -> None:
    from training.config import DataConfig, load_preset
    from training.prepare import prepare_frames, render_config

    randomised, default = load_preset("default_randomised"), load_preset("default")
    assert AppearanceConfig(**randomised.data.appearance) == CAMERA
    a, b = dataclasses.asdict(randomised), dataclasses.asdict(default)
    assert a["data"].pop("appearance") and not b["data"].pop("appearance")
    assert {k: v for k, v in a.items() if k != "name"} == {k: v for k, v in b.items() if k != "name"}
    assert render_config(randomised.data, 0).appearance == CAMERA
    assert not render_config(default.data, 0).appearance.enabled
    data = {}
    for name, appearance in (("flat", {}), ("camera", randomised.data.appearance)):
        cfg = DataConfig(stage1_scenes=1, stage1_frames=2, width=64, height=48, appearance=appearance)
        data[name] = np.load(prepare_frames(cfg, tmp_path / name))
    assert np.array_equal(data["flat"]["cls"], data["camera"]["cls"])
    assert np.array_equal(data["flat"]["colour"], data["camera"]["colour"])
    assert not np.array_equal(data["flat"]["rgb"], data["camera"]["rgb"])


def test_appearance_share_picks_a_fixed_share_of_rooms() -> None:
    """``data.appearance_share`` renders that share of rooms camera-like, the same ones every call, the rest flat."""
    from training.config import DataConfig
    from training.prepare import render_config

    def randomised(share: float) -> list[int]:
        cfg = DataConfig(appearance=dict(dataclasses.asdict(CAMERA)), appearance_share=share)
        return [seed for seed in range(400) if render_config(cfg, seed).appearance.enabled]

    half = randomised(0.5)
    assert 160 <= len(half) <= 240 and half == randomised(0.5)
    assert randomised(0.0) == [] and len(randomised(1.0)) == 400
    assert set(randomised(0.25)) <= set(half)
    with pytest.raises(ValueError, match="appearance_share"):
        render_config(DataConfig(appearance_share=1.5), 0)


def test_bad_strengths_are_refused() -> None:
    for bad in ({"texture": -0.1}, {"lighting": 1.5}, {"nan_share": float("nan")}, {"jpeg_quality": 120}):
        with pytest.raises(ValueError):
            AppearanceConfig(**bad)
