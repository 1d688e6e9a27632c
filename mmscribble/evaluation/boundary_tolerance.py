# Copyright (c) mmscribble contributors. All rights reserved.
"""What a boundary error of a given size costs each structure's Dice.

Dice punishes the same boundary error more on a thin structure than on
a round one: a contour moved outward by ``d`` adds about ``perimeter x
d`` to a mask of area ``A``, so the loss grows with ``perimeter / A``,
which for a ring of wall thickness ``w`` is ``2 / w`` and for a disc of
radius ``r`` is ``2 / r``. To tell how far a method's Dice on one
structure is bound by its boundary precision, this module moves the
reference's own boundary by a fixed distance and scores the result
against the reference:

* **grown by d**: every voxel whose in-plane distance (mm, the slice's
  pixel spacing applied) to the structure is at most ``d``;
* **shrunk by d**: every voxel of the structure whose in-plane distance
  to the nearest voxel outside it is more than ``d``.

Both are per slice (in-plane), because MR volumes are stacks of thick
slices whose boundary errors are in-plane. A prediction whose surface
is off by a mean distance ``d`` everywhere cannot score above the better
of the two on that structure, up to how the error splits between
outward and inward, which is what makes the numbers comparable with a
measured ASD (:mod:`mmscribble.evaluation.surface_distance`).
"""
import json
import os.path as osp
from typing import Dict, Mapping, Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

from ..datasets.volumes import load_meta, load_nifti
from .volume_dice_metric import dice_3d


def shift_boundary(mask: np.ndarray, spacing: Sequence[float],
                   mm: float) -> np.ndarray:
    """Grow (``mm > 0``) or shrink (``mm < 0``) a mask in-plane.

    Args:
        mask (np.ndarray): ``(X, Y, Z)`` bool, slices along the last axis.
        spacing (Sequence[float]): voxel spacing in mm; the first two
            (in-plane) are used.
        mm (float): signed distance in mm; 0 returns a copy.

    Returns:
        np.ndarray: ``(X, Y, Z)`` bool. A slice without the structure
        stays empty (growing adds nothing where there is no contour).

    Raises:
        ValueError: when ``mask`` is not 3-D or ``spacing`` has fewer than
            two positive values.
    """
    if mask.ndim != 3:
        raise ValueError(f'mask must be (X, Y, Z), got shape {mask.shape}')
    if len(spacing) < 2 or min(spacing[:2]) <= 0:
        raise ValueError(f'spacing needs two positive in-plane values, got '
                         f'{tuple(spacing)}')
    mask = mask.astype(bool)
    out = mask.copy()
    if mm == 0:
        return out
    sampling = tuple(float(s) for s in spacing[:2])
    for z in range(mask.shape[2]):
        m = mask[:, :, z]
        if not m.any():
            continue
        if mm > 0:
            out[:, :, z] = ndi.distance_transform_edt(
                ~m, sampling=sampling) <= mm
        elif m.all():
            # no voxel outside within the slice: nothing to shrink from
            continue
        else:
            out[:, :, z] = ndi.distance_transform_edt(
                m, sampling=sampling) > -mm
    return out


def boundary_tolerance(label: np.ndarray, spacing: Sequence[float],
                       classes: Mapping[str, int],
                       distances: Sequence[float]) -> Dict[str, dict]:
    """Dice of each structure against itself grown and shrunk by each
    distance.

    Args:
        label (np.ndarray): ``(X, Y, Z)`` integer label volume.
        spacing (Sequence[float]): voxel spacing in mm.
        classes (Mapping[str, int]): structure name to label value.
        distances (Sequence[float]): positive distances in mm.

    Returns:
        dict: ``{name: {'grow': [dice per distance], 'shrink': [...]}}``,
        NaN for a structure absent from the volume.

    Raises:
        ValueError: when a distance is not positive.
    """
    if any(d <= 0 for d in distances):
        raise ValueError(f'distances must be positive mm, got '
                         f'{list(distances)}')
    out = {}
    for name, value in classes.items():
        ref = label == value
        rows = {'grow': [], 'shrink': []}
        for d in distances:
            for key, sign in (('grow', 1.0), ('shrink', -1.0)):
                if not ref.any():
                    rows[key].append(float('nan'))
                    continue
                moved = shift_boundary(ref, spacing, sign * d)
                rows[key].append(dice_3d(moved.astype(np.uint8),
                                         ref.astype(np.uint8), 1))
        out[name] = rows
    return out


def split_label_volumes(
        meta_path: str, nifti_root: str,
        split: str) -> Dict[str, Tuple[np.ndarray, Tuple[float, ...]]]:
    """The label volumes of one split of a converted MSCMR-style dataset.

    Args:
        meta_path (str): ``meta.json`` written by the MSCMR converter.
        nifti_root (str): folder its ``label`` paths are relative to.
        split (str): e.g. ``'val'``.

    Returns:
        dict: ``{volume: (label array, spacing in mm)}`` in the order of
        ``meta.json``.

    Raises:
        ValueError: when the split has no volume (names the meta file).
        FileNotFoundError: when a label file is missing (names it).
    """
    meta = load_meta(meta_path)
    vols = {
        k: v
        for k, v in meta['volumes'].items() if v.get('split') == split
    }
    if not vols:
        raise ValueError(f'{meta_path}: no volume of split {split!r}')
    out = {}
    for name, v in vols.items():
        label, spacing, _ = load_nifti(osp.join(nifti_root, v['label']))
        out[name] = (label, spacing)
    return out


def moved_by_measured_asd(result_path: str, labels: Mapping[str, tuple],
                          classes: Mapping[str, int]) -> Dict[str, dict]:
    """A scored run beside the reference moved by the run's own error.

    For each structure: the run's mean Dice and ASD over the volumes, and
    the mean Dice of the reference grown and shrunk by the run's ASD of
    the same volume, i.e. what a prediction whose boundary is off by that
    mean distance, and wrong nowhere else, would score.

    Args:
        result_path (str): ``result.json`` of the MSCMR table (its
            ``per_volume`` Dice and ``per_volume_distances``).
        labels (Mapping[str, tuple]): :func:`split_label_volumes`.
        classes (Mapping[str, int]): structure name to label value.

    Returns:
        dict: ``{name: {'dice', 'asd', 'grown', 'shrunk'}}``.

    Raises:
        ValueError: when the run has no surface distances (names the file).
    """
    with open(result_path) as f:
        res = json.load(f)
    dists = res.get('per_volume_distances') or {}
    if not dists:
        raise ValueError(f'{result_path}: no per_volume_distances (a run '
                         'scored before the table had surface distances)')
    out = {}
    for name, value in classes.items():
        dice, asd, grown, shrunk = [], [], [], []
        for vol, (label, spacing) in labels.items():
            d = dists.get(vol, {}).get(f'ASD_{name}', float('nan'))
            if vol not in res.get('per_volume', {}) or not np.isfinite(d):
                continue
            ref = (label == value).astype(np.uint8)
            dice.append(res['per_volume'][vol][name])
            asd.append(d)
            for sign, acc in ((1.0, grown), (-1.0, shrunk)):
                moved = shift_boundary(ref, spacing, sign * d)
                acc.append(dice_3d(moved.astype(np.uint8), ref, 1))
        out[name] = {
            k: float(np.mean(v)) if v else float('nan')
            for k, v in (('dice', dice), ('asd', asd), ('grown', grown),
                         ('shrunk', shrunk))
        }
    return out
