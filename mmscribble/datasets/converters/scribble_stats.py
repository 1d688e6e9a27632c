# Copyright (c) mmscribble contributors. All rights reserved.
"""Statistics of scribbles per class, to compare generated and expert ones.

Per class and slice: scribbled pixels, strokes (8-connected components of
the class's scribble pixels) and skeleton length (pixels of
``skimage.morphology.skeletonize``); with a dense mask, the structure's
area and its regions (8-connected, any size). Over slices:

* ``px/slice``: scribbled pixels per slice that has the class scribbled;
* ``coverage``: scribbled pixels / structure area, summed over slices with
  the structure (needs dense masks);
* ``strokes``: strokes per slice that has the class scribbled;
* ``width``: stroke width, total scribbled pixels / total skeleton length.

:func:`mscmr_comparison` measures MSCMR's expert training scribbles
(value 4 = unlabeled; no dense masks) and the scribbles that
:func:`~mmscribble.datasets.converters.masks_to_scribbles.masks_to_scribbles`
generates from the dense validation masks, both on the native voxel grid,
one slice per index of the third axis.
"""
import glob
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from ..volumes import load_nifti
from .masks_to_scribbles import ScribbleParams, masks_to_scribbles
from .scribble_variants import file_rng

MSCMR_CLASSES = ('background', 'RV', 'Myo', 'LV')
_FIELDS = ('slices', 'pixels', 'strokes', 'skeleton', 'area', 'area_slices',
           'regions')


def slice_stats(scribble: np.ndarray,
                num_classes: int,
                ignore_index: int = 255,
                mask: Optional[np.ndarray] = None) -> np.ndarray:
    """Counts of one slice per class.

    Args:
        scribble (np.ndarray): ``(H, W)`` scribble ids, ``ignore_index``
            unlabeled.
        num_classes (int): Classes ``0..num_classes - 1``.
        ignore_index (int): Unlabeled value. Default: 255.
        mask (np.ndarray, optional): ``(H, W)`` dense mask of the slice.

    Returns:
        np.ndarray: ``(num_classes, 7)`` float64 rows of ``_FIELDS``:
        scribbled (0/1), pixels, strokes, skeleton length, structure area,
        structure present (0/1), structure regions (last three 0 without a
        mask).
    """
    out = np.zeros((num_classes, len(_FIELDS)))
    eight = np.ones((3, 3), bool)
    for c in range(num_classes):
        scrib = scribble == c
        if scrib.any():
            out[c, :4] = (1, scrib.sum(), ndi.label(scrib, eight)[1],
                          skeletonize(scrib).sum())
        if mask is not None and (mask == c).any():
            struct = mask == c
            out[c, 4:] = (struct.sum(), 1, ndi.label(struct, eight)[1])
    del ignore_index  # unlabeled pixels belong to no class above
    return out


def summarize(totals: np.ndarray,
              class_names: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Per-class statistics (module docstring) from summed slice counts.

    Args:
        totals (np.ndarray): ``(C, 7)`` sums of :func:`slice_stats`.
        class_names (Sequence[str]): ``C`` names.

    Returns:
        dict: ``{name: {'px/slice', 'coverage', 'strokes', 'width',
        'regions'}}`` (NaN where undefined).
    """

    def ratio(a, b):
        return float(a / b) if b else float('nan')

    out = {}
    for name, row in zip(class_names, totals):
        t = dict(zip(_FIELDS, row))
        out[name] = {
            'px/slice': ratio(t['pixels'], t['slices']),
            'coverage': ratio(t['pixels'], t['area']),
            'strokes': ratio(t['strokes'], t['slices']),
            'width': ratio(t['pixels'], t['skeleton']),
            'regions': ratio(t['regions'], t['area_slices']),
        }
    return out


def _volumes(root: str, split: str) -> List[str]:
    paths = sorted(glob.glob(osp.join(root, split, 'labels', '*.nii*')))
    if not paths:
        raise FileNotFoundError(
            f'no NIfTI label in {osp.join(root, split, "labels")}')
    return paths


def _slices(paths: Iterable[str]):
    for path in paths:
        vol = np.asarray(load_nifti(path)[0]).astype(np.int64)
        stem = osp.basename(path).split('.')[0]
        for z in range(vol.shape[2]):
            yield f'{stem}_slice{z:02d}', vol[:, :, z]


def mscmr_comparison(root: str,
                     params: ScribbleParams = ScribbleParams(),
                     seed: int = 0) -> Dict[str, Dict]:
    """Expert (train) against generated (val) scribble statistics.

    Args:
        root (str): Raw MSCMR folder (``train/labels``, ``val/labels``).
        params (ScribbleParams): Generator settings.
        seed (int): Generator seed.

    Returns:
        dict: ``{'expert': summary, 'generated': summary}`` as
        :func:`summarize`; the expert coverage is estimated with the
        validation structure areas (the training set has no dense mask):
        expert pixels per slice / validation area per slice.
    """
    k = len(MSCMR_CLASSES)
    expert = np.zeros((k, len(_FIELDS)))
    for _, scrib in _slices(_volumes(root, 'train')):
        scrib = np.where(scrib == 4, 255, scrib)
        if (scrib != 255).any():
            expert += slice_stats(scrib, k)
    generated = np.zeros_like(expert)
    for stem, mask in _slices(_volumes(root, 'val')):
        scrib = masks_to_scribbles(mask, params, file_rng(seed, stem))
        generated += slice_stats(scrib, k, mask=mask)
    gen = summarize(generated, MSCMR_CLASSES)
    exp = summarize(expert, MSCMR_CLASSES)
    for c, name in enumerate(MSCMR_CLASSES):
        area = generated[c, 4] / max(generated[c, 5], 1)
        exp[name]['coverage'] = exp[name]['px/slice'] / area \
            if area else float('nan')
    return dict(expert=exp, generated=gen)


def format_table(result: Dict[str, Dict]) -> str:
    """A markdown table: one row per class, expert / generated per
    statistic."""
    keys = ('px/slice', 'coverage', 'strokes', 'width')
    lines = [
        '| class | ' + ' | '.join(f'{k} expert | {k} generated'
                                  for k in keys) + ' |',
        '| --- ' * (1 + 2 * len(keys)) + '|'
    ]
    for name in result['generated']:
        cells = []
        for key in keys:
            for side in ('expert', 'generated'):
                value = result[side][name][key]
                cells.append(f'{value:.3f}' if key ==
                             'coverage' else f'{value:.1f}')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
