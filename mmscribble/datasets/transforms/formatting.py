"""Packing that carries every per-pixel map and the image tags to the model.

mmseg's ``PackSegInputs`` keeps ``gt_seg_map``, ``gt_edge_map`` and
``gt_depth_map`` and silently drops anything else.
"""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.registry import TRANSFORMS
from mmseg.structures import SegDataSample

from mmscribble.structures import get_map_spec

DEFAULT_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                     'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                     'reduce_zero_label', 'img_tags')


@TRANSFORMS.register_module()
class PackScribbleInputs(BaseTransform):
    """Pack the image, every map in ``seg_fields`` and the tags.

    Required Keys: img, seg_fields (may be empty at inference).

    Packed:
        - ``inputs``: (C, H, W) tensor of the image (dtype kept).
        - ``data_samples``: a ``SegDataSample`` with one ``PixelData`` field
          per map (shape (1, H, W)), named by its ``MapSpec.field``
          (``gt_seg_map`` -> ``gt_sem_seg``, int64; other maps keep their
          table dtype), and ``meta_keys`` in its metainfo, ``img_tags``
          included.

    Args:
        meta_keys (tuple[str]): keys copied to the metainfo when present.
        check_alignment (bool): raise if a map's size differs from the
            image's. Keep it on in training pipelines; test pipelines, which
            resize the image but keep the dense GT at its original size (the
            mmseg convention), turn it off.
    """

    def __init__(self, meta_keys=DEFAULT_META_KEYS,
                 check_alignment: bool = True):
        self.meta_keys = tuple(meta_keys)
        self.check_alignment = check_alignment

    def transform(self, results: dict) -> dict:
        packed = dict()
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        packed['inputs'] = torch.from_numpy(
            np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = SegDataSample()
        img_hw = img.shape[:2]
        for key in results.get('seg_fields', []):
            if key not in results:
                continue
            spec = get_map_spec(key)
            arr = results[key]
            if self.check_alignment and arr.shape[:2] != img_hw:
                raise ValueError(
                    f'map {key} of {results.get("img_path")} has size '
                    f'{arr.shape[:2]} but the image has size {img_hw}: a '
                    'transform moved the image without the map')
            dtype = np.int64 if key == 'gt_seg_map' else (
                np.int64 if spec.dtype == np.int32 else spec.dtype)
            data = torch.from_numpy(
                np.ascontiguousarray(arr[None].astype(dtype)))
            sample.set_field(PixelData(data=data), spec.field)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        sample.set_metainfo(meta)
        packed['data_samples'] = sample
        return packed

    def __repr__(self):
        return (f'{type(self).__name__}(meta_keys={self.meta_keys}, '
                f'check_alignment={self.check_alignment})')
