"""Picture BLPSeg's annotation probability, prediction and BLP loss map.

Writes, for a trained BLPSeg model (``BLPSegHead``) and one image, the
three maps of Wang et al., TIP 2023, Fig. 8 (b)-(d), each at the image
size with the JET colour map on a fixed ``[0, 1]`` scale (blue = 0,
red = 1):

* ``<stem>_annot_prob.png``: the annotation probability of the scribble
  head, ``1 - p^scrib_{K+1}``, the probability that the pixel would be
  scribbled at all (the sum of the ``K`` class probabilities);
* ``<stem>_seg_prob.png``: the segmentation probability
  ``max_c p^seg_c`` of the prediction (the LAM output);
* ``<stem>_blp_loss.png``: the per-pixel modulating factor of the BLP
  loss, Eq. 11, ``delta = (1 - p^scrib_y p^seg_y) ** gamma`` for the
  target class ``y`` of the pixel, 0 where there is no target.

The target ``y``: by default the predicted class ``argmax_c p^seg_c`` at
every pixel. With ``--scribble`` (the image's scribble PNG, 255 =
unlabeled), the self-training target the model is trained with after the
switch (Sec. IV-B): the prediction restricted to the scribbled classes,
kept where its probability reaches the head's threshold (``--threshold``),
scribbles overriding; the paper's Fig. 8 shows this phase.

Both logit maps are upsampled (bilinear) to the image size before the
softmax, as in the training loss. ``gamma`` is the ``BLPLoss``'s of the
config unless ``--gamma`` is given.

Example (``CONFIG`` the ResNet-101 VOC config of ``configs/blpseg/``,
``VOC=data/VOCdevkit/VOC2012``)::

    python tools/analysis_tools/blpseg_visualize.py \\
        $CONFIG work_dirs/blpseg/iter_42320.pth \\
        $VOC/JPEGImages/2007_000032.jpg \\
        --scribble $VOC/pascal_2012_scribble/2007_000032.png --out-dir vis
"""
import argparse
import os
import os.path as osp
from typing import Optional, Tuple

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import DictAction
from mmseg.models.utils import resize
from torch import Tensor

from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.models.heads import BLPSegHead
from mmscribble.models.utils import self_training_target
from mmscribble.utils.visualize import jet, load_image, load_segmentor

IGNORE_INDEX = 255
DEFAULT_GAMMA = 2.0
# (key of visualize()'s result, file name suffix), in the order of Fig. 8.
OUTPUTS = (('annot_prob', 'annot_prob'), ('seg_prob', 'seg_prob'),
           ('blp_weight', 'blp_loss'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the annotation probability, the segmentation '
        'probability and the BLP loss map (BLPSeg Fig. 8) for one image')
    parser.add_argument('config', help='config of a BLPSegHead model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img', help='image file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--scribble',
        help='scribble PNG of the image (class ids, 255 = unlabeled): the '
        'BLP loss map then uses the self-training target (default: the '
        'predicted class everywhere)')
    parser.add_argument(
        '--gamma',
        type=float,
        default=None,
        help='gamma of Eq. 11 (default: the BLPLoss of the config, else '
        f'{DEFAULT_GAMMA})')
    parser.add_argument(
        '--threshold',
        type=float,
        default=None,
        help='confidence of the self-training target with --scribble '
        '(default: the head\'s self_training_threshold)')
    parser.add_argument(
        '--long-side',
        type=int,
        default=0,
        help='resize the image so that its long side has this many pixels '
        '(default 0: keep the size, as in evaluation)')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as in tools/test.py')
    args = parser.parse_args(argv)
    if args.long_side < 0:
        parser.error(f'--long-side must be >= 0, got {args.long_side}')
    if args.gamma is not None and args.gamma < 0:
        parser.error(f'--gamma must be >= 0, got {args.gamma}')
    if args.threshold is not None and not 0 < args.threshold <= 1:
        parser.error(f'--threshold must be in (0, 1], got {args.threshold}')
    if args.threshold is not None and args.scribble is None:
        parser.error('--threshold needs --scribble (it sets the '
                     'self-training target)')
    return args


def modulating_factor(seg_prob: Tensor,
                      scrib_prob: Tensor,
                      label: Tensor,
                      gamma: float,
                      ignore_index: int = IGNORE_INDEX) -> Tensor:
    """BLP modulating factor per pixel, Eq. 11.

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


def build_model(config: str, checkpoint: str, device: str, cfg_options=None):
    """:func:`load_segmentor` for a config with a :class:`BLPSegHead`."""
    return load_segmentor(config, checkpoint, device, cfg_options,
                          head_type=BLPSegHead)


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


@torch.no_grad()
def visualize(model,
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
    device = next(model.parameters()).device
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[inputs.to(device)]), False)
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
        label = torch.from_numpy(scribble.astype(np.int64)).to(device)
        tags = torch.zeros(1, head.num_classes, device=device)
        ids = label[label != IGNORE_INDEX].unique()
        if (ids >= head.num_classes).any():
            raise ValueError('scribble holds class ids '
                             f'{ids[ids >= head.num_classes].tolist()} '
                             f'outside 0..{head.num_classes - 1}')
        tags[0, ids] = 1
        target = self_training_target(
            seg,
            label[None],
            tags,
            threshold=head.self_training_threshold
            if threshold is None else threshold)[0]
    weight = modulating_factor(seg_prob, scrib_prob, target, gamma)
    return dict(
        annot_prob=(1 - scrib_prob[-1]).cpu().numpy(),
        seg_prob=seg_prob.max(dim=0)[0].cpu().numpy(),
        blp_weight=weight.cpu().numpy(),
        target=target.cpu().numpy())


def main(argv=None):
    args = parse_args(argv)
    model = build_model(args.config, args.checkpoint, args.device,
                        args.cfg_options)
    ori = load_image(args.img, 0)
    img = mmcv.imrescale(ori, (args.long_side, args.long_side)) \
        if args.long_side else ori
    scribble = None
    if args.scribble is not None:
        scribble = load_scribble(args.scribble, ori.shape[:2], img.shape[:2])
    res = visualize(model, img, scribble, args.gamma, args.threshold)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.img))[0]
    written = []
    for key, suffix in OUTPUTS:
        path = osp.join(args.out_dir, f'{stem}_{suffix}.png')
        mmcv.imwrite(jet(res[key]), path)
        written.append(path)
        print(f'{suffix}: mean {res[key].mean():.4f}, max '
              f'{res[key].max():.4f}')
    covered = (res['target'] != IGNORE_INDEX).mean()
    print(f'target pixels: {covered:.1%}')
    print(f'wrote {len(written)} images to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
