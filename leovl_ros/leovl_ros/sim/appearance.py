"""What a real RGB-D camera shows that the flat-shaded renderer does not: lighting, materials and sensor artefacts.

``AppearanceConfig`` switches each effect on with its strength (0 = off); with every field at 0 the renderer takes
its flat-shaded path and its output is byte-identical to a renderer without this module. ``SceneAppearance`` holds
one scene's draws (light, per-object materials and offsets into a shared texture bank; seeded by the scene) and
turns one ray cast into a camera-like colour image and a sensor-like depth image (per-frame draws from the
``rng`` it is handed). Labels never change: instance ids are the ray cast's; depth is only perturbed within the
sensor's noise model or removed (0 or NaN, the ``valid_depth_mask`` rule), never moved to another surface.

Colour: Lambertian shading from the triangle normals under a directional light plus ambient, with the light's colour;
multiplicative albedo patterns by material (wood grain and planks, fabric weave, paint and plaster mottle, plastic,
foliage) at low contrast so an object keeps the colour a person would name; Blinn-Phong highlights on glossy
materials; then the camera: exposure, white-balance error, vignetting, optical blur, signal-dependent sensor noise
and JPEG compression. Depth (a structured-light sensor such as the Kinect v1 / PrimeSense of the real sequences):
noise and quantisation in inverse depth (disparity), projector shadows beside near edges, mixed-pixel dropouts at
depth edges, missing returns on dark, glossy and grazing surfaces and beyond the range.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, fields

import numpy as np

from leovl_ros.sim.scene import FLOOR_ID, Scene

__all__ = ["CAMERA", "MATERIALS", "AppearanceConfig", "Material", "SceneAppearance", "depth_edges", "periodic_noise",
           "projector_shadow", "texture_bank"]


@dataclass(frozen=True)
class AppearanceConfig:
    """Per-effect strengths of the camera-like randomisation (0 = effect off; all 0 = the flat-shaded renderer)."""

    lighting: float = 0.0
    """Random directional light per scene (elevation 20-80 deg, any azimuth) with one-sided Lambert shading from the
    surface normals; the directional share of the light is drawn in [lighting / 2, lighting], the rest is ambient
    (0 = RenderConfig's fixed light, both faces lit)."""
    light_colour: float = 0.0
    """Colour temperature of the light per scene: red and blue gains 1 ± t against green, t drawn in ±light_colour
    (warm to cool), plus a green–magenta tint of a third of that."""
    texture: float = 0.0
    """Contrast of the multiplicative albedo patterns (wood grain, fabric weave, paint mottle … by material): each
    object's amplitude is drawn in [texture / 2, texture], the pattern spans about ±amplitude around 1."""
    specular: float = 0.0
    """Strength of Blinn-Phong highlights of the light (times the material's gloss: 1 for screens and ceramic, 0 for
    fabric), drawn per object in [specular / 2, specular]."""
    exposure: float = 0.0
    """Auto-exposure error per frame: the image is scaled by 2^u, u drawn in ±exposure stops (bright values clip)."""
    white_balance: float = 0.0
    """White-balance error per frame: red and blue gains 1 + u against green, u drawn in ±white_balance."""
    vignetting: float = 0.0
    """Corner darkening per frame: brightness falls by up to this share (drawn in [v / 2, v]) at the image corners,
    quadratically with the distance from the principal point."""
    blur: float = 0.0
    """Optical blur per frame: Gaussian sigma drawn in [0, blur] pixels at 640 px width (scaled to the image)."""
    noise: float = 0.0
    """Sensor noise per frame: standard deviation (on 0–1 intensities) drawn in [noise / 4, noise] and scaled by
    √(intensity + 0.02) (shot noise), independent per pixel and channel."""
    jpeg_quality: int = 0
    """JPEG re-compression per frame at a quality drawn in [jpeg_quality, 95] (0 = no compression)."""
    depth_noise: float = 0.0
    """Standard deviation of the noise on inverse depth (1/m) per pixel: depth noise grows with z² as a disparity
    sensor's does (0.0015 ≈ 1.5 mm at 1 m, 1.4 cm at 3 m)."""
    depth_quantisation: float = 0.0
    """Inverse-depth step (1/m): depth comes in steps of about value·z², as a structured-light sensor's disparity
    quantisation gives (0.0032 ≈ 1/8 px at f = 525 px and a 7.5 cm baseline: 3 mm at 1 m, 2.9 cm at 3 m)."""
    projector_baseline: float = 0.0
    """Distance (m) of the structured-light projector to the right of the camera (0.075 for a Kinect v1): surfaces
    the projector cannot see behind a nearer edge get no depth (the shadow bands left of objects)."""
    edge_dropout: float = 0.0
    """Probability that a pixel within one pixel of a depth discontinuity (a jump > max(5 cm, 5 %)) has no depth
    (mixed pixels that the sensor rejects), independent per pixel."""
    dark_dropout: float = 0.0
    """Missing-return probability on dark surfaces, in blobs: this value on black albedo, falling linearly to 0 at
    albedo luminance 0.25."""
    specular_dropout: float = 0.0
    """Missing-return probability on glossy surfaces, in blobs: this value on screens and glazed ceramic (gloss 1),
    falling linearly to 0 at gloss 0.4 (wood, paint and fabric keep their returns): they reflect the projected
    pattern away."""
    grazing_dropout: float = 0.0
    """Missing-return probability on surfaces seen at grazing angles: this value where the view ray is parallel to
    the surface, falling linearly to 0 at 78 deg from it (cos 0.2)."""
    max_range: float = 0.0
    """Range (m) of the depth sensor: returns fade out between 0.8·max_range and max_range (0 = unlimited)."""
    nan_share: float = 0.0
    """Share of frames that mark missing depth as NaN (float drivers) instead of 0 (16-bit drivers)."""

    def __post_init__(self) -> None:
        bad = [f.name for f in fields(self) if not np.isfinite(getattr(self, f.name)) or getattr(self, f.name) < 0]
        if bad:
            raise ValueError(f"appearance strengths must be finite and >= 0: {', '.join(bad)}")
        limits = {"lighting": 1.0, "edge_dropout": 1.0, "dark_dropout": 1.0, "specular_dropout": 1.0,
                  "grazing_dropout": 1.0, "nan_share": 1.0, "vignetting": 0.9, "light_colour": 0.5,
                  "white_balance": 0.5, "texture": 0.5}
        over = [k for k, hi in limits.items() if getattr(self, k) > hi]
        if over:
            raise ValueError(f"appearance strengths out of range: {', '.join(f'{k} > {limits[k]}' for k in over)}")
        if self.jpeg_quality and not 1 <= self.jpeg_quality <= 95:
            raise ValueError(f"jpeg_quality must be 0 (off) or in [1, 95], got {self.jpeg_quality}")

    @property
    def enabled(self) -> bool:
        """Whether any effect is on (otherwise the renderer keeps its flat-shaded path)."""
        return any(getattr(self, f.name) for f in fields(self))


CAMERA = AppearanceConfig(
    lighting=0.6, light_colour=0.08, texture=0.12, specular=0.25, exposure=0.4, white_balance=0.05, vignetting=0.25,
    blur=1.2, noise=0.02, jpeg_quality=70, depth_noise=0.0015, depth_quantisation=0.0032, projector_baseline=0.075,
    edge_dropout=0.5, dark_dropout=0.6, specular_dropout=0.5, grazing_dropout=0.7, max_range=6.0, nan_share=0.3)
"""The recommended camera-like randomisation: a PrimeSense / Kinect v1-like RGB-D camera in indoor light (the
``appearance`` of ``training/presets/default_randomised.yaml``)."""


@dataclass(frozen=True)
class Material:
    """How a surface kind looks: its albedo pattern and how glossy it is."""

    pattern: str
    """Albedo pattern: a layer of the texture bank (PATTERNS)."""
    gloss: float
    """Highlight and IR-mirror weight, 0 (matte) to 1 (screens, glazed ceramic)."""
    shininess: float
    """Blinn-Phong exponent: how tight the highlight is."""


MATERIALS: dict[str, Material] = {
    "paint": Material("paint", 0.15, 8.0),
    "wood": Material("wood", 0.35, 24.0),
    "fabric": Material("fabric", 0.0, 1.0),
    "plastic": Material("smooth", 0.5, 32.0),
    "glossy": Material("smooth", 1.0, 64.0),
    "foliage": Material("foliage", 0.2, 12.0),
}
"""Surface kinds and their look."""

CLASS_MATERIALS: dict[str, tuple[str, ...]] = {
    "chair": ("wood", "fabric", "plastic"), "table": ("wood", "plastic"), "sofa": ("fabric",), "bed": ("fabric",),
    "cabinet": ("wood", "paint"), "shelf": ("wood", "paint"), "desk": ("wood",), "lamp": ("plastic", "paint"),
    "tv": ("glossy",), "plant": ("foliage",), "box": ("paint",), "trash can": ("plastic",), "monitor": ("glossy",),
    "pillow": ("fabric",), "toilet": ("glossy",), "stool": ("wood", "plastic"), "nightstand": ("wood",),
}
"""Materials an object class may have (one drawn per object); unknown classes are paint."""

FLOOR_MATERIALS = ("wood", "paint", "fabric")
"""Floor kinds drawn per scene: wooden planks, stone or vinyl tiles, carpet."""

_KINDS = tuple(MATERIALS)

PATTERNS = ("paint", "wood", "fabric", "smooth", "foliage")
"""Albedo patterns of the texture bank (``texture_bank``), in its layer order."""

TEXEL = 0.004
"""Edge of one texel of the texture bank, metres (512 texels: the patterns repeat every 2.048 m)."""

_BANK = 512
_BLOB_TEXELS = 12.0
"""Feature size (texels) of the screen-space blob field the dropouts threshold."""


def periodic_noise(rng: np.random.Generator, size: int, scale: tuple[float, float]) -> np.ndarray:
    """A size×size field of smooth noise that tiles seamlessly (white noise low-passed in Fourier space with a
    Gaussian of ``scale`` = (rows, cols) texels), zero mean and unit standard deviation."""
    k = np.fft.fftfreq(size)
    gain = np.exp(-2.0 * np.pi ** 2 * ((k[:, None] * scale[0]) ** 2 + (k[None, :] * scale[1]) ** 2))
    field = np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) * gain).real
    return (field - field.mean()) / field.std()


