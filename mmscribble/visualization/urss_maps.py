# Copyright (c) mmscribble contributors. All rights reserved.
"""URSS's uncertainty and neural eigenspace for one image (Pan et al.,
ICCV 2021, Fig. 3 and 4): the normalised prediction entropy and the
leading eigenvectors of the random walk's transition matrix ``P``.
"""
from typing import Tuple

import numpy as np
import torch
from mmseg.models.utils import resize
from torch import Tensor

from mmscribble.apis.inference import load_segmentor, preprocess_image
from mmscribble.models.heads import URSSHead
from mmscribble.models.losses.soft_entropy_loss import pixel_entropy

# Eigen-decompositions of P:
# * 'sym': torch.linalg.eigh of (P + P^T) / 2 in float64; real,
#   orthonormal and stable; for P = softmax(f^T f) (a row-normalised
#   symmetric kernel D^-1 W) it approximates the eigenvectors of P up to
#   the degree normalisation.
# * 'eig': torch.linalg.eig of P (right eigenvectors P u = lambda u, the
#   eigenspace of Eq. 8), sorted by the real part of the eigenvalue; the
#   leading one, lambda = 1, is the constant vector of a row-stochastic P.
METHODS = ('sym', 'eig')


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
    ent = pixel_entropy(seg_logits.double()[None])[0]
    return (ent / np.log(seg_logits.shape[0])).clamp(0, 1)


def leading_eigenvectors(trans: Tensor,
                         k: int,
                         method: str = 'sym',
                         first: int = 0) -> Tuple[Tensor, Tensor]:
    """Leading eigenpairs of a transition matrix (see :data:`METHODS`).

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


def load_urss(config: str, checkpoint: str, device: str, cfg_options=None):
    """:func:`load_segmentor` for a config with a :class:`URSSHead` that has
    a random walk (else there is no ``P`` to draw)."""

    def has_walk(model):
        if model.decode_head.random_walk is None:
            raise ValueError(f'the URSSHead of {config} has no random walk '
                             '(random_walk=None), so there is no P to draw')

    return load_segmentor(
        config,
        checkpoint,
        device,
        cfg_options,
        head_type=URSSHead,
        check=has_walk)


@torch.no_grad()
def urss_maps(model, img: np.ndarray, k: int, method: str, first: int) -> dict:
    """Entropy map and eigenvectors of ``P`` for a BGR image.

    Returns:
        dict: ``entropy`` ``(H, W)`` in [0, 1], ``eigvals`` ``(k, )``,
        ``eigvecs`` ``(k, h, w)`` (numpy arrays).
    """
    data = preprocess_image(model, img)
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
