"""Partial cross-entropy: cross-entropy averaged over labeled pixels only."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def check_labels(label: Tensor, num_classes: int, ignore_index: int,
                 name: str = 'label') -> None:
    """Raise if a label tensor holds ids outside ``[0, num_classes)``.

    ``F.cross_entropy`` would otherwise fail with a device-side assert on
    CUDA or an opaque ``IndexError`` on CPU.
    """
    bad = (label != ignore_index) & ((label < 0) | (label >= num_classes))
    if bool(bad.any()):
        ids = torch.unique(label[bad]).tolist()
        raise ValueError(
            f'{name} contains class ids {ids[:10]} outside 0..'
            f'{num_classes - 1} (the prediction has {num_classes} classes; '
            f'{ignore_index} = ignored). Check num_classes in the config and '
            'the label maps.')


def partial_cross_entropy(pred: Tensor,
                          label: Tensor,
                          weight: Optional[Tensor] = None,
                          class_weight: Optional[Sequence[float]] = None,
                          reduction: str = 'mean',
                          avg_factor: Optional[float] = None,
                          ignore_index: int = 255) -> Tensor:
    r"""Cross-entropy on labeled (scribbled) pixels.

    .. math::
        \mathcal{L}_{pCE} = -\frac{1}{|\Omega_L|}
        \sum_{i \in \Omega_L} \log p_i(y_i)

    where :math:`\Omega_L` is the set of pixels whose label is not
    ``ignore_index``. Unlike mmseg's ``CrossEntropyLoss`` with its default
    ``avg_non_ignore=False``, the mean is never taken over unlabeled pixels
    (97% of a scribble map). With ``class_weight`` the mean is over the sum
    of the weights of the labeled pixels, as ``F.cross_entropy``.

    Args:
        pred (Tensor): logits, (N, C, H, W).
        label (Tensor): class ids, (N, H, W); ``ignore_index`` = unlabeled.
        weight (Tensor, optional): per-pixel weight, (N, H, W).
        class_weight (list[float], optional): per-class weight, length C.
        reduction (str): 'mean', 'sum' or 'none' ('none' returns (N, H, W)
            with zeros on unlabeled pixels).
        avg_factor (float, optional): overrides the denominator of 'mean'.
        ignore_index (int): unlabeled id.

    Returns:
        Tensor: the loss; 0 (with a gradient path) when no pixel is
        labeled.
    """
    if pred.dim() != 4 or label.dim() != 3 or pred.shape[0] != label.shape[
            0] or pred.shape[2:] != label.shape[1:]:
        raise ValueError(
            f'pred must be (N, C, H, W) and label (N, H, W) with the same '
            f'N, H, W; got pred {tuple(pred.shape)}, label '
            f'{tuple(label.shape)}')
    if reduction not in ('mean', 'sum', 'none'):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got "
                         f'{reduction!r}')
    num_classes = pred.shape[1]
    label = label.long()
    check_labels(label, num_classes, ignore_index)
    cw = None
    if class_weight is not None:
        if len(class_weight) != num_classes:
            raise ValueError(f'class_weight has {len(class_weight)} entries '
                             f'for {num_classes} classes')
        cw = pred.new_tensor(class_weight)
    loss = F.cross_entropy(
        pred, label, weight=cw, reduction='none', ignore_index=ignore_index)
    labeled = label != ignore_index
    pix_w = labeled.to(pred.dtype)
    if cw is not None:
        pix_w = pix_w * cw[label.clamp(0, num_classes - 1)]
    if weight is not None:
        loss = loss * weight
        pix_w = pix_w * weight
    if reduction == 'none':
        return loss
    total = loss.sum()
    if reduction == 'sum':
        return total
    denom = pix_w.sum() if avg_factor is None else pred.new_tensor(
        float(avg_factor))
    # With no labeled pixel both sums are 0 and the clamp gives exactly 0
    # (no host sync, gradient path kept).
    return total / denom.clamp(min=torch.finfo(pred.dtype).eps)


@MODELS.register_module()
class PartialCrossEntropyLoss(nn.Module):
    """Module form of :func:`partial_cross_entropy` (mmseg loss interface).

    Args:
        class_weight (list[float], optional): per-class weights.
        reduction (str): default reduction.
        loss_weight (float): multiplier.
        loss_name (str): key in the loss dict; must contain 'loss'.
    """

    def __init__(self,
                 class_weight: Optional[Sequence[float]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_pce'):
        super().__init__()
        if 'loss' not in loss_name:
            raise ValueError(f"loss_name must contain 'loss' so mmengine "
                             f'sums it, got {loss_name!r}')
        self.class_weight = class_weight
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        reduction = reduction_override or self.reduction
        return self.loss_weight * partial_cross_entropy(
            cls_score,
            label,
            weight=weight,
            class_weight=self.class_weight,
            reduction=reduction,
            avg_factor=avg_factor,
            ignore_index=ignore_index)

    @property
    def loss_name(self) -> str:
        return self._loss_name
