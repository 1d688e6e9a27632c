"""SPML stage 2: pseudo-labels from a stage-1 model (Algorithm 1, 2-5).

For every training image: the fixed embedding and the classifier scores
of the stage-1 ``SPMLHead`` (whole image, no augmentation, as A.4), the
scores restricted to the image's scribble classes, a 64-step random walk
on the embedding affinity (``gamma = 5``, ``beta = 20``), upsampled to the
image and arg-maxed, written as ``OUT/<stem>.png`` (mode L, class ids).
The stage-2 config (``configs/spml/spml-stage2_*``) trains a standard
segmentor on them; ``tools/spml_two_stage.sh`` runs both stages.

The dense CRF the issue lists as optional is not applied.

Example::

    python tools/spml_pseudo_labels.py \\
        configs/spml/spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py \\
        work_dirs/spml_stage1/iter_30000.pth \\
        data/VOCdevkit/VOC2012/spml_pseudo_labels
"""
import argparse
import os
import os.path as osp

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmseg.registry import DATASETS
from PIL import Image
from tqdm import tqdm

from mmscribble.models.heads.spml_head import SPMLHead
from mmscribble.models.layers.spml_random_walk import spml_pseudo_label
from mmscribble.utils.visualize import load_segmentor


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write SPML stage-2 pseudo-labels (random walk on the '
        'stage-1 embedding) as OUT/<stem>.png')
    parser.add_argument('config', help='stage-1 config (SPMLHead)')
    parser.add_argument('checkpoint', help='stage-1 checkpoint')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--gamma', type=float, default=5.0)
    parser.add_argument('--beta', type=float, default=20.0)
    parser.add_argument('--steps', type=int, default=64)
    parser.add_argument(
        '--walk-stride',
        type=int,
        default=1,
        help='average-pool the stride-4 embedding and scores by this '
        'factor before the walk (memory ~ (HW / f^2)^2); default 1')
    parser.add_argument(
        '--keep-scribbles',
        action='store_true',
        help='scribbled pixels keep their scribble label (not in the '
        'paper)')
    parser.add_argument(
        '--limit',
        type=int,
        default=None,
        help='only the first N images (for checks)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _dataset(cfg):
    ds = cfg.train_dataloader.dataset.copy()
    ds.pipeline = [
        dict(type='LoadScribbleImageFromFile'),
        dict(type='LoadScribbleAnnotations', with_valid_mask=False),
        dict(type='PackScribbleInputs', check_alignment=False),
    ]
    return DATASETS.build(ds)


@torch.no_grad()
def pseudo_label_one(model,
                     item,
                     num_classes,
                     gamma,
                     beta,
                     steps,
                     walk_stride=1,
                     keep_scribbles=False) -> np.ndarray:
    """The ``(H, W)`` uint8 pseudo-label of one dataset item."""
    data = model.data_preprocessor(pseudo_collate([item]), False)
    sample = data['data_samples'][0]
    emb, logits = model.decode_head.forward_embedding(
        model.extract_feat(data['inputs']))
    if walk_stride > 1:
        emb = F.normalize(
            F.avg_pool2d(emb, walk_stride, ceil_mode=True), dim=1)
        logits = F.avg_pool2d(logits, walk_stride, ceil_mode=True)
    tags = torch.zeros(1, num_classes, dtype=torch.bool, device=emb.device)
    ids = sample.metainfo.get('img_tags', [])
    if len(ids):
        tags[0, torch.as_tensor(ids, device=emb.device)] = True
    refined, _ = spml_pseudo_label(emb, logits, tags, gamma, beta, steps)
    h, w = sample.metainfo['ori_shape'][:2]
    scores = F.interpolate(
        refined,
        size=data['inputs'].shape[-2:],
        mode='bilinear',
        align_corners=False)
    label = scores[0, :, :h, :w].argmax(0)
    if keep_scribbles:
        scribble = sample.gt_sem_seg.data[0, :h, :w].to(label.device)
        label = torch.where(scribble < num_classes, scribble, label)
    return label.to(torch.uint8).cpu().numpy()


def main(argv=None):
    args = parse_args(argv)
    model = load_segmentor(
        args.config,
        args.checkpoint,
        args.device,
        args.cfg_options,
        head_type=SPMLHead)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset = _dataset(cfg)
    os.makedirs(args.out, exist_ok=True)
    n = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    num_classes = model.decode_head.num_classes
    for i in tqdm(range(n), desc='SPML pseudo-labels', unit='img'):
        item = dataset[i]
        label = pseudo_label_one(model, item, num_classes, args.gamma,
                                 args.beta, args.steps, args.walk_stride,
                                 args.keep_scribbles)
        stem = osp.splitext(
            osp.basename(item['data_samples'].metainfo['img_path']))[0]
        Image.fromarray(label).save(osp.join(args.out, stem + '.png'))
    print(f'wrote {n} pseudo-labels to {args.out}')
    return n


if __name__ == '__main__':
    main()