@functools.lru_cache(maxsize=1)
def texture_bank() -> tuple[np.ndarray, np.ndarray]:
    """The albedo patterns (len(PATTERNS)×512×512 float32, zero mean, about ±1; rows along a surface's v axis,
    columns along u) and a 512×512 blob field with uniform values in [0, 1]; drawn once per process from a fixed
    seed (scenes differ by per-object offsets into them)."""
    rng = np.random.default_rng(0x7E47)
    n = lambda rows, cols=None: periodic_noise(rng, _BANK, (rows, cols or rows))  # noqa: E731
    x = np.arange(_BANK)[None, :] / _BANK
    y = np.arange(_BANK)[:, None] / _BANK
    planks = rng.uniform(-1.0, 1.0, 14)[(np.arange(_BANK) * 14 // _BANK)][:, None]  # 14.6 cm planks
    layers = {
        "paint": 0.6 * n(120.0) + 0.4 * n(1.5),
        "wood": 0.5 * np.sin(2 * np.pi * (82 * y + 0.25 * n(10.0, 60.0))) + 0.5 * planks + 0.2 * n(3.0),
        "fabric": 0.5 * np.sin(2 * np.pi * 128 * x) * np.sin(2 * np.pi * 128 * y) + 0.5 * n(35.0),
        "smooth": 0.5 * n(75.0),
        "foliage": n(3.0),
    }
    bank = np.stack([layers[p] - layers[p].mean() for p in PATTERNS])
    bank /= np.percentile(np.abs(bank), 99, axis=(1, 2), keepdims=True)
    blobs = n(_BLOB_TEXELS)
    ranks = np.empty(blobs.size)
    ranks[np.argsort(blobs, axis=None)] = (np.arange(blobs.size) + 0.5) / blobs.size
    return np.clip(bank, -1.5, 1.5).astype(np.float32), ranks.reshape(blobs.shape).astype(np.float32)


class SceneAppearance:
    """One scene's lighting and materials, applied to ray casts of that scene (colour and depth of a frame)."""

    def __init__(self, scene: Scene, vertices: np.ndarray, triangles: np.ndarray, instance: np.ndarray,
                 albedo: np.ndarray, config: AppearanceConfig, light_dir: tuple[float, float, float],
                 ambient: float, background_rgb: tuple[int, int, int]) -> None:
        """Per-triangle normals, texture axes, materials and offsets, and the scene's light (from its seed).
        ``light_dir`` and ``ambient`` are the fixed light used while ``config.lighting`` is 0."""
        self.config = config
        bank, self.blob_field = texture_bank()
        self.bank = bank.ravel()
        rng = np.random.default_rng([int(scene.seed), 0xA77E])
        a, b, c = (vertices[triangles[:, k]] for k in range(3))
        normals = np.cross(b - a, c - a)
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        self.n_triangles = len(triangles)
        self.background = np.asarray(background_rgb, dtype=np.float32) / 255.0
        # per instance: material, texture amplitude and offset, highlight strength, grain axis
        objects = {o.id: o for o in scene.objects}
        floor_kind = str(rng.choice(FLOOR_MATERIALS))
        per_instance = {}
        for i in np.unique(instance).tolist():
            obj = objects.get(i)
            if obj is not None:
                kind = str(rng.choice(CLASS_MATERIALS.get(obj.cls, ("paint",))))
                axis = [np.cos(obj.yaw), np.sin(obj.yaw), 0.0]
            else:
                kind = floor_kind if i == FLOOR_ID else "paint"
                axis = [1.0, 0.0, 0.0] if rng.random() < 0.5 else [0.0, 1.0, 0.0]
            m = MATERIALS[kind]
            per_instance[i] = [*axis, *rng.uniform(0.0, _BANK * TEXEL, 2), config.texture * rng.uniform(0.5, 1.0),
                               config.specular * rng.uniform(0.5, 1.0) * m.gloss, m.shininess, m.gloss,
                               PATTERNS.index(m.pattern)]
        table = np.array([per_instance[i] for i in instance.tolist()], dtype=np.float64).reshape(-1, 10)
        t1, t2 = _tangents(normals, table[:, :3])
        no_hit = np.zeros((1, 19))
        no_hit[0, 2] = 1.0
        self._tri = np.vstack([np.hstack([normals, t1, t2, table[:, 3:], albedo]), no_hit]).T.astype(np.float32)
        """Attribute rows × triangles (+ a last column for "no hit": black, matte): normal 0:3, u axis 3:6, v axis
        6:9, texture offset 9:11, texture amplitude 11, highlight strength 12, shininess 13, gloss 14, pattern 15,
        albedo 16:19; one gather per frame."""
        # the scene's light
        if config.lighting > 0:
            elevation, azimuth = np.radians(rng.uniform(20.0, 80.0)), rng.uniform(0.0, 2 * np.pi)
            self.light = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                                   np.sin(elevation)])
            self.ambient = 1.0 - rng.uniform(config.lighting / 2, config.lighting)
            self.two_sided = False
        else:
            self.light = np.asarray(light_dir, dtype=np.float64) / np.linalg.norm(light_dir)
            self.ambient, self.two_sided = float(ambient), True
        self.light = self.light.astype(np.float32)
        t = rng.uniform(-1.0, 1.0) * config.light_colour
        tint = rng.uniform(-1.0, 1.0) * config.light_colour / 3
        gains = np.array([1.0 + t, 1.0 + tint, 1.0 - t])
        self.light_rgb = (gains / gains.mean()).astype(np.float32)
        self._vignette: dict[tuple[int, int], np.ndarray] = {}

    def surfaces(self, data: np.ndarray, points: np.ndarray, view: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per pixel, attribute-major float32 (rows × pixels): the hit triangle's attributes (``_tri``'s rows),
        world points and unit directions towards the camera → lit colour (3 rows, 0–1, before the camera), textured
        albedo (3 rows), cosine between normal and view, and gloss."""
        c = self.config
        normal, albedo = data[0:3], data[16:19]
        cos_view = (normal * view).sum(axis=0)
        normal = normal * np.where(cos_view < 0, np.float32(-1), np.float32(1))  # the face the camera sees
        cos_view = np.abs(cos_view)
        if c.texture > 0:
            u = (points * data[3:6]).sum(axis=0) + data[9]
            v = (points * data[6:9]).sum(axis=0) + data[10]
            texel = ((data[15].astype(np.int64) * _BANK + (v * (1.0 / TEXEL)).astype(np.int64) % _BANK) * _BANK
                     + (u * (1.0 / TEXEL)).astype(np.int64) % _BANK)
            albedo = albedo * np.maximum(1.0 + data[11] * np.take(self.bank, texel), 0.0)
        cos_light = self.light @ normal
        diffuse = np.abs(cos_light) if self.two_sided else np.maximum(cos_light, 0.0)
        colour = albedo * (self.ambient + (1.0 - self.ambient) * diffuse)
        if c.specular > 0:
            half = self.light[:, None] + view
            half /= np.sqrt((half * half).sum(axis=0)) + np.float32(1e-12)
            highlight = np.maximum((normal * half).sum(axis=0), 0.0) ** data[13]
            if not self.two_sided:
                highlight *= cos_light > 0
            colour = colour + data[12] * highlight
        return colour * self.light_rgb[:, None], albedo, cos_view, data[14]

    def colour(self, index: np.ndarray, rays: np.ndarray, depth: np.ndarray, K: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Camera-like uint8 image of a ray cast (``index``: triangle per pixel, n_triangles where nothing was hit;
        ``rays``: H×W×6 origins and directions with unit optical z; ``depth``: optical-axis depth, 0 without a hit)
        and the per-pixel surface facts the depth artefacts need (hit mask, albedo luminance, view cosine, gloss)."""
        H, W = index.shape
        hit = index < self.n_triangles
        data = np.take(self._tri, index.ravel(), axis=1)
        r = np.ascontiguousarray(rays.reshape(-1, 6).T, dtype=np.float32)
        direction = r[3:6]
        points = r[0:3] + direction * depth.reshape(1, -1)
        view = -direction / np.sqrt((direction * direction).sum(axis=0))
        lit, albedo, cos_view, gloss = self.surfaces(data, points, view)
        lit = np.where(hit.reshape(1, -1), lit, self.background[:, None])
        facts = {"hit": hit, "luminance": (np.array([0.299, 0.587, 0.114], np.float32) @ albedo).reshape(H, W),
                 "cos_view": cos_view.reshape(H, W), "gloss": gloss.reshape(H, W)}
        return self._camera(np.ascontiguousarray(lit.T).reshape(H, W, 3), K, rng), facts

    def _camera(self, image: np.ndarray, K: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Exposure, white balance, vignetting, 8-bit quantisation, optical blur, sensor noise and JPEG of a frame."""
        from PIL import Image, ImageFilter

        c = self.config
        H, W = image.shape[:2]
        gains = np.full(3, 2.0 ** rng.uniform(-c.exposure, c.exposure))
        gains[[0, 2]] *= 1.0 + rng.uniform(-c.white_balance, c.white_balance, 2)
        image = image * gains.astype(np.float32)
        if c.vignetting > 0:
            image *= (1.0 - rng.uniform(c.vignetting / 2, c.vignetting) * self._radius2(H, W, K))[..., None]
        sigma = rng.uniform(0.0, c.blur) * W / 640.0
        out = np.clip(image * 255.0 + 0.5, 0.0, 255.0).astype(np.uint8)
        if sigma > 0.3:
            out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(float(sigma))))
        if c.noise > 0:
            std = rng.uniform(c.noise / 4, c.noise) * 255.0
            level = out.astype(np.float32)
            noisy = level + rng.standard_normal(out.shape, dtype=np.float32) * std * np.sqrt(level / 255.0 + 0.02)
            out = np.clip(noisy + 0.5, 0.0, 255.0).astype(np.uint8)
        if c.jpeg_quality:
            buffer = io.BytesIO()
            Image.fromarray(out).save(buffer, format="JPEG", quality=int(rng.integers(c.jpeg_quality, 96)))
            out = np.asarray(Image.open(buffer).convert("RGB"))
        return np.ascontiguousarray(out)

    def _radius2(self, H: int, W: int, K: np.ndarray) -> np.ndarray:
        """Squared distance from the principal point over that of a corner, capped at 1 (cached per image size)."""
        key = (H, W)
        if key not in self._vignette:
            yy, xx = np.mgrid[0:H, 0:W]
            r2 = ((xx - K[0, 2]) ** 2 + (yy - K[1, 2]) ** 2) / ((W / 2) ** 2 + (H / 2) ** 2)
            self._vignette[key] = np.minimum(r2, 1.0).astype(np.float32)
        return self._vignette[key]

    def depth(self, depth: np.ndarray, facts: dict[str, np.ndarray], K: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
        """Sensor-like float32 depth: noise and quantisation in inverse depth on kept pixels; shadows, edge, dark,
        glossy, grazing and out-of-range pixels removed (0, or NaN in a ``nan_share`` of frames)."""
        c = self.config
        hit = facts["hit"]
        true = np.where(hit, depth, 0.0).astype(np.float32)
        shape = true.shape
        drop = ~hit
        if c.projector_baseline > 0:
            drop |= projector_shadow(true, K[0, 0] * c.projector_baseline)
        if c.edge_dropout > 0:
            drop |= depth_edges(true) & (rng.random(shape, dtype=np.float32) < c.edge_dropout)
        if c.dark_dropout > 0:
            dark = c.dark_dropout * np.clip(1.0 - facts["luminance"] / 0.25, 0.0, 1.0)
            drop |= self._blobs(shape, rng) < dark
        if c.specular_dropout > 0:
            drop |= self._blobs(shape, rng) < c.specular_dropout * np.clip((facts["gloss"] - 0.4) / 0.6, 0.0, 1.0)
        if c.grazing_dropout > 0:
            grazing = c.grazing_dropout * np.clip((0.2 - facts["cos_view"]) / 0.2, 0.0, 1.0)
            drop |= rng.random(shape, dtype=np.float32) < grazing
        if c.max_range > 0:
            fade = np.clip((true - 0.8 * c.max_range) / (0.2 * c.max_range), 0.0, 1.0)
            drop |= rng.random(shape, dtype=np.float32) < fade
        out = true
        if c.depth_noise > 0 or c.depth_quantisation > 0:
            inverse = 1.0 / np.where(hit, true, np.float32(1))
            if c.depth_noise > 0:
                inverse += rng.standard_normal(shape, dtype=np.float32) * np.float32(c.depth_noise)
            if c.depth_quantisation > 0:
                inverse = np.round(inverse / c.depth_quantisation) * np.float32(c.depth_quantisation)
            drop |= inverse <= 0
            out = 1.0 / np.where(inverse > 0, inverse, np.float32(1))
        out[drop] = np.nan if rng.random() < c.nan_share else 0.0
        return out.astype(np.float32, copy=False)

    def _blobs(self, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        """A random window of the bank's blob field (uniform values in [0, 1], blobs about a tenth of the image
        height across), one per call."""
        H, W = shape
        step = _BLOB_TEXELS / max(H / 10.0, 1.0)
        oy, ox = rng.integers(0, _BANK, 2)
        rows = (oy + (np.arange(H) * step).astype(np.int64)) % _BANK
        cols = (ox + (np.arange(W) * step).astype(np.int64)) % _BANK
        return self.blob_field[np.ix_(rows, cols)]


def _tangents(normals: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texture axes per triangle: on horizontal faces the object's grain axis and its in-plane normal, on other faces
    the horizontal tangent and the in-plane vertical."""
    up = np.array([0.0, 0.0, 1.0])
    side = np.cross(up, normals)
    side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    t1 = np.where((np.abs(normals[:, 2]) > 0.7)[:, None], axis, side)
    t2 = np.cross(normals, t1)
    t2 /= np.maximum(np.linalg.norm(t2, axis=1, keepdims=True), 1e-12)
    return t1, t2


