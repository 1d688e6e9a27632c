"""CDSP distance maps (Zhang et al., AAAI 2024, Eq. 14 and 16).

The distance entropy loss (DEL, Eq. 15, 17) weights the prediction entropy
of every pixel by two maps:

* ``d_s`` (Eq. 16), high near the foreground scribbles:
  ``d_s(i) = 1 - min(floor(sqrt(e^lambda_s * D_s(i)^2)), 255) / 255``,
  with ``D_s(i)`` the Euclidean distance from pixel ``i`` to the nearest
  foreground scribble pixel;
* ``d_c`` (Eq. 14), low near the pseudo-label's foreground boundary:
  ``d_c(i) = min(floor(sqrt(e^lambda_c * D_c(i)^2)), 255) / 255``,
  with ``D_c(i)`` the distance to the nearest boundary pixel.

Both are stored as ``255 * d`` (the authors' PNGs, uint8 0..255): the
scribble map is 255 on the scribbles, the pseudo-label map 0 on the
boundary. The authors compute them by looping over every source point for
every pixel (O(points x pixels)); here one exact Euclidean distance
transform (:func:`scipy.ndimage.distance_transform_edt`, Maurer et al.)
gives the nearest source pixel of every pixel, and the squared distance is
recomputed from its integer coordinates, so ``floor(sqrt(e^lambda d^2))``
sees exactly the integer ``d^2`` the brute force sees.
:func:`brute_force_scaled_distance` keeps that brute force as the reference.

What the fixture (``tests/data/voc_scribble_fixture``, the authors'
``distance_map`` and ``distance_pseudo`` of 2007_000032) pins down, and
these functions reproduce bit for bit:

* the scribble map was made with ``lambda_s = 1`` and the pseudo-label map
  with ``lambda_c = 6`` (Table 2's grid-search optimum). The first step of
  the pseudo-label map is 20 = floor(sqrt(e^6)) = floor(20.09), the next
  28 = floor(sqrt(2 e^6)); an exhaustive scan of lambda in steps of 0.01
  matches the maps only at 1.00 and 6.00;
* "foreground scribble" means every scribbled class but background (0):
  the background strokes are not sources;
* the pseudo-label boundary is the *inner* 4-connected boundary: the
  foreground pixels (class not 0 and not ignored) with a 4-neighbour that
  is not foreground (outside the image counts as not foreground). The
  8-connected inner boundary, the outer boundaries and OpenCV's external
  contours all differ from the authors' map.

An image without a foreground scribble has ``d_s = 0`` everywhere (no
pixel is near a scribble); a pseudo-label without foreground has no
boundary and ``d_c = 1`` everywhere (the distance is truncated at 255).
"""
import math
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from scipy import ndimage

from mmscribble.structures import get_map_spec, register_map
from .cues import check_before_geometric

MAX_DISTANCE = 255

# d_s (Eq. 16) x 255 is the pre-declared row gt_distance_map; d_c (Eq. 14)
# x 255 is declared here. Both pad with 0: padding and rotated-in corners
# get weight 0 in the distance entropy (the authors pad with 255, the
# largest weight, so their padding is trusted most).
SCRIBBLE_DISTANCE_MAP = get_map_spec('gt_distance_map')
PSEUDO_DISTANCE_MAP = register_map(
    key='gt_distance_pseudo',
    field='gt_distance_pseudo',
    fill=0,
    interp='bilinear',
    dtype=np.float32)


