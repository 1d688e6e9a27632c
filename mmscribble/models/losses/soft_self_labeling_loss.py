# Copyright (c) mmscribble contributors. All rights reserved.
"""The network side of soft self-labeling (Zhang & Boykov, Eq. 8)."""
from typing import Optional, Union

import torch
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.validation import check_choice
from ..layers.potts import CROSS_ENTROPIES, self_label_cross_entropy
from .utils import BaseScribbleLoss, as_pixel_map, reduce_loss


def soft_self_labeling_loss(pred: Tensor,
                            target: Tensor,
                            weight: Optional[Tensor] = None,
                            cross_entropy: str = 'collision',
                            reduction: str = 'mean',
                            avg_factor: Optional[Union[float, Tensor]] = None
                            ) -> Tensor:
    r"""Cross-entropy term of Eq. 8 with the pseudo-labels as fixed targets.

    .. math::
        \mathcal{L} = \frac{1}{\sum_i m_i} \sum_{i} m_i\, H(y_i, \sigma_i),
        \qquad \sigma_i = \mathrm{softmax}(\mathrm{pred}_i)

    with ``H`` the standard (Eq. 9), reverse (Eq. 10), collision (Eq. 11)
    or quadratic cross-entropy (:func:`~mmscribble.models.layers.potts.
    self_label_cross_entropy`) and ``m`` the unscribbled real pixels: the
    network step of Eq. 8, ``eta sum_{i not in S} H(y_i, sigma_i)`` with
    ``y`` fixed (the Potts term acts only through ``y``), averaged over
    the counted pixels instead of summed, like partial CE over the
    scribbles. ``eta`` is the module's ``loss_weight``.

    Args:
        pred (Tensor): logits, ``(N, K, H, W)``.
        target (Tensor): pseudo-labels ``y`` on the simplex, ``(N, K, H,
            W)``; no gradient flows into it.
        weight (Tensor, optional): ``(N, H, W)`` pixel weights, 1 on the
            unscribbled real pixels (the pixels of the sum), 0 elsewhere.
            None counts every pixel.
        cross_entropy (str): 'standard', 'reverse', 'collision' or
            'quadratic'. Default: 'collision'.
        reduction (str): 'mean' (over the summed ``weight``), 'sum' or
            'none' (``(N, H, W)``).
        avg_factor (float | Tensor, optional): denominator of 'mean'.

    Returns:
        Tensor: the loss, float32 (or float64) whatever ``pred``'s dtype;
        0 with a gradient path when ``weight`` is all 0.
    """
    check_choice('cross_entropy', cross_entropy, CROSS_ENTROPIES)
    if pred.dim() != 4 or target.shape != pred.shape:
        raise ValueError('pred and target must both be (N, K, H, W), got '
                         f'{tuple(pred.shape)} and {tuple(target.shape)}')
    weight = as_pixel_map(weight, 'weight',
                          (pred.shape[0], ) + tuple(pred.shape[2:]))
    # float32 at least: half pseudo-labels would move the log guard to
    # 6e-5 (float16's smallest normal) and a half sum over a VOC batch
    # overflows.
    dtype = torch.promote_types(pred.dtype, torch.float32)
    per_pixel = self_label_cross_entropy(
        target.detach().to(dtype), pred.to(dtype), cross_entropy)
    denominator = None
    if weight is not None:
        weight = weight.to(per_pixel.dtype)
        # where, not a product: a zero weight must not turn an inf into NaN.
        per_pixel = per_pixel.where(weight != 0, per_pixel.new_zeros(()))
        denominator = weight.sum()
    return reduce_loss(
        per_pixel,
        reduction,
        avg_factor,
        weight=weight,
        denominator=denominator)


@MODELS.register_module()
class SoftSelfLabelingLoss(BaseScribbleLoss):
    """Eq. 8's ``eta * H(y, sigma)`` for fixed soft pseudo-labels ``y``.

    See :func:`soft_self_labeling_loss`. ``loss_weight`` is ``eta``; the
    soft self-labeling heads also use it as the ``eta`` of the
    pseudo-label energy, so a config sets it once.

    Args:
        cross_entropy (str): 'standard' (Eq. 9), 'reverse' (Eq. 10),
            'collision' (Eq. 11, the paper's best) or 'quadratic'.
            Default: 'collision'.
        reduction (str): Default: 'mean'.
        loss_weight (float): ``eta``. Default: 0.3 (the paper's best).
        loss_name (str): Default: 'loss_self_label'.
    """

    def __init__(self,
                 cross_entropy: str = 'collision',
                 reduction: str = 'mean',
                 loss_weight: float = 0.3,
                 loss_name: str = 'loss_self_label') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        check_choice('cross_entropy', cross_entropy, CROSS_ENTROPIES)
        self.cross_entropy = cross_entropy

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Args: see :func:`soft_self_labeling_loss`; ``**kwargs`` (e.g.
        ``ignore_index``) are ignored.

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        return self.loss_weight * soft_self_labeling_loss(
            pred,
            target,
            weight=weight,
            cross_entropy=self.cross_entropy,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor)
