# Copyright (c) mmscribble contributors. All rights reserved.
"""BLPSeg's annotation probability, prediction and BLP loss maps (Wang et
al., TIP 2023, Fig. 8 (b)-(d)) for one image.

The target ``y`` of the loss map is the predicted class at every pixel,
or, given the image's scribbles, the self-training target the model is
trained with after the switch (Sec. IV-B). Both logit maps are upsampled
(bilinear) to the image size before the softmax, as in the training loss.
"""
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from mmseg.models.utils import resize

from mmscribble.apis.inference import load_segmentor, preprocess_image
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.models.heads import BLPSegHead
from mmscribble.models.losses.blp_loss import blp_modulating_factor
from mmscribble.models.utils import self_training_target

IGNORE_INDEX = 255
DEFAULT_GAMMA = 2.0
# (key of blpseg_maps()'s result, file name suffix), in the order of Fig. 8.
OUTPUTS = (('annot_prob', 'annot_prob'), ('seg_prob', 'seg_prob'),
           ('blp_weight', 'blp_loss'))


def load_blpseg(config: str, checkpoint: str, device: str, cfg_options=None):
    """:func:`load_segmentor` for a config with a :class:`BLPSegHead`."""
    return load_segmentor(
        config, checkpoint, device, cfg_options, head_type=BLPSegHead)


def config_gamma(head: BLPSegHead) -> float:
    """``gamma`` of the head's ``BLPLoss``, else :data:`DEFAULT_GAMMA`."""
    losses = head.loss_decode if isinstance(
        head.loss_decode, torch.nn.ModuleList) else [head.loss_decode]
    for loss in losses:
        if type(loss).__name__ == 'BLPLoss':
            return float(loss.gamma)
    return DEFAULT_GAMMA


def load_scribble(path: str, ori_shape: Tuple[int, int],
                  shape: Tuple[int, int]) -> np.ndarray:
    """Read a scribble PNG of an ``ori_shape`` image, resized (nearest) to
    ``shape``."""
    label = read_label_png(path)
    if label.shape != tuple(ori_shape):
        raise ValueError(f'--scribble {path} has size {label.shape}, the '
                         f'image has size {tuple(ori_shape)}')
    if label.shape != tuple(shape):
        label = cv2.resize(
            label.astype(np.uint8), (shape[1], shape[0]),
            interpolation=cv2.INTER_NEAREST)
    return label


def _scribble_target(head, seg, scribble, threshold):
    """Self-training target of the image's scribbles and tags."""
    device = seg.device
    label = torch.from_numpy(scribble.astype(np.int64)).to(device)
    tags = torch.zeros(1, head.num_classes, device=device)
    ids = label[label != IGNORE_INDEX].unique()
    if (ids >= head.num_classes).any():
        raise ValueError('scribble holds class ids '
                         f'{ids[ids >= head.num_classes].tolist()} '
                         f'outside 0..{head.num_classes - 1}')
    tags[0, ids] = 1
    return self_training_target(
        seg,
        label[None],
        tags,
        threshold=head.self_training_threshold
        if threshold is None else threshold)[0]


@torch.no_grad()
def blpseg_maps(model,
                img: np.ndarray,
                scribble: Optional[np.ndarray] = None,
                gamma: Optional[float] = None,
                threshold: Optional[float] = None) -> dict:
    """Fig. 8 maps for a BGR image.

    Args:
        model: A ``ScribbleEncoderDecoder`` with a :class:`BLPSegHead`.
        img (np.ndarray): ``(H, W, 3)`` BGR uint8 image.
        scribble (np.ndarray, optional): ``(H, W)`` class ids, 255 =
            unlabeled. None: the target is the predicted class.
        gamma (float, optional): Eq. 11's ``gamma``; None reads the
            config's ``BLPLoss``.
        threshold (float, optional): Self-training confidence; None uses
            the head's ``self_training_threshold``.

    Returns:
        dict: ``annot_prob``, ``seg_prob``, ``blp_weight`` (``(H, W)``
        float maps in ``[0, 1]``) and ``target`` (``(H, W)`` int64, 255 =
        no target), numpy arrays.
    """
    head = model.decode_head
    h, w = img.shape[:2]
    if scribble is not None and scribble.shape != (h, w):
        raise ValueError(f'scribble must be (H, W) = {(h, w)}, got '
                         f'{scribble.shape}')
    gamma = config_gamma(head) if gamma is None else gamma
    data = preprocess_image(model, img)
    out = head.forward_intermediates(
        model.extract_feat(data['inputs']), data['inputs'])
    seg, scrib = (
        resize(
            out[key],
            size=(h, w),
            mode='bilinear',
            align_corners=head.align_corners)
        for key in ('seg_logits', 'scrib_logits'))
    seg_prob = seg.float().softmax(dim=1)[0]
    scrib_prob = scrib.float().softmax(dim=1)[0]
    if scribble is None:
        target = seg_prob.argmax(dim=0)
    else:
        target = _scribble_target(head, seg, scribble, threshold)
    weight = blp_modulating_factor(seg_prob, scrib_prob, target, gamma)
    return dict(
        annot_prob=(1 - scrib_prob[-1]).cpu().numpy(),
        seg_prob=seg_prob.max(dim=0)[0].cpu().numpy(),
        blp_weight=weight.cpu().numpy(),
        target=target.cpu().numpy())
