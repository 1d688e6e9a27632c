"""Convert MSCMRseg LGE cardiac MR volumes (NIfTI) to 2-D PNG slices.

MSCMRseg (Zhuang, "Multivariate Mixture Model for Myocardial Segmentation
Combining Multi-Source Images", TPAMI 2019) with the scribbles of CycleMix
(Zhang & Zhuang, CVPR 2022). Input layout::

    SRC/train/images/subjectX_DE.nii.gz
    SRC/train/labels/subjectX_DE_scribble.nii.gz   0 bg, 1 RV, 2 Myo, 3 LV,
                                                   4 unlabeled
    SRC/val/images/subjectX_DE.nii.gz
    SRC/val/labels/subjectX_DE_manual.nii.gz       dense 0..3

Every slice along the third voxel axis becomes one sample. In-plane, the
slice is resampled to ``target_spacing`` mm (image bilinear, label
nearest), centre-cropped to ``crop_size`` (padded when smaller: image 0,
label 255) and the image is normalised per volume (clip to the 0.5 / 99.5
percentiles of the whole volume, scale to 0..255). Scribble value 4 becomes
255. PNG row ``i`` / column ``j`` are voxel axes 0 / 1, unflipped.

Output layout::

    OUT/img_dir/{train,val}/subjectX_DE_sliceNN.png   uint8 image, mode L
    OUT/ann_dir/{train,val}/subjectX_DE_sliceNN.png   uint8 labels, mode L
    OUT/splits/{train,val}.txt                        stems, one per line
    OUT/meta.json                                     geometry per volume

``NN`` is the 0-based slice index. The slice geometry (resampling with
pixel centres aligned, the centre crop) is defined in
:mod:`mmscribble.datasets.volumes`, whose :func:`restore_volume` maps the
slice predictions of a volume back to its original voxel grid with the
geometry kept in ``meta.json``, for per-volume 3-D Dice.
"""
import json
import os
import os.path as osp
import re
from typing import Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

from ..label_io import IGNORE_INDEX
from ..metainfo import MSCMR_CLASSES as CLASSES
from ..volumes import (centre_offset, load_meta, load_nifti, resampled_size,
                       resize_nearest, restore_slice, restore_volume,
                       shift_window)
from .folders import Progress, iterate

__all__ = [
    'CLASSES', 'DEFAULT_CROP', 'DEFAULT_PERCENTILES', 'DEFAULT_SPACING',
    'SPLIT_LABELS', 'centre_offset', 'convert_mscmr', 'convert_volume',
    'find_volumes', 'load_meta', 'load_nifti', 'map_labels',
    'normalize_intensity', 'resampled_size', 'resize_bilinear',
    'resize_nearest', 'restore_slice', 'restore_volume', 'shift_window'
]

DEFAULT_SPACING = 1.367
DEFAULT_CROP = (212, 212)
DEFAULT_PERCENTILES = (0.5, 99.5)

# Raw label values allowed per split and how they are written.
SPLIT_LABELS = {
    'train': dict(values=(0, 1, 2, 3, 4), mapping={4: IGNORE_INDEX}),
    'val': dict(values=(0, 1, 2, 3), mapping={}),
}
_NIFTI_EXT = ('.nii.gz', '.nii')


def _strip_nifti(name: str) -> Optional[str]:
    for ext in _NIFTI_EXT:
        if name.endswith(ext):
            return name[:-len(ext)]
    return None


def _natural_key(text: str):
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', text)]


def normalize_intensity(
    volume: np.ndarray,
    percentiles: Tuple[float, float] = DEFAULT_PERCENTILES
) -> Tuple[np.ndarray, float, float]:
    """Clip a volume to two percentiles and scale it to ``[0, 255]``.

    Args:
        volume (np.ndarray): Image volume, any shape.
        percentiles (tuple[float, float]): Lower and upper percentile of
            the whole volume. Defaults to ``(0.5, 99.5)``.

    Returns:
        tuple: float32 array in ``[0, 255]`` and the clip bounds
        ``(lo, hi)``. A constant volume maps to 0.
    """
    p_lo, p_hi = percentiles
    if not 0 <= p_lo < p_hi <= 100:
        raise ValueError(f'percentiles must satisfy 0 <= lower < upper <= '
                         f'100, got {percentiles}')
    vol = np.asarray(volume, dtype=np.float64)
    lo, hi = (float(v) for v in np.percentile(vol, [p_lo, p_hi]))
    if hi <= lo:
        return np.zeros(vol.shape, dtype=np.float32), lo, hi
    out = (np.clip(vol, lo, hi) - lo) * (255.0 / (hi - lo))
    return out.astype(np.float32), lo, hi


