"""Batching that pads every per-pixel map with its own fill value."""
from typing import Any, Dict

import torch.nn.functional as F
from mmseg.models import SegDataPreProcessor
from mmseg.registry import MODELS

from mmscribble.structures import FIELD_TO_SPEC


@MODELS.register_module()
class ScribbleDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that also pads the extra maps.

    mmseg's ``stack_batch`` pads ``gt_sem_seg`` (with ``seg_pad_val``) and
    drops nothing, but leaves any other ``PixelData`` field at its unpadded
    size, so a batch with crops smaller than ``size`` carries maps misaligned
    with the image. Here every field listed in ``SCRIBBLE_MAPS`` is padded
    with the same ``padding_size`` and its own fill (0 for ``gt_valid_mask``,
    255 for boundaries, -1 for superpixel ids, ...), and every map is checked
    to have the padded image size.

    Takes the same arguments as ``SegDataPreProcessor``. When neither
    ``size`` nor ``size_divisor`` is given, training batches are padded to
    the largest image in the batch.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.size is None and self.size_divisor is None:
            self.size_divisor = 1

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        out = super().forward(data, training)
        if not training:
            return out
        inputs, samples = out['inputs'], out['data_samples']
        hw = tuple(inputs.shape[-2:])
        for sample in samples:
            padding = sample.metainfo['padding_size']
            for field, spec in FIELD_TO_SPEC.items():
                if field == 'gt_sem_seg' or field not in sample:
                    continue
                pixel_data = sample.get(field)
                value = pixel_data.data
                del pixel_data.data
                pixel_data.data = F.pad(value, tuple(padding),
                                        value=spec.fill)
            for field in FIELD_TO_SPEC:
                if field in sample and tuple(
                        sample.get(field).shape) != hw:
                    raise ValueError(
                        f'map {field} of {sample.metainfo.get("img_path")} '
                        f'has size {tuple(sample.get(field).shape)} after '
                        f'padding, the batch has size {hw}')
        return out
