# Copyright (c) mmscribble contributors. All rights reserved.
"""View transforms for URSS self-supervision, on images and on P.

URSS (Pan et al., ICCV 2021, Sec. 3.2) compares the transition matrix of
an image, transformed into the frame of a second view, with the transition
matrix of that view (Eq. 9). The transform of a transition matrix is written
in the paper as a product with two "computing matrices" (Eq. 10),

    T_phi(P) = T_phi^r . P . T_phi^c,

which costs O((HW)^3) per image when done literally. For the transforms used
here (horizontal flip and integer translation) both computing matrices are
(partial) permutation matrices, so the product is only an index shuffle of
``P``. This module does the shuffle with flips and slices in O((HW)^2) and
keeps the literal dense form (:func:`dense_view_matrix`,
:func:`transform_transition_dense`) for tests and benchmarks.

Conventions (shared by every function below):

* Positions are flattened in raster order, ``q = i * w + j`` for a
  ``(h, w)`` map, matching ``x.flatten(2)`` of an ``(N, C, h, w)`` tensor.
* A view ``phi`` maps a source position ``(i, j)`` of ``x`` to the position
  ``phi(i, j)`` it lands on in ``t_phi(x)``:

  - ``flip``: ``(i, j) -> (i, w - 1 - j)``;
  - ``translate`` by ``(dy, dx)`` cells: ``(i, j) -> (i + dy, j + dx)``,
    so a positive ``dy`` moves the content down and a positive ``dx``
    moves it right.

* The view matrix ``M`` (``HW x HW``) has ``M[phi(q), q] = 1`` and zeros
  elsewhere, so ``vec(t_phi(f)) = M vec(f)`` channel by channel, and
  Eq. 10 reads ``T_phi(P) = M P M^T`` (``T_phi^r = M``, ``T_phi^c = M^T``;
  for a flip ``M = M^T`` as in the authors' code).
* Out-of-frame positions of a translation: content translated out of the
  frame is dropped and the cells it vacates in the view hold no source
  position. A view position is *valid* when it holds a source position
  (:func:`view_valid_mask`); only those positions are compared by the
  eigenspace loss. ``M`` has an all-zero row for every invalid view
  position and an all-zero column for every dropped source position, so
  ``T_phi(P)`` has zero rows and columns there and its valid rows no
  longer sum to one. The loss therefore restricts both matrices to the
  valid block (:func:`overlap_block`) and renormalises their rows, which
  is what the authors' code does for its crop-based translation
  (a softmax over the cropped similarity logits).
"""
import operator
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

VIEW_KINDS = ('flip', 'translate')
SAMPLE_KINDS = ('flip', 'translate', 'random')


class ViewTransform(NamedTuple):
    """A view transform ``phi`` of URSS Sec. 3.2 on an ``(h, w)`` grid.

    Args:
        kind (str): ``'flip'`` (horizontal flip) or ``'translate'``.
        shift (tuple[int, int]): ``(dy, dx)`` translation in feature cells;
            a positive ``dy`` moves content down, a positive ``dx`` right.
            Must be ``(0, 0)`` for ``'flip'``. Default: ``(0, 0)``.
    """
    kind: str
    shift: Tuple[int, int] = (0, 0)


def _check_view(phi: ViewTransform) -> Tuple[str, int, int]:
    """Validate ``phi`` and return ``(kind, dy, dx)`` as Python ints."""
    if not isinstance(phi, tuple) or len(phi) != 2:
        raise TypeError('phi must be a ViewTransform(kind, shift), got '
                        f'{phi!r}')
    kind, shift = phi
    if kind not in VIEW_KINDS:
        raise ValueError(f'phi.kind must be one of {VIEW_KINDS}, got '
                         f'{kind!r}')
    try:
        dy, dx = (operator.index(s) for s in shift)
    except (TypeError, ValueError):
        raise ValueError('phi.shift must be a pair of ints (dy, dx), got '
                         f'{shift!r}') from None
    if kind == 'flip' and (dy, dx) != (0, 0):
        raise ValueError(f'phi.shift must be (0, 0) for a flip, got {shift}')
    return kind, dy, dx


def _check_size(h: int, w: int) -> None:
    if int(h) < 1 or int(w) < 1:
        raise ValueError(f'h and w must be positive, got h={h}, w={w}')


def _shift_slices(n: int, d: int) -> Tuple[slice, slice]:
    """Source and destination slices of a 1-D shift by ``d`` on ``n`` cells.

    ``dst[k] = src[k - d]``; both slices are empty when ``|d| >= n``.
    """
    d = max(-n, min(n, d))
    src = slice(max(-d, 0), n - max(d, 0))
    dst = slice(max(d, 0), n + min(d, 0))
    return src, dst


