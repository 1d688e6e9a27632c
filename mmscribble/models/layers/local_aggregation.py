"""Local Aggregation Module (LAM) of BLPSeg.

Wang et al., "BLPSeg: Balance the Label Preference in Scribble-Supervised
Semantic Segmentation", TIP 2023, Sec. III-B, Eq. 3-8.

Notation (Eq. 3-5). ``X_in`` (D x N) holds the input of N pixels as columns
and ``X_out = X_in A`` (Eq. 3), so output pixel ``j`` is

    out_j = sum_i A[i, j] * x_i,
    A[i, j] = P_low(i, j) P_dis(i, j) / sum_k P_low(k, j) P_dis(k, j),
    P_low(i, j) = exp(f_i . f_j) / sum_k exp(f_k . f_j),
    P_dis(i, j) = exp(-||s_i - s_j||^2 / (2 sigma^2)).

The normalisation of Eq. 4 runs over the FIRST index ``i`` with ``j``
fixed, i.e. every COLUMN of ``A`` sums to one and each output is a convex
combination of inputs. The softmax denominator of ``P_low`` depends on
``j`` only, so it cancels in Eq. 4 and

    A[i, j] = softmax_i(f_i . f_j - ||s_i - s_j||^2 / (2 sigma^2)),

which is the softmax aggregation of
:mod:`mmscribble.models.layers.window_affinity` (a log-sum-exp over ``i``,
hence stable for the large dot products of un-normalised 256-channel
embeddings). The authors' code agrees: ``lib/net/blpseg.py``,
``BLPSeg.local_aggregation`` normalises ``sim`` over ``dim=1`` (the ``i``
axis of its ``(n, i, j)`` matrix) and contracts
``einsum('nca,nab->ncb')``.

By Eq. 8 the LAM is applied to the logits of the segmentation head rather
than to the D-dimensional features (K << D).

Two forms are provided, both thin LAM-named entries into
``window_affinity``:

* :func:`local_affinity_aggregate`: ``P_dis`` is truncated to a square
  window of ``2 r + 1`` pixels (``r = ceil(3 sigma)`` by default), which is
  exact up to the Gaussian tail beyond ``r`` (the bound is in
  ``window_affinity``'s docstring). Linear memory: the ``(2r+1)^2 x hw``
  affinities are never stored.
* :func:`dense_affinity` / :func:`dense_affinity_aggregate`: the full
  ``(hw, hw)`` matrix, ``O(h^2 w^2)`` memory. Kept as the reference for
  tests and benchmarks (``tools/benchmark/bench_lam.py``); it is the form of
  the authors' code.

Differences from the authors' code: they build ``P_dis`` once for a
96 x 96 map (``build_distance_buffer``, i.e. 384 x 384 crops only) and add
``1e-7`` to the denominator of Eq. 4; here any map size works and the
normalisation is an exact log-sum-exp. Their ``P_dis`` is untruncated.

Window positions outside the feature map are excluded from the
normalisation (they do not contribute as zero features), and an optional
``valid_mask`` also excludes padded pixels of a batch; a pixel always
keeps itself as a key so that every column has a non-empty support.
"""
import math
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ...utils.validation import check_positive_scalar
# WINDOW_SIGMAS: the LAM's default window (r = ceil(3 sigma)), public here.
from .window_affinity import WINDOW_SIGMAS  # noqa: F401
from .window_affinity import (Sigma, dense_window_softmax, softmax_aggregate,
                              window_radii)
from .window_affinity_dense import dense_softmax_aggregate
from .window_common import check_4d


