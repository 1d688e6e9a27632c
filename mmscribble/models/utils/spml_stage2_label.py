# Copyright (c) mmscribble contributors. All rights reserved.
"""SPML stage 2 for one image: the stage-1 head's embedding and scores to
a pseudo-label (Algorithm 1, steps 2-5, at the image's size)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmscribble.models.layers.spml_random_walk import spml_pseudo_label


def spml_stage2_label(embedding: Tensor,
                      cls_logits: Tensor,
                      num_classes: int,
                      tags: Optional[Sequence[int]],
                      size: Tuple[int, int],
                      crop: Optional[Tuple[int, int]] = None,
                      walk_stride: int = 1,
                      gamma: float = 5.0,
                      beta: float = 20.0,
                      steps: int = 64) -> Tensor:
    """The ``(h, w)`` long pseudo-label of one image.

    The walk of :func:`spml_pseudo_label` on the stride-4 embedding
    (optionally average-pooled by ``walk_stride``: memory grows as
    ``(HW / f^2)^2``), its refined scores upsampled (bilinear) to ``size``,
    cropped to ``crop`` (the image inside a padded batch) and arg-maxed.

    Args:
        embedding (Tensor): ``(1, D, h', w')`` unit embedding.
        cls_logits (Tensor): ``(1, C, h', w')`` classifier logits.
        num_classes (int): ``C``.
        tags (Sequence[int], optional): the image's scribble classes;
            None, or an empty list, keeps every class.
        size (tuple[int, int]): ``(H, W)`` the scores are upsampled to.
        crop (tuple[int, int], optional): ``(h, w)`` kept of ``size``
            (top-left); default: all of it.
        walk_stride (int): pooling factor before the walk. Default: 1.
        gamma, beta, steps: see :func:`spml_pseudo_label`.

    Returns:
        Tensor: ``crop`` (or ``size``) long class ids.
    """
    if walk_stride > 1:
        embedding = F.normalize(
            F.avg_pool2d(embedding, walk_stride, ceil_mode=True), dim=1)
        cls_logits = F.avg_pool2d(cls_logits, walk_stride, ceil_mode=True)
    tag_mask = None
    if tags is not None:
        tag_mask = torch.zeros(
            1, num_classes, dtype=torch.bool, device=embedding.device)
        if len(tags):
            tag_mask[0, torch.as_tensor(tags, device=embedding.device)] = True
    refined, _ = spml_pseudo_label(embedding, cls_logits, tag_mask, gamma,
                                   beta, steps)
    scores = F.interpolate(
        refined, size=tuple(size), mode='bilinear', align_corners=False)
    h, w = crop if crop is not None else scores.shape[-2:]
    return scores[0, :, :h, :w].argmax(0)


@torch.no_grad()
def spml_item_label(model,
                    item: dict,
                    num_classes: int,
                    gamma: float = 5.0,
                    beta: float = 20.0,
                    steps: int = 64,
                    walk_stride: int = 1,
                    keep_scribbles: bool = False):
    """The ``(H, W)`` uint8 stage-2 pseudo-label of one dataset item.

    Args:
        model: A segmentor with a stage-1 ``SPMLHead``.
        item (dict): A dataset item (``inputs`` and ``data_samples``) whose
            metainfo holds ``img_tags`` and ``ori_shape``.
        num_classes (int): ``C``.
        gamma, beta, steps, walk_stride: see :func:`spml_stage2_label`.
        keep_scribbles (bool): Scribbled pixels keep their scribble's
            class (not in the paper). Default: False.

    Returns:
        np.ndarray: ``(H, W)`` uint8 class ids at the image's original
        size.
    """
    from mmengine.dataset import pseudo_collate
    data = model.data_preprocessor(pseudo_collate([item]), False)
    sample = data['data_samples'][0]
    emb, logits = model.decode_head.forward_embedding(
        model.extract_feat(data['inputs']))
    h, w = sample.metainfo['ori_shape'][:2]
    label = spml_stage2_label(emb, logits, num_classes,
                              list(sample.metainfo.get('img_tags', [])),
                              data['inputs'].shape[-2:], (h, w), walk_stride,
                              gamma, beta, steps)
    if keep_scribbles:
        scribble = sample.gt_sem_seg.data[0, :h, :w].to(label.device)
        label = torch.where(scribble < num_classes, scribble, label)
    return label.to(torch.uint8).cpu().numpy()
