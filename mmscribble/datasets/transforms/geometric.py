"""Geometric and photometric transforms that move every per-pixel map.

mmcv's ``RandomFlip``/``Resize``/``Pad`` only touch ``gt_seg_map``; a
scribble pipeline carries more maps (valid mask, SLIC boundaries,
pseudo-labels, distance maps, over-segmentations). The transforms here apply
the same geometry to the image and to every key in ``results['seg_fields']``,
each with the interpolation and fill value of its row in
:data:`mmscribble.structures.SCRIBBLE_MAPS`.
"""
from typing import Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

from mmscribble.structures import get_map_spec

_CV2_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR)


def _map_keys(results: dict):
    """Keys in ``seg_fields`` that are present; unknown keys are an error."""
    keys = [k for k in results.get('seg_fields', []) if k in results]
    for k in keys:
        get_map_spec(k)  # raises with the list of known maps
    return keys


def _as_pad_value(value, channels):
    if isinstance(value, (int, float)):
        return tuple([value] * channels)
    value = tuple(value)
    if len(value) != channels:
        raise ValueError(f'img_pad_val {value} has {len(value)} values but '
                         f'the image has {channels} channels')
    return value


def _resize_all(results: dict, new_hw: Tuple[int, int],
                interpolation: str) -> None:
    h, w = results['img'].shape[:2]
    nh, nw = new_hw
    results['img'] = cv2.resize(
        results['img'], (nw, nh), interpolation=_CV2_INTERP[interpolation])
    for key in _map_keys(results):
        spec = get_map_spec(key)
        results[key] = cv2.resize(
            results[key], (nw, nh),
            interpolation=_CV2_INTERP[spec.interp]).astype(spec.dtype)
    sx, sy = nw / w, nh / h
    old = results.get('scale_factor', (1.0, 1.0))
    results['scale_factor'] = (old[0] * sx, old[1] * sy)
    results['img_shape'] = (nh, nw)