def resize_bilinear(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D float array, pixel centres aligned.

    Args:
        arr (np.ndarray): ``(n0, n1)`` array.
        size (tuple[int, int]): ``(m0, m1)`` output size.

    Returns:
        np.ndarray: ``(m0, m1)`` float32 array.
    """
    return cv2.resize(
        np.ascontiguousarray(arr, dtype=np.float32), (size[1], size[0]),
        interpolation=cv2.INTER_LINEAR)


def map_labels(label: np.ndarray, split: str, path: str) -> np.ndarray:
    """Check the raw label values of a split and write them as uint8.

    Args:
        label (np.ndarray): Raw label volume.
        split (str): ``'train'`` (scribbles, 4 -> 255) or ``'val'``.
        path (str): The file, named in errors.

    Returns:
        np.ndarray: uint8 label volume.

    Raises:
        ValueError: Non-integer values or values the split does not allow.
    """
    if split not in SPLIT_LABELS:
        raise ValueError(f'split must be one of {tuple(SPLIT_LABELS)}, got '
                         f'{split!r}')
    spec = SPLIT_LABELS[split]
    values = np.unique(label)
    if not np.all(values == np.round(values)):
        raise ValueError(f'{path}: label volume holds non-integer values')
    bad = sorted(set(values.astype(np.int64).tolist()) - set(spec['values']))
    if bad:
        raise ValueError(
            f'{path}: label value(s) {bad} not allowed in split {split!r} '
            f'(expected a subset of {list(spec["values"])})')
    lut = np.full(max(spec['values']) + 1, IGNORE_INDEX, dtype=np.uint8)
    for v in spec['values']:
        lut[v] = spec['mapping'].get(v, v)
    return lut[label.astype(np.int64)]


def _save_png(arr: np.ndarray, path: str) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(arr).save(path)


def convert_volume(
        image_path: str,
        label_path: str,
        split: str,
        out_dir: str,
        stem: Optional[str] = None,
        target_spacing: float = DEFAULT_SPACING,
        crop_size: Optional[Sequence[int]] = DEFAULT_CROP,
        percentiles: Tuple[float, float] = DEFAULT_PERCENTILES) -> dict:
    """Convert one image/label volume pair to PNG slices.

    Args:
        image_path (str): Image NIfTI.
        label_path (str): Label NIfTI of the same grid.
        split (str): ``'train'`` or ``'val'`` (see :data:`SPLIT_LABELS`).
        out_dir (str): Output root; slices go to ``img_dir/<split>`` and
            ``ann_dir/<split>``.
        stem (str, optional): Volume name; defaults to the image file name
            without ``.nii(.gz)``.
        target_spacing (float): In-plane spacing of the slices, mm.
            Defaults to 1.367.
        crop_size (Sequence[int], optional): ``(h, w)`` of the centre crop;
            None keeps the whole resampled slice. Defaults to (212, 212).
        percentiles (tuple[float, float]): Intensity clip percentiles.

    Returns:
        dict: The volume's entry of ``meta.json``: ``split``, ``shape``,
        ``spacing``, ``affine``, ``resampled_shape``, ``crop_offset``,
        ``slice_shape``, ``intensity_range`` and ``slices`` (stems in slice
        order).
    """
    image, spacing, affine = load_nifti(image_path)
    label, label_spacing, _ = load_nifti(label_path)
    if image.shape != label.shape:
        raise ValueError(f'image {image_path} has shape {image.shape} but '
                         f'label {label_path} has {label.shape}')
    if not np.allclose(spacing[:2], label_spacing[:2], rtol=1e-3):
        raise ValueError(f'image {image_path} has spacing {spacing} but '
                         f'label {label_path} has {label_spacing}')
    label = map_labels(label, split, label_path)
    norm, lo, hi = normalize_intensity(image, percentiles)
    size = resampled_size(image.shape[:2], spacing[:2], target_spacing)
    if crop_size is None:
        slice_shape, offset = size, (0, 0)
    else:
        slice_shape = (int(crop_size[0]), int(crop_size[1]))
        if min(slice_shape) < 1:
            raise ValueError(f'crop_size must be positive, got {crop_size}')
        offset = centre_offset(size, slice_shape)
    if stem is None:
        stem = _strip_nifti(osp.basename(image_path)) or osp.splitext(
            osp.basename(image_path))[0]
    slices = []
    for k in range(image.shape[2]):
        name = f'{stem}_slice{k:02d}'
        img = resize_bilinear(norm[:, :, k], size)
        img = np.clip(np.floor(img + 0.5), 0, 255).astype(np.uint8)
        lab = resize_nearest(label[:, :, k], size)
        img = shift_window(img, slice_shape, offset, 0)
        lab = shift_window(lab, slice_shape, offset, IGNORE_INDEX)
        _save_png(img, osp.join(out_dir, 'img_dir', split, name + '.png'))
        _save_png(lab, osp.join(out_dir, 'ann_dir', split, name + '.png'))
        slices.append(name)
    return dict(
        split=split,
        shape=[int(n) for n in image.shape],
        spacing=[float(s) for s in spacing],
        affine=affine.tolist(),
        resampled_shape=list(size),
        crop_offset=list(offset),
        slice_shape=list(slice_shape),
        intensity_range=[lo, hi],
        slices=slices)


def find_volumes(src_root: str, split: str) -> List[Tuple[str, str, str]]:
    """Pair images and labels of one split.

    The label of ``images/<stem>.nii.gz`` is the one file
    ``labels/<stem>_*.nii(.gz)`` (or ``labels/<stem>.nii(.gz)``).

    Returns:
        list[tuple[str, str, str]]: ``(stem, image_path, label_path)`` in
        natural order of the stems (``subject2`` before ``subject13``).
    """
    img_dir = osp.join(src_root, split, 'images')
    lab_dir = osp.join(src_root, split, 'labels')
    for d in (img_dir, lab_dir):
        if not osp.isdir(d):
            raise FileNotFoundError(f'directory not found: {d}')
    labels = [f for f in os.listdir(lab_dir) if _strip_nifti(f)]
    pairs = []
    for name in os.listdir(img_dir):
        stem = _strip_nifti(name)
        if stem is None:
            continue
        match = [
            f for f in labels
            if _strip_nifti(f) == stem or f.startswith(stem + '_')
        ]
        if len(match) != 1:
            raise FileNotFoundError(
                f'expected one label for {osp.join(img_dir, name)} in '
                f'{lab_dir} (named {stem}_*.nii.gz), found {sorted(match)}')
        label_path = osp.join(lab_dir, match[0])
        pairs.append((stem, osp.join(img_dir, name), label_path))
    if not pairs:
        raise FileNotFoundError(f'no *.nii.gz volume in {img_dir}')
    return sorted(pairs, key=lambda p: _natural_key(p[0]))


def convert_mscmr(src_root: str,
                  out_dir: str,
                  splits: Sequence[str] = ('train', 'val'),
                  subjects: Optional[Iterable[str]] = None,
                  target_spacing: float = DEFAULT_SPACING,
                  crop_size: Optional[Sequence[int]] = DEFAULT_CROP,
                  percentiles: Tuple[float, float] = DEFAULT_PERCENTILES,
                  progress: Progress = None) -> dict:
    """Convert MSCMR splits, write the split files and ``meta.json``.

    Args:
        src_root (str): Folder holding ``train/`` and ``val/``.
        out_dir (str): Output root (created).
        splits (Sequence[str]): Splits to convert. Defaults to both.
        subjects (Iterable[str], optional): Volume stems to convert (e.g.
            ``'subject2_DE'``); None converts all.
        target_spacing (float): In-plane spacing, mm. Defaults to 1.367.
        crop_size (Sequence[int], optional): Centre crop ``(h, w)``; None
            disables cropping. Defaults to (212, 212).
        percentiles (tuple[float, float]): Intensity clip percentiles.
        progress (callable, optional): Wraps the volume list, e.g. ``tqdm``.

    Returns:
        dict: The content written to ``meta.json``: global settings and
        ``volumes``, a dict from volume stem to :func:`convert_volume`'s
        entry (plus ``image`` / ``label`` paths relative to ``src_root``).
    """
    jobs = []
    for split in splits:
        if split not in SPLIT_LABELS:
            raise ValueError(f'split must be one of {tuple(SPLIT_LABELS)}, '
                             f'got {split!r}')
        jobs += [(split, ) + p for p in find_volumes(src_root, split)]
    if subjects is not None:
        wanted = set(subjects)
        unknown = wanted - {j[1] for j in jobs}
        if unknown:
            raise ValueError(f'subjects {sorted(unknown)} not found in '
                             f'{src_root} splits {list(splits)}')
        jobs = [j for j in jobs if j[1] in wanted]
    volumes, split_stems = {}, {s: [] for s in splits}
    for split, stem, img_path, lab_path in iterate(jobs, progress):
        entry = convert_volume(img_path, lab_path, split, out_dir, stem,
                               target_spacing, crop_size, percentiles)
        entry['image'] = osp.relpath(img_path, src_root)
        entry['label'] = osp.relpath(lab_path, src_root)
        volumes[stem] = entry
        split_stems[split] += entry['slices']
    os.makedirs(osp.join(out_dir, 'splits'), exist_ok=True)
    for split, stems in split_stems.items():
        with open(osp.join(out_dir, 'splits', split + '.txt'), 'w') as f:
            f.writelines(s + '\n' for s in stems)
    meta = dict(
        classes=list(CLASSES),
        target_spacing=float(target_spacing),
        crop_size=None if crop_size is None else [int(c) for c in crop_size],
        percentiles=[float(p) for p in percentiles],
        slice_axis=2,
        ignore_index=IGNORE_INDEX,
        volumes=volumes)
    with open(osp.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return meta