def _check_image(x: Tensor, stride: int) -> None:
    if not torch.is_tensor(x) or x.dim() < 2:
        raise ValueError('x must be a tensor of shape (..., H, W), got '
                         f'{getattr(x, "shape", type(x))}')
    if int(stride) < 1:
        raise ValueError(f'stride must be a positive int, got {stride}')


def apply_view(x: Tensor,
               phi: ViewTransform,
               stride: int = 1,
               fill: Union[int, float, bool] = 0) -> Tensor:
    """Apply the view transform ``t_phi`` to images or per-pixel maps.

    A flip reverses the last axis. A translation by ``(dy, dx)`` feature
    cells moves the content by ``(dy * stride, dx * stride)`` pixels, so
    that features of stride ``stride`` computed on the result are the
    input's features translated by ``(dy, dx)`` cells (away from the
    borders, for a translation-equivariant network); the vacated pixels
    are set to ``fill`` (use 0 for a normalised image, i.e. the mean
    colour, and for validity masks).

    A flipped image maps exactly onto flipped features only when the image
    width is ``stride * (w - 1) + 1`` (e.g. 465 -> 59 at stride 8, the
    paper's crop); other sizes are off by a fraction of a cell.

    Args:
        x (Tensor): images or maps of shape ``(..., H, W)``, typically
            ``(N, C, H, W)``.
        phi (ViewTransform): the view.
        stride (int): pixels per feature cell of the translation.
            Default: 1 (``x`` is a feature map).
        fill (int | float | bool): value of pixels with no source.
            Default: 0.

    Returns:
        Tensor: ``t_phi(x)`` with the shape and dtype of ``x``.
    """
    _check_image(x, stride)
    kind, dy, dx = _check_view(phi)
    if kind == 'flip':
        return x.flip(-1)
    h, w = x.shape[-2:]
    ys, yd = _shift_slices(h, dy * stride)
    xs, xd = _shift_slices(w, dx * stride)
    out = torch.full_like(x, fill)
    out[..., yd, xd] = x[..., ys, xs]
    return out


def crop_view(x: Tensor, phi: ViewTransform, stride: int = 1) -> Tensor:
    """The part of ``x`` that a translation keeps in frame, as a crop.

    The authors of URSS make their translated view by cropping the image
    (rows ``0:385`` or ``80:465`` of a 465 crop) instead of shifting it
    inside a frame of the same size and filling the vacated band. For a
    translation by ``(dy, dx)`` cells this returns the pixels of ``x`` whose
    features stay in the frame: ``|dy| * stride`` rows are removed at the
    bottom for ``dy > 0`` (the content moves down and leaves through the
    bottom) or at the top for ``dy < 0``, and likewise ``|dx| * stride``
    columns. Its features (stride ``stride``) are the source cells that
    :func:`overlap_block` keeps, in the same raster order, because the crop
    starts at a multiple of the stride: no position of the view is
    invented, so no fill value enters the network.

    Args:
        x (Tensor): images or maps of shape ``(..., H, W)``.
        phi (ViewTransform): a translation.
        stride (int): pixels per feature cell. Default: 1.

    Returns:
        Tensor: ``(..., H - |dy| * stride, W - |dx| * stride)``, a view of
        ``x`` (no copy).

    Raises:
        ValueError: ``phi`` is a flip (a flip keeps the whole frame), or
            nothing of ``x`` stays in frame.
    """
    _check_image(x, stride)
    kind, dy, dx = _check_view(phi)
    if kind != 'translate':
        raise ValueError(f'crop_view needs a translation, got {phi!r}')
    h, w = x.shape[-2:]
    ys, _ = _shift_slices(h, dy * stride)
    xs, _ = _shift_slices(w, dx * stride)
    out = x[..., ys, xs]
    if out.shape[-2] == 0 or out.shape[-1] == 0:
        raise ValueError(f'{phi!r} at stride {stride} leaves nothing of a '
                         f'{h}x{w} input in frame')
    return out


def overlap_size(h: int, w: int, phi: ViewTransform) -> Tuple[int, int]:
    """``(rows, cols)`` of the positions a view shares with its source."""
    _check_size(h, w)
    kind, dy, dx = _check_view(phi)
    if kind == 'flip':
        return h, w
    ys, _ = _shift_slices(h, dy)
    xs, _ = _shift_slices(w, dx)
    return len(range(h)[ys]), len(range(w)[xs])


