"""DeepLabV2's ASPP classifier head (Chen et al., TPAMI 2017)."""
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.registry import MODELS
from torch import Tensor

from .scribble_head import BaseScribbleHead


class ASPPClassifier(nn.Module):
    """Sum of parallel dilated 3x3 convolutions straight to class logits.

    This is DeepLabV2's ASPP (the classifier itself), not DeepLabV3's ASPP
    (a feature module followed by a 1x1 classifier), and is what URSS and
    most scribble papers build on.

    Args:
        in_channels (int): input channels.
        num_classes (int): output channels.
        dilations (Sequence[int]): one branch per rate.
    """

    def __init__(self, in_channels: int, num_classes: int,
                 dilations: Sequence[int] = (6, 12, 18, 24)):
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Conv2d(in_channels, num_classes, 3, padding=d, dilation=d)
            for d in dilations
        ])
        for conv in self.branches:
            nn.init.normal_(conv.weight, 0, 0.01)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        out = self.branches[0](x)
        for conv in self.branches[1:]:
            out = out + conv(x)
        return out


@MODELS.register_module()
class DeepLabV2Head(BaseScribbleHead):
    """DeepLabV2 head: optional bottleneck, then the ASPP classifier.

    Args:
        dilations (Sequence[int]): ASPP rates. Default (6, 12, 18, 24).
        bottleneck (bool): a 3x3 ConvModule from ``in_channels`` to
            ``channels`` before the classifier (URSS reduces 2048 -> 512 so
            the random walk runs on 512-d features). Without it ``channels``
            must equal ``in_channels``.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, dilations: Sequence[int] = (6, 12, 18, 24),
                 bottleneck: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not bottleneck and self.in_channels != self.channels:
            raise ValueError(
                'DeepLabV2Head without bottleneck needs channels == '
                f'in_channels, got {self.channels} and {self.in_channels}')
        self.bottleneck = ConvModule(
            self.in_channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg) if bottleneck else nn.Identity()
        # The ASPP branches are the classifier: replace the 1x1 conv_seg.
        self.conv_seg = ASPPClassifier(self.channels, self.out_channels,
                                       dilations)

    def _forward_feature(self, inputs) -> Tensor:
        """f_{L-1}: the feature the classifier reads, (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        return self.bottleneck(x)

    def forward(self, inputs) -> Tensor:
        return self.cls_seg(self._forward_feature(inputs))
