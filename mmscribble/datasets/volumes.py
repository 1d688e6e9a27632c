"""Converted volumes at run time: NIfTI volumes, ``meta.json`` and the
slice geometry that maps slice predictions back to the voxel grid.

A volume converted by ``tools/dataset_converters/mscmr.py``
(:mod:`mmscribble.datasets.converters.mscmr`) becomes one 2-D slice per
index of its third voxel axis. ``meta.json`` keeps, per volume, the
original ``shape``, ``spacing`` and ``affine``, the in-plane
``resampled_shape``, the ``crop_offset``, the ``slice_shape`` and the slice
stems in order; :func:`restore_volume` inverts the geometry, so that a
metric (:class:`mmscribble.evaluation.VolumeDiceMetric`) compares slice
predictions with the original label volume.

Geometry: a slice of ``n`` pixels along an axis with spacing ``s`` is
resampled to ``m = round(n * s / target_spacing)`` pixels, pixel centres
aligned (output pixel ``k`` samples input coordinate
``(k + 0.5) * n / m - 0.5``; nearest takes input pixel
``floor((k + 0.5) * n / m)``). The crop keeps resampled rows
``offset[0] .. offset[0] + crop[0] - 1`` with ``offset = (m - crop) // 2``
(negative: padding).
"""
import json
import os.path as osp
from typing import Sequence, Tuple, Union

import numpy as np


def load_nifti(path: str) -> Tuple[np.ndarray, Tuple[float, ...], np.ndarray]:
    """Read a 3-D NIfTI volume.

    Args:
        path (str): ``.nii`` or ``.nii.gz`` file.

    Returns:
        tuple: The ``(X, Y, Z)`` voxel array (stored dtype, scaling
        applied), the voxel spacing ``(sx, sy, sz)`` in mm and the ``4x4``
        affine.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It cannot be read or is not 3-D.
    """
    import nibabel as nib
    if not osp.isfile(path):
        raise FileNotFoundError(f'NIfTI file not found: {path}')
    try:
        img = nib.load(path)
        data = np.asanyarray(img.dataobj)
    except Exception as e:  # nibabel raises several types for bad files
        raise ValueError(f'cannot read NIfTI file {path}: {e}') from None
    if data.ndim != 3:
        raise ValueError(f'{path}: expected a 3-D volume, got shape '
                         f'{data.shape}')
    spacing = tuple(float(z) for z in img.header.get_zooms()[:3])
    return data, spacing, np.asarray(img.affine, dtype=np.float64)


def load_meta(path: str) -> dict:
    """Read ``meta.json``, as written by the MSCMR converter.

    Returns:
        dict: ``classes``, the conversion settings and ``volumes``, a dict
        from volume stem to its geometry and slice stems.
    """
    with open(path) as f:
        return json.load(f)


def resampled_size(shape: Sequence[int], spacing: Sequence[float],
                   target_spacing: float) -> Tuple[int, int]:
    """In-plane size after resampling: ``round(n * s / target)`` per axis.

    Args:
        shape (Sequence[int]): ``(n0, n1)`` in-plane size.
        spacing (Sequence[float]): ``(s0, s1)`` in-plane spacing, mm.
        target_spacing (float): Output spacing, mm.

    Returns:
        tuple[int, int]: ``(m0, m1)``, each at least 1.
    """
    if target_spacing <= 0:
        raise ValueError(f'target_spacing must be > 0, got {target_spacing}')
    return tuple(
        max(1, int(np.floor(n * s / target_spacing + 0.5)))
        for n, s in zip(shape[:2], spacing[:2]))


def _nearest_index(n_out: int, n_in: int) -> np.ndarray:
    idx = np.floor((np.arange(n_out) + 0.5) * (n_in / n_out))
    return np.minimum(idx.astype(np.int64), n_in - 1)


