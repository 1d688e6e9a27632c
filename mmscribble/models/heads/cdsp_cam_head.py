"""CDSP's class-driven stage: a multi-label classifier and its CAMs.

CDSP (Zhang et al., AAAI 2024, Eq. 4-6) trains a classifier on the
image-level classes found in the scribbles, then thresholds its class
activation maps into pseudo-labels. The authors never released that stage.
Here it is a decode head, so that the same segmentor, Runner, configs and
tools train it and write its pseudo-labels
(``tools/dataset_converters/segmentor_pseudo_labels.py`` with a config
of this head):

* training (:meth:`loss`): logits ``z_k = GAP(W_k . F) + b_k`` (global
  average pooling over the feature cells of real image pixels, then a
  fully connected layer, written as a 1x1 convolution: the two commute),
  binary cross-entropy against the multi-hot foreground tags of the
  scribbles (``metainfo['img_tags']`` without the background);
* CAMs (Eq. 6): ``CAM_k = ReLU(sum_i W_{i,k} F_i)``, without the bias;
* pseudo-label (:meth:`predict`): each CAM of a tagged class divided by
  its maximum over the image (0 when the CAM is 0 everywhere), upsampled
  to the image; the background scores ``threshold``; every pixel takes
  the highest. Classes not in the tags score -1 (never chosen); an image
  without tags (test images) uses the classes whose probability
  ``sigmoid(z_k)`` exceeds 0.5. ``threshold`` is the usual CAM background
  rule (a pixel is foreground where its normalised CAM exceeds it); 0.25
  is a common choice, not a value of the paper, which gives none.
"""
from typing import Callable, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from .scribble_head import BaseScribbleHead, multi_hot


@MODELS.register_module()
class CDSPCAMHead(BaseScribbleHead):
    """Multi-label classifier (GAP + FC, BCE) whose prediction is the CAM
    pseudo-label. See the module docstring.

    Args:
        threshold (float): background score against max-normalised CAMs.
            Default: 0.25.
        background_index (int): class id of the background; the classifier
            has ``num_classes - 1`` outputs, one per other class.
            Default: 0.
        loss_weight (float): weight of the BCE. Default: 1.0.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``,
            ``channels`` unused but required, ``num_classes`` including the
            background, ``in_index``).
    """

    def __init__(self,
                 threshold: float = 0.25,
                 background_index: int = 0,
                 loss_weight: float = 1.0,
                 **kwargs) -> None:
        kwargs.setdefault('channels', kwargs.get('in_channels'))
        kwargs.setdefault('loss_decode', dict(type='PartialCrossEntropyLoss'))
        super().__init__(**kwargs)
        if not 0 <= threshold <= 1:
            raise ValueError(f'threshold must be in [0, 1], got {threshold}')
        if not 0 <= background_index < self.num_classes:
            raise ValueError(f'background_index must be a class id, got '
                             f'{background_index}')
        self.threshold = float(threshold)
        self.background_index = background_index
        self.loss_weight = loss_weight
        # The FC layer as a 1x1 convolution without bias (Eq. 6); the bias
        # enters the classification logits only.
        self.conv_seg = nn.Conv2d(
            self.in_channels, self.num_classes - 1, 1, bias=False)
        self.cls_bias = nn.Parameter(torch.zeros(self.num_classes - 1))
        self.dropout = None
        fg = [c for c in range(self.num_classes) if c != background_index]
        self.register_buffer(
            'fg_ids', torch.tensor(fg, dtype=torch.long), persistent=False)

    def class_maps(self, inputs: Sequence[Tensor]) -> Tensor:
        """``W . F`` (N, K - 1, h, w): the CAMs before the ReLU."""
        return self.conv_seg(self._transform_inputs(inputs))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """CAMs of Eq. 6, ``(N, K - 1, h, w)``."""
        return F.relu(self.class_maps(inputs))

    def loss(self,
             inputs: Sequence[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             img: Optional[Tensor] = None,
             extract_feat: Optional[Callable] = None) -> dict:
        """BCE of the GAP + FC logits against the scribbles' tags.

        Returns:
            dict[str, Tensor]: ``loss_cls`` and ``acc_cls`` (the share of
            (image, class) decisions right at probability 0.5).
        """
        maps = self.class_maps(inputs)
        valid = self.feature_valid_mask(batch_data_samples, maps.shape[-2:])
        if valid is None:
            pooled = maps.mean(dim=(2, 3))
        else:
            w = valid.to(maps.dtype)[:, None]
            pooled = (maps * w).sum(dim=(2, 3)) / w.sum(dim=(2,
                                                             3)).clamp(min=1)
        logits = pooled + self.cls_bias
        tags = self.img_tags(batch_data_samples, self.num_classes,
                             maps.device)[:, self.fg_ids]
        loss = F.binary_cross_entropy_with_logits(logits,
                                                  tags.to(logits.dtype))
        acc = ((logits > 0) == (tags > 0)).float().mean().detach() * 100
        return dict(loss_cls=self.loss_weight * loss, acc_cls=acc)

    def cam_scores(self, cams: Tensor, logits: Tensor,
                   tags: Optional[Tensor]) -> Tensor:
        """Per-class max-normalised CAMs with the background channel.

        Args:
            cams (Tensor): ``(N, K - 1, h, w)`` CAMs (Eq. 6).
            logits (Tensor): ``(N, K - 1)`` classification logits.
            tags (Tensor, optional): ``(N, K - 1)`` multi-hot foreground
                tags; None uses ``sigmoid(logits) > 0.5``.

        Returns:
            Tensor: ``(N, K, h, w)`` scores: ``threshold`` for the
            background, the normalised CAM of present classes, -1 else.
        """
        peak = cams.flatten(2).amax(dim=2)[..., None, None]
        norm = cams / torch.where(peak > 0, peak, torch.ones_like(peak))
        present = tags if tags is not None else (logits > 0).to(cams.dtype)
        fg = torch.where(present[..., None, None] > 0, norm,
                         torch.full_like(norm, -1.0))
        n, _, h, w = cams.shape
        out = cams.new_full((n, self.num_classes, h, w), -1.0)
        out[:, self.background_index] = self.threshold
        out[:, self.fg_ids] = fg
        return out

    def predict(self,
                inputs: Sequence[Tensor],
                batch_img_metas: List[dict],
                test_cfg: ConfigType,
                img: Optional[Tensor] = None) -> Tensor:
        """Pseudo-label scores at the image size, ``(N, K, H, W)``.

        The tags come from ``img_tags`` of the metainfo (the scribbles of a
        training image) when every image has them.
        """
        maps = self.class_maps(inputs)
        cams = F.relu(maps)
        logits = maps.mean(dim=(2, 3)) + self.cls_bias
        tags = None
        if all(m.get('img_tags') is not None for m in batch_img_metas):
            tags = multi_hot([m['img_tags'] for m in batch_img_metas],
                             self.num_classes, maps.device)[:, self.fg_ids]
        size = batch_img_metas[0].get('pad_shape',
                                      batch_img_metas[0]['img_shape'])[:2]
        cams = resize(
            cams, size=size, mode='bilinear', align_corners=self.align_corners)
        return self.cam_scores(cams, logits, tags)
