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

``NN`` is the 0-based slice index. :func:`restore_volume` maps the slice
predictions of a volume back to its original voxel grid with the geometry
kept in ``meta.json``, for per-volume 3-D Dice.

Geometry: a slice of ``n`` pixels along an axis with spacing ``s`` is
resampled to ``m = round(n * s / target_spacing)`` pixels, pixel centres
aligned (output pixel ``k`` samples input coordinate
``(k + 0.5) * n / m - 0.5``; nearest takes input pixel
``floor((k + 0.5) * n / m)``). The crop keeps resampled rows
``offset[0] .. offset[0] + crop[0] - 1`` with ``offset = (m - crop) // 2``
(negative: padding).
"""
import json
import os
import os.path as osp
import re
from typing import (Callable, Iterable, List, Optional, Sequence, Tuple, Union)

import cv2
import numpy as np
from PIL import Image

from .scribblesup import IGNORE_INDEX, _iterate

DEFAULT_SPACING = 1.367
DEFAULT_CROP = (212, 212)
DEFAULT_PERCENTILES = (0.5, 99.5)
CLASSES = ('background', 'RV', 'Myo', 'LV')

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


def convert_mscmr(
        src_root: str,
        out_dir: str,
        splits: Sequence[str] = ('train', 'val'),
        subjects: Optional[Iterable[str]] = None,
        target_spacing: float = DEFAULT_SPACING,
        crop_size: Optional[Sequence[int]] = DEFAULT_CROP,
        percentiles: Tuple[float, float] = DEFAULT_PERCENTILES,
        progress: Optional[Callable[[Iterable], Iterable]] = None) -> dict:
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
    for split, stem, img_path, lab_path in _iterate(jobs, progress):
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


def load_meta(path: str) -> dict:
    """Read ``meta.json`` written by :func:`convert_mscmr`."""
    with open(path) as f:
        return json.load(f)


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
