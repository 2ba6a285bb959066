"""``shapes``: 32×32 colour images of 8 shapes, each filled with a texture (Geirhos et al. 2019,
"ImageNet-trained CNNs are biased towards texture", in miniature).

The label is the shape. In train, val and test, 90% of the images use their class's own texture (class k ↔
texture k) and 10% a random other texture, so texture is a strong but imperfect shortcut. The second test set
is cue-conflict: every shape carries the texture of a different class (``Splits.test2_texture_y`` holds that
class). ``shape_bias`` turns predictions on it into the fraction of shape decisions among shape-or-texture
decisions.

Foreground colours, background colour, position, size and a small rotation are random per image, so neither
colour nor position tells the class. Sizes: train 4,000, val 500, test 1,000, cue-conflict 1,000, each with
classes exactly balanced; every split has its own fixed seed. Since ``shapes-v2`` the 1,000 test images are cut
into a public half (500, ``Splits.test``) and a private half (500, ``Splits.test_private``), stratified by class
with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.benchmarks.splits import Splits, make_splits, public_private

SIZE = 32
SHAPES = ("circle", "square", "triangle", "plus", "diamond", "ring", "star", "half-disc")
TEXTURES = ("h-stripes", "v-stripes", "diagonal", "checker", "dots", "noise", "grid", "zigzag")
NUM_CLASSES = len(SHAPES)
TEXTURE_MATCH = 0.9  # fraction of train/val/test images whose texture is their class's
TRAIN_SIZE, VAL_SIZE, TEST_SIZE, TEST2_SIZE = 4000, 500, 1000, 1000
SEEDS = {"train": 201, "val": 202, "test": 203, "test2": 204}

_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


@dataclass(frozen=True)
class ShapeParams:
    """Everything random about a set of images; sampled before any rendering."""

    shape: np.ndarray  # int64 class = shape
    texture: np.ndarray  # int64 texture index (= the class whose texture it is)
    centre: np.ndarray  # N×2 (y, x)
    radius: np.ndarray
    angle: np.ndarray
    period: np.ndarray
    phase: np.ndarray  # N×2
    fg: np.ndarray  # N×2×3: the two texture colours
    bg: np.ndarray  # N×3


def sample_params(n: int, seed: int, *, conflict: bool) -> tuple[ShapeParams, np.random.Generator]:
    """Draw the parameters of ``n`` images; also returns the generator, positioned for rendering noise."""
    rng = np.random.default_rng(seed)
    shape = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.int64)
    other = (shape + rng.integers(1, NUM_CLASSES, size=n)) % NUM_CLASSES  # always a different class
    texture = other if conflict else np.where(rng.random(n) < TEXTURE_MATCH, shape, other)
    fg1 = rng.random((n, 3))
    fg2 = np.clip(1.0 - fg1 + rng.normal(0.0, 0.1, size=(n, 3)), 0.0, 1.0)  # contrasting second colour
    params = ShapeParams(
        shape=shape,
        texture=texture.astype(np.int64),
        centre=rng.uniform(12.0, 20.0, size=(n, 2)),
        radius=rng.uniform(8.5, 11.5, size=n),
        angle=rng.uniform(-0.3, 0.3, size=n),
        period=rng.uniform(4.0, 6.0, size=n),
        phase=rng.uniform(0.0, 6.0, size=(n, 2)),
        fg=np.stack([fg1, fg2], axis=1),
        bg=rng.random((n, 3)),
    )
    return params, rng


def _shape_mask(k: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mask of shape ``k`` in local coordinates (unit = radius, ``v`` pointing up)."""
    rho = np.hypot(u, v)
    name = SHAPES[k]
    if name == "circle":
        return rho <= 0.9
    if name == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.75
    if name == "triangle":
        return (v >= -0.55) & (v <= 1.0 - np.sqrt(3.0) * np.abs(u))
    if name == "plus":
        return ((np.abs(u) <= 0.3) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.3) & (np.abs(u) <= 1.0))
    if name == "diamond":
        return np.abs(u) + np.abs(v) <= 1.05
    if name == "ring":
        return (rho >= 0.5) & (rho <= 1.0)
    if name == "star":
        return rho <= 0.6 + 0.4 * np.cos(5.0 * np.arctan2(u, v))
    if name == "half-disc":
        return (rho <= 1.0) & (v >= -0.15)
    raise ValueError(k)


