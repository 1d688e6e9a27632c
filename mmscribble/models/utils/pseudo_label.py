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
                         agree_logits: Optional[Tensor] = None,
                         class_portion: Optional[float] = None) -> Tensor:
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

    With ``class_portion`` ``= p`` (ours, after the class-balanced
    selection of CBST, Zou et al., ECCV 2018) a pixel also keeps its
    pseudo-label when it is among the ``ceil(p * m)`` most confident of the
    ``m`` pixels of its image predicted as its class (real pixels only),
    whatever its confidence: a fixed ``tau`` selects almost only the large,
    easy class (on MSCMR the paper's rule labels 15-27% of the val pixels,
    99.9% of them background), so the target would otherwise teach the
    class proportions of the confident set instead of the image's.

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
        class_portion (float, optional): ``p`` in ``(0, 1]``. Default:
            None (the threshold alone).

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
    if class_portion is not None and (isinstance(class_portion, bool)
                                      or not 0 < class_portion <= 1):
        raise ValueError(f'class_portion must be in (0, 1], got '
                         f'{class_portion!r}')
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
    keep = conf >= threshold
    if class_portion is not None:
        keep = keep | _top_portion_of_class(conf, target, img_tags, valid_mask,
                                            k, class_portion)
    target = torch.where(keep, target, ignore)
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


def _top_portion_of_class(conf: Tensor, target: Tensor, img_tags: Tensor,
                          valid_mask: Optional[Tensor], k: int,
                          portion: float) -> Tensor:
    """``(N, H, W)`` bool: pixel among the ``ceil(portion * m)`` most
    confident of the ``m`` real pixels of its image whose (tag-restricted)
    argmax is its class. One sort per image by (class, -confidence), no
    host synchronisation; pixels of an image without tags, or padding,
    form a bucket of their own that is never kept."""
    n = conf.shape[0]
    flat_conf = conf.reshape(n, -1)
    cls = target.reshape(n, -1)
    untagged = img_tags.sum(dim=1) == 0
    bucket = torch.where(untagged[:, None], torch.full_like(cls, k), cls)
    if valid_mask is not None:
        bucket = torch.where(
            valid_mask.reshape(n, -1) == 0, torch.full_like(bucket, k), bucket)
    # class ascending, confidence descending (conf in [0, 1])
    order = torch.argsort(bucket.to(flat_conf) * 2 + (1 - flat_conf), dim=1)
    counts = torch.zeros(n, k + 1, dtype=torch.long, device=conf.device)
    counts.scatter_add_(1, bucket, torch.ones_like(bucket))
    starts = counts.cumsum(dim=1) - counts
    position = torch.empty_like(order)
    position.scatter_(
        1, order,
        torch.arange(order.shape[1], device=conf.device).expand_as(order))
    rank = position - starts.gather(1, bucket)
    quota = torch.ceil(counts.to(flat_conf) * portion).long()
    quota[:, k] = 0
    keep = rank < quota.gather(1, bucket)
    return keep.reshape(conf.shape)