def local_affinity_aggregate(feat: Optional[Tensor],
                             logits: Tensor,
                             sigma: Optional[Sigma],
                             window: Optional[int] = None,
                             valid_mask: Optional[Tensor] = None) -> Tensor:
    """Applies the LAM affinity to logits in a local window (Eq. 3-5, 8).

    ``out_j = sum_i A[i, j] x_i`` with ``A[i, j] = softmax_i(f_i . f_j -
    ||s_i - s_j||^2 / (2 sigma^2))`` over the keys ``i`` in the square window
    of side ``window`` around ``j`` (columns of ``A`` sum to one, Eq. 4).
    Equal to :func:`dense_affinity_aggregate` with the same ``window``; with
    the default window it differs from the untruncated Eq. 4 only by the
    Gaussian tail beyond ``3 sigma``. This is
    :func:`~mmscribble.models.layers.window_affinity.window_softmax_aggregate`
    with the LAM's names.

    Gradients flow to ``feat``, ``logits`` and a tensor ``sigma``; none of
    them is detached, as in the authors' ``BLPSeg.local_aggregation``.

    Args:
        feat (Tensor, optional): Similarity features ``f`` (Eq. 5),
            ``(N, C, h, w)``. None drops ``P_low`` (the "distance only" row
            of Table III).
        logits (Tensor): Segmentation logits ``Z = W_FC^T X_in`` (Eq. 8),
            ``(N, K, h, w)``.
        sigma (float | Tensor, optional): Width of ``P_dis`` (Eq. 5) in
            pixels of the ``(h, w)`` map; a scalar tensor makes it
            differentiable. None drops ``P_dis`` (then ``window`` is
            required).
        window (int, optional): Odd side length of the square window.
            Defaults to ``2 * ceil(3 * sigma) + 1``; clipped to the map.
        valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real image
            pixels. Other pixels are dropped as keys (a pixel still keeps
            itself).

    Returns:
        Tensor: Aggregated logits ``(N, K, h, w)``, in float32 for half
        precision inputs (autocast is disabled inside).
    """
    return softmax_aggregate(feat, logits, sigma, window, valid_mask, 'logits')


def dense_affinity(feat: Tensor,
                   sigma: Optional[Sigma],
                   window: Optional[int] = None,
                   valid_mask: Optional[Tensor] = None) -> Tensor:
    """Builds the full LAM affinity matrix ``A`` of Eq. 4.

    :func:`~mmscribble.models.layers.window_affinity.dense_window_softmax`
    with the LAM's names.

    Args:
        feat (Tensor): Similarity features ``f``, ``(N, C, h, w)``; ``C`` may
            be 0 to drop ``P_low``.
        sigma (float | Tensor, optional): Width of ``P_dis`` (Eq. 5). None
            drops ``P_dis``.
        window (int, optional): Odd side length of a square window outside
            which ``A`` is zero, to match :func:`local_affinity_aggregate`.
            None (default) keeps every pair: the untruncated Eq. 4.
        valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real image
            pixels; other pixels get zero weight as keys, except for
            themselves.

    Returns:
        Tensor: ``A`` of shape ``(N, hw, hw)``, ``A[n, i, j]`` the weight of
        input pixel ``i`` in output pixel ``j`` (row-major pixel order);
        ``A[n].sum(0)`` is all ones (Eq. 4).
    """
    return dense_window_softmax(feat, sigma, window, valid_mask)


def dense_affinity_aggregate(feat: Optional[Tensor],
                             logits: Tensor,
                             sigma: Optional[Sigma],
                             window: Optional[int] = None,
                             valid_mask: Optional[Tensor] = None) -> Tensor:
    """Dense reference of :func:`local_affinity_aggregate`: ``X_in A``.

    Builds the ``(N, hw, hw)`` matrix of :func:`dense_affinity` (Eq. 4) and
    applies it to the logits (Eq. 3, 8). Memory is ``O(h^2 w^2)``.

    Args:
        feat (Tensor, optional): Similarity features ``(N, C, h, w)``; None
            drops ``P_low``.
        logits (Tensor): Logits ``(N, K, h, w)``.
        sigma (float | Tensor, optional): Width of ``P_dis``; None drops it.
        window (int, optional): Odd window side; None (default) is the
            untruncated Eq. 4.
        valid_mask (Tensor, optional): ``(N, h, w)`` real-pixel mask.

    Returns:
        Tensor: Aggregated logits ``(N, K, h, w)`` (float32 for half inputs).
    """
    return dense_softmax_aggregate(feat, logits, sigma, window, valid_mask,
                                   'logits')


