"""cell_centre_mask: a per-pixel mask read at the centres of feature
cells, checked by hand and against the backbones' own sizes."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmscribble.models.utils import cell_centre_mask, infer_feature_stride


def padded_mask(n, size, real):
    """(N, H, W) uint8: ones on the top-left ``real`` block, 0 = padding."""
    mask = torch.zeros((n, ) + tuple(size), dtype=torch.uint8)
    mask[:, :real[0], :real[1]] = 1
    return mask


def test_by_hand_with_padding():
    # 9 x 11 pixels, the image is the top-left 7 x 6 block. Stride 4 gives
    # (9 - 1) // 4 + 1 = 3 rows and 3 columns, centred on pixels 0, 4, 8.
    mask = padded_mask(2, (9, 11), (7, 6))
    got = cell_centre_mask(mask, (3, 3), stride=4)
    want = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=torch.bool)
    assert got.dtype == torch.bool
    assert torch.equal(got, want.expand(2, 3, 3))
    # Nearest resizing reads rows 0, 3, 6: it calls the last row real,
    # although the pixel that row is centred on (8) is padding.
    nearest = F.interpolate(mask[:, None].float(), (3, 3))[:, 0] != 0
    assert nearest[0, 2, 0] and not got[0, 2, 0]


def test_equals_nearest_when_the_stride_divides_the_size():
    torch.manual_seed(0)
    mask = (torch.rand(2, 32, 48) > 0.5).to(torch.uint8)
    nearest = F.interpolate(mask[:, None].float(), (8, 12))[:, 0] != 0
    assert torch.equal(cell_centre_mask(mask, (8, 12), stride=4), nearest)


@pytest.mark.parametrize('size', [(33, 33), (32, 40), (37, 53), (161, 161)])
def test_cells_are_where_a_strided_conv_stack_puts_them(size):
    """A stack of 'same'-padded stride-2 3x3 convolutions (ResNet-V1c stem
    + max-pool, MobileNetV2) gives exactly the cells the mask has, and a
    one-hot input pixel reaches the centre of the cell it is read for."""
    net = nn.Sequential(
        nn.Conv2d(1, 1, 3, 2, 1, bias=False), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(1, 1, 3, 2, 1, bias=False))
    out = net(torch.zeros(1, 1, *size))
    mask = cell_centre_mask(torch.ones(1, *size), out.shape[-2:], stride=8)
    assert mask.shape == (1, ) + tuple(out.shape[-2:])
    # Cell (i, j) is centred on pixel (8i, 8j): the centre tap of each
    # 3x3 kernel links exactly those positions.
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                m.weight[..., 1, 1] = 1
    i, j = out.shape[-2] - 1, out.shape[-1] - 1
    img = torch.zeros(1, 1, *size)
    img[..., 8 * i, 8 * j] = 1
    assert net(img)[0, 0, i, j] == 1


@pytest.mark.parametrize('in_size, out_size, stride', [
    ((512, 512), (128, 128), 4),
    ((384, 384), (96, 96), 4),
    ((161, 161), (41, 41), 4),
    ((465, 465), (59, 59), 8),
    ((161, 161), (21, 21), 8),
    ((40, 56), (10, 14), 4),
    ((5, 7), (1, 1), 7),
])
def test_infer_feature_stride(in_size, out_size, stride):
    assert infer_feature_stride(in_size, out_size) == stride
    mask = torch.ones((1, ) + in_size)
    assert cell_centre_mask(mask, out_size).shape == (1, ) + out_size


def test_errors_name_the_problem():
    mask = torch.ones(2, 32, 32)
    with pytest.raises(ValueError, match='output stride 8 gives'):
        cell_centre_mask(mask, (3, 3), stride=8)
    # 32 -> 4 rows is stride 8, 32 -> 8 columns stride 4: no single stride.
    with pytest.raises(ValueError, match='no output stride'):
        cell_centre_mask(mask, (4, 8))
    with pytest.raises(ValueError, match='no output stride'):
        cell_centre_mask(mask, (33, 33))
    with pytest.raises(ValueError, match='stride must be a positive int'):
        cell_centre_mask(mask, (4, 4), stride=0)
    with pytest.raises(ValueError, match='stride must be a positive int'):
        cell_centre_mask(mask, (4, 4), stride=8.0)
    with pytest.raises(ValueError, match=r'mask must be \(N, H, W\)'):
        cell_centre_mask(mask[0], (4, 4), stride=8)
    with pytest.raises(ValueError, match='out_size'):
        infer_feature_stride((32, 32), (0, 4))
