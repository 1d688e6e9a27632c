# Copyright (c) mmscribble contributors. All rights reserved.
"""Scribbles from dense masks: one skeleton stroke per region.

Medical scribble toolboxes (WSL4MIS, Luo et al. 2022) derive training
scribbles from dense masks by skeletonising each structure and cutting the
skeleton's branches. The rule here, per connected region (8-connected) of
each class with at least ``min_area`` pixels:

1. **Skeleton**: ``skimage.morphology.skeletonize`` of the region (a blob
   that thins to nothing gives its pixel nearest the centroid).
2. **Branch cutting**: the skeleton is an 8-connected graph (edge length 1,
   diagonal ``sqrt(2)``); its minimum spanning tree opens every loop at
   one edge (a ring stays a ring less one step, not half of it) and the
   stroke is the tree's longest path (two Dijkstra sweeps, exact on a
   tree); every other branch is cut.
3. **Length**: the path pixels whose arc length lies in a window of
   ``length_fraction`` of the path length are kept; the window is centred
   (``position='centre'``) or placed uniformly at random
   (``position='random'``, drawn from the file's generator).
4. **Width**: the kept path is dilated by the ``width x width`` disk of
   :func:`~mmscribble.datasets.converters.scribblesup.stroke_kernel` and
   clipped to the region, so a stroke never leaves its structure.

**Background strokes**: ``background='band'`` (default) strokes the band
of background pixels at a distance ``d`` from the foreground with
``band[0] < d <= band[1]`` pixels (Euclidean), i.e. a loop around the
structures where experts draw theirs; ``'full'`` strokes every background
region as a foreground one; ``'none'`` draws none. Background strokes have
their own width ``background_width``.

Every other pixel is unlabeled (255). The defaults match the expert
scribbles of MSCMR on its native ~0.75 mm grid (``docs/converters.md``,
table measured by ``tools/analysis_tools/scribble_stats.py``).

Randomness (``position='random'`` only) is per file: the generator of
:func:`~mmscribble.datasets.converters.scribble_variants.file_rng`
``(seed, stem)``, so a file's scribbles depend on the seed, its stem and
its content only; with ``position='centre'`` the output is deterministic.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree
from skimage.morphology import skeletonize

from ..label_io import IGNORE_INDEX, read_label_png
from .folders import Progress, convert_folder
from .scribble_variants import file_rng
from .scribblesup import stroke_kernel

BACKGROUND_MODES = ('band', 'full', 'none')
POSITIONS = ('centre', 'random')
_NEIGHBOURS = ((0, 1, 1.0), (1, 0, 1.0), (1, 1, np.sqrt(2)), (1, -1,
                                                              np.sqrt(2)))


@dataclass(frozen=True)
class ScribbleParams:
    """Settings of :func:`masks_to_scribbles` (checked on creation).

    Attributes:
        width (int): Foreground stroke width in pixels. Default: 4.
        rim (float): When > 0, a foreground region is traced on its rim
            (its pixels at most ``rim`` pixels from its outline), so the
            stroke follows the outline about ``rim / 2`` inside it, as
            experts draw a blood pool, instead of its medial axis; regions
            thinner than ``2 rim`` are unchanged. 0: the medial axis.
            Default: 6.
        length_fraction (float): Fraction of each skeleton path kept, in
            ``(0, 1]``. Default: 1.0.
        min_area (int): Regions of fewer pixels get no stroke. Default: 20.
        background (str): ``'band'``, ``'full'`` or ``'none'``.
            Default: ``'band'``.
        band (tuple[float, float]): Background band ``(inner, outer]``,
            pixels from the foreground. Default: ``(40, 120)``.
        background_width (int): Background stroke width. Default: 7.
        position (str): ``'centre'`` or ``'random'`` placement of the kept
            window along the path. Default: ``'centre'``.
        background_index (int): Class id of the background. Default: 0.
        ignore_index (int): Unlabeled value, in masks (left out) and in
            the output. Default: 255.
    """
    width: int = 4
    rim: float = 6.0
    length_fraction: float = 1.0
    min_area: int = 20
    background: str = 'band'
    band: Tuple[float, float] = (40.0, 120.0)
    background_width: int = 7
    position: str = 'centre'
    background_index: int = 0
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self):
        stroke_kernel(self.width)
        stroke_kernel(self.background_width)
        if not 0.0 < float(self.length_fraction) <= 1.0:
            raise ValueError(f'length_fraction must be in (0, 1], got '
                             f'{self.length_fraction!r}')
        if not isinstance(self.min_area, int) or self.min_area < 1:
            raise ValueError(f'min_area must be an int >= 1, got '
                             f'{self.min_area!r}')
        if not float(self.rim) >= 0:
            raise ValueError(f'rim must be >= 0, got {self.rim!r}')
        inner, outer = self.band
        if not 0 <= inner < outer:
            raise ValueError(f'band must be (inner, outer) with 0 <= inner '
                             f'< outer, got {self.band!r}')
        for name, value, choices in (('background', self.background,
                                      BACKGROUND_MODES),
                                     ('position', self.position, POSITIONS)):
            if value not in choices:
                raise ValueError(f'{name} must be one of {choices}, got '
                                 f'{value!r}')


def skeleton_tree_path(skeleton: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The longest path of the minimum spanning tree of a skeleton.

    Args:
        skeleton (np.ndarray): ``(H, W)`` bool, one 8-connected component.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(L, 2)`` int64 ``(y, x)`` pixels
        from one end to the other and their ``(L,)`` arc lengths (pixel
        steps of 1 or ``sqrt(2)``) from the first.
    """
    pix = np.argwhere(skeleton)
    n = len(pix)
    if n < 2:
        return pix.astype(np.int64), np.zeros(n)
    ids = np.full(np.add(skeleton.shape, 2), -1, dtype=np.int64)
    ids[pix[:, 0] + 1, pix[:, 1] + 1] = np.arange(n)
    src, dst, length = [], [], []
    for dy, dx, step in _NEIGHBOURS:
        other = ids[pix[:, 0] + 1 + dy, pix[:, 1] + 1 + dx]
        linked = other >= 0
        src.append(np.flatnonzero(linked))
        dst.append(other[linked])
        length.append(np.full(linked.sum(), step))
    graph = csr_matrix(
        (np.concatenate(length), (np.concatenate(src), np.concatenate(dst))),
        shape=(n, n))
    tree = minimum_spanning_tree(graph)

    def sweep(origin):
        dist, pred = dijkstra(
            tree, directed=False, indices=origin, return_predecessors=True)
        return int(np.argmax(np.where(np.isinf(dist), -1.0, dist))), dist, \
            pred

    start, _, _ = sweep(0)
    end, dist, pred = sweep(start)
    order = [end]
    while order[-1] != start:
        order.append(int(pred[order[-1]]))
    order = order[::-1]
    return pix[order].astype(np.int64), dist[order]