def _check_lambda(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise ValueError(f'{name} must be a finite number (the exponent of '
                         f'e^{name}), got {value!r}')
    return float(value)


def _check_2d(name: str, arr) -> np.ndarray:
    if not isinstance(arr, np.ndarray) or arr.ndim != 2:
        raise ValueError(f'{name} must be a 2-D (H, W) array, got '
                         f'{getattr(arr, "shape", type(arr))}')
    return arr


def squared_distance_to(sources: np.ndarray) -> Optional[np.ndarray]:
    """Exact squared Euclidean distance to the nearest source pixel.

    Args:
        sources (np.ndarray): ``(H, W)`` bool, True on source pixels.

    Returns:
        np.ndarray | None: ``(H, W)`` int64 squared distances (0 on the
        sources), or None when there is no source pixel.
    """
    sources = _check_2d('sources', sources).astype(bool)
    if not sources.any():
        return None
    _, (ii, jj) = ndimage.distance_transform_edt(~sources, return_indices=True)
    rows, cols = np.indices(sources.shape)
    return (rows - ii).astype(np.int64)**2 + (cols - jj).astype(np.int64)**2


def scale_truncate(d2: Optional[np.ndarray],
                   lam: float,
                   shape=None) -> np.ndarray:
    """``min(floor(sqrt(e^lam * d2)), 255)`` as uint8 (Eq. 14 / 16).

    Args:
        d2 (np.ndarray | None): ``(H, W)`` integer squared distances; None
            (no source) gives 255 everywhere.
        lam (float): the exponent lambda.
        shape (tuple, optional): ``(H, W)``, needed when ``d2`` is None.

    Returns:
        np.ndarray: ``(H, W)`` uint8.
    """
    lam = _check_lambda('lam', lam)
    if d2 is None:
        return np.full(shape, MAX_DISTANCE, np.uint8)
    scaled = np.floor(np.sqrt(math.exp(lam) * d2.astype(np.float64)))
    return np.minimum(scaled, MAX_DISTANCE).astype(np.uint8)


def brute_force_scaled_distance(sources: np.ndarray, lam: float) -> np.ndarray:
    """Reference of :func:`scale_truncate` o :func:`squared_distance_to`.

    The authors' O(points x pixels) form: the minimum over every source
    point of ``min(floor(sqrt(e^lam d^2)), 255)``. Tests and
    ``tools/benchmark/bench_cdsp.py`` only.

    Args:
        sources (np.ndarray): ``(H, W)`` bool.
        lam (float): the exponent lambda.

    Returns:
        np.ndarray: ``(H, W)`` uint8.
    """
    sources = _check_2d('sources', sources).astype(bool)
    out = np.full(sources.shape, MAX_DISTANCE, np.uint8)
    pts = np.argwhere(sources)
    if not len(pts):
        return out
    rows, cols = np.indices(sources.shape)
    best = np.full(sources.shape, np.inf)
    for r, c in pts:
        best = np.minimum(best, (rows - r)**2 + (cols - c)**2)
    scaled = np.floor(np.sqrt(math.exp(float(lam)) * best))
    return np.minimum(scaled, MAX_DISTANCE).astype(np.uint8)


def foreground_scribbles(scribble: np.ndarray,
                         background: int = 0,
                         ignore_index: int = 255) -> np.ndarray:
    """``(H, W)`` bool: pixels scribbled with a class other than background.
    """
    scribble = _check_2d('scribble', scribble)
    return (scribble != background) & (scribble != ignore_index)


def pseudo_label_boundary(pseudo: np.ndarray,
                          background: int = 0,
                          ignore_index: int = 255) -> np.ndarray:
    """Inner 4-connected boundary of the pseudo-label foreground.

    Foreground pixels (class not ``background``, not ``ignore_index``) with
    a 4-neighbour outside the foreground or outside the image: the source
    set of Eq. 14 that reproduces the authors' maps.

    Args:
        pseudo (np.ndarray): ``(H, W)`` integer pseudo-label.
        background (int): background class id. Default: 0.
        ignore_index (int): no-label id. Default: 255.

    Returns:
        np.ndarray: ``(H, W)`` bool.
    """
    pseudo = _check_2d('pseudo', pseudo)
    fg = (pseudo != background) & (pseudo != ignore_index)
    return fg & ~ndimage.binary_erosion(fg, border_value=0)


def scribble_distance_map(scribble: np.ndarray,
                          lam_s: float = 1.0,
                          background: int = 0,
                          ignore_index: int = 255) -> np.ndarray:
    """``255 d_s`` of Eq. 16: 255 on foreground scribbles, falling with the
    distance to them.

    Args:
        scribble (np.ndarray): ``(H, W)`` class ids, ``ignore_index`` =
            unlabeled.
        lam_s (float): lambda_s of Eq. 16. Default: 1 (Table 2; the
            fixture's map).
        background (int): background class id. Default: 0.
        ignore_index (int): unlabeled id. Default: 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 (0 everywhere without a foreground
        scribble).
    """
    src = foreground_scribbles(scribble, background, ignore_index)
    dist = scale_truncate(squared_distance_to(src), lam_s, src.shape)
    return (MAX_DISTANCE - dist).astype(np.uint8)


def pseudo_distance_map(pseudo: np.ndarray,
                        lam_c: float = 6.0,
                        background: int = 0,
                        ignore_index: int = 255) -> np.ndarray:
    """``255 d_c`` of Eq. 14: 0 on the pseudo-label boundary, rising with
    the distance to it.

    Args:
        pseudo (np.ndarray): ``(H, W)`` pseudo-label class ids.
        lam_c (float): lambda_c of Eq. 14. Default: 6 (Table 2; the
            fixture's map).
        background (int): background class id. Default: 0.
        ignore_index (int): no-label id. Default: 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 (255 everywhere without a boundary).
    """
    src = pseudo_label_boundary(pseudo, background, ignore_index)
    return scale_truncate(squared_distance_to(src), lam_c, src.shape)


@TRANSFORMS.register_module()
class CDSPDistanceMaps(BaseTransform):
    """Add the CDSP distance maps (Eq. 14, 16) to a sample.

    Put it right after the loading transforms, before any geometric
    transform (the maps are distances on the original image, as the
    authors' offline maps). Each map is appended to ``seg_fields``, so
    later transforms move it with the image and pad it with its fill, 0
    (weight 0 in the distance entropy loss).

    A map already in ``results`` (loaded from disk because ``data_prefix``
    names it, e.g. maps written by
    ``tools/dataset_converters/cdsp_distance_maps.py`` or the authors'
    ``distance_map`` / ``distance_pseudo`` folders) is kept as is.

    Required Keys:
        - gt_seg_map (scribbles), for ``gt_distance_map``
        - gt_pseudo_seg (pseudo-label), for ``gt_distance_pseudo``

    Modified Keys:
        - seg_fields

    Added Keys:
        - gt_distance_map (np.float32, HxW): ``255 d_s`` (Eq. 16)
        - gt_distance_pseudo (np.float32, HxW): ``255 d_c`` (Eq. 14)

    Args:
        lam_s (float): lambda_s. Default: 1.
        lam_c (float): lambda_c. Default: 6.
        with_scribble (bool): add ``gt_distance_map``. Default: True.
        with_pseudo (bool): add ``gt_distance_pseudo``. Default: True.
        background (int): background class id. Default: 0.
        ignore_index (int): unlabeled id. Default: 255.
    """

    def __init__(self,
                 lam_s: float = 1.0,
                 lam_c: float = 6.0,
                 with_scribble: bool = True,
                 with_pseudo: bool = True,
                 background: int = 0,
                 ignore_index: int = 255) -> None:
        self.lam_s = _check_lambda('lam_s', lam_s)
        self.lam_c = _check_lambda('lam_c', lam_c)
        if not (with_scribble or with_pseudo):
            raise ValueError('CDSPDistanceMaps: with_scribble and '
                             'with_pseudo are both False, nothing to add')
        self.with_scribble = with_scribble
        self.with_pseudo = with_pseudo
        self.background = background
        self.ignore_index = ignore_index

    def _add(self, results, key, source_key, fn, lam):
        fields = results.setdefault('seg_fields', [])
        if key not in results:
            if source_key not in results:
                raise KeyError(
                    f'CDSPDistanceMaps needs {source_key!r} for {key!r}: '
                    'load it first (LoadScribbleAnnotations with '
                    f'data_prefix {source_key}=...)')
            check_before_geometric(results, 'CDSPDistanceMaps')
            results[key] = fn(results[source_key], lam, self.background,
                              self.ignore_index).astype(np.float32)
        if key not in fields:
            fields.append(key)

    def transform(self, results: dict) -> dict:
        if self.with_scribble:
            self._add(results, SCRIBBLE_DISTANCE_MAP.key, 'gt_seg_map',
                      scribble_distance_map, self.lam_s)
        if self.with_pseudo:
            self._add(results, PSEUDO_DISTANCE_MAP.key, 'gt_pseudo_seg',
                      pseudo_distance_map, self.lam_c)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(lam_s={self.lam_s}, '
                f'lam_c={self.lam_c}, with_scribble={self.with_scribble}, '
                f'with_pseudo={self.with_pseudo}, '
                f'background={self.background}, '
                f'ignore_index={self.ignore_index})')
