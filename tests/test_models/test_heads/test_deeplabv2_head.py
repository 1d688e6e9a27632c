import pytest
import torch

from mmscribble.models.heads import DeepLabV2Head


def test_aspp_is_sum_of_dilated_branches():
    head = DeepLabV2Head(
        in_channels=8, channels=8, num_classes=3, dilations=(1, 2),
        dropout_ratio=0)
    x = torch.randn(2, 8, 9, 9)
    out = head([x])
    assert out.shape == (2, 3, 9, 9)
    b = head.conv_seg.branches
    torch.testing.assert_close(out, b[0](x) + b[1](x))
    assert b[1].dilation == (2, 2) and b[1].padding == (2, 2)


def test_bottleneck_and_channel_check():
    head = DeepLabV2Head(
        in_channels=16, channels=4, num_classes=3, bottleneck=True,
        norm_cfg=dict(type='BN'))
    out = head._forward_feature([torch.randn(1, 16, 5, 5)])
    assert out.shape == (1, 4, 5, 5)
    with pytest.raises(ValueError, match='channels == in_channels'):
        DeepLabV2Head(in_channels=16, channels=4, num_classes=3)
