# Copyright (c) mmscribble contributors. All rights reserved.
"""SPML pictures of one image: over-segmentation, k-means segments,
embedding and stage-2 pseudo-label, side by side."""
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch

from mmscribble.apis.inference import preprocess_image
from mmscribble.datasets.metainfo import bit_palette
from mmscribble.datasets.transforms.superpixels import compute_felzenszwalb
from mmscribble.models.layers.spherical_kmeans import spherical_kmeans
from mmscribble.models.utils.spml_stage2_label import spml_stage2_label
from .drawing import colorize
from .palette import pca_colours, random_colours


@torch.no_grad()
def spml_panels(model,
                img: np.ndarray,
                tags: Optional[Sequence[int]] = None,
                walk_stride: int = 1) -> List[np.ndarray]:
    """The four ``(H, W, 3)`` RGB panels of a BGR image.

    1. the Felzenszwalb over-segmentation (``gt_superpixel`` of the
       pipeline), regions in random colours;
    2. the spherical k-means segments of the embedding (the head's
       clusters and iterations, as in training; not split by label),
       random colours;
    3. the embedding projected on its 3 leading principal directions;
    4. the stage-2 pseudo-label (:func:`spml_stage2_label`) in the VOC
       colour map, restricted to ``tags`` when given.

    Args:
        model: A segmentor with an ``SPMLHead``.
        img (np.ndarray): ``(H, W, 3)`` BGR uint8 image.
        tags (Sequence[int], optional): The image's scribble classes.
        walk_stride (int): Pooling factor before the walk. Default: 1.
    """
    head = model.decode_head
    h, w = img.shape[:2]
    data = preprocess_image(model, img)
    emb, logits = head.forward_embedding(model.extract_feat(data['inputs']))
    size = (w, h)
    sp = random_colours(compute_felzenszwalb(img), seed=1)
    clusters = spherical_kmeans(
        emb,
        head.num_clusters,
        head.kmeans_iterations,
        coord_weight=head.coord_weight)[0]
    km = cv2.resize(
        random_colours(clusters.cpu().numpy(), seed=2),
        size,
        interpolation=cv2.INTER_NEAREST)
    pca = cv2.resize(
        pca_colours(emb[0].cpu()), size, interpolation=cv2.INTER_LINEAR)
    label = spml_stage2_label(
        emb,
        logits,
        head.num_classes,
        None if tags is None else list(tags), (h, w),
        walk_stride=walk_stride)
    pseudo = colorize(label.cpu().numpy(), bit_palette(256))
    return [sp, km, pca, pseudo]
