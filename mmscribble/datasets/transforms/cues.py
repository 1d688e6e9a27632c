"""Low-level cues computed from the image: SLIC pseudo-boundaries (URSS).

URSS (Pan et al., ICCV 2021, Sec. 3.1, Eq. 3) minimises the prediction
entropy everywhere except on object boundaries, approximated by the
boundaries of SLIC superpixels (Achanta et al., TPAMI 2012). The authors
compute them offline with MATLAB's ``superpixels(img, 800)`` and store
one boundary map per image. :func:`compute_slic_boundaries` reproduces
that with scikit-image; :class:`SLICBoundaries` calls it inside the
pipeline and ``tools/dataset_converters/slic_boundaries.py`` writes the
same maps to disk, to be loaded with
``data_prefix=dict(..., gt_boundary_map='slic_800')`` instead.
"""
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from skimage.segmentation import find_boundaries, slic

from mmscribble.structures import register_map

BOUNDARY_MODES = ('thick', 'inner', 'outer')
# Keys the geometric transforms of this package (and mmcv's) add: their
# presence means the image no longer has its decoded geometry.
_GEOMETRIC_KEYS = ('scale_factor', 'crop_bbox', 'rotate_angle', 'flip',
                   'pad_shape')


def check_before_geometric(results: dict, transform: str) -> None:
    """Raise if a geometric transform already ran on ``results``.

    A cue (superpixels, boundaries, distance maps) must be computed on the
    decoded image; afterwards the geometric transforms move it with the
    image like every map in ``seg_fields``.

    Args:
        results (dict): The pipeline results.
        transform (str): The cue transform's name, for the message.

    Raises:
        ValueError: naming the keys that show a geometric transform ran.
    """
    moved = [k for k in _GEOMETRIC_KEYS if k in results]
    if moved:
        raise ValueError(
            f'{transform} must run before geometric transforms, but results '
            f'already has {moved}: put it right after '
            'LoadScribbleAnnotations so that it sees the original image')


def compute_slic_boundaries(img_bgr: np.ndarray,
                            n_segments: int = 800,
                            compactness: float = 10.0,
                            slic_zero: bool = True,
                            max_num_iter: int = 10,
                            sigma: float = 0.0,
                            mode: str = 'thick',
                            connectivity: int = 2) -> np.ndarray:
    """SLIC superpixel boundaries of an image, URSS Sec. 3.1 (Eq. 3).

    The defaults follow MATLAB's ``superpixels(img, 800)`` as used by the
    URSS authors: SLIC0 (``slic_zero=True``, MATLAB's default method,
    compactness adapted per superpixel from the initial 10), 10
    iterations, clustering in CIE L*a*b*, connected superpixels. Boundary
    pixels are those with a differently labelled neighbour in their 3x3
    neighbourhood, on both sides of a boundary (``mode='thick'``,
    ``connectivity=2``), as MATLAB's ``boundarymask`` (8-connectivity).

    The result is a deterministic function of the decoded image, so the
    pipeline transform and the offline tool give identical maps.

    Args:
        img_bgr (np.ndarray): ``(H, W, 3)`` BGR image as decoded by mmcv
            (uint8 or float in [0, 255]), or ``(H, W)`` / ``(H, W, 1)``
            grayscale.
        n_segments (int): approximate number of superpixels. Default: 800.
        compactness (float): SLIC compactness (initial value for SLIC0).
            Default: 10.0.
        slic_zero (bool): use SLIC0 (adaptive compactness). Default: True.
        max_num_iter (int): k-means iterations. Default: 10.
        sigma (float): Gaussian pre-smoothing of the image. Default: 0.0.
        mode (str): :func:`skimage.segmentation.find_boundaries` mode:
            ``'thick'`` (both sides), ``'inner'`` or ``'outer'``.
            Default: ``'thick'``.
        connectivity (int): 1 (4-neighbours) or 2 (8-neighbours).
            Default: 2.

    Returns:
        np.ndarray: ``(H, W)`` uint8 map, 1 on superpixel boundaries and 0
        inside superpixels.

    Raises:
        ValueError: naming the argument that is out of range.
    """
    if not isinstance(img_bgr, np.ndarray) or img_bgr.ndim not in (2, 3):
        raise ValueError('img_bgr must be an (H, W, 3) or (H, W) array, got '
                         f'{getattr(img_bgr, "shape", type(img_bgr))}')
    if img_bgr.ndim == 3 and img_bgr.shape[2] not in (1, 3):
        raise ValueError('img_bgr must have 1 or 3 channels, got '
                         f'{img_bgr.shape[2]}')
    if int(n_segments) < 1:
        raise ValueError(f'n_segments must be >= 1, got {n_segments}')
    if compactness <= 0:
        raise ValueError(f'compactness must be > 0, got {compactness}')
    if int(max_num_iter) < 1:
        raise ValueError(f'max_num_iter must be >= 1, got {max_num_iter}')
    if mode not in BOUNDARY_MODES:
        raise ValueError(f'mode must be one of {BOUNDARY_MODES}, got '
                         f'{mode!r}')
    if connectivity not in (1, 2):
        raise ValueError(f'connectivity must be 1 or 2, got {connectivity}')
    if img_bgr.ndim == 3 and img_bgr.shape[2] == 1:
        img_bgr = img_bgr[..., 0]
    if img_bgr.ndim == 3:
        # L*a*b* conversion expects RGB; float64 in [0, 1] makes uint8 and
        # float inputs of the same image give the same superpixels.
        image = img_bgr[..., ::-1].astype(np.float64) / 255.0
        channel_axis = -1
    else:
        image = img_bgr.astype(np.float64) / 255.0
        channel_axis = None
    labels = slic(
        image,
        n_segments=int(n_segments),
        compactness=float(compactness),
        max_num_iter=int(max_num_iter),
        sigma=float(sigma),
        slic_zero=slic_zero,
        enforce_connectivity=True,
        start_label=0,
        channel_axis=channel_axis)
    return find_boundaries(
        labels, connectivity=connectivity, mode=mode).astype(np.uint8)