@TRANSFORMS.register_module()
class ScribbleRandomResize(BaseTransform):
    """Resize the image and every map by a random ratio.

    With ``scale=None`` the ratio multiplies the current size (URSS: random
    scale 0.5-2 of the image). With ``scale=(w, h)`` it follows mmseg's
    ``RandomResize``: the target is ``scale * ratio``, fitted keeping the
    aspect ratio if ``keep_ratio``.

    Required Keys: img, seg_fields and the maps they name.
    Modified Keys: img, img_shape, every map in seg_fields.
    Added Keys: scale_factor, keep_ratio.

    Args:
        scale (tuple[int, int] | None): base (w, h), or None for relative.
        ratio_range (tuple[float, float] | None): sampled uniformly; None
            means ratio 1 (a deterministic resize).
        keep_ratio (bool): keep the aspect ratio when ``scale`` is given.
        interpolation (str): for the image, 'bilinear' or 'nearest'.
    """

    def __init__(self,
                 scale: Optional[Tuple[int, int]] = None,
                 ratio_range: Optional[Tuple[float, float]] = (0.5, 2.0),
                 keep_ratio: bool = True,
                 interpolation: str = 'bilinear'):
        if ratio_range is not None and not (
                0 < ratio_range[0] <= ratio_range[1]):
            raise ValueError('ratio_range must be (low, high) with '
                             f'0 < low <= high, got {ratio_range}')
        if scale is None and ratio_range is None:
            raise ValueError('give scale, ratio_range or both')
        if interpolation not in _CV2_INTERP:
            raise ValueError(f'interpolation must be one of '
                             f'{list(_CV2_INTERP)}, got {interpolation!r}')
        self.scale = scale
        self.ratio_range = ratio_range
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation

    @cache_randomness
    def _random_ratio(self) -> float:
        if self.ratio_range is None:
            return 1.0
        return float(np.random.uniform(*self.ratio_range))

    def transform(self, results: dict) -> dict:
        ratio = self._random_ratio()
        h, w = results['img'].shape[:2]
        if self.scale is None:
            new_hw = (max(1, int(h * ratio + 0.5)),
                      max(1, int(w * ratio + 0.5)))
        else:
            target = (int(self.scale[0] * ratio), int(self.scale[1] * ratio))
            if self.keep_ratio:
                nw, nh = mmcv.rescale_size((w, h), target)
            else:
                nw, nh = target
            new_hw = (nh, nw)
        _resize_all(results, new_hw, self.interpolation)
        results['keep_ratio'] = self.keep_ratio
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(scale={self.scale}, ratio_range='
                f'{self.ratio_range}, keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class ScribbleRandomRotate(BaseTransform):
    """Rotate the image and every map by an angle in [-degree, degree].

    The image is interpolated bilinearly and its corners are filled with
    ``img_pad_val`` (use the dataset mean, as the URSS authors do); maps use
    their own interpolation and fill, so rotated-in corners are unlabeled
    (255) in the scribbles and 0 in ``gt_valid_mask``.

    Required Keys: img, seg_fields. Modified Keys: img, every map.

    Args:
        prob (float): probability of rotating.
        degree (float): maximum absolute angle in degrees (URSS: 10).
        img_pad_val (float | tuple): fill for the image corners.
    """

    def __init__(self, prob: float = 0.5, degree: float = 10.0,
                 img_pad_val: Union[float, Sequence[float]] = 0):
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if degree < 0:
            raise ValueError(f'degree must be >= 0, got {degree}')
        self.prob = prob
        self.degree = degree
        self.img_pad_val = img_pad_val

    @cache_randomness
    def _random_angle(self) -> Optional[float]:
        if np.random.rand() >= self.prob:
            return None
        return float(np.random.uniform(-self.degree, self.degree))

    def transform(self, results: dict) -> dict:
        angle = self._random_angle()
        if angle is None:
            return results
        img = results['img']
        h, w = img.shape[:2]
        matrix = cv2.getRotationMatrix2D(((w - 1) * 0.5, (h - 1) * 0.5),
                                         angle, 1.0)
        channels = 1 if img.ndim == 2 else img.shape[2]
        results['img'] = cv2.warpAffine(
            img,
            matrix, (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=_as_pad_value(self.img_pad_val, channels))
        for key in _map_keys(results):
            spec = get_map_spec(key)
            arr = results[key]
            # warpAffine has no int32 path; ids fit exactly in float64.
            work = arr.astype(np.float64) if arr.dtype == np.int32 else arr
            out = cv2.warpAffine(
                work,
                matrix, (w, h),
                flags=_CV2_INTERP[spec.interp],
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=float(spec.fill))
            results[key] = out.astype(spec.dtype)
        results['rotate_angle'] = angle
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(prob={self.prob}, degree='
                f'{self.degree}, img_pad_val={self.img_pad_val})')


@TRANSFORMS.register_module()
class ScribbleGaussianBlur(BaseTransform):
    """Blur the image (never the maps) with a Gaussian kernel.

    URSS Sec. 5.1 uses a 5x5 kernel with sigma 1.1.

    Required Keys: img. Modified Keys: img.
    """

    def __init__(self, prob: float = 0.5, kernel_size: int = 5,
                 sigma: float = 1.1):
        if kernel_size % 2 != 1 or kernel_size < 1:
            raise ValueError(
                f'kernel_size must be odd and positive, got {kernel_size}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.kernel_size = kernel_size
        self.sigma = sigma

    @cache_randomness
    def _do(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        if self._do():
            k = self.kernel_size
            results['img'] = cv2.GaussianBlur(results['img'], (k, k),
                                              self.sigma)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(prob={self.prob}, kernel_size='
                f'{self.kernel_size}, sigma={self.sigma})')


@TRANSFORMS.register_module()
class ScribbleRandomFlip(BaseTransform):
    """Flip the image and every map.

    Required Keys: img, seg_fields.
    Modified Keys: img, every map. Added Keys: flip, flip_direction.
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal'):
        if direction not in ('horizontal', 'vertical'):
            raise ValueError("direction must be 'horizontal' or 'vertical', "
                             f'got {direction!r}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.direction = direction

    @cache_randomness
    def _do(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        flip = self._do()
        results['flip'] = flip
        results['flip_direction'] = self.direction if flip else None
        if not flip:
            return results
        axis = 1 if self.direction == 'horizontal' else 0
        results['img'] = np.ascontiguousarray(np.flip(results['img'], axis))
        for key in _map_keys(results):
            results[key] = np.ascontiguousarray(np.flip(results[key], axis))
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(prob={self.prob}, direction='
                f'{self.direction!r})')


@TRANSFORMS.register_module()
class ScribbleRandomRot90(BaseTransform):
    """Rotate the image and every map by k x 90 degrees, k in {1, 2, 3}.

    A lossless rotation (no interpolation, no filled corners), as the
    CycleMix authors' MSCMR augmentation (flips, rot90, then a free
    rotation; for those use :class:`ScribbleRandomFlip` and
    :class:`ScribbleRandomRotate` with ``degree=180``). Counter-clockwise,
    as ``np.rot90``; a non-square image swaps its height and width.

    Required Keys: img, seg_fields.
    Modified Keys: img, img_shape, every map. Added Keys: rot90_k (0 when
    not rotated).

    Args:
        prob (float): probability of rotating; k is then uniform in
            {1, 2, 3}.
    """

    def __init__(self, prob: float = 0.5):
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    @cache_randomness
    def _random_k(self) -> int:
        if np.random.rand() >= self.prob:
            return 0
        return int(np.random.randint(1, 4))

    def transform(self, results: dict) -> dict:
        k = self._random_k()
        results['rot90_k'] = k
        if k == 0:
            return results
        results['img'] = np.ascontiguousarray(
            np.rot90(results['img'], k, axes=(0, 1)))
        for key in _map_keys(results):
            results[key] = np.ascontiguousarray(
                np.rot90(results[key], k, axes=(0, 1)))
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self):
        return f'{type(self).__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class ScribbleRandomCrop(BaseTransform):
    """Crop a random window from the image and every map.

    An image smaller than ``crop_size`` is not padded here: the data
    preprocessor pads the batch (with ``size=crop_size``) and every map with
    its own fill, or use :class:`ScribblePad` in the pipeline.

    Required Keys: img, seg_fields. Modified Keys: img, img_shape, maps.

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop.
        cat_max_ratio (float): re-sample (up to 10 times) while one class
            covers more than this fraction of the labeled pixels, as mmseg.
        ignore_index (int): unlabeled id, ignored by ``cat_max_ratio``.
    """

    def __init__(self, crop_size, cat_max_ratio: float = 1.0,
                 ignore_index: int = 255):
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError(f'crop_size must be positive (h, w), got '
                             f'{crop_size}')
        self.crop_size = tuple(crop_size)
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index

    def _bbox(self, h, w):
        margin_h = max(h - self.crop_size[0], 0)
        margin_w = max(w - self.crop_size[1], 0)
        y = np.random.randint(0, margin_h + 1)
        x = np.random.randint(0, margin_w + 1)
        return y, min(y + self.crop_size[0], h), x, min(x + self.crop_size[1],
                                                        w)

    @cache_randomness
    def _choose_bbox(self, results):
        h, w = results['img'].shape[:2]
        bbox = self._bbox(h, w)
        seg = results.get('gt_seg_map')
        if self.cat_max_ratio < 1.0 and seg is not None:
            for _ in range(10):
                y1, y2, x1, x2 = bbox
                labels, counts = np.unique(
                    seg[y1:y2, x1:x2], return_counts=True)
                counts = counts[labels != self.ignore_index]
                if len(counts) > 1 and counts.max() / counts.sum() < \
                        self.cat_max_ratio:
                    break
                bbox = self._bbox(h, w)
        return bbox

    def transform(self, results: dict) -> dict:
        y1, y2, x1, x2 = self._choose_bbox(results)
        results['img'] = results['img'][y1:y2, x1:x2, ...]
        for key in _map_keys(results):
            results[key] = results[key][y1:y2, x1:x2]
        results['img_shape'] = results['img'].shape[:2]
        results['crop_bbox'] = (y1, y2, x1, x2)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio})')


@TRANSFORMS.register_module()
class ScribblePad(BaseTransform):
    """Pad the image and every map at the bottom/right.

    Required Keys: img, seg_fields.
    Modified Keys: img, maps. Added Keys: pad_shape, padding_size.

    Args:
        size (tuple[int, int] | None): (h, w) to pad to.
        size_divisor (int | None): pad each side to a multiple of it.
        img_pad_val (float | tuple): image fill.
    """

    def __init__(self, size: Optional[Tuple[int, int]] = None,
                 size_divisor: Optional[int] = None,
                 img_pad_val: Union[float, Sequence[float]] = 0):
        if (size is None) == (size_divisor is None):
            raise ValueError('give exactly one of size and size_divisor')
        self.size = size
        self.size_divisor = size_divisor
        self.img_pad_val = img_pad_val

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        if self.size is not None:
            th, tw = max(h, self.size[0]), max(w, self.size[1])
        else:
            d = self.size_divisor
            th, tw = -(-h // d) * d, -(-w // d) * d
        pad = ((0, th - h), (0, tw - w))
        channels = 1 if img.ndim == 2 else img.shape[2]
        vals = _as_pad_value(self.img_pad_val, channels)
        out = np.empty((th, tw) + img.shape[2:], img.dtype)
        out[...] = np.asarray(vals, img.dtype).reshape(
            (1, 1) + ((channels, ) if img.ndim == 3 else ()))
        out[:h, :w] = img
        results['img'] = out
        for key in _map_keys(results):
            spec = get_map_spec(key)
            results[key] = np.pad(
                results[key], pad, constant_values=spec.fill)
        results['pad_shape'] = (th, tw)
        results['padding_size'] = (0, tw - w, 0, th - h)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(size={self.size}, size_divisor='
                f'{self.size_divisor}, img_pad_val={self.img_pad_val})')
