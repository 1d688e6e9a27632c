"""Picture soft self-labeling for one image: prediction, pseudo-labels,
neighbourhood weights.

Writes, for a model with a soft self-labeling head
(``SoftSelfLabelingHead`` / ``SoftSelfLabelingV2Head``), one image and its
scribble label PNG (class ids, 255 = unlabeled):

* ``<stem>_pred.png``: the network's prediction (argmax, VOC palette);
* ``<stem>_y_maxprob.png``: ``max_k y^k`` of the pseudo-labels after the
  solver (JET; blue = 1/K, red = 1), the head's energy and grid;
* ``<stem>_y_entropy.png``: the entropy of ``y`` divided by ``ln K``
  (blue = certain, red = uniform);
* ``<stem>_y.png``: ``argmax y`` (palette), scribbles drawn over it;
* ``<stem>_weights.png``: per pixel the smallest weight ``w_ij`` to its
  grid neighbours (JET; blue = an edge, red = flat colour);
* ``<stem>_panel.png``: the image and the five pictures side by side.

The solver runs at the head's ``solve_scale`` with its ``solver``
settings (``--solver fast`` / ``reference`` replaces them), on the logits
upsampled to the image as in training. A dense neighbourhood has no
per-pixel weight picture (``_weights.png`` is skipped).

Example::

    python tools/analysis_tools/softsl_visualize.py \\
        configs/softsl/softsl_deeplabv3plus_r101-d8_1xb12-53k_voc12aug-scribble-512x512.py \\
        work_dirs/softsl/iter_52910.pth \\
        data/VOCdevkit/VOC2012/JPEGImages/2007_000032.jpg \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble/2007_000032.png \\
        --out-dir vis
"""
import argparse
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample

from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.models.heads.soft_self_labeling_head import \
    SoftSelfLabelingMixin
from mmscribble.models.layers.potts import (FAST_SOLVER, REFERENCE_SOLVER,
                                            GridNeighbourhood)
from mmscribble.utils.visualize import (colorize, jet, load_segmentor,
                                        save_rgb, tile)

SOLVERS = dict(fast=FAST_SOLVER, reference=REFERENCE_SOLVER)
PALETTE = [[0, 0, 0]] + [[(37 * i) % 256, (91 * i) % 256, (151 * i) % 256]
                         for i in range(1, 256)]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the prediction, the soft pseudo-labels after the '
        'solver and the neighbourhood weights of a soft self-labeling model')
    parser.add_argument('config', help='config of a soft self-labeling model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img', help='image file')
    parser.add_argument('scribble', help='scribble label PNG (255 = none)')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--solver', choices=tuple(SOLVERS), default=None,
        help="solver settings (default: the head's)")
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, as in tools/test.py')
    return parser.parse_args(argv)


@torch.no_grad()
def visualize(model, img: np.ndarray, scribble: np.ndarray,
              solver=None) -> dict:
    """The pictures' data for a BGR image and its ``(H, W)`` scribbles.

    Returns:
        dict: ``pred`` ``(H, W)``, ``y`` ``(K, h, w)`` and ``weights``
        ``(h, w)`` or None (numpy), on the solver's grid ``(h, w)``.
    """
    if scribble.shape != img.shape[:2]:
        raise ValueError(f'scribble {scribble.shape} and image '
                         f'{img.shape[:2]} differ in size')
    head = model.decode_head
    device = next(model.parameters()).device
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[inputs.to(device)]), False)
    x = data['inputs']
    seg_logits = head._call_forward(model.extract_feat(x), x)
    label = torch.from_numpy(scribble.astype(np.int64))[None].to(device)
    # The head's own training path, with the label map given directly.
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=label)
    logits, scr, valid, nb = head.self_label_inputs(seg_logits, [sample], x)
    saved = head.solver
    if solver is not None:
        head.solver = dict(solver)
    try:
        y = head.solve(logits, scr, valid, nb)
    finally:
        head.solver = saved
    pred = resize(seg_logits, size=img.shape[:2], mode='bilinear',
                  align_corners=head.align_corners).argmax(1)[0]
    weights = None
    if isinstance(nb, GridNeighbourhood):
        # Smallest weight to a neighbour: forward pairs at the pixel and
        # backward pairs at the neighbour, borders excluded.
        w = nb.weights[0]
        big = torch.ones_like(w[0])
        low = big.clone()
        for e, (dy, dx) in enumerate(nb.offsets):
            h, wd = w.shape[-2:]
            inside = torch.zeros_like(big, dtype=torch.bool)
            inside[max(0, -dy):min(h, h - dy), max(0, -dx):min(wd, wd - dx)] \
                = True
            low = torch.minimum(low, torch.where(inside, w[e], big))
        weights = low.cpu().numpy()
    return dict(pred=pred.cpu().numpy(), y=y[0].cpu().numpy(),
                weights=weights)


def main(argv=None):
    args = parse_args(argv)
    model = load_segmentor(args.config, args.checkpoint, args.device,
                           args.cfg_options, head_type=SoftSelfLabelingMixin)
    img = mmcv.imread(args.img)
    if img is None:
        raise ValueError(f'cannot decode image {args.img}')
    scribble = read_label_png(args.scribble)
    res = visualize(model, img, scribble,
                    SOLVERS[args.solver] if args.solver else None)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.img))[0]
    size = img.shape[:2]
    y = res['y']
    k = y.shape[0]
    ent = -(y * np.log(np.clip(y, 1e-12, 1))).sum(0) / np.log(k)
    maxp = (y.max(0) - 1 / k) / (1 - 1 / k)
    y_label = cv2.resize(y.argmax(0).astype(np.uint8), (size[1], size[0]),
                         interpolation=cv2.INTER_NEAREST)
    y_label = np.where(scribble != 255, scribble, y_label)
    pictures = {
        'pred': colorize(res['pred'], PALETTE),
        'y_maxprob': jet(maxp, size)[..., ::-1],
        'y_entropy': jet(ent, size)[..., ::-1],
        'y': colorize(y_label, PALETTE),
    }
    if res['weights'] is not None:
        pictures['weights'] = jet(res['weights'], size)[..., ::-1]
    written = []
    for name, rgb in pictures.items():
        path = osp.join(args.out_dir, f'{stem}_{name}.png')
        save_rgb(path, np.ascontiguousarray(rgb))
        written.append(path)
    panel = osp.join(args.out_dir, f'{stem}_panel.png')
    save_rgb(panel, tile([img[..., ::-1]] + list(pictures.values())))
    written.append(panel)
    print(f'mean normalised entropy of y: {ent.mean():.4f}')
    print(f'wrote {len(written)} images to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
