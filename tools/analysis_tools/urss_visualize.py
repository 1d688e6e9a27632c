"""Picture URSS's uncertainty and neural eigenspace for one image.

Writes, for a trained URSS model (``URSSHead``) and one image:

* ``<stem>_entropy.png``: the per-pixel entropy of the prediction
  (Pan et al., ICCV 2021, Fig. 3), ``-sum_c s_c log s_c`` divided by
  ``log K`` so that 0 is certain and 1 is uniform, JET colour map (blue =
  low entropy, red = high). The logits are upsampled to the image size
  (bilinear) before the softmax, as in the training loss.
* ``<stem>_eigvec<i>.png``, ``i = 0 .. k-1``: the ``k`` leading
  eigenvectors of the random walk's transition matrix ``P`` (Fig. 4), each
  reshaped to the ``h x w`` feature grid, min-max scaled, upsampled to the
  image size and drawn with the JET map. Eigenvectors have no sign: each
  is flipped so that its largest-magnitude entry is positive.

Eigen-decomposition (``--method``):

* ``sym`` (default): ``torch.linalg.eigh`` of the symmetrised matrix
  ``(P + P^T) / 2``, in float64. Real, orthonormal and stable; for the
  paper's ``P = softmax(f^T f)`` (a row-normalised symmetric kernel
  ``D^-1 W``) it approximates the eigenvectors of ``P`` up to the degree
  normalisation.
* ``eig``: ``torch.linalg.eig`` of ``P`` itself (right eigenvectors
  ``P u = lambda u``, the eigenspace the paper's Eq. 8 refers to), sorted
  by the real part of the eigenvalue; the real parts of the vectors are
  drawn. The leading one, ``lambda = 1``, is the constant vector for any
  row-stochastic ``P`` (an empty, uniformly coloured picture); use
  ``--first 1`` to start after it.

The eigenvalues drawn are printed. ``P`` is ``(hw)^2`` (3481^2 at the
paper's 465x465 input); its decomposition takes a few seconds on a CPU.

Example::

    python tools/analysis_tools/urss_visualize.py \\
        configs/urss/urss_r101.py work_dirs/urss_r101/iter_66200.pth \\
        data/VOCdevkit/VOC2012/JPEGImages/2007_000032.jpg \\
        --out-dir vis --k 4
"""
import argparse
import os
import os.path as osp

import mmcv
from mmengine.config import DictAction

from mmscribble.utils.cli import non_negative_int, positive_int
from mmscribble.visualization.drawing import jet, load_image
from mmscribble.visualization.urss_maps import METHODS, load_urss, urss_maps


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the entropy map (URSS Fig. 3) and the leading '
        'eigenvectors of the transition matrix P (Fig. 4) for one image')
    parser.add_argument('config', help='config of a URSSHead model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img', help='image file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--k',
        type=positive_int,
        default=4,
        help='eigenvectors to draw (default 4)')
    parser.add_argument(
        '--first',
        type=non_negative_int,
        default=0,
        help='index of the first eigenvector drawn (default 0; 1 skips '
        "the constant leading vector of --method eig)")
    parser.add_argument(
        '--method',
        choices=METHODS,
        default='sym',
        help='sym: eigh of (P + P^T) / 2; eig: eig of P (default sym)')
    parser.add_argument(
        '--long-side',
        type=non_negative_int,
        default=465,
        help='resize the image so that its long side has this many '
        'pixels (default 465, the training crop; 0 keeps the size)')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as in tools/test.py')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = load_urss(args.config, args.checkpoint, args.device,
                      args.cfg_options)
    img = load_image(args.img, args.long_side)
    res = urss_maps(model, img, args.k, args.method, args.first)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.img))[0]
    size = img.shape[:2]
    written = [osp.join(args.out_dir, f'{stem}_entropy.png')]
    mmcv.imwrite(jet(res['entropy'], size), written[0])
    for i, vec in enumerate(res['eigvecs'], start=args.first):
        path = osp.join(args.out_dir, f'{stem}_eigvec{i}.png')
        mmcv.imwrite(jet(vec, size, normalize=True), path)
        written.append(path)
    vals = ', '.join(f'{v:.6f}' for v in res['eigvals'])
    print(f'eigenvalues ({args.method}) {args.first}..'
          f'{args.first + args.k - 1}: {vals}')
    print(f'mean normalised entropy: {res["entropy"].mean():.4f}')
    print('\n'.join(written))
    print(f'wrote {len(written)} images to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