def view_valid_mask(h: int,
                    w: int,
                    phi: ViewTransform,
                    device: Optional[torch.device] = None) -> Tensor:
    """Positions of the view that hold a source position.

    Args:
        h (int): feature map height.
        w (int): feature map width.
        phi (ViewTransform): the view.
        device (torch.device, optional): device of the result.

    Returns:
        Tensor: bool mask of shape ``(h, w)`` in the view frame; all True
        for a flip, the translated frame for a translation.
    """
    _check_size(h, w)
    kind, dy, dx = _check_view(phi)
    mask = torch.zeros(h, w, dtype=torch.bool, device=device)
    if kind == 'flip':
        return mask.fill_(True)
    _, yd = _shift_slices(h, dy)
    _, xd = _shift_slices(w, dx)
    mask[yd, xd] = True
    return mask


def _check_transition(trans: Tensor, h: int, w: int, name: str) -> None:
    _check_size(h, w)
    hw = h * w
    if (not torch.is_tensor(trans) or trans.dim() != 3
            or trans.shape[1:] != (hw, hw)):
        raise ValueError(f'{name} must have shape (N, h*w, h*w) = '
                         f'(N, {hw}, {hw}) for h={h}, w={w}, got '
                         f'{tuple(getattr(trans, "shape", ()))}')


def transform_transition(trans: Tensor, h: int, w: int,
                         phi: ViewTransform) -> Tensor:
    """``T_phi(P)`` of URSS Eq. 10 by index operations.

    Equals ``M P M^T`` (:func:`transform_transition_dense`) exactly, in
    O((hw)^2) memory and time instead of O((hw)^3) time:
    ``T_phi(P)[phi(q), phi(r)] = P[q, r]``, and rows / columns of view
    positions with no source are zero (see the module docstring).

    Works on probabilities or on similarity logits alike, since it only
    moves entries.

    Args:
        trans (Tensor): transition matrices of shape ``(N, h*w, h*w)``
            in the source frame.
        h (int): feature map height.
        w (int): feature map width.
        phi (ViewTransform): the view.

    Returns:
        Tensor: ``(N, h*w, h*w)`` matrices in the view frame.
    """
    _check_transition(trans, h, w, 'trans')
    kind, dy, dx = _check_view(phi)
    n = trans.shape[0]
    p5 = trans.reshape(n, h, w, h, w)
    if kind == 'flip':
        # M = M^T is the width reversal: reverse both width axes.
        return p5.flip(2, 4).reshape(n, h * w, h * w)
    ys, yd = _shift_slices(h, dy)
    xs, xd = _shift_slices(w, dx)
    out = trans.new_zeros(n, h, w, h, w)
    out[:, yd, xd, yd, xd] = p5[:, ys, xs, ys, xs]
    return out.reshape(n, h * w, h * w)


def overlap_block(trans: Tensor,
                  h: int,
                  w: int,
                  phi: ViewTransform,
                  frame: str = 'source') -> Tensor:
    """Block of a transition matrix on the positions both frames share.

    With ``V`` the valid view positions (:func:`view_valid_mask`, raster
    order, ``m = |V|``):

    * ``frame='source'``: ``trans`` is ``P(x)``; returns
      ``T_phi(P(x))[V][:, V]``, i.e. the non-zero block of Eq. 10.
    * ``frame='view'``: ``trans`` is ``P(t_phi(x))``; returns
      ``P(t_phi(x))[V][:, V]``.

    Row ``k`` of both results refers to the same view position, so they
    can be compared entry by entry. No ``(hw, hw)`` intermediate is built
    for a translation.

    Args:
        trans (Tensor): transition matrices (or logits) of shape
            ``(N, h*w, h*w)``.
        h (int): feature map height.
        w (int): feature map width.
        phi (ViewTransform): the view.
        frame (str): ``'source'`` or ``'view'``, see above.

    Returns:
        Tensor: ``(N, m, m)`` block; ``m = h*w`` for a flip.
    """
    _check_transition(trans, h, w, 'trans')
    if frame not in ('source', 'view'):
        raise ValueError(f"frame must be 'source' or 'view', got {frame!r}")
    kind, dy, dx = _check_view(phi)
    n = trans.shape[0]
    if kind == 'flip':
        if frame == 'view':
            return trans
        return transform_transition(trans, h, w, phi)
    ys, yd = _shift_slices(h, dy)
    xs, xd = _shift_slices(w, dx)
    if frame == 'view':
        ys, xs = yd, xd
    block = trans.reshape(n, h, w, h, w)[:, ys, xs, ys, xs]
    m = block.shape[1] * block.shape[2]
    return block.reshape(n, m, m)


