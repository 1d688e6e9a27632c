# Copyright (c) mmscribble contributors. All rights reserved.
"""SPML's stage-2 random walk on the embedding affinity (Ke et al., ICLR
2021, Appendix A.4, Algorithm 1, steps 2-5)."""
from typing import Optional

import torch
from torch import Tensor

from .random_walk import transition_logits


def spml_transition(embedding: Tensor,
                    gamma: float = 5.0,
                    beta: float = 20.0) -> Tensor:
    """Transition matrix of Algorithm 1, step 3, column-normalised.

    A.4: ``T_ij = softmax_j(gamma e_i' e_j)^beta`` with ``gamma = 5``,
    ``beta = 20``. Following Ahn & Kwak (2018), as the paper says, ``T``
    is then normalised so that every column sums to one, which makes
    ``M' = M T`` (``M`` as ``(C, HW)``) a convex mix of the scores of the
    positions and keeps ``T^64`` from under- or overflowing. Computed in
    the log domain: ``T[:, j] = softmax_i(beta log_softmax_j(gamma
    e_i' e_j))``, exact where ``softmax^20`` underflows float32.

    Args:
        embedding (Tensor): ``(N, D, h, w)`` unit embeddings ``e``.
        gamma (float): Default: 5.
        beta (float): Default: 20.

    Returns:
        Tensor: ``(N, hw, hw)`` float32+ with columns summing to one:
        ``T[n, i, j]`` is the weight of position ``i`` in the new score of
        position ``j`` (raster order).
    """
    logits = transition_logits(embedding)
    log_rows = torch.log_softmax(float(gamma) * logits, dim=-1)
    return torch.softmax(float(beta) * log_rows, dim=1)


def _check(scores: Tensor, trans: Tensor) -> None:
    if scores.dim() != 3 or trans.dim() != 3 or \
            trans.shape[1] != trans.shape[2] or \
            scores.shape[0] != trans.shape[0] or \
            scores.shape[2] != trans.shape[1]:
        raise ValueError('scores must be (N, C, HW) and trans (N, HW, HW), '
                         f'got {tuple(scores.shape)} and '
                         f'{tuple(trans.shape)}')


def random_walk_matvec(scores: Tensor,
                       trans: Tensor,
                       steps: int = 64) -> Tensor:
    """``M T^steps`` by ``steps`` products of ``T`` with the class maps.

    Each step is ``(C, HW) x (HW, HW)``: ``steps * C * HW^2`` multiply-adds
    against the ``log2(steps) * HW^3`` of squaring ``T`` (the authors'
    ``T <- T T`` six times for 64 steps). With ``C = 21`` classes and
    ``HW`` in the thousands, far fewer; and no ``HW x HW`` product is
    ever stored besides ``T``.

    Args:
        scores (Tensor): ``(N, C, HW)`` class scores ``M``.
        trans (Tensor): ``(N, HW, HW)`` from :func:`spml_transition`.
        steps (int): walk length. Default: 64.

    Returns:
        Tensor: ``(N, C, HW)`` refined scores.
    """
    _check(scores, trans)
    out = scores.to(trans.dtype)
    for _ in range(int(steps)):
        out = torch.bmm(out, trans)
    return out


def random_walk_squaring(scores: Tensor,
                         trans: Tensor,
                         squarings: int = 6) -> Tensor:
    """The authors' form: ``M T^(2^squarings)`` by squaring ``T``.

    Reference for :func:`random_walk_matvec` (equal for ``steps =
    2^squarings``) and its benchmark.
    """
    _check(scores, trans)
    t = trans
    for _ in range(int(squarings)):
        t = torch.bmm(t, t)
    return torch.bmm(scores.to(trans.dtype), t)


def spml_pseudo_label(embedding: Tensor,
                      cls_logits: Tensor,
                      tags: Optional[Tensor] = None,
                      gamma: float = 5.0,
                      beta: float = 20.0,
                      steps: int = 64) -> Tensor:
    """Algorithm 1, steps 2-5: restricted scores, random walk, argmax.

    The classifier's scores are restricted to the image's scribble
    classes (``tags``) and turned into probabilities over them (the paper
    walks the logits; probabilities, non-negative like Ahn & Kwak's CAMs,
    give the excluded classes an exact 0 instead of a ``-inf`` that a
    convex mix turns into NaN), walked ``steps`` steps, and the argmax
    is the pseudo-label.

    Args:
        embedding (Tensor): ``(N, D, h, w)`` unit embeddings.
        cls_logits (Tensor): ``(N, C, h, w)`` classifier logits.
        tags (Tensor, optional): ``(N, C)`` bool, the classes of each
            image's scribbles; an image with none keeps every class.
        gamma, beta (float): see :func:`spml_transition`.
        steps (int): walk length. Default: 64.

    Returns:
        tuple[Tensor]: ``(N, C, h, w)`` refined scores and the ``(N, h,
        w)`` long pseudo-label.
    """
    n, c, h, w = cls_logits.shape
    if embedding.shape[0] != n or embedding.shape[2:] != (h, w):
        raise ValueError('embedding (N, D, h, w) and cls_logits (N, C, h, w) '
                         f'must match, got {tuple(embedding.shape)} and '
                         f'{tuple(cls_logits.shape)}')
    logits = cls_logits.float()
    if tags is not None:
        if tags.shape != (n, c):
            raise ValueError(f'tags must have shape (N, C) = {(n, c)}, got '
                             f'{tuple(tags.shape)}')
        keep = tags.bool() | ~tags.bool().any(1, keepdim=True)
        logits = logits.masked_fill(~keep[:, :, None, None], float('-inf'))
    prob = logits.softmax(1).flatten(2)
    trans = spml_transition(embedding, gamma, beta)
    refined = random_walk_matvec(prob, trans, steps).view(n, c, h, w)
    return refined, refined.argmax(1)
