"""Per-pixel masks read at feature resolution."""
from typing import Optional, Sequence, Tuple

from torch import Tensor


def _cells(size: int, stride: int) -> int:
    """Cells a stride-``stride`` backbone gives for ``size`` pixels."""
    return (size - 1) // stride + 1


def infer_feature_stride(in_size: Sequence[int],
                         out_size: Sequence[int]) -> int:
    """The smallest output stride that turns ``in_size`` into ``out_size``.

    A stride ``s`` gives ``(H - 1) // s + 1`` cells (see
    :func:`cell_centre_mask`); the strides that give ``h`` cells form the
    interval ``(H - 1) / h < s <= (H - 1) / (h - 1)``, whose smallest
    integer is ``ceil(H / h)``. The interval holds a single integer as soon
    as ``h * (h - 1) > H - 1`` (e.g. 128 cells of 512 pixels, 41 of 161),
    so for feature maps of any useful size the stride is the backbone's.

    Args:
        in_size (Sequence[int]): ``(H, W)`` in pixels.
        out_size (Sequence[int]): ``(h, w)`` in feature cells.

    Returns:
        int: the stride, the same along both axes.

    Raises:
        ValueError: no stride gives ``out_size`` along both axes.
    """
    (big_h, big_w), (h, w) = in_size, out_size
    if min(h, w) < 1:
        raise ValueError(f'out_size must be positive, got {tuple(out_size)}')
    stride = max(-(-big_h // h), -(-big_w // w))
    if (_cells(big_h, stride), _cells(big_w, stride)) != (h, w):
        raise ValueError(
            f'no output stride s turns {tuple(in_size)} pixels into '
            f'{tuple(out_size)} feature cells ((H - 1) // s + 1 cells per '
            'axis); pass the stride of the backbone')
    return stride


def cell_centre_mask(mask: Tensor,
                     size: Sequence[int],
                     stride: Optional[int] = None) -> Tensor:
    """Read an ``(N, H, W)`` per-pixel mask at the centres of feature cells.

    The stride-2 stages of the backbones used here (ResNet's 7x7 / 3x3
    stem convolutions and max-pool, MobileNetV2's 3x3 convolutions, MiT's
    7x7 patch embedding) are "same"-padded (padding ``(k - 1) // 2``), so
    output ``j`` is centred on input ``2 j`` and ``H`` inputs give
    ``(H - 1) // 2 + 1`` outputs. Composed, cell ``i`` of a stride-``s``
    map is centred on pixel ``s i`` and the map has ``(H - 1) // s + 1``
    cells, exactly the pixels ``s i < H``. So ``mask[:, ::s, ::s]`` is the
    mask at every cell's centre, for any ``H``. Nearest resizing reads
    pixel ``floor(i H / h)`` instead: the same when ``H = s h``, up to
    ``s - 1`` pixels before the centre otherwise (161 pixels, 41 cells:
    cell 40 reads pixel 157, not 160), which lets a cell whose centre is
    padding count as real when the image ends between the two.

    Args:
        mask (Tensor): ``(N, H, W)``, nonzero on the pixels to keep (e.g.
            ``gt_valid_mask``).
        size (Sequence[int]): ``(h, w)`` of the feature map.
        stride (int, optional): the backbone's output stride in pixels per
            cell. None infers it from the sizes
            (:func:`infer_feature_stride`). Default: None.

    Returns:
        Tensor: ``(N, h, w)`` bool.

    Raises:
        ValueError: ``mask`` is not 3-D, or ``size`` is not what ``stride``
            gives for ``(H, W)`` pixels (the feature map does not come
            from a backbone of that output stride).
    """
    if not isinstance(mask, Tensor) or mask.dim() != 3:
        raise ValueError('mask must be (N, H, W), got shape '
                         f'{tuple(getattr(mask, "shape", ()))}')
    in_size: Tuple[int, int] = tuple(mask.shape[-2:])
    size = tuple(int(s) for s in size)
    if stride is None:
        stride = infer_feature_stride(in_size, size)
    elif isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f'stride must be a positive int, got {stride!r}')
    expected = (_cells(in_size[0], stride), _cells(in_size[1], stride))
    if expected != size:
        raise ValueError(
            f'a backbone of output stride {stride} gives {expected} cells '
            f'for {in_size} pixels, not the {size} of the features; the '
            'stride must be the output stride of the backbone')
    return mask[:, ::stride, ::stride] != 0