# ---------------------------------------------------------------------------
# Modules.
# ---------------------------------------------------------------------------
class LowLevelEmbedding(nn.Module):
    """Low-level image embedding ``f`` of the LAM (Sec. IV-B).

    A ``patch_size x patch_size`` convolution with stride ``patch_size``
    (down-sampling to the 1/4 resolution of the segmentation logits),
    LayerNorm over channels, then, as in the authors' ``PatchEmbed``
    (``lib/net/blpseg.py``), a 1x1 convolution. The paper only mentions the
    first two.

    Args:
        in_channels (int): Image channels. Default: 3.
        embed_dims (int): Channels of the patch convolution. Default: 256
            (``MODEL_PPM_DIM`` of the authors' config).
        patch_size (int): Kernel size and stride. Default: 4.
        proj_channels (int, optional): Output channels of the 1x1
            projection; None drops it. Default: 256.
    """

    def __init__(self,
                 in_channels: int = 3,
                 embed_dims: int = 256,
                 patch_size: int = 4,
                 proj_channels: Optional[int] = 256) -> None:
        super().__init__()
        named = dict(
            in_channels=in_channels,
            embed_dims=embed_dims,
            patch_size=patch_size)
        for name, value in named.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be a positive int, got '
                                 f'{value!r}')
        if proj_channels is not None and (not isinstance(proj_channels, int)
                                          or proj_channels < 1):
            raise ValueError('proj_channels must be a positive int or None, '
                             f'got {proj_channels!r}')
        self.patch_size = patch_size
        self.patch_conv = nn.Conv2d(
            in_channels, embed_dims, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dims)
        self.proj = nn.Conv2d(embed_dims, proj_channels, 1) \
            if proj_channels is not None else None
        self.out_channels = proj_channels or embed_dims

    def forward(self, img: Tensor) -> Tensor:
        """Embeds the normalised image.

        Args:
            img (Tensor): ``(N, in_channels, H, W)``; ``H`` and ``W`` need not
                be multiples of ``patch_size`` (zero padded at the bottom and
                right, as the authors do).

        Returns:
            Tensor: ``(N, out_channels, ceil(H / p), ceil(W / p))``.
        """
        check_4d('img', img)
        h, w = img.shape[-2:]
        p = self.patch_size
        img = F.pad(img, (0, (-w) % p, 0, (-h) % p))
        x = self.patch_conv(img)
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.proj(x) if self.proj is not None else x


