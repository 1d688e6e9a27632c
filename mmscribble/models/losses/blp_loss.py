"""Losses of BLPSeg: annotation probability (WCE) and BLP loss.

Wang et al., "BLPSeg: Balance the Label Preference in Scribble-Supervised
Semantic Segmentation", TIP 2023: Eq. 1-2 (scribble head, Sec. III-A) and
Eq. 9-11 (segmentation head, Sec. III-C). The partial focal loss is the
"FL" row of Table II: the BLP loss with ``p_scrib = 1``.

Differences between the paper and the authors' code
(``YudeWang/BLPSeg``), each selectable here:

* BLP normalisation. Eq. 9-10 divide by the number of labeled pixels of the
  image (``normalize='labeled'``, default); ``lib/net/loss.py`` (lines
  21-22) divides each image by the sum of its modulating weights
  (``normalize='weights'``). Both average the per-image losses over the
  batch.
* WCE normalisation. Eq. 1 divides by the number of pixels
  (``normalize='pixels'``); the code uses ``nn.CrossEntropyLoss(weight=w)``
  (``lib/net/blpseg.py``, line 47), i.e. divides by the summed class
  weights of the counted pixels (``normalize='weights'``, default, also
  the convention of ``F.cross_entropy`` and of
  :func:`partial_cross_entropy`).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .partial_cross_entropy_loss import check_labels

_REDUCTIONS = ('mean', 'sum', 'none')


def _check_logits_label(name: str, logits: Tensor, label: Tensor) -> None:
    if not isinstance(logits, Tensor) or logits.dim() != 4:
        raise ValueError(f'{name} must be (N, C, H, W), got shape '
                         f'{tuple(getattr(logits, "shape", ()))}')
    if not isinstance(label, Tensor) or label.dim() != 3 or \
            label.shape[0] != logits.shape[0] or \
            label.shape[1:] != logits.shape[2:]:
        raise ValueError(
            f'label must be (N, H, W) matching {name} {tuple(logits.shape)}, '
            f'got {tuple(getattr(label, "shape", ()))}')
    if label.is_floating_point():
        raise TypeError(f'label must hold integer class ids, got '
                        f'{label.dtype}')


def _check_pixel_map(name: str, t: Optional[Tensor], label: Tensor) -> None:
    if t is not None and (not isinstance(t, Tensor) or t.shape != label.shape):
        raise ValueError(f'{name} must be (N, H, W) = '
                         f'{tuple(label.shape)}, got '
                         f'{tuple(getattr(t, "shape", ()))}')


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, got '
                         f'{value!r}')


def _safe_div(num: Tensor, den: Tensor) -> Tensor:
    # 0 / 0 -> 0 without a host sync and with the gradient path of num
    # kept: an image (or batch) with no labeled pixel contributes zero.
    return num / torch.where(den > 0, den, torch.ones_like(den))


def _modulated_nll(seg_logits: Tensor, label: Tensor,
                   scrib_logits: Optional[Tensor], gamma: float,
                   normalize: str, ignore_index: int, detach_factor: bool,
                   weight: Optional[Tensor]) -> Tensor:
    """Per-image ``-sum_n delta_n log p_seg_n / N_n`` (Eq. 9-11).

    ``delta = (1 - p_scrib * p_seg) ** gamma`` of the labeled class, with
    ``p_scrib = 1`` when ``scrib_logits`` is None (focal loss).

    Returns:
        Tensor: ``(N, )`` per-image losses.
    """
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or \
            gamma < 0:
        raise ValueError(f'gamma must be a number >= 0, got {gamma!r}')
    num_classes = seg_logits.shape[1]
    label = label.long()
    check_labels(label, num_classes, ignore_index)
    labeled = label != ignore_index
    target = torch.where(labeled, label, torch.zeros_like(label))[:, None]

    log_p = F.log_softmax(seg_logits, dim=1).gather(1, target)[:, 0]
    p_seg = log_p.exp()
    if detach_factor:
        p_seg = p_seg.detach()
    if scrib_logits is None:
        factor = (1 - p_seg).clamp(min=0)**gamma
    else:
        # The scribble head is trained by Eq. 1-2 only: p_scrib is always
        # detached, as in lib/net/blpseg.py, line 116
        # (self.BLPLoss(seg_pred, scrib_pred.detach(), ...)).
        p_scrib = F.softmax(scrib_logits.detach(), dim=1)[:, :num_classes]
        p_scrib = p_scrib.gather(1, target)[:, 0]
        factor = (1 - p_scrib * p_seg).clamp(min=0)**gamma
    w = factor * labeled.to(factor.dtype)
    if weight is not None:
        w = w * weight
    num = -(w * log_p).sum((1, 2))
    if normalize == 'labeled':
        den = labeled.sum((1, 2)).to(num.dtype)
    else:
        # Same (detached or not) weights as the numerator: a constant with
        # the default detach_factor, as w in lib/net/loss.py, line 21.
        den = w.sum((1, 2))
    return _safe_div(num, den)


def _reduce_images(per_image: Tensor, reduction: str,
                   avg_factor: Optional[float]) -> Tensor:
    _check_choice('reduction', reduction, _REDUCTIONS)
    if reduction == 'none':
        return per_image
    if reduction == 'sum':
        return per_image.sum()
    if avg_factor is None:
        return per_image.mean()
    return per_image.sum() / avg_factor


def blp_loss(seg_logits: Tensor,
             scrib_logits: Tensor,
             label: Tensor,
             gamma: float = 2.0,
             normalize: str = 'labeled',
             ignore_index: int = 255,
             weight: Optional[Tensor] = None,
             reduction: str = 'mean',
             avg_factor: Optional[float] = None,
             detach_factor: bool = True) -> Tensor:
    r"""BLP loss (Eq. 9-11).

    For image :math:`b` with labeled pixels :math:`\Omega_b` and class
    :math:`y_n`:

    .. math::
        BL_b = -\frac{1}{Z_b} \sum_{n \in \Omega_b}
        (1 - p^{scrib}_{y_n,n} p^{seg}_{y_n,n})^\gamma \log p^{seg}_{y_n,n}

    with :math:`p^{seg} = softmax_K(Z)` (Eq. 10), :math:`p^{scrib}` the
    first K probabilities of the ``K + 1``-way softmax of the scribble head
    (the "not scribbled" probability is unused), and :math:`Z_b =
    |\Omega_b|` (``normalize='labeled'``, Eq. 10) or the sum of the
    modulating factors (``'weights'``, the authors' code). Image losses are
    averaged over the batch; an image without labeled pixel counts 0.

    Gradient: as in the authors' ``lib/net/loss.py`` (line 18, ``w = ...
    * ((1 - prob2[:, :-1] * prob1) ** gamma).detach()``) the modulating
    factor is a constant weight (``detach_factor=True``); ``p_scrib`` is
    always detached (``lib/net/blpseg.py``, line 116), so this loss never
    trains the scribble head. With ``p_scrib -> 1`` it equals
    :func:`partial_focal_loss` and with ``gamma = 0`` the per-image partial
    cross-entropy.

    Args:
        seg_logits (Tensor): Segmentation logits ``Z`` (after the LAM),
            ``(N, K, H, W)``.
        scrib_logits (Tensor): Scribble-head logits, ``(N, K + 1, H, W)``,
            the last channel being the "not scribbled" class.
        label (Tensor): Class ids ``(N, H, W)``: scribbles, or pseudo-labels
            in the self-training phase; ``ignore_index`` = unlabeled.
        gamma (float): Focusing parameter (Eq. 11). Default: 2.0.
        normalize (str): ``'labeled'`` or ``'weights'``. Default:
            ``'labeled'``.
        ignore_index (int): Unlabeled id. Default: 255.
        weight (Tensor, optional): Per-pixel weight ``(N, H, W)``,
            multiplied into the modulating factor.
        reduction (str): ``'mean'`` (over images), ``'sum'`` or ``'none'``
            (the ``(N, )`` per-image losses). Default: ``'mean'``.
        avg_factor (float, optional): Divides the summed image losses
            instead of N for ``'mean'``.
        detach_factor (bool): Treat the modulating factor as a constant
            weight. Default: True (authors' code).

    Returns:
        Tensor: The loss; a zero with a gradient path when nothing is
        labeled.
    """
    _check_logits_label('seg_logits', seg_logits, label)
    _check_choice('normalize', normalize, ('labeled', 'weights'))
    n, k, h, w = seg_logits.shape
    if not isinstance(scrib_logits, Tensor) or \
            tuple(scrib_logits.shape) != (n, k + 1, h, w):
        raise ValueError(
            f'scrib_logits must be (N, K + 1, H, W) = {(n, k + 1, h, w)} for '
            f'seg_logits {tuple(seg_logits.shape)}, got '
            f'{tuple(getattr(scrib_logits, "shape", ()))}')
    _check_pixel_map('weight', weight, label)
    per_image = _modulated_nll(seg_logits, label, scrib_logits, gamma,
                               normalize, ignore_index, detach_factor, weight)
    return _reduce_images(per_image, reduction, avg_factor)


def partial_focal_loss(seg_logits: Tensor,
                       label: Tensor,
                       gamma: float = 2.0,
                       normalize: str = 'labeled',
                       ignore_index: int = 255,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None,
                       detach_factor: bool = False) -> Tensor:
    r"""Focal loss on labeled pixels ("FL" of Table II, Lin et al. 2017).

    .. math::
        FL_b = -\frac{1}{Z_b} \sum_{n \in \Omega_b}
        (1 - p^{seg}_{y_n,n})^\gamma \log p^{seg}_{y_n,n}

    i.e. :func:`blp_loss` with ``p_scrib = 1``; same normalisation and
    reductions. ``detach_factor`` defaults to False, the gradient of the
    original focal loss; True matches :func:`blp_loss`'s default gradient.

    Args:
        seg_logits (Tensor): Logits ``(N, K, H, W)``.
        label (Tensor): Class ids ``(N, H, W)``; ``ignore_index`` =
            unlabeled.
        gamma (float): Focusing parameter. Default: 2.0.
        normalize (str): ``'labeled'`` or ``'weights'``. Default:
            ``'labeled'``.
        ignore_index (int): Unlabeled id. Default: 255.
        weight (Tensor, optional): Per-pixel weight ``(N, H, W)``.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (``(N, )``).
        avg_factor (float, optional): Replaces N for ``'mean'``.
        detach_factor (bool): Constant modulating factor. Default: False.

    Returns:
        Tensor: The loss.
    """
    _check_logits_label('seg_logits', seg_logits, label)
    _check_choice('normalize', normalize, ('labeled', 'weights'))
    _check_pixel_map('weight', weight, label)
    per_image = _modulated_nll(seg_logits, label, None, gamma, normalize,
                               ignore_index, detach_factor, weight)
    return _reduce_images(per_image, reduction, avg_factor)


def annotation_probability_loss(scrib_logits: Tensor,
                                label: Tensor,
                                valid_mask: Optional[Tensor] = None,
                                unlabeled_weight: float = 0.02,
                                class_weight: Optional[Sequence[float]] = None,
                                normalize: str = 'weights',
                                ignore_index: int = 255,
                                weight: Optional[Tensor] = None,
                                reduction: str = 'mean',
                                avg_factor: Optional[float] = None) -> Tensor:
    r"""Weighted CE of the scribble (annotation probability) head (Eq. 1-2).

    The head predicts ``K + 1`` classes: the ``K`` scribble classes and
    "not scribbled" (index ``K``). Targets (Eq. 2): the scribble class on
    labeled pixels, ``K`` on unlabeled pixels of the image; padding
    (``valid_mask == 0``) is excluded, which ``label`` alone cannot tell
    since both unlabeled and padding are ``ignore_index``. Then

    .. math::
        WCE = -\frac{1}{Z} \sum_{n} w_{t_n} \log p^{scrib}_{t_n,n}

    over the counted pixels of the batch, :math:`w = (1, ..., 1,
    w_\emptyset)` and :math:`Z` the number of counted pixels
    (``normalize='pixels'``, Eq. 1) or :math:`\sum_n w_{t_n}`
    (``'weights'``, the authors' ``nn.CrossEntropyLoss(weight=w)``).

    Args:
        scrib_logits (Tensor): ``(N, K + 1, H, W)``.
        label (Tensor): Scribble class ids ``(N, H, W)`` in ``[0, K)``;
            ``ignore_index`` = unlabeled or padding.
        valid_mask (Tensor, optional): ``(N, H, W)``, nonzero on real image
            pixels (``gt_valid_mask``). None counts every pixel.
        unlabeled_weight (float): ``w_{K+1}`` of the "not scribbled" class.
            Default: 0.02 (paper, Sec. IV-B).
        class_weight (list[float], optional): All ``K + 1`` weights; replaces
            the default ``(1, ..., 1, unlabeled_weight)``.
        normalize (str): ``'weights'`` or ``'pixels'``. Default:
            ``'weights'``.
        ignore_index (int): Id of unlabeled / padded pixels. Default: 255.
        weight (Tensor, optional): Per-pixel weight ``(N, H, W)``.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (the weighted
            per-pixel loss ``(N, H, W)``, zero where not counted).
        avg_factor (float, optional): Replaces ``Z`` for ``'mean'``.

    Returns:
        Tensor: The loss; zero with a gradient path when no pixel counts.
    """
    _check_logits_label('scrib_logits', scrib_logits, label)
    _check_choice('normalize', normalize, ('weights', 'pixels'))
    _check_choice('reduction', reduction, _REDUCTIONS)
    _check_pixel_map('valid_mask', valid_mask, label)
    _check_pixel_map('weight', weight, label)
    num_scrib = scrib_logits.shape[1] - 1
    if num_scrib < 1:
        raise ValueError('scrib_logits needs K + 1 >= 2 channels (K classes '
                         'and "not scribbled"), got '
                         f'{scrib_logits.shape[1]}')
    if class_weight is None:
        cw = scrib_logits.new_ones(num_scrib + 1)
        cw[num_scrib] = unlabeled_weight
    else:
        if len(class_weight) != num_scrib + 1:
            raise ValueError(
                f'class_weight must have K + 1 = {num_scrib + 1} entries '
                f'(the last for "not scribbled"), got {len(class_weight)}')
        cw = scrib_logits.new_tensor(list(class_weight))
    label = label.long()
    check_labels(label, num_scrib, ignore_index)
    # Eq. 2: unlabeled pixels become the "not scribbled" class K.
    target = torch.where(label != ignore_index, label,
                         torch.full_like(label, num_scrib))
    counted = torch.ones_like(label, dtype=torch.bool) \
        if valid_mask is None else valid_mask != 0

    nll = -F.log_softmax(scrib_logits, dim=1).gather(1, target[:, None])[:, 0]
    w = cw[target] * counted.to(nll.dtype)
    if weight is not None:
        w = w * weight
    loss = w * nll
    if reduction == 'none':
        return loss
    total = loss.sum()
    if reduction == 'sum':
        return total
    if avg_factor is not None:
        return total / avg_factor
    den = w.sum() if normalize == 'weights' else counted.sum().to(total.dtype)
    return _safe_div(total, den)


class _BaseLoss(nn.Module):
    """Shared ``loss_weight`` / ``reduction`` / ``loss_name`` handling."""

    def __init__(self, reduction: str, loss_weight: float,
                 loss_name: str) -> None:
        super().__init__()
        _check_choice('reduction', reduction, _REDUCTIONS)
        if 'loss' not in loss_name:
            raise ValueError(f"loss_name must contain 'loss' so mmengine "
                             f'sums it, got {loss_name!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class BLPLoss(_BaseLoss):
    """BLP loss of BLPSeg (Eq. 9-11), module form of :func:`blp_loss`.

    ``forward`` follows mmseg's ``(pred, target, weight, avg_factor,
    reduction_override, ignore_index)`` order and takes the scribble-head
    logits as the keyword ``scrib_logits``, so a head can call every loss of
    the Table II ablation (``PartialCrossEntropyLoss``,
    :class:`PartialFocalLoss`, :class:`BLPLoss`) the same way: the others
    ignore it.

    Args:
        gamma (float): Focusing parameter. Default: 2.0.
        normalize (str): ``'labeled'`` (paper) or ``'weights'`` (authors'
            code). Default: ``'labeled'``.
        detach_factor (bool): Constant modulating factor. Default: True.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        loss_weight (float): Multiplier. Default: 1.0.
        loss_name (str): Key in the loss dict. Default: ``'loss_blp'``.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 normalize: str = 'labeled',
                 detach_factor: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_blp') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        _check_choice('normalize', normalize, ('labeled', 'weights'))
        self.gamma = gamma
        self.normalize = normalize
        self.detach_factor = detach_factor

    def forward(self,
                seg_logits: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                scrib_logits: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Computes the loss.

        Args:
            seg_logits (Tensor): ``(N, K, H, W)``.
            label (Tensor): ``(N, H, W)``.
            weight (Tensor, optional): Per-pixel weight ``(N, H, W)``.
            avg_factor (float, optional): Replaces N for ``'mean'``.
            reduction_override (str, optional): Overrides ``reduction``.
            ignore_index (int): Unlabeled id. Default: 255.
            scrib_logits (Tensor): Scribble-head logits ``(N, K + 1, H, W)``
                (required).

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        if scrib_logits is None:
            raise ValueError('BLPLoss needs the scribble-head logits: call '
                             'it with scrib_logits=(N, K + 1, H, W)')
        return self.loss_weight * blp_loss(
            seg_logits,
            scrib_logits,
            label,
            gamma=self.gamma,
            normalize=self.normalize,
            ignore_index=ignore_index,
            weight=weight,
            reduction=reduction_override or self.reduction,
            avg_factor=avg_factor,
            detach_factor=self.detach_factor)


@MODELS.register_module()
class PartialFocalLoss(_BaseLoss):
    """Focal loss on labeled pixels ("FL" of Table II).

    Module form of :func:`partial_focal_loss`: :class:`BLPLoss` with
    ``p_scrib = 1``. Accepts and ignores ``scrib_logits``.

    Args:
        gamma (float): Focusing parameter. Default: 2.0.
        normalize (str): ``'labeled'`` or ``'weights'``. Default:
            ``'labeled'``.
        detach_factor (bool): Constant modulating factor. Default: False
            (the original focal loss gradient).
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        loss_weight (float): Multiplier. Default: 1.0.
        loss_name (str): Key in the loss dict. Default: ``'loss_focal'``.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 normalize: str = 'labeled',
                 detach_factor: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        _check_choice('normalize', normalize, ('labeled', 'weights'))
        self.gamma = gamma
        self.normalize = normalize
        self.detach_factor = detach_factor

    def forward(self,
                seg_logits: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Computes the loss; see :meth:`BLPLoss.forward` for the args."""
        return self.loss_weight * partial_focal_loss(
            seg_logits,
            label,
            gamma=self.gamma,
            normalize=self.normalize,
            ignore_index=ignore_index,
            weight=weight,
            reduction=reduction_override or self.reduction,
            avg_factor=avg_factor,
            detach_factor=self.detach_factor)


@MODELS.register_module()
class AnnotationProbabilityLoss(_BaseLoss):
    """Weighted CE of BLPSeg's scribble head (Eq. 1-2).

    Module form of :func:`annotation_probability_loss`.

    Args:
        unlabeled_weight (float): Weight of the "not scribbled" class.
            Default: 0.02.
        class_weight (list[float], optional): All ``K + 1`` class weights;
            replaces ``unlabeled_weight``.
        normalize (str): ``'weights'`` (authors' code) or ``'pixels'``
            (Eq. 1). Default: ``'weights'``.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        loss_weight (float): Multiplier. Default: 1.0.
        loss_name (str): Key in the loss dict. Default: ``'loss_annot'``.
    """

    def __init__(self,
                 unlabeled_weight: float = 0.02,
                 class_weight: Optional[Sequence[float]] = None,
                 normalize: str = 'weights',
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_annot') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        _check_choice('normalize', normalize, ('weights', 'pixels'))
        self.unlabeled_weight = unlabeled_weight
        self.class_weight = class_weight
        self.normalize = normalize

    def forward(self,
                scrib_logits: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                valid_mask: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Computes the loss.

        Args:
            scrib_logits (Tensor): ``(N, K + 1, H, W)``.
            label (Tensor): Scribbles ``(N, H, W)``.
            weight (Tensor, optional): Per-pixel weight ``(N, H, W)``.
            avg_factor (float, optional): Replaces the normaliser.
            reduction_override (str, optional): Overrides ``reduction``.
            ignore_index (int): Unlabeled / padding id. Default: 255.
            valid_mask (Tensor, optional): ``(N, H, W)``, nonzero on real
                pixels; padding is excluded. None counts every pixel.

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        return self.loss_weight * annotation_probability_loss(
            scrib_logits,
            label,
            valid_mask=valid_mask,
            unlabeled_weight=self.unlabeled_weight,
            class_weight=self.class_weight,
            normalize=self.normalize,
            ignore_index=ignore_index,
            weight=weight,
            reduction=reduction_override or self.reduction,
            avg_factor=avg_factor)
