"""Label PNGs: read, check and write maps of class ids.

One reader serves the data pipeline and the offline converters. A label
PNG holds one class id per pixel, :data:`IGNORE_INDEX` (255) where the
pixel is unlabeled. Palette (``P``) PNGs, as VOC and ScribbleSup ship
them, are read as palette indices, never as colours.
"""
import io
import os
import os.path as osp
from typing import Optional, Tuple

import numpy as np
from mmengine import fileio
from PIL import Image

IGNORE_INDEX = 255

# Extra per-pixel maps (keys of ``mmscribble.structures.SCRIBBLE_MAPS``)
# whose values are class ids with IGNORE_INDEX for none: checked against
# the dataset's classes like ``gt_seg_map``, when loaded and under
# ``check_files='full'``. A map of class ids added to the table is added
# here.
CLASS_ID_MAPS = ('gt_pseudo_seg', )

# Single-channel PNG modes of class ids: 8-bit grey, palette, 32-bit and
# 16-bit integer (superpixel ids).
EIGHT_BIT_MODES = ('L', 'P')
LABEL_MODES = ('L', 'P', 'I', 'I;16')


def _class_ids(arr: np.ndarray, mode: str, path: str,
               eight_bit: bool) -> np.ndarray:
    """The class-id map of a decoded PNG by the rule of ``read_label_png``."""
    if mode in (EIGHT_BIT_MODES if eight_bit else LABEL_MODES):
        return arr
    shown = repr(mode)
    if mode == 'RGB' and not eight_bit:
        if (arr == arr[..., :1]).all():
            return np.ascontiguousarray(arr[..., 0])
        shown += ' with distinct channels'
    allowed = ("'L' or 'P'" if eight_bit else
               "'L', 'P', 'I', 'I;16', or 'RGB' with equal channels")
    raise ValueError(f'label file {path} has image mode {shown}; expected a '
                     f'single-channel PNG of class ids (mode {allowed})')


def read_label_png(path: str, eight_bit: bool = False) -> np.ndarray:
    """Read a label PNG as a 2-D array of class ids.

    Args:
        path (str): The PNG file (any mmengine file backend).
        eight_bit (bool): Accept only 8-bit single-channel PNGs (mode
            ``L`` or ``P``), returned as uint8: the rule of the offline
            converters, which write uint8 label maps and must refuse
            anything else. False (the rule of the data pipeline) also
            accepts integer PNGs (mode ``I``, ``I;16``: superpixel ids),
            returned with their stored dtype, and RGB PNGs whose three
            channels are equal (how CDSP ships its distance maps), read as
            their first channel. Defaults to False.

    Returns:
        np.ndarray: ``(H, W)`` array; uint8 for modes ``L``, ``P`` and
        ``RGB``.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file cannot be decoded or its mode is not allowed
            (any RGB PNG with ``eight_bit``; one with distinct channels
            without it); the message names the file and the mode.
    """
    try:
        data = fileio.get(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'label file not found: {path}') from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            mode, arr = img.mode, np.array(img)
    except Exception as e:  # PIL raises several types for corrupt files
        raise ValueError(f'cannot decode label file {path}: '
                         f'{type(e).__name__}: {e}') from None
    return _class_ids(arr, mode, path, eight_bit)


def write_label_png(label: np.ndarray, path: str) -> None:
    """Write a ``(H, W)`` uint8 label map as a mode-``L`` PNG.

    Missing parent folders are created.

    Raises:
        ValueError: ``label`` is not a 2-D uint8 array.
    """
    if label.ndim != 2 or label.dtype != np.uint8:
        raise ValueError(f'cannot write {path}: expected a 2-D uint8 label '
                         f'map, got shape {label.shape} {label.dtype}')
    dirname = osp.dirname(path)
    if dirname:
        os.makedirs(dirname, exist_ok=True)
    Image.fromarray(label).save(path)


def read_image_size(img_path: str) -> Tuple[int, int]:
    """``(height, width)`` of an image file, read from its header.

    Raises:
        ValueError: The file cannot be opened as an image; the message
            names it.
    """
    try:
        with Image.open(img_path) as img:
            return img.height, img.width
    except Exception as e:  # PIL raises several types for bad files
        raise ValueError(f'cannot decode image {img_path}: {e}') from None


def check_label_ids(label: np.ndarray,
                    path: str,
                    num_classes: int,
                    ignore_index: int = IGNORE_INDEX) -> None:
    """Raise if a label map holds an id outside ``0..num_classes - 1``.

    Args:
        label (np.ndarray): ``(H, W)`` label map.
        path (str): The file it came from, named in the error.
        num_classes (int): Number of classes.
        ignore_index (int): The unlabeled value, always allowed.

    Raises:
        ValueError: Naming the file and the offending ids.
    """
    ids = np.unique(label)
    bad = ids[(ids != ignore_index) & ((ids < 0) | (ids >= num_classes))]
    if bad.size:
        raise ValueError(
            f'label {path} contains class ids {bad.tolist()} outside '
            f'0..{num_classes - 1} (the dataset has {num_classes} '
            f'classes; {ignore_index} means unlabeled)')


def check_label_array(label: np.ndarray,
                      path: str,
                      num_classes: int,
                      ignore_index: int = IGNORE_INDEX,
                      img_shape: Optional[tuple] = None,
                      img_path: Optional[str] = None) -> None:
    """Raise a clear error if a label map does not fit its image / classes.

    Args:
        label (np.ndarray): ``(H, W)`` label map.
        path (str): The file it came from, named in errors.
        num_classes (int): Number of classes; 0 skips the id check.
        ignore_index (int): The unlabeled value. Defaults to 255.
        img_shape (tuple, optional): Shape of the image; its first two
            entries must be the label's ``(H, W)``.
        img_path (str, optional): The image, named in errors.

    Raises:
        ValueError: The sizes differ or an id is out of range.
    """
    if img_shape is not None and tuple(label.shape[:2]) != tuple(
            img_shape[:2]):
        raise ValueError(
            f'label {path} has size {label.shape[:2]} (HxW) but image '
            f'{img_path} has size {tuple(img_shape[:2])}')
    if num_classes:
        check_label_ids(label, path, num_classes, ignore_index)


def check_label_file(path: str,
                     num_classes: int,
                     img_path: Optional[str] = None) -> None:
    """Decode a label file and check it against its image and classes."""
    label = read_label_png(path)
    img_shape = None if img_path is None else read_image_size(img_path)
    check_label_array(
        label, path, num_classes, img_shape=img_shape, img_path=img_path)