def _texture(t: int, y: np.ndarray, x: np.ndarray, period: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Texture ``t`` in [0, 1] at (phase-shifted) image coordinates; ``period`` broadcasts per image."""
    name = TEXTURES[t]
    if name == "h-stripes":
        return (y % period) < period / 2
    if name == "v-stripes":
        return (x % period) < period / 2
    if name == "diagonal":
        return ((x + y) % (1.4 * period)) < 0.7 * period
    if name == "checker":
        return ((np.floor(y / (period / 2)) + np.floor(x / (period / 2))) % 2) == 0
    if name == "dots":
        dy = (y % period) - period / 2
        dx = (x % period) - period / 2
        return np.hypot(dy, dx) <= 1.3
    if name == "noise":
        return noise
    if name == "grid":
        return ((y % period) < 1.3) | ((x % period) < 1.3)
    if name == "zigzag":
        return ((y + 1.5 * np.abs(((x / 3.0) % 2.0) - 1.0) * 2.0) % period) < period / 2
    raise ValueError(t)


def render(params: ShapeParams, rng: np.random.Generator) -> np.ndarray:
    """N×3×32×32 float32 images in [0, 1], computed in float32 throughout (thousands of images a second)."""
    n = len(params.shape)
    f32 = np.float32
    noise_tex = rng.random((n, SIZE, SIZE), dtype=f32) < 0.5
    dy = _YY[None] - params.centre[:, 0, None, None].astype(f32)
    dx = _XX[None] - params.centre[:, 1, None, None].astype(f32)
    cos = np.cos(params.angle).astype(f32)[:, None, None]
    sin = np.sin(params.angle).astype(f32)[:, None, None]
    inv_r = (1.0 / params.radius).astype(f32)[:, None, None]
    u = (cos * dx - sin * dy) * inv_r
    v = (-sin * dx - cos * dy) * inv_r  # image y points down; v points up
    mask = np.zeros((n, SIZE, SIZE), dtype=bool)
    for k in range(NUM_CLASSES):
        sel = params.shape == k
        mask[sel] = _shape_mask(k, u[sel], v[sel])
    pattern = np.zeros((n, SIZE, SIZE), dtype=bool)
    ty = _YY[None] + params.phase[:, 0, None, None].astype(f32)
    tx = _XX[None] + params.phase[:, 1, None, None].astype(f32)
    period = params.period.astype(f32)[:, None, None]
    for t in range(NUM_CLASSES):
        sel = params.texture == t
        pattern[sel] = _texture(t, ty[sel], tx[sel], period[sel], noise_tex[sel])
    fg0 = params.fg[:, 0, :, None, None].astype(f32)
    fg1 = params.fg[:, 1, :, None, None].astype(f32)
    bg = params.bg[:, :, None, None].astype(f32)
    m = mask[:, None].astype(f32)
    colour = fg0 + pattern[:, None].astype(f32) * (fg1 - fg0)
    images = bg + m * (colour - bg)
    noise = rng.random(images.shape, dtype=f32)  # uniform pixel noise, std 0.1/sqrt(12) ≈ 0.03
    noise -= f32(0.5)
    noise *= f32(0.1)
    images += noise
    np.clip(images, 0.0, 1.0, out=images)
    return images


def generate(n: int, seed: int, *, conflict: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, shape labels, texture labels), deterministic for ``(n, seed, conflict)``."""
    params, rng = sample_params(n, seed, conflict=conflict)
    return render(params, rng), params.shape, params.texture


def texture_labels_test2() -> np.ndarray:
    """The class whose texture each cue-conflict (test2) image carries; no rendering needed."""
    params, _ = sample_params(TEST2_SIZE, SEEDS["test2"], conflict=True)
    return params.texture


def shape_bias(pred: np.ndarray, shape_y: np.ndarray, texture_y: np.ndarray) -> float:
    """Fraction of shape decisions among the (shape or texture) decisions on cue-conflict images.

    1.0 = decides purely by shape, 0.0 = purely by texture (Geirhos et al. 2019). NaN if the model never picks
    either cue (e.g. always predicts a third class).
    """
    pred, shape_y, texture_y = (np.asarray(a) for a in (pred, shape_y, texture_y))
    if not (pred.shape == shape_y.shape == texture_y.shape):
        raise ValueError("pred, shape_y and texture_y must have the same shape")
    if np.any(shape_y == texture_y):
        raise ValueError("cue-conflict images need shape_y != texture_y")
    by_shape = int(np.sum(pred == shape_y))
    by_texture = int(np.sum(pred == texture_y))
    total = by_shape + by_texture
    return by_shape / total if total else float("nan")


def load() -> Splits:
    train = generate(TRAIN_SIZE, SEEDS["train"], conflict=False)
    val = generate(VAL_SIZE, SEEDS["val"], conflict=False)
    x, y, _ = generate(TEST_SIZE, SEEDS["test"], conflict=False)
    test2 = generate(TEST2_SIZE, SEEDS["test2"], conflict=True)
    public, private = public_private(y)
    return make_splits(
        train[:2],
        val[:2],
        (x[public], y[public]),
        test2[:2],
        test_private=(x[private], y[private]),
        test2_texture_y=test2[2],
    )