def projector_shadow(depth: np.ndarray, focal_baseline: float) -> np.ndarray:
    """Pixels a projector ``focal_baseline`` = f·b pixel-metres right of the camera cannot light: a pixel's projector
    column u − f·b/z must lie left of the projector columns of every pixel right of it (depth 0 = no surface)."""
    W = depth.shape[1]
    disparity = np.where(depth > 0, focal_baseline / np.where(depth > 0, depth, 1.0), 0.0)
    projector = np.arange(W)[None, :] - disparity
    right_min = np.minimum.accumulate(projector[:, ::-1], axis=1)[:, ::-1]
    blocked = np.full(depth.shape, np.inf)
    blocked[:, :-1] = right_min[:, 1:]
    return (depth > 0) & (blocked < projector - 0.5)


def depth_edges(depth: np.ndarray) -> np.ndarray:
    """Surface pixels within one pixel of a depth jump larger than max(5 cm, 5 %) or of a pixel without a surface
    (depth 0)."""
    jump = np.zeros(depth.shape, dtype=bool)
    for axis in (0, 1):
        n = depth.shape[axis]
        a, b = np.take(depth, np.arange(n - 1), axis=axis), np.take(depth, np.arange(1, n), axis=axis)
        edge = (np.abs(a - b) > np.maximum(0.05, 0.05 * np.minimum(a, b))) | ((a > 0) != (b > 0))
        lo, hi = [slice(None)] * 2, [slice(None)] * 2
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        jump[tuple(lo)] |= edge
        jump[tuple(hi)] |= edge
    return jump & (depth > 0)
