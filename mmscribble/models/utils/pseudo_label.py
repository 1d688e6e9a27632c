"""Pseudo-labels from a model's own prediction."""
from typing import Optional

import torch
from torch import Tensor


@torch.no_grad()
def self_training_target(seg_logits: Tensor,
                         scribbles: Tensor,
                         img_tags: Tensor,
                         valid_mask: Optional[Tensor] = None,
                         threshold: float = 0.9,
                         ignore_index: int = 255,
                         agree_logits: Optional[Tensor] = None) -> Tensor:
    """Sharpened self-training target of BLPSeg (Wang et al., TIP 2023,
    Sec. IV-B).

    With :math:`p = softmax_K(Z)` the segmentation prediction and
    :math:`t \\in \\{0, 1\\}^K` the image-level tags (the classes present
    in the image's scribbles), pixel ``n`` gets

    .. math::
        \\hat{y}_n = \\begin{cases}
            y_n & \\text{if } n \\text{ is scribbled} \\\\
            \\arg\\max_c t_c p_{c,n} &
                \\text{if } \\max_c t_c p_{c,n} \\ge \\tau \\\\
            \\text{ignore} & \\text{otherwise}
        \\end{cases}

    i.e. the argmax restricted to the tagged classes, kept where its
    (not renormalised) probability reaches ``threshold``, scribbles
    overriding the prediction, padding ignored. This is the authors'
    ``lib/net/blpseg.py`` (``seg_prob * cls_label``, ``< 0.9 -> 255``,
    scribble override, padding -> 255); the paper only says the prediction
    is "sharpened into one-hot form". An image without tags gets no
    pseudo-label. Computed without gradient and without a host
    synchronisation (every selection is a ``torch.where``), so it can run
    in every training step.

    With ``agree_logits`` (an option of ours, not in the paper or the
    authors' code) a second predictor must agree: a pixel keeps its
    pseudo-label only where the tag-restricted argmax of
    ``agree_logits[:, :K]`` names the same class (for BLPSeg, the scribble
    head's class channels; its extra "not scribbled" channel is not
    used). No threshold is involved: the two heads see the same features
    but are trained by different losses, and a confident error of one that
    the other does not share is left out instead of becoming a label.

    Args:
        seg_logits (Tensor): Segmentation logits ``Z``, ``(N, K, H, W)``.
        scribbles (Tensor): Scribble class ids ``(N, H, W)``;
            ``ignore_index`` = unlabeled or padding.
        img_tags (Tensor): Multi-hot image tags ``(N, K)``.
        valid_mask (Tensor, optional): ``(N, H, W)``, nonzero on real image
            pixels; zeros become ``ignore_index``.
        threshold (float): Confidence ``tau`` in ``(0, 1]``. Default: 0.9.
        ignore_index (int): Id of pixels without target. Default: 255.
        agree_logits (Tensor, optional): ``(N, K', H, W)`` logits of the
            predictor that must agree, ``K' >= K``; channels from ``K`` on
            are ignored. Default: None (no agreement required).

    Returns:
        Tensor: ``(N, H, W)`` long target.
    """
    if not isinstance(seg_logits, Tensor) or seg_logits.dim() != 4:
        raise ValueError('seg_logits must be (N, K, H, W), got shape '
                         f'{tuple(getattr(seg_logits, "shape", ()))}')
    n, k, h, w = seg_logits.shape
    if not isinstance(scribbles, Tensor) or \
            tuple(scribbles.shape) != (n, h, w):
        raise ValueError(f'scribbles must be (N, H, W) = {(n, h, w)}, got '
                         f'{tuple(getattr(scribbles, "shape", ()))}')
    if not isinstance(img_tags, Tensor) or tuple(img_tags.shape) != (n, k):
        raise ValueError(f'img_tags must be (N, K) = {(n, k)}, got '
                         f'{tuple(getattr(img_tags, "shape", ()))}')
    if valid_mask is not None and tuple(valid_mask.shape) != (n, h, w):
        raise ValueError(f'valid_mask must be (N, H, W) = {(n, h, w)}, got '
                         f'{tuple(valid_mask.shape)}')
    if agree_logits is not None and (
            not isinstance(agree_logits, Tensor) or agree_logits.dim() != 4
            or agree_logits.shape[0] != n or agree_logits.shape[1] < k
            or tuple(agree_logits.shape[-2:]) != (h, w)):
        raise ValueError(f'agree_logits must be (N, >= K, H, W) with (N, K, '
                         f'H, W) = {(n, k, h, w)}, got '
                         f'{tuple(getattr(agree_logits, "shape", ()))}')
    if isinstance(threshold, bool) or not 0 < threshold <= 1:
        raise ValueError(f'threshold must be in (0, 1], got {threshold!r}')
    logits = seg_logits.detach()
    if logits.dtype in (torch.float16, torch.bfloat16):
        # A half-precision softmax can round 0.9 confidences either way.
        logits = logits.float()
    prob = logits.softmax(dim=1)
    prob = prob * img_tags.to(prob)[:, :, None, None]
    conf, target = prob.max(dim=1)
    ignore = target.new_full((), ignore_index)
    target = torch.where(conf < threshold, ignore, target)
    if agree_logits is not None:
        # softmax is monotone: the argmax of the tag-masked logits is the
        # argmax of the tag-masked probabilities; untagged classes -inf.
        other = agree_logits.detach()[:, :k].float()
        other = other.masked_fill(img_tags[:, :, None, None] == 0,
                                  float('-inf'))
        target = torch.where(other.argmax(dim=1) != target, ignore, target)
    scribbles = scribbles.long()
    target = torch.where(scribbles != ignore_index, scribbles, target)
    if valid_mask is not None:
        target = torch.where(valid_mask == 0, ignore, target)
    return target