def dense_view_matrix(h: int,
                      w: int,
                      phi: ViewTransform,
                      dtype: torch.dtype = torch.float32,
                      device: Optional[torch.device] = None) -> Tensor:
    """Dense view matrix ``M`` with ``M[phi(q), q] = 1`` (reference only).

    ``M`` is the paper's row computing matrix ``T_phi^r`` of Eq. 10 and
    ``M^T`` its column one. It maps a flattened ``(h, w)`` map to its view:
    ``apply_view(f, phi).flatten(-2) == f.flatten(-2) @ M.T``.

    Args:
        h (int): feature map height.
        w (int): feature map width.
        phi (ViewTransform): the view.
        dtype (torch.dtype): dtype of the result. Default: float32.
        device (torch.device, optional): device of the result.

    Returns:
        Tensor: ``(h*w, h*w)`` 0/1 matrix; rows of invalid view positions
        and columns of dropped source positions are zero.
    """
    _check_size(h, w)
    _check_view(phi)
    src = torch.arange(h * w, device=device).reshape(h, w)
    # -1 marks view cells with no source; their rows stay zero.
    dst_src = apply_view(src, phi, fill=-1).flatten()
    rows = torch.nonzero(dst_src >= 0).flatten()
    mat = torch.zeros(h * w, h * w, dtype=dtype, device=device)
    mat[rows, dst_src[rows]] = 1
    return mat


def transform_transition_dense(trans: Tensor, h: int, w: int,
                               phi: ViewTransform) -> Tensor:
    """``T_phi(P) = T_phi^r P T_phi^c`` of Eq. 10 with dense matrices.

    Reference for tests and benchmarks: two ``(hw)^3`` matrix products per
    image. Use :func:`transform_transition` in models.

    Args:
        trans (Tensor): ``(N, h*w, h*w)`` matrices in the source frame.
        h (int): feature map height.
        w (int): feature map width.
        phi (ViewTransform): the view.

    Returns:
        Tensor: ``(N, h*w, h*w)`` matrices in the view frame.
    """
    _check_transition(trans, h, w, 'trans')
    mat = dense_view_matrix(h, w, phi, dtype=trans.dtype, device=trans.device)
    return mat @ trans @ mat.t()


def sample_view(kind: str,
                h: int,
                w: int,
                max_shift: Union[int, Sequence[int]],
                generator: Optional[torch.Generator] = None) -> ViewTransform:
    """Draw a view transform for one self-supervised step.

    Args:
        kind (str): ``'flip'``, ``'translate'`` or ``'random'`` (flip or
            translate with probability 1/2 each; the paper's best setting,
            Tab. 2).
        h (int): feature map height.
        w (int): feature map width.
        max_shift (int | Sequence[int]): largest ``|dy|`` and ``|dx|`` in
            feature cells, one int for both or ``(max_dy, max_dx)``. Each
            is clipped to ``h - 1`` / ``w - 1`` so that the views overlap.
            ``(dy, dx)`` is uniform over the non-zero shifts in range.
            The authors' code shifts by 80 pixels vertically, i.e. 10 cells
            at stride 8.
        generator (torch.Generator, optional): source of randomness (CPU).

    Returns:
        ViewTransform: the sampled view.
    """
    if kind not in SAMPLE_KINDS:
        raise ValueError(f'kind must be one of {SAMPLE_KINDS}, got {kind!r}')
    _check_size(h, w)
    if kind == 'random':
        pick = torch.randint(2, (1, ), generator=generator).item()
        kind = VIEW_KINDS[pick]
    if kind == 'flip':
        return ViewTransform('flip')
    if isinstance(max_shift, int):
        max_shift = (max_shift, max_shift)
    if len(max_shift) != 2 or any(int(s) < 0 for s in max_shift):
        raise ValueError('max_shift must be a non-negative int or a pair '
                         f'(max_dy, max_dx), got {max_shift!r}')
    my = min(int(max_shift[0]), h - 1)
    mx = min(int(max_shift[1]), w - 1)
    num = (2 * my + 1) * (2 * mx + 1) - 1
    if num == 0:
        raise ValueError(
            f'max_shift={tuple(max_shift)} allows no non-zero translation '
            f'on a {h}x{w} map')
    # Index into the non-zero shifts: skip the centre (0, 0) of the grid.
    idx = torch.randint(num, (1, ), generator=generator).item()
    if idx >= num // 2:
        idx += 1
    dy, dx = divmod(idx, 2 * mx + 1)
    return ViewTransform('translate', (dy - my, dx - mx))
