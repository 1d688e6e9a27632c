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
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.validation import check_choice, check_non_negative_number
from . import utils
from .utils import (BaseScribbleLoss, ClassWeight, as_pixel_map,
                    check_logits_label, class_weight_tensor, reduce_loss,
                    safe_div)

BLP_NORMALIZE = ('labeled', 'weights')
WCE_NORMALIZE = ('weights', 'pixels')


def _modulated_nll(seg_logits: Tensor, label: Tensor,
                   scrib_logits: Optional[Tensor], gamma: float,
                   normalize: str, ignore_index: int, detach_factor: bool,
                   weight: Optional[Tensor]) -> Tensor:
    """Per-image ``-sum_n delta_n log p_seg_n / Z_n`` (Eq. 9-11).

    ``delta = (1 - p_scrib * p_seg) ** gamma`` of the labeled class, with
    ``p_scrib = 1`` when ``scrib_logits`` is None (focal loss).

    Returns:
        Tensor: ``(N, )`` per-image losses.
    """
    num_classes = seg_logits.shape[1]
    labeled = label != ignore_index
    # Unlabeled pixels gather class 0 and are then weighted by zero: a
    # where, not an indexing by the mask, which would sync with the host.
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
    # An image without labeled pixel counts 0 in the batch mean.
    return safe_div(num, den)


def blp_modulating_factor(seg_prob: Tensor,
                          scrib_prob: Tensor,
                          label: Tensor,
                          gamma: float,
                          ignore_index: int = 255) -> Tensor:
    """BLP modulating factor per pixel (Eq. 11) of one image, for
    pictures of the loss (the loss computes it batched, in log space).

    ``delta_n = (1 - p^scrib_{y_n,n} p^seg_{y_n,n}) ** gamma``; pixels
    without a target (``ignore_index``) get 0.

    Args:
        seg_prob (Tensor): ``(K, H, W)`` segmentation probabilities.
        scrib_prob (Tensor): ``(K + 1, H, W)`` scribble-head
            probabilities, the last channel "not scribbled".
        label (Tensor): ``(H, W)`` target class ids.
        gamma (float): Focusing parameter, ``>= 0``.
        ignore_index (int): Id of pixels without target. Default: 255.

    Returns:
        Tensor: ``(H, W)`` factor in ``[0, 1]``.
    """
    if seg_prob.dim() != 3:
        raise ValueError('seg_prob must be (K, H, W), got shape '
                         f'{tuple(seg_prob.shape)}')
    k, h, w = seg_prob.shape
    if tuple(scrib_prob.shape) != (k + 1, h, w):
        raise ValueError(f'scrib_prob must be (K + 1, H, W) = '
                         f'{(k + 1, h, w)}, got {tuple(scrib_prob.shape)}')
    if tuple(label.shape) != (h, w):
        raise ValueError(f'label must be (H, W) = {(h, w)}, got '
                         f'{tuple(label.shape)}')
    if gamma < 0:
        raise ValueError(f'gamma must be >= 0, got {gamma}')
    label = label.long()
    has_target = label != ignore_index
    if (label[has_target] >= k).any() or (label[has_target] < 0).any():
        raise ValueError(f'label holds ids outside 0..{k - 1} and '
                         f'{ignore_index}')
    idx = torch.where(has_target, label, torch.zeros_like(label))[None]
    p_seg = seg_prob.gather(0, idx)[0]
    p_scrib = scrib_prob[:k].gather(0, idx)[0]
    delta = (1 - p_scrib * p_seg).clamp(min=0)**gamma
    return torch.where(has_target, delta, torch.zeros_like(delta))


