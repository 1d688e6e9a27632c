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
from typing import Tuple

import mmcv
import numpy as np
import torch
from mmengine.config import DictAction
from mmseg.models.utils import resize
from torch import Tensor

from mmscribble.models.heads import URSSHead
from mmscribble.utils.visualize import jet, load_image, load_segmentor

METHODS = ('sym', 'eig')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the entropy map (URSS Fig. 3) and the leading '
        'eigenvectors of the transition matrix P (Fig. 4) for one image')
    parser.add_argument('config', help='config of a URSSHead model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img', help='image file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--k', type=int, default=4, help='eigenvectors to draw (default 4)')
    parser.add_argument(
        '--first',
        type=int,
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
        type=int,
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
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error(f'--k must be >= 1, got {args.k}')
    if args.first < 0:
        parser.error(f'--first must be >= 0, got {args.first}')
    if args.long_side < 0:
        parser.error(f'--long-side must be >= 0, got {args.long_side}')
    return args


def entropy_map(seg_logits: Tensor) -> Tensor:
    """Normalised prediction entropy, URSS Eq. 2 per pixel.

    Args:
        seg_logits (Tensor): ``(K, H, W)`` class logits.

    Returns:
        Tensor: ``(H, W)`` entropy divided by ``log K``, in ``[0, 1]``.
    """
    if seg_logits.dim() != 3 or seg_logits.shape[0] < 2:
        raise ValueError('seg_logits must have shape (K, H, W) with K >= 2, '
                         f'got {tuple(seg_logits.shape)}')
    log_prob = seg_logits.double().log_softmax(dim=0)
    ent = -(log_prob.exp() * log_prob).sum(dim=0)
    return (ent / np.log(seg_logits.shape[0])).clamp(0, 1)


def leading_eigenvectors(trans: Tensor,
                         k: int,
                         method: str = 'sym',
                         first: int = 0) -> Tuple[Tensor, Tensor]:
    """Leading eigenpairs of a transition matrix (see the module docstring).

    Args:
        trans (Tensor): ``(hw, hw)`` row-stochastic matrix ``P``.
        k (int): number of eigenpairs.
        method (str): ``'sym'`` or ``'eig'``.
        first (int): index of the first pair returned, in descending
            order of the (real part of the) eigenvalue.

    Returns:
        tuple[Tensor]: ``(k, )`` float64 eigenvalues (real parts), in
        descending order, and ``(k, hw)`` float64 eigenvectors (real
        parts), one per row, each with its largest-magnitude entry
        positive.
    """
    if trans.dim() != 2 or trans.shape[0] != trans.shape[1]:
        raise ValueError('trans must be a square (hw, hw) matrix, got '
                         f'{tuple(trans.shape)}')
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    n = trans.shape[0]
    if k < 1 or first < 0 or first + k > n:
        raise ValueError(f'first + k must be in [1, {n}] (the size of P), '
                         f'got first={first}, k={k}')
    p = trans.detach().double().cpu()
    if method == 'sym':
        vals, vecs = torch.linalg.eigh((p + p.T) / 2)
    else:
        vals, vecs = torch.linalg.eig(p)
        vals, vecs = vals.real, vecs.real
    order = torch.argsort(vals, descending=True)[first:first + k]
    vals, vecs = vals[order], vecs[:, order].T
    peak = vecs.gather(1, vecs.abs().argmax(dim=1, keepdim=True))
    vecs = torch.where(peak < 0, -vecs, vecs)
    return vals, vecs


def build_model(config: str, checkpoint: str, device: str, cfg_options=None):
    """:func:`load_segmentor` for a config with a :class:`URSSHead` that has
    a random walk (else there is no ``P`` to draw)."""

    def has_walk(model):
        if model.decode_head.random_walk is None:
            raise ValueError(f'the URSSHead of {config} has no random walk '
                             '(random_walk=None), so there is no P to draw')

    return load_segmentor(config, checkpoint, device, cfg_options,
                          head_type=URSSHead, check=has_walk)


@torch.no_grad()
def visualize(model, img: np.ndarray, k: int, method: str, first: int) -> dict:
    """Entropy map and eigenvectors of ``P`` for a BGR image.

    Returns:
        dict: ``entropy`` ``(H, W)`` in [0, 1], ``eigvals`` ``(k, )``,
        ``eigvecs`` ``(k, h, w)`` (numpy arrays).
    """
    device = next(model.parameters()).device
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[inputs.to(device)]), False)
    head = model.decode_head
    out = head.forward_intermediates(model.extract_feat(data['inputs']))
    logits = resize(
        out['seg_logits'],
        size=img.shape[:2],
        mode='bilinear',
        align_corners=head.align_corners)[0]
    h, w = out['feat_before'].shape[-2:]
    vals, vecs = leading_eigenvectors(out['transition'][0], k, method, first)
    return dict(
        entropy=entropy_map(logits).cpu().numpy(),
        eigvals=vals.numpy(),
        eigvecs=vecs.reshape(-1, h, w).numpy())


def main(argv=None):
    args = parse_args(argv)
    model = build_model(args.config, args.checkpoint, args.device,
                        args.cfg_options)
    img = load_image(args.img, args.long_side)
    res = visualize(model, img, args.k, args.method, args.first)
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
    print(f'wrote {len(written)} images to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
