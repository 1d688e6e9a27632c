"""Loading transforms: image, scribble map and extra per-pixel maps.

Every failure names the file and the problem; a sample never reaches the
model with a map that does not match its image. Label PNGs are read and
checked by :mod:`mmscribble.datasets.label_io`.
"""
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from mmseg.registry import TRANSFORMS

from mmscribble.structures import SCRIBBLE_MAPS
from ..label_io import (CLASS_ID_MAPS, IGNORE_INDEX, check_label_array,
                        check_label_file, check_label_ids, read_label_png)

__all__ = [
    'LoadScribbleImageFromFile', 'LoadScribbleAnnotations',
    'check_label_array', 'check_label_file', 'read_label_png'
]


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
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
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
        check (bool): validate sizes and the class ids of
            ``gt_seg_map`` and of the class-id maps of ``map_paths``
            (``label_io.CLASS_ID_MAPS``: pseudo-labels). Default True.
        ignore_index (int): the unlabeled id. Default 255.
    """

    def __init__(self,
                 with_valid_mask: bool = True,
                 check: bool = True,
                 ignore_index: int = IGNORE_INDEX):
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
                img_shape=results.get('ori_shape',
                                      None if img is None else img.shape),
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
            if self.check and key in CLASS_ID_MAPS and \
                    results.get('num_classes'):
                check_label_ids(arr, map_path, results['num_classes'],
                                self.ignore_index)
            results[key] = arr
            fields.append(key)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(with_valid_mask='
                f'{self.with_valid_mask}, check={self.check}, '
                f'ignore_index={self.ignore_index})')