def blp_loss(seg_logits: Tensor,
             scrib_logits: Optional[Tensor] = None,
             label: Optional[Tensor] = None,
             gamma: float = 2.0,
             normalize: str = 'labeled',
             ignore_index: int = 255,
             weight: Optional[Tensor] = None,
             reduction: str = 'mean',
             avg_factor: Optional[float] = None,
             detach_factor: bool = True,
             check_labels: bool = True) -> Tensor:
    r"""BLP loss (Eq. 9-11); the partial focal loss without scribble head.

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

    ``scrib_logits=None`` sets :math:`p^{scrib} = 1`: the focal loss on
    labeled pixels ("FL" of Table II, :func:`partial_focal_loss`). With
    ``gamma = 0`` it is the per-image partial cross-entropy.

    Gradient: as in the authors' ``lib/net/loss.py`` (line 18, ``w = ...
    * ((1 - prob2[:, :-1] * prob1) ** gamma).detach()``) the modulating
    factor is a constant weight (``detach_factor=True``); ``p_scrib`` is
    always detached (``lib/net/blpseg.py``, line 116), so this loss never
    trains the scribble head.

    Args:
        seg_logits (Tensor): Segmentation logits ``Z`` (after the LAM),
            ``(N, K, H, W)``.
        scrib_logits (Tensor, optional): Scribble-head logits,
            ``(N, K + 1, H, W)``, the last channel being the "not
            scribbled" class. None: ``p_scrib = 1`` (focal loss).
        label (Tensor): Integer class ids ``(N, H, W)``: scribbles, or
            pseudo-labels in the self-training phase; ``ignore_index`` =
            unlabeled. Required (it defaults to None only because it
            follows ``scrib_logits``).
        gamma (float): Focusing parameter (Eq. 11). Default: 2.0.
        normalize (str): ``'labeled'`` or ``'weights'``. Default:
            ``'labeled'``.
        ignore_index (int): Unlabeled id. Default: 255.
        weight (Tensor, optional): Per-pixel weight ``(N, H, W)``,
            multiplied into the modulating factor.
        reduction (str): ``'mean'`` (over images), ``'sum'`` or ``'none'``
            (the ``(N, )`` per-image losses). Default: ``'mean'``.
        avg_factor (float, optional): Divides the summed image losses
            instead of N for ``'mean'`` (exactly; a zero ``avg_factor``
            gives the sum, where this loss gave ``inf`` before the shared
            reducer of :mod:`.utils`).
        detach_factor (bool): Treat the modulating factor as a constant
            weight. Default: True (authors' code).
        check_labels (bool): Raise a ``ValueError`` for class ids outside
            ``[0, K)``; costs a host sync. Default: True.

    Returns:
        Tensor: The loss; a zero with a gradient path when nothing is
        labeled.
    """
    if label is None:
        raise TypeError('blp_loss needs the label (N, H, W): call it as '
                        'blp_loss(seg_logits, scrib_logits, label)')
    check_logits_label(seg_logits, label, 'seg_logits', 'label')
    check_choice('normalize', normalize, BLP_NORMALIZE)
    check_non_negative_number('gamma', gamma)
    n, k, h, w = seg_logits.shape
    expect = (n, k + 1, h, w)
    if scrib_logits is not None and (not isinstance(scrib_logits, Tensor)
                                     or tuple(scrib_logits.shape) != expect):
        raise ValueError(
            f'scrib_logits must be (N, K + 1, H, W) = {expect} for '
            f'seg_logits {tuple(seg_logits.shape)}, got '
            f'{tuple(getattr(scrib_logits, "shape", ()))}')
    weight = as_pixel_map(weight, 'weight', label.shape, 'the label')
    label = label.long()
    if check_labels:
        utils.check_labels(label, k, ignore_index)
    per_image = _modulated_nll(seg_logits, label, scrib_logits, gamma,
                               normalize, ignore_index, detach_factor, weight)
    return reduce_loss(per_image, reduction, avg_factor)


