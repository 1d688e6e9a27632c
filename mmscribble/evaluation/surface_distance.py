# Copyright (c) mmscribble contributors. All rights reserved.
"""Surface distances of binary volumes in mm: HD95 and ASD.

The definitions are medpy's (``medpy.metric.binary.hd95`` and ``asd``),
which the cardiac MR papers use (the WSL4MIS toolbox, CycleMix and
ZScribbleSeg evaluate with medpy):

* the **surface** of a mask is ``mask XOR erosion(mask)``, the erosion
  with the 3-D cross (6-connectivity) and voxels outside the volume
  counted as background, so a mask touching the volume border has its
  border voxels on the surface;
* the **directed surface distances** from ``a`` to ``b`` are, for every
  surface voxel of ``a``, the Euclidean distance in mm (voxel spacing
  applied) to the nearest surface voxel of ``b`` (an exact Euclidean
  distance transform, ``scipy.ndimage.distance_transform_edt``);
* **HD95** is the 95th percentile (numpy's linear interpolation) of the
  directed distances both ways, pooled;
* **ASD** is the mean of the directed distances from the prediction to
  the reference (medpy's ``asd(result, reference)``; its symmetric form
  is medpy's ``assd``).

Empty masks: medpy raises when either mask is empty; the papers'
structures are present in every volume. Here a structure absent from the
prediction or from the reference gets NaN (no surface to measure), and
:class:`~mmscribble.evaluation.VolumeDiceMetric` leaves NaN out of the
mean over volumes and logs how many volumes were left out, so that a
missed structure is visible without a made-up distance.
"""
from typing import Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

_CROSS = ndi.generate_binary_structure(3, 1)


def surface(mask: np.ndarray) -> np.ndarray:
    """Surface voxels of a 3-D mask: ``mask XOR erosion(mask)``.

    Args:
        mask (np.ndarray): ``(X, Y, Z)`` bool.

    Returns:
        np.ndarray: ``(X, Y, Z)`` bool.
    """
    return mask & ~ndi.binary_erosion(mask, structure=_CROSS, border_value=0)


def _crop_box(a: np.ndarray, b: np.ndarray) -> Tuple[slice, ...]:
    """The bounding box of ``a | b`` grown by one voxel (within the
    volume): every surface voxel and every nearest surface voxel lies in
    it, and the margin keeps the erosion's border rule of the full volume.
    """
    box = ndi.find_objects((a | b).astype(np.uint8))[0]
    return tuple(
        slice(max(s.start - 1, 0), min(s.stop + 1, n))
        for s, n in zip(box, a.shape))


def directed_surface_distances(
        a: np.ndarray, b: np.ndarray,
        spacing: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Distances in mm from each surface voxel of ``a`` to ``b``'s surface
    and back.

    Args:
        a (np.ndarray): ``(X, Y, Z)`` bool, not empty.
        b (np.ndarray): ``(X, Y, Z)`` bool, not empty.
        spacing (Sequence[float]): Voxel size ``(sx, sy, sz)`` in mm.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(n_a,)`` float64 distances from
        the surface of ``a`` to that of ``b`` and ``(n_b,)`` from ``b`` to
        ``a``, in raster order of the voxels.

    Raises:
        ValueError: The shapes differ, are not 3-D, a mask is empty or the
            spacing is not 3 positive numbers.
    """
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.ndim != 3 or a.shape != b.shape:
        raise ValueError(f'expected two 3-D masks of one shape, got '
                         f'{a.shape} and {b.shape}')
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ValueError(f'spacing must be 3 numbers > 0 (mm), got '
                         f'{spacing}')
    if not a.any() or not b.any():
        raise ValueError('surface distances need two non-empty masks')
    box = _crop_box(a, b)
    sa, sb = surface(a[box]), surface(b[box])
    to_b = ndi.distance_transform_edt(~sb, sampling=spacing)
    to_a = ndi.distance_transform_edt(~sa, sampling=spacing)
    return to_b[sa], to_a[sb]


def hd95_asd(pred: np.ndarray, gt: np.ndarray,
             spacing: Sequence[float]) -> Tuple[float, float]:
    """HD95 and ASD (mm) of a predicted mask against the reference.

    Args:
        pred (np.ndarray): ``(X, Y, Z)`` bool prediction.
        gt (np.ndarray): ``(X, Y, Z)`` bool reference.
        spacing (Sequence[float]): Voxel size ``(sx, sy, sz)`` in mm.

    Returns:
        tuple[float, float]: ``(hd95, asd)``; both NaN when either mask is
        empty (see the module docstring).
    """
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f'prediction of shape {pred.shape} against a '
                         f'reference of shape {gt.shape}')
    if not pred.any() or not gt.any():
        return float('nan'), float('nan')
    p2g, g2p = directed_surface_distances(pred, gt, spacing)
    hd95 = float(np.percentile(np.concatenate([p2g, g2p]), 95))
    return hd95, float(p2g.mean())