class LocalAggregationModule(nn.Module):
    """Local Aggregation Module (LAM) of BLPSeg (Sec. III-B, Eq. 3-8).

    Aggregates segmentation logits with the affinity of Eq. 4. The
    similarity features are chosen by ``similarity`` (Table III):

    * ``'low'``: :class:`LowLevelEmbedding` of the image (the paper's LAM);
    * ``'high'``: a feature map passed to :meth:`forward` (e.g. the decoder
      output);
    * ``'both'``: both, concatenated along channels, which is exactly
      ``P_low * P_high`` since ``exp(a.a') exp(b.b') = exp([a,b].[a',b'])``;
    * ``'none'``: no feature similarity (``use_distance`` must be True).

    ``use_distance=False`` drops ``P_dis`` (Table III, rows without
    "Distance"); it needs ``mode='dense'`` or an explicit ``window``.

    Args:
        sigma (float): (Initial) width of ``P_dis`` in pixels of the logits
            map. Default: 6 (the paper's and the authors' value).
        learnable_sigma (bool): Learn ``sigma`` (Table IV), parametrised as
            ``exp(log_sigma)`` so it stays positive. Default: False.
        window (int, optional): Odd side of the local window. Default:
            ``2 * ceil(3 * sigma) + 1`` with the current ``sigma``.
        mode (str): ``'local'`` (windowed, linear memory) or ``'dense'`` (the
            authors' full ``hw x hw`` form). Default: ``'local'``.
        similarity (str): ``'low'``, ``'high'``, ``'both'`` or ``'none'``.
            Default: ``'low'``.
        use_distance (bool): Multiply by ``P_dis``. Default: True.
        in_channels (int): Image channels of the embedding. Default: 3.
        embed_dims (int): Embedding channels. Default: 256.
        patch_size (int): Embedding stride. Default: 4.
        proj_channels (int, optional): Embedding 1x1 projection channels;
            None drops it. Default: 256.
    """

    MODES = ('local', 'dense')
    SIMILARITIES = ('low', 'high', 'both', 'none')

    def __init__(self,
                 sigma: float = 6.0,
                 learnable_sigma: bool = False,
                 window: Optional[int] = None,
                 mode: str = 'local',
                 similarity: str = 'low',
                 use_distance: bool = True,
                 in_channels: int = 3,
                 embed_dims: int = 256,
                 patch_size: int = 4,
                 proj_channels: Optional[int] = 256) -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got '
                             f'{mode!r}')
        if similarity not in self.SIMILARITIES:
            raise ValueError(f'similarity must be one of '
                             f'{self.SIMILARITIES}, got {similarity!r}')
        if similarity == 'none' and not use_distance:
            raise ValueError("similarity='none' with use_distance=False "
                             'averages uniformly: drop the LAM instead')
        if not use_distance and mode == 'local' and window is None:
            raise ValueError("use_distance=False with mode='local' needs an "
                             "explicit window (or use mode='dense')")
        check_positive_scalar('sigma', float(sigma))
        if window is not None:
            window_radii(None, window, 1, 1)
        self.mode = mode
        self.similarity = similarity
        self.use_distance = use_distance
        self.window = window
        self.learnable_sigma = learnable_sigma
        if learnable_sigma:
            self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma)))
        else:
            self._sigma = float(sigma)
        self.embedding = LowLevelEmbedding(
            in_channels, embed_dims, patch_size,
            proj_channels) if similarity in ('low', 'both') else None

    @property
    def sigma(self) -> Sigma:
        """Current ``sigma``: a scalar tensor when learnable, else a float.
        """
        return self.log_sigma.exp() if self.learnable_sigma else self._sigma

    def similarity_features(self, logits: Tensor, img: Optional[Tensor],
                            feat: Optional[Tensor]) -> Optional[Tensor]:
        """Features ``f`` of Eq. 5 at the logits' resolution.

        Args:
            logits (Tensor): ``(N, K, h, w)``, for the target size.
            img (Tensor, optional): Normalised image ``(N, 3, H, W)``.
            feat (Tensor, optional): High-level features ``(N, C, h', w')``.

        Returns:
            Tensor, optional: ``(N, C', h, w)``, or None for ``'none'``.
        """
        parts: List[Tensor] = []
        if self.similarity in ('low', 'both'):
            if img is None:
                raise ValueError(f'similarity={self.similarity!r} needs the '
                                 'normalised image: pass img')
            parts.append(self.embedding(img))
        if self.similarity in ('high', 'both'):
            if feat is None:
                raise ValueError(f'similarity={self.similarity!r} needs the '
                                 'high-level features: pass feat')
            check_4d('feat', feat)
            parts.append(feat)
        size = logits.shape[-2:]
        # The authors resize the embedding bilinearly when the decoder
        # output is not exactly 1/4 of the input (get_feat_prob).
        parts = [
            p if p.shape[-2:] == size else F.interpolate(
                p, size, mode='bilinear', align_corners=False) for p in parts
        ]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward(self,
                logits: Tensor,
                img: Optional[Tensor] = None,
                feat: Optional[Tensor] = None,
                valid_mask: Optional[Tensor] = None) -> Tensor:
        """Aggregates the logits (Eq. 8).

        Args:
            logits (Tensor): Segmentation logits ``(N, K, h, w)``.
            img (Tensor, optional): Normalised image ``(N, 3, H, W)``, needed
                for ``similarity`` ``'low'`` and ``'both'``.
            feat (Tensor, optional): High-level features ``(N, C, h', w')``,
                needed for ``'high'`` and ``'both'``; resized to ``(h, w)``.
            valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real
                image pixels; padded pixels are not aggregated from.

        Returns:
            Tensor: Aggregated logits ``(N, K, h, w)``.
        """
        check_4d('logits', logits)
        f = self.similarity_features(logits, img, feat)
        sigma = self.sigma if self.use_distance else None
        if self.mode == 'local':
            return local_affinity_aggregate(f, logits, sigma, self.window,
                                            valid_mask)
        return dense_affinity_aggregate(f, logits, sigma, self.window,
                                        valid_mask)

    def extra_repr(self) -> str:
        sigma = float(self.sigma)
        return (f'mode={self.mode!r}, similarity={self.similarity!r}, '
                f'sigma={sigma:.4g}, learnable_sigma={self.learnable_sigma}, '
                f'use_distance={self.use_distance}, window={self.window}')
