# Copyright (c) mmscribble contributors. All rights reserved.
"""Batched spherical k-means of SegSort / SPML (Ke et al., ICLR 2021,
Sec. 3.2), with a per-image reference for tests."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def grid_shape(num_clusters: int, h: int, w: int) -> Tuple[int, int]:
    """Rows and columns of the initial grid of ``num_clusters`` cells.

    ``gh * gw <= num_clusters`` cells as square as the map allows
    (36 clusters on a square map: 6 x 6), never more rows (columns) than
    the map has.
    """
    if int(num_clusters) < 1:
        raise ValueError(f'num_clusters must be >= 1, got {num_clusters}')
    gh = int(round((num_clusters * h / w)**0.5))
    gh = max(1, min(gh, h, num_clusters))
    gw = max(1, min(w, num_clusters // gh))
    return gh, gw


def grid_init(n: int,
              h: int,
              w: int,
              num_clusters: int,
              device=None) -> Tensor:
    """Initial assignment: the grid cell of each position, ``(N, h*w)``."""
    gh, gw = grid_shape(num_clusters, h, w)
    rows = torch.arange(h, device=device) * gh // h
    cols = torch.arange(w, device=device) * gw // w
    cell = (rows[:, None] * gw + cols[None]).flatten()
    return cell[None].expand(n, -1).clone()


def kmeans_features(embedding: Tensor, coord_weight: float = 1.0) -> Tensor:
    """``e_i`` of Sec. 3.2: the embedding and the position, unit-normed.

    Args:
        embedding (Tensor): ``(N, D, h, w)`` pixel embeddings.
        coord_weight (float): scale of the normalised coordinates
            (row / (h - 1), col / (w - 1)) in ``[0, 1]``. Default: 1.0.

    Returns:
        Tensor: ``(N, h*w, D + 2)`` unit rows.
    """
    if embedding.dim() != 4:
        raise ValueError('embedding must have shape (N, D, h, w), got '
                         f'{tuple(embedding.shape)}')
    n, _, h, w = embedding.shape
    dev, dt = embedding.device, embedding.dtype
    ys = torch.linspace(0, 1, h, device=dev, dtype=dt) if h > 1 else \
        torch.zeros(1, device=dev, dtype=dt)
    xs = torch.linspace(0, 1, w, device=dev, dtype=dt) if w > 1 else \
        torch.zeros(1, device=dev, dtype=dt)
    coords = torch.stack(torch.meshgrid(ys, xs, indexing='ij'), 0)
    coords = float(coord_weight) * coords.expand(n, 2, h, w)
    feat = torch.cat([embedding, coords], 1).flatten(2).transpose(1, 2)
    return F.normalize(feat, dim=-1)


@torch.no_grad()
def spherical_kmeans(embedding: Tensor,
                     num_clusters: int = 36,
                     iterations: int = 10,
                     valid_mask: Optional[Tensor] = None,
                     coord_weight: float = 1.0) -> Tensor:
    """Spherical k-means of every image of a batch at once.

    Starts from the grid cells (:func:`grid_init`); each iteration is the
    M-step ``mu_s = sum_{i in R_s} e_i / ||sum_{i in R_s} e_i||`` (one
    ``scatter_add`` for the batch) followed by the E-step
    ``z_i = argmax_s mu_s' e_i`` (one batched matrix product). A cluster
    that loses every pixel is never chosen again; padding is not
    clustered. No gradient: the loss differentiates through the segment
    means computed from the final assignment, not through the EM steps.
    Runs in float32 (float64 stays) with autocast off: under float16
    autocast the E-step's product moved 2% of the VOC pixels to another
    cluster.

    Args:
        embedding (Tensor): ``(N, D, h, w)`` pixel embeddings.
        num_clusters (int): clusters per image ``K`` (36 on VOC).
        iterations (int): EM iterations. Default: 10.
        valid_mask (Tensor, optional): ``(N, h, w)`` bool real pixels.
        coord_weight (float): see :func:`kmeans_features`.

    Returns:
        Tensor: ``(N, h, w)`` long cluster ids in ``[0, K)``, ``-1`` on
        padding.
    """
    with torch.autocast(device_type=embedding.device.type, enabled=False):
        return _spherical_kmeans(
            embedding.to(torch.promote_types(embedding.dtype,
                                             torch.float32)), num_clusters,
            iterations, valid_mask, coord_weight)


def _spherical_kmeans(embedding: Tensor, num_clusters: int, iterations: int,
                      valid_mask: Optional[Tensor],
                      coord_weight: float) -> Tensor:
    n, _, h, w = embedding.shape
    feat = kmeans_features(embedding, coord_weight)
    k = num_clusters
    valid = _flat_valid(valid_mask, n, h, w, embedding.device)
    z = grid_init(n, h, w, k, embedding.device)
    for _ in range(int(iterations)):
        sums = feat.new_zeros(n, k, feat.shape[-1])
        sums.scatter_add_(1, z[..., None].expand_as(feat),
                          feat * valid[..., None].to(feat.dtype))
        counts = feat.new_zeros(n, k).scatter_add_(1, z, valid.to(feat.dtype))
        mu = F.normalize(sums, dim=-1)
        score = torch.bmm(feat, mu.transpose(1, 2))
        score = score.masked_fill((counts == 0)[:, None], float('-inf'))
        z = score.argmax(-1)
    return torch.where(valid, z, torch.full_like(z, -1)).view(n, h, w)


def _flat_valid(valid_mask, n, h, w, device) -> Tensor:
    if valid_mask is None:
        return torch.ones(n, h * w, dtype=torch.bool, device=device)
    if valid_mask.shape != (n, h, w):
        raise ValueError(f'valid_mask must have shape (N, h, w) = '
                         f'{(n, h, w)}, got {tuple(valid_mask.shape)}')
    return valid_mask.reshape(n, h * w).bool()


@torch.no_grad()
def spherical_kmeans_reference(embedding: Tensor,
                               num_clusters: int = 36,
                               iterations: int = 10,
                               valid_mask: Optional[Tensor] = None,
                               coord_weight: float = 1.0) -> Tensor:
    """Plain per-image, per-cluster loops doing :func:`spherical_kmeans`.

    For tests only.
    """
    n, _, h, w = embedding.shape
    feats = kmeans_features(embedding, coord_weight)
    valid = _flat_valid(valid_mask, n, h, w, embedding.device)
    init = grid_init(1, h, w, num_clusters, embedding.device)[0]
    out = []
    for b in range(n):
        feat, z = feats[b], init.clone()
        for _ in range(int(iterations)):
            mu, alive = [], []
            for c in range(num_clusters):
                members = (z == c) & valid[b]
                alive.append(bool(members.any()))
                mu.append(F.normalize(feat[members].sum(0), dim=0))
            mu = torch.stack(mu)
            score = feat @ mu.t()
            score[:, ~torch.tensor(alive)] = float('-inf')
            z = score.argmax(-1)
        z[~valid[b]] = -1
        out.append(z.view(h, w))
    return torch.stack(out)
