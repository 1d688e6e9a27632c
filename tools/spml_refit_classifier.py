"""Fit an SPML stage-1 checkpoint's classifier on its fixed embedding.

What ``SPMLClassifierRefitHook`` does at the end of training, for a
checkpoint trained without it: the embedding at every scribbled pixel of
the config's ``train`` split (whole images, no augmentation), a
multinomial logistic regression on it (L-BFGS), written into
``decode_head.conv_seg`` of a copy of the checkpoint. Nothing else in the
checkpoint changes. The paper's step (A.4: "We fix the learned pixel-wise
embedding and train an additional softmax classifier").

Example::

    python tools/spml_refit_classifier.py \\
        work_dirs/spml_stage1/spml-stage1_....py \\
        work_dirs/spml_stage1/iter_1920.pth \\
        work_dirs/spml_stage1/iter_1920_refit.pth
"""
import argparse
import os.path as osp

import torch
from mmengine.config import DictAction

from mmscribble.models.utils.spml_classifier_refit import (
    load_spml_stage1, refit_spml_classifier)
from mmscribble.utils.checkpoint import mmengine_safe_globals


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Fit the SPML stage-1 classifier on the fixed embedding '
        'of the training scribbles; write a copy of the checkpoint')
    parser.add_argument('config', help='stage-1 config (SPMLHead)')
    parser.add_argument('checkpoint', help='stage-1 checkpoint')
    parser.add_argument('out', help='the checkpoint to write')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--pixels-per-image',
        type=int,
        default=None,
        help='at most this many labeled pixels per image (default: all)')
    parser.add_argument('--weight-decay', type=float, default=1e-4)
    parser.add_argument('--max-iter', type=int, default=300)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise SystemExit(f'{args.out}: the output must not overwrite the '
                         'input checkpoint')
    model, dataset = load_spml_stage1(args.config, args.checkpoint,
                                      args.device, args.cfg_options)
    stats = refit_spml_classifier(model, (dataset[i]
                                          for i in range(len(dataset))),
                                  args.pixels_per_image, args.weight_decay,
                                  args.max_iter)
    with mmengine_safe_globals():
        ckpt = torch.load(args.checkpoint, map_location='cpu')
    state = ckpt['state_dict'] if 'state_dict' in ckpt else ckpt
    for name in ('weight', 'bias'):
        key = f'decode_head.conv_seg.{name}'
        state[key] = getattr(model.decode_head.conv_seg,
                             name).detach().cpu().to(state[key].dtype)
    torch.save(ckpt, args.out)
    print(f'{len(dataset)} images, {int(stats["pixels"])} labeled pixels: '
          f'loss {stats["loss_before"]:.4f} -> {stats["loss_after"]:.4f}, '
          f'accuracy {stats["acc_before"]:.4f} -> {stats["acc_after"]:.4f}; '
          f'wrote {args.out}')
    return stats


if __name__ == '__main__':
    main()