def region_stroke(region: np.ndarray,
                  width: int,
                  length_fraction: float = 1.0,
                  rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """The stroke of one region (steps 1-4 of the module docstring).

    Args:
        region (np.ndarray): ``(H, W)`` bool, one connected region.
        width (int): Stroke width in pixels.
        length_fraction (float): Fraction of the path kept, in ``(0, 1]``.
        rng (np.random.Generator, optional): Places the kept window at
            random; None centres it.

    Returns:
        np.ndarray: ``(H, W)`` bool stroke, inside ``region``.
    """
    skel = skeletonize(region)
    if not skel.any():
        ys, xs = np.nonzero(region)
        k = np.argmin((ys - ys.mean())**2 + (xs - xs.mean())**2)
        skel[ys[k], xs[k]] = True
    path, arc = skeleton_tree_path(skel)
    # A run of n pixels spans n pixels: half a pixel beyond each end.
    total = arc[-1] + 1.0
    keep_len = length_fraction * total
    slack = total - keep_len
    lo = (rng.uniform(0.0, slack) if rng is not None else slack / 2) - 0.5
    keep = (arc >= lo) & (arc <= lo + keep_len)
    if not keep.any():
        keep[int(np.argmin(np.abs(arc - (lo + keep_len / 2))))] = True
    line = np.zeros(region.shape, np.uint8)
    line[path[keep, 0], path[keep, 1]] = 1
    if width > 1:
        line = ndi.binary_dilation(line, stroke_kernel(width)).astype(bool)
    return line.astype(bool) & region


def _stroke_regions(out: np.ndarray, mask: np.ndarray, class_id: int,
                    width: int, rim: float, params: ScribbleParams,
                    rng: Optional[np.random.Generator]) -> None:
    """Draw a stroke of ``class_id`` into ``out`` per region of ``mask``."""
    regions, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    h, w = mask.shape
    for i, box in enumerate(ndi.find_objects(regions, max_label=n)):
        # One pixel of margin so that skeletonize never sees the border.
        ys = slice(max(box[0].start - 1, 0), min(box[0].stop + 1, h))
        xs = slice(max(box[1].start - 1, 0), min(box[1].stop + 1, w))
        region = regions[ys, xs] == i + 1
        if region.sum() < params.min_area:
            continue
        traced = region
        if rim:
            traced = region & (ndi.distance_transform_edt(region) <= rim)
        stroke = region_stroke(traced, width, params.length_fraction, rng)
        out[ys, xs][stroke] = class_id


def masks_to_scribbles(
        mask: np.ndarray,
        params: ScribbleParams = ScribbleParams(),
        rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Scribbles of a dense mask (rule in the module docstring).

    Args:
        mask (np.ndarray): ``(H, W)`` integer class ids; ``ignore_index``
            pixels get no stroke.
        params (ScribbleParams): Settings.
        rng (np.random.Generator, optional): Needed for
            ``position='random'``.

    Returns:
        np.ndarray: ``(H, W)`` uint8 scribbles, ``ignore_index`` elsewhere.
    """
    if mask.ndim != 2:
        raise ValueError(f'mask must be 2-D (H, W), got shape {mask.shape}')
    if params.position == 'random' and rng is None:
        raise ValueError("position='random' needs a random generator")
    rng = rng if params.position == 'random' else None
    out = np.full(mask.shape, params.ignore_index, dtype=np.uint8)
    bg, ign = params.background_index, params.ignore_index
    for c in np.unique(mask):
        if c not in (bg, ign):
            _stroke_regions(out, mask == c, int(c), params.width, params.rim,
                            params, rng)
    if params.background == 'full':
        region = mask == bg
    elif params.background == 'band':
        fg = (mask != bg) & (mask != ign)
        dist = ndi.distance_transform_edt(~fg) if fg.any() else None
        region = np.zeros(mask.shape, bool) if dist is None else (
            (mask == bg) & (dist > params.band[0]) & (dist <= params.band[1]))
    else:
        return out
    _stroke_regions(out, region, bg, params.background_width, 0, params, rng)
    return out


def masks_to_scribbles_dir(src_dir: str,
                           out_dir: str,
                           params: ScribbleParams = ScribbleParams(),
                           seed: int = 0,
                           progress: Progress = None) -> list:
    """Write ``out_dir/<stem>.png`` scribbles for every mask PNG of a
    folder (8-bit label PNGs, class ids).

    Args:
        src_dir (str): Folder of dense mask PNGs.
        out_dir (str): Output folder (created).
        params (ScribbleParams): Settings.
        seed (int): Seed of the per-file generators (``file_rng``).
        progress (callable, optional): Wraps the file list, e.g. ``tqdm``.

    Returns:
        list[str]: The stems written, sorted.
    """

    def convert(path, stem):
        mask = read_label_png(path, eight_bit=True)
        return masks_to_scribbles(mask, params, file_rng(seed, stem))

    return convert_folder(src_dir, '.png', out_dir, convert, progress)