class ImageCueTransform(BaseTransform):
    """A per-pixel map computed from the decoded image, or loaded instead.

    A subclass sets :attr:`map_key` (a key of ``SCRIBBLE_MAPS``) and
    ``self.kwargs`` (the keyword arguments of its compute function) and
    implements :meth:`compute`. A map already in ``results`` (loaded from
    disk because ``data_prefix`` names its key) is kept as is, so that
    precomputed maps replace the online ones with a ``--cfg-options``
    override and no pipeline edit.

    Required Keys:
        - img (decoded, before any geometric transform)

    Modified Keys:
        - seg_fields (:attr:`map_key` appended)

    Added Keys:
        - :attr:`map_key`: the computed map; kept unchanged when loaded
    """

    map_key: str = ''
    kwargs: dict

    def compute(self, img: np.ndarray) -> np.ndarray:
        """The ``(H, W)`` map of a decoded image."""
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        """Add the map of ``results['img']`` unless one is loaded.

        Raises:
            ValueError: a geometric transform ran before.
        """
        key = self.map_key
        fields = results.setdefault('seg_fields', [])
        if key in results:
            if key not in fields:
                fields.append(key)
            return results
        check_before_geometric(results, type(self).__name__)
        results[key] = self.compute(results['img'])
        fields.append(key)
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.kwargs.items())
        return f'{type(self).__name__}({args})'


# The map SLICBoundaries adds (or that is loaded in its place from disk):
# 0 interior, 1 boundary. Padding and rotated-in corners get 255, which the
# soft entropy excludes like a boundary; nearest interpolation keeps it
# binary.
BOUNDARY_MAP = register_map(
    key='gt_boundary_map',
    field='gt_boundary_map',
    fill=255,
    interp='nearest',
    dtype=np.uint8)


@TRANSFORMS.register_module()
class SLICBoundaries(ImageCueTransform):
    """Add SLIC pseudo-boundaries as ``gt_boundary_map`` (URSS Eq. 3).

    Put it right after the loading transforms and before any geometric
    transform: the superpixels are computed on the decoded image, as the
    authors' offline maps, and the map is appended to ``seg_fields`` so
    that every later transform moves it with the image. Padding and
    rotated-in corners then get the map's fill, 255 (excluded from the
    soft entropy, like boundaries).

    SLIC costs about 0.2-0.3 s per VOC image on one CPU core. To keep it
    out of the data loader, write the maps once with
    ``tools/dataset_converters/slic_boundaries.py`` (same function, same
    result) and load them with ``data_prefix=dict(...,
    gt_boundary_map='slic_800')``: this transform then keeps the loaded
    map and computes nothing.

    Required Keys:
        - img (decoded, before any geometric transform)

    Modified Keys:
        - seg_fields (``'gt_boundary_map'`` appended)

    Added Keys:
        - gt_boundary_map (np.uint8, HxW): 0 interior, 1 boundary; kept
          unchanged when already loaded

    Args:
        n_segments (int): approximate number of superpixels. Default: 800.
        compactness (float): SLIC (initial) compactness. Default: 10.0.
        slic_zero (bool): SLIC0, MATLAB's default. Default: True.
        max_num_iter (int): k-means iterations. Default: 10.
        sigma (float): Gaussian pre-smoothing. Default: 0.0.
        mode (str): boundary mode, see :func:`compute_slic_boundaries`.
            Default: ``'thick'``.
        connectivity (int): 1 or 2. Default: 2.
    """

    map_key = BOUNDARY_MAP.key

    def __init__(self,
                 n_segments: int = 800,
                 compactness: float = 10.0,
                 slic_zero: bool = True,
                 max_num_iter: int = 10,
                 sigma: float = 0.0,
                 mode: str = 'thick',
                 connectivity: int = 2) -> None:
        self.kwargs = dict(
            n_segments=n_segments,
            compactness=compactness,
            slic_zero=slic_zero,
            max_num_iter=max_num_iter,
            sigma=sigma,
            mode=mode,
            connectivity=connectivity)
        # Fail at build time, not in a data-loader worker.
        self.compute(np.zeros((2, 2, 3), np.uint8))

    def compute(self, img: np.ndarray) -> np.ndarray:
        return compute_slic_boundaries(img, **self.kwargs)
