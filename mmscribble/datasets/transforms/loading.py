"""Loading transforms: image, scribble map and extra per-pixel maps.

Every failure names the file and the problem; a sample never reaches the
model with a map that does not match its image.
"""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from mmseg.registry import TRANSFORMS
from PIL import Image

from mmscribble.structures import SCRIBBLE_MAPS


def read_label_png(path: str) -> np.ndarray:
    """Read a label PNG as a 2-D array of class ids.

    Palette PNGs (VOC, ScribbleSup) are read as indices, never as colours.
    An RGB PNG whose three channels are equal (how CDSP ships its distance
    maps) is read as its first channel; any other RGB PNG is an error, since
    its colours are not class ids.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be decoded or is not single-channel.
    """
    try:
        data = fileio.get(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'label file not found: {path}') from None
    try:
        import io
        with Image.open(io.BytesIO(data)) as img:
            arr = np.array(img)
            if img.mode == 'RGB' and (arr == arr[..., :1]).all():
                arr = np.ascontiguousarray(arr[..., 0])
            elif img.mode not in ('L', 'P', 'I', 'I;16'):
                raise ValueError(
                    f'label file {path} has image mode {img.mode!r} with '
                    'distinct channels; expected a single-channel (L, P, I) '
                    'PNG of class ids')
    except ValueError:
        raise
    except Exception as e:  # PIL raises several types for corrupt files
        raise ValueError(
            f'cannot decode label file {path}: {type(e).__name__}: {e}'
        ) from None
    return arr


def check_label_array(label: np.ndarray,
                      path: str,
                      num_classes: int,
                      ignore_index: int = 255,
                      img_shape: Optional[tuple] = None,
                      img_path: Optional[str] = None) -> None:
    """Raise a clear error if a label map does not fit its image / classes."""
    if img_shape is not None and tuple(label.shape[:2]) != tuple(
            img_shape[:2]):
        raise ValueError(
            f'label {path} has size {label.shape[:2]} (HxW) but image '
            f'{img_path} has size {tuple(img_shape[:2])}')
    if num_classes:
        ids = np.unique(label)
        bad = ids[(ids != ignore_index) & ((ids < 0) | (ids >= num_classes))]
        if bad.size:
            raise ValueError(
                f'label {path} contains class ids {bad.tolist()} outside '
                f'0..{num_classes - 1} (the dataset has {num_classes} '
                f'classes; {ignore_index} means unlabeled)')


def check_label_file(path: str, num_classes: int,
                     img_path: Optional[str] = None) -> None:
    """Decode a label file and check it against its image and classes."""
    label = read_label_png(path)
    img_shape = None
    if img_path is not None:
        try:
            with Image.open(img_path) as img:
                img_shape = (img.height, img.width)
        except Exception as e:
            raise ValueError(f'cannot decode image {img_path}: {e}') from None
    check_label_array(label, path, num_classes, img_shape=img_shape,
                      img_path=img_path)


@TRANSFORMS.register_module()
class LoadScribbleImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` whose errors name the file.

    mmcv's version fails on a corrupt image with an ``AttributeError`` on
    ``None``; this one raises ``ValueError('cannot decode image <path>')``.
    Grayscale images (MSCMR) are replicated to 3 channels with the default
    ``color_type='color'``.
    """

    def transform(self, results: dict) -> dict:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(
                filename, backend_args=self.backend_args)
        except FileNotFoundError:
            raise FileNotFoundError(f'image not found: {filename}') from None
        img = mmcv.imfrombytes(
            img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        if img is None:
            raise ValueError(f'cannot decode image {filename} (corrupt or '
                             'not an image)')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadScribbleAnnotations(BaseTransform):
    """Load the label map, the valid mask, extra maps and image-level tags.

    Required Keys:
        - img (to check sizes against)
        - seg_map_path
        - num_classes (set by :class:`ScribbleDataset`)
        - map_paths (optional): ``{map key: path}`` for extra maps

    Added Keys:
        - gt_seg_map (np.uint8, HxW): scribbles (train) or dense GT (eval)
        - gt_valid_mask (np.uint8, HxW): all ones; geometric transforms fill
          padding and rotated-in corners with 0
        - each key of ``map_paths``, with the dtype of its ``MapSpec``
        - img_tags (list[int]): sorted class ids present in ``gt_seg_map``,
          computed before any augmentation, so a crop that misses a stroke
          does not change the image-level tags
        - seg_fields: extended with every map loaded here

    Args:
        with_valid_mask (bool): add ``gt_valid_mask``. Default True.
        check (bool): validate sizes and class ids. Default True.
        ignore_index (int): the unlabeled id. Default 255.
    """

    def __init__(self, with_valid_mask: bool = True, check: bool = True,
                 ignore_index: int = 255):
        self.with_valid_mask = with_valid_mask
        self.check = check
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        path = results['seg_map_path']
        label = read_label_png(path)
        img = results.get('img')
        label_map = results.get('label_map')
        if label_map:
            mapped = np.full_like(label, self.ignore_index)
            for old, new in label_map.items():
                mapped[label == old] = new
            label = mapped
        if results.get('reduce_zero_label'):
            label = label.astype(np.int32)
            label[label == 0] = 256
            label = label - 1
            label[label == 254] = self.ignore_index
        if self.check:
            check_label_array(
                label,
                path,
                results.get('num_classes', 0),
                ignore_index=self.ignore_index,
                # ori_shape: test pipelines resize the image before loading
                # the dense GT, which stays at the original size.
                img_shape=results.get(
                    'ori_shape', None if img is None else img.shape),
                img_path=results.get('img_path'))
        label = label.astype(np.uint8)
        results['gt_seg_map'] = label
        fields = results.setdefault('seg_fields', [])
        fields.append('gt_seg_map')
        tags = np.unique(label)
        results['img_tags'] = [int(t) for t in tags if t != self.ignore_index]
        if self.with_valid_mask:
            results['gt_valid_mask'] = np.ones(label.shape, np.uint8)
            fields.append('gt_valid_mask')
        for key, map_path in (results.get('map_paths') or {}).items():
            spec = SCRIBBLE_MAPS[key]
            arr = read_label_png(map_path).astype(spec.dtype)
            if arr.shape != label.shape:
                raise ValueError(
                    f'map {key} file {map_path} has size {arr.shape} but '
                    f'label {path} has size {label.shape}')
            results[key] = arr
            fields.append(key)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(with_valid_mask='
                f'{self.with_valid_mask}, check={self.check}, '
                f'ignore_index={self.ignore_index})')