def partial_focal_loss(seg_logits: Tensor,
                       label: Tensor,
                       gamma: float = 2.0,
                       normalize: str = 'labeled',
                       ignore_index: int = 255,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None,
                       detach_factor: bool = False,
                       check_labels: bool = True) -> Tensor:
    r"""Focal loss on labeled pixels ("FL" of Table II, Lin et al. 2017).

    .. math::
        FL_b = -\frac{1}{Z_b} \sum_{n \in \Omega_b}
        (1 - p^{seg}_{y_n,n})^\gamma \log p^{seg}_{y_n,n}

    An alias of :func:`blp_loss` with ``scrib_logits=None`` (``p_scrib =
    1``); same normalisation and reductions. Only the default of
    ``detach_factor`` differs: False, the gradient of the original focal
    loss; True gives :func:`blp_loss`'s default gradient.

    Args:
        seg_logits (Tensor): Logits ``(N, K, H, W)``.
        label (Tensor): Integer class ids ``(N, H, W)``; ``ignore_index``
            = unlabeled.
        gamma (float): Focusing parameter. Default: 2.0.
        normalize (str): ``'labeled'`` or ``'weights'``. Default:
            ``'labeled'``.
        ignore_index (int): Unlabeled id. Default: 255.
        weight (Tensor, optional): Per-pixel weight ``(N, H, W)``.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (``(N, )``).
        avg_factor (float, optional): Replaces N for ``'mean'``.
        detach_factor (bool): Constant modulating factor. Default: False.
        check_labels (bool): Check the class ids (host sync). Default:
            True.

    Returns:
        Tensor: The loss.
    """
    return blp_loss(
        seg_logits,
        None,
        label,
        gamma=gamma,
        normalize=normalize,
        ignore_index=ignore_index,
        weight=weight,
        reduction=reduction,
        avg_factor=avg_factor,
        detach_factor=detach_factor,
        check_labels=check_labels)


