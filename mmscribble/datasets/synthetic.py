"""Procedural scribble dataset: textured shapes on textured backgrounds.

The embedded default for the demo and the tests: it needs no download, is
made in seconds, and a small CPU model learns it in minutes, so a drop in
mIoU means a broken data path or loss, not bad luck.

Each image has 1-3 objects. The class of an object fixes both its shape and
its texture family (so a model must use local appearance and context, and
neither alone is perfectly reliable: colours are random and textures are
noisy):

====  ===========  ======================  ==========================
 id   class        shape                   texture
====  ===========  ======================  ==========================
 0    background   -                       smooth colour noise
 1    disc         ellipse                 horizontal stripes
 2    box          rotated rectangle       checkerboard
 3    triangle     triangle                dots
====  ===========  ======================  ==========================

Training labels are scribbles: one polyline stroke (3 px) inside each object
and two in the background, drawn on the eroded masks so that no stroke
touches another region, about 5-8% of the pixels (ScribbleSup: ~3%). Dense
masks are written for validation. Everything is seeded.
"""
import os
import os.path as osp
from typing import Tuple

import cv2
import numpy as np

CLASSES = ('background', 'disc', 'box', 'triangle')
PALETTE = [[0, 0, 0], [220, 20, 60], [0, 128, 255], [255, 200, 0]]


def _smooth_noise(rng, h, w, cells=6):
    small = rng.random((cells, cells, 3)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _texture(rng, cls, h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(0.2, 0.9, 3).astype(np.float32)
    alt = np.clip(base + rng.choice([-1, 1]) * rng.uniform(0.25, 0.45),
                  0, 1).astype(np.float32)
    period = rng.uniform(4, 7)
    phase = rng.uniform(0, period)
    if cls == 1:
        pattern = ((yy + phase) % period) < period / 2
    elif cls == 2:
        pattern = (((yy + phase) // (period / 2)) +
                   ((xx + phase) // (period / 2))) % 2 == 0
    else:
        cy = ((yy + phase) % period) - period / 2
        cx = ((xx + phase) % period) - period / 2
        pattern = cy**2 + cx**2 < (period / 3.2)**2
    tex = np.where(pattern[..., None], base, alt)
    return tex + rng.normal(0, 0.04, (h, w, 3)).astype(np.float32)


def _shape_mask(rng, cls, h, w):
    mask = np.zeros((h, w), np.uint8)
    size = rng.uniform(0.18, 0.32) * min(h, w)
    cx = rng.uniform(size, w - size)
    cy = rng.uniform(size, h - size)
    if cls == 1:
        axes = (int(size), int(size * rng.uniform(0.6, 1.0)))
        cv2.ellipse(mask, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0,
                    360, 1, -1)
    elif cls == 2:
        rect = ((cx, cy), (size * 1.6, size * rng.uniform(1.0, 1.6)),
                rng.uniform(0, 90))
        cv2.fillPoly(mask, [cv2.boxPoints(rect).astype(np.int32)], 1)
    else:
        ang = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4]) * np.pi / 3
        pts = np.stack([cx + 1.3 * size * np.cos(ang),
                        cy + 1.3 * size * np.sin(ang)], 1)
        cv2.fillPoly(mask, [pts.astype(np.int32)], 1)
    return mask


def _stroke(rng, region, width=3, points=3):
    """A polyline through random points of the eroded region, clipped."""
    k = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    inner = cv2.erode(region, k)
    ys, xs = np.nonzero(inner)
    out = np.zeros_like(region)
    if len(ys) == 0:
        return out
    idx = rng.choice(len(ys), size=min(points, len(ys)), replace=False)
    pts = np.stack([xs[idx], ys[idx]], 1).astype(np.int32)
    cv2.polylines(out, [pts], False, 1, thickness=width)
    if len(pts) == 1:
        cv2.circle(out, tuple(int(v) for v in pts[0]), width, 1, -1)
    return out & region


def make_sample(rng: np.random.Generator,
                size: Tuple[int, int] = (96, 96)):
    """Return (image uint8 HxWx3 BGR, dense label, scribble label)."""
    h, w = size
    img = _smooth_noise(rng, h, w)
    label = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 4)):
        cls = int(rng.integers(1, len(CLASSES)))
        mask = _shape_mask(rng, cls, h, w).astype(bool)
        img[mask] = _texture(rng, cls, h, w)[mask]
        label[mask] = cls
    scrib = np.full((h, w), 255, np.uint8)
    for cls in np.unique(label):
        region = (label == cls).astype(np.uint8)
        n, comp = cv2.connectedComponents(region)
        for c in range(1, n):
            part = (comp == c).astype(np.uint8)
            if part.sum() < 30:
                continue
            for _ in range(2 if cls == 0 else 1):
                stroke = _stroke(rng, part, points=2 if cls == 0 else 3)
                scrib[stroke.astype(bool)] = cls
    img = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return img, label, scrib


def generate_synthetic_shapes(out_dir: str,
                              num_train: int = 240,
                              num_val: int = 60,
                              size: Tuple[int, int] = (96, 96),
                              seed: int = 0) -> str:
    """Write the dataset to ``out_dir`` and return it.

    Layout::

        img_dir/{train,val}/NNNN.png     images
        ann_dir/scribble/NNNN.png        scribbles, 255 = unlabeled (train)
        ann_dir/full/NNNN.png            dense masks (train and val)
        splits/{train,val}.txt

    Re-running with the same arguments rewrites identical files.
    """
    rng = np.random.default_rng(seed)
    for sub in ('img_dir/train', 'img_dir/val', 'ann_dir/scribble',
                'ann_dir/full', 'splits'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    for split, n in (('train', num_train), ('val', num_val)):
        stems = []
        for i in range(n):
            stem = f'{split}_{i:04d}'
            img, label, scrib = make_sample(rng, size)
            cv2.imwrite(osp.join(out_dir, 'img_dir', split, stem + '.png'),
                        img)
            cv2.imwrite(osp.join(out_dir, 'ann_dir/full', stem + '.png'),
                        label)
            if split == 'train':
                cv2.imwrite(
                    osp.join(out_dir, 'ann_dir/scribble', stem + '.png'),
                    scrib)
            stems.append(stem)
        with open(osp.join(out_dir, 'splits', split + '.txt'), 'w') as f:
            f.write('\n'.join(stems) + '\n')
    return out_dir