def resize_nearest(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D array, pixel centres aligned.

    Output pixel ``k`` takes input pixel ``floor((k + 0.5) * n / m)``
    (``n`` input, ``m`` output pixels), the same convention as
    ``cv2.INTER_LINEAR``, so labels and images stay aligned.

    Args:
        arr (np.ndarray): ``(n0, n1)`` array, any dtype.
        size (tuple[int, int]): ``(m0, m1)`` output size.

    Returns:
        np.ndarray: ``(m0, m1)`` array of ``arr``'s dtype.
    """
    iy = _nearest_index(size[0], arr.shape[0])
    ix = _nearest_index(size[1], arr.shape[1])
    return arr[np.ix_(iy, ix)]


def centre_offset(size: Sequence[int],
                  crop_size: Sequence[int]) -> Tuple[int, int]:
    """Top-left corner of a centred crop; negative where it pads.

    Returns:
        tuple[int, int]: ``((m0 - c0) // 2, (m1 - c1) // 2)``.
    """
    return tuple(int((m - c) // 2) for m, c in zip(size[:2], crop_size[:2]))


def shift_window(arr: np.ndarray, out_size: Sequence[int],
                 offset: Sequence[int], fill) -> np.ndarray:
    """Window of ``arr``: ``out[i, j] = arr[i + offset[0], j + offset[1]]``.

    Positions outside ``arr`` take ``fill``. A crop uses the crop offset;
    its inverse (pasting the crop back) uses the negated offset.

    Args:
        arr (np.ndarray): ``(H, W)`` array.
        out_size (Sequence[int]): ``(h, w)`` of the window.
        offset (Sequence[int]): ``(dy, dx)``, may be negative.
        fill: Value of positions outside ``arr``.

    Returns:
        np.ndarray: ``(h, w)`` array of ``arr``'s dtype.
    """
    h, w = int(out_size[0]), int(out_size[1])
    out = np.full((h, w), fill, dtype=arr.dtype)
    dy, dx = int(offset[0]), int(offset[1])
    y0, y1 = max(0, -dy), min(h, arr.shape[0] - dy)
    x0, x1 = max(0, -dx), min(w, arr.shape[1] - dx)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = arr[y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    return out


def restore_slice(pred: np.ndarray,
                  volume_meta: dict,
                  fill: int = 0) -> np.ndarray:
    """Map one slice prediction back to the original in-plane grid.

    Inverts the crop (pixels of the resampled slice outside the crop take
    ``fill``), then resamples to the original size with nearest neighbour.

    Args:
        pred (np.ndarray): ``(h, w)`` prediction on the converted slice
            grid (``volume_meta['slice_shape']``).
        volume_meta (dict): The volume's entry of ``meta.json``.
        fill (int): Value outside the crop. Defaults to 0 (background).

    Returns:
        np.ndarray: ``(X, Y)`` array of ``pred``'s dtype.
    """
    pred = np.asarray(pred)
    if list(pred.shape) != list(volume_meta['slice_shape']):
        raise ValueError(f'prediction has shape {pred.shape}; expected the '
                         f'slice shape {volume_meta["slice_shape"]}')
    dy, dx = volume_meta['crop_offset']
    canvas = shift_window(pred, volume_meta['resampled_shape'], (-dy, -dx),
                          fill)
    return resize_nearest(canvas, volume_meta['shape'][:2])


def restore_volume(pred_slices: Union[np.ndarray, Sequence[np.ndarray]],
                   volume_meta: dict,
                   fill: int = 0) -> np.ndarray:
    """Map the slice predictions of a volume back to its voxel grid.

    Args:
        pred_slices (np.ndarray or Sequence[np.ndarray]): ``(Z, h, w)``
            array or ``Z`` arrays of ``(h, w)``, in slice order (the order
            of ``volume_meta['slices']``).
        volume_meta (dict): The volume's entry of ``meta.json``, e.g.
            ``load_meta(path)['volumes']['subject1_DE']``.
        fill (int): Value outside the crop. Defaults to 0 (background).

    Returns:
        np.ndarray: ``(X, Y, Z)`` array on the original label grid (shape
        ``volume_meta['shape']``), ``pred``'s dtype.
    """
    num = volume_meta['shape'][2]
    if len(pred_slices) != num:
        raise ValueError(f'got {len(pred_slices)} slice predictions; the '
                         f'volume has {num} slices')
    return np.stack([restore_slice(p, volume_meta, fill) for p in pred_slices],
                    axis=2)