def annotation_probability_loss(scrib_logits: Tensor,
                                label: Tensor,
                                valid_mask: Optional[Tensor] = None,
                                unlabeled_weight: float = 0.02,
                                class_weight: Optional[Union[Sequence[float],
                                                             Tensor]] = None,
                                normalize: str = 'weights',
                                ignore_index: int = 255,
                                weight: Optional[Tensor] = None,
                                reduction: str = 'mean',
                                avg_factor: Optional[float] = None,
                                check_labels: bool = True) -> Tensor:
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
        class_weight (list[float] | Tensor, optional): All ``K + 1``
            weights; replaces the default ``(1, ..., 1, unlabeled_weight)``.
        normalize (str): ``'weights'`` or ``'pixels'``. Default:
            ``'weights'``.
        ignore_index (int): Id of unlabeled / padded pixels. Default: 255.
        weight (Tensor, optional): Per-pixel weight ``(N, H, W)``.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'`` (the weighted
            per-pixel loss ``(N, H, W)``, zero where not counted).
        avg_factor (float, optional): Replaces ``Z`` for ``'mean'``
            (exactly; a zero ``avg_factor`` gives the sum, where this loss
            gave ``inf`` before the shared reducer of :mod:`.utils`).
        check_labels (bool): Raise a ``ValueError`` for class ids outside
            ``[0, K)``; costs a host sync. Default: True.

    Returns:
        Tensor: The loss; zero with a gradient path when no pixel counts.
    """
    check_logits_label(scrib_logits, label, 'scrib_logits', 'label')
    check_choice('normalize', normalize, WCE_NORMALIZE)
    valid_mask = as_pixel_map(valid_mask, 'valid_mask', label.shape,
                              'the label')
    weight = as_pixel_map(weight, 'weight', label.shape, 'the label')
    # float32 at least: a float16 sum over a VOC batch overflows 65504.
    scrib_logits = scrib_logits.to(
        torch.promote_types(scrib_logits.dtype, torch.float32))
    num_scrib = scrib_logits.shape[1] - 1
    if num_scrib < 1:
        raise ValueError('scrib_logits needs K + 1 >= 2 channels (K classes '
                         'and "not scribbled"), got '
                         f'{scrib_logits.shape[1]}')
    if class_weight is None:
        cw = torch.cat([
            scrib_logits.new_ones(num_scrib),
            scrib_logits.new_full((1, ), unlabeled_weight)
        ])
    else:
        cw = class_weight_tensor(class_weight, num_scrib + 1, scrib_logits,
                                 'class, the last for "not scribbled"')
    label = label.long()
    if check_labels:
        utils.check_labels(label, num_scrib, ignore_index)
    # Eq. 2: unlabeled pixels become the "not scribbled" class K.
    target = torch.where(label != ignore_index, label,
                         torch.full_like(label, num_scrib))
    nll = -F.log_softmax(scrib_logits, dim=1).gather(1, target[:, None])[:, 0]
    w = cw[target]
    counted = None if valid_mask is None else valid_mask != 0
    if counted is not None:
        w = w * counted.to(nll.dtype)
    if weight is not None:
        w = w * weight
    if normalize == 'weights':
        den = w.sum()
    elif counted is None:
        den = nll.numel()
    else:
        den = counted.sum()
    return reduce_loss(w * nll, reduction, avg_factor, denominator=den)


@MODELS.register_module()
class BLPLoss(BaseScribbleLoss):
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
        check_labels (bool): Re-check at every step that the class ids are
            in range. The label maps are validated when loaded
            (``LoadScribbleAnnotations``); True costs a host sync per call.
            Default: False.
    """

    #: Whether ``forward`` requires ``scrib_logits`` (False: ``p_scrib =
    #: 1``, the focal loss, which ignores them).
    needs_scrib_logits = True

    def __init__(self,
                 gamma: float = 2.0,
                 normalize: str = 'labeled',
                 detach_factor: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_blp',
                 check_labels: bool = False) -> None:
        super().__init__(reduction, loss_weight, loss_name)
        check_choice('normalize', normalize, BLP_NORMALIZE)
        check_non_negative_number('gamma', gamma)
        self.gamma = gamma
        self.normalize = normalize
        self.detach_factor = detach_factor
        self.check_labels = check_labels

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
                (required by :class:`BLPLoss`, ignored by
                :class:`PartialFocalLoss`).

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        if not self.needs_scrib_logits:
            scrib_logits = None
        elif scrib_logits is None:
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
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            detach_factor=self.detach_factor,
            check_labels=self.check_labels)


@MODELS.register_module()
class PartialFocalLoss(BLPLoss):
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
        check_labels (bool): Re-check the class ids at every step (host
            sync). Default: False.
    """

    needs_scrib_logits = False

    def __init__(self,
                 gamma: float = 2.0,
                 normalize: str = 'labeled',
                 detach_factor: bool = False,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal',
                 check_labels: bool = False) -> None:
        super().__init__(gamma, normalize, detach_factor, reduction,
                         loss_weight, loss_name, check_labels)


@MODELS.register_module()
class AnnotationProbabilityLoss(BaseScribbleLoss):
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
        check_labels (bool): Re-check at every step that the class ids are
            in range. The label maps are validated when loaded
            (``LoadScribbleAnnotations``); True costs a host sync per call.
            Default: False.
    """

    class_weight = ClassWeight()

    def __init__(self,
                 unlabeled_weight: float = 0.02,
                 class_weight: Optional[Sequence[float]] = None,
                 normalize: str = 'weights',
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_annot',
                 check_labels: bool = False) -> None:
        super().__init__(reduction, loss_weight, loss_name)
        check_choice('normalize', normalize, WCE_NORMALIZE)
        self.unlabeled_weight = unlabeled_weight
        self.class_weight = class_weight
        self.normalize = normalize
        self.check_labels = check_labels

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
            class_weight=ClassWeight.tensor(self),
            normalize=self.normalize,
            ignore_index=ignore_index,
            weight=weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            check_labels=self.check_labels)
