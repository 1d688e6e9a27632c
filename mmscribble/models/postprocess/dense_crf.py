"""Test-time fully connected CRF (Krähenbühl & Koltun, NeurIPS 2011).

Any config switches it on with ``model.test_cfg.crf``::

    model = dict(test_cfg=dict(mode='whole', crf=dict(preset='blpseg')))
    # or on the command line, for tools/test.py or the table tool:
    --cfg-options model.test_cfg.crf.preset=spml

It needs the optional extra ``crf`` (``pip install 'mmscribble[crf]'``,
the ``pydensecrf2`` build of pydensecrf from the package index); without
it the segmentor refuses to build, naming the extra.

Model. The CRF's energy over the labelling ``x`` of the N pixels is

    E(x) = sum_i psi_u(x_i) + sum_{i<j} mu(x_i, x_j) k(f_i, f_j),
    psi_u(x_i) = -log P_i(x_i)         (P: the network's softmax)
    k(f_i, f_j) = w_g exp(-|p_i - p_j|^2 / (2 sxy_g^2))
                + w_b exp(-|p_i - p_j|^2 / (2 sxy_b^2)
                          - |I_i - I_j|^2 / (2 srgb^2))

with a Potts compatibility ``mu(a, b) = [a != b]`` (``compat`` = ``w_g``
and ``w_b``, Eq. 3 of the paper: appearance and smoothness kernels),
positions ``p`` in pixels of the original image and intensities ``I``
in 0..255. ``iters`` rounds of mean-field inference (pydensecrf's
permutohedral-lattice filtering) give the marginals ``Q``; the prediction
is ``argmax_c Q_c``.

Inputs. The image is the segmentor's own input, un-normalised with the
data preprocessor's ``mean`` / ``std`` (after its BGR to RGB swap, so the
channels are RGB), cropped of its padding, flipped back and resized to the
original shape exactly as mmseg's ``postprocess_result`` treats the
logits. Grayscale MR (a gray PNG replicated to three channels by the
loader) is detected (``color='auto'``: all channels equal within 1/255)
and the appearance kernel then reads the one intensity channel: on the
replicated three channels ``|I_i - I_j|^2`` would be three times the gray
difference, i.e. the effective ``srgb`` divided by sqrt(3).

Presets (``preset=``; any key given beside it overrides it):

=========  =====  =========================  ================================
preset     iters  Gaussian (sxy, compat)     bilateral (sxy, srgb, compat)
=========  =====  =========================  ================================
``blpseg``   1    3, 3                       32, 13, 10
``spml``    10    1, 3                       67, 3, 4
=========  =====  =========================  ================================

(the values issue 15 gives for BLPSeg's and SPML's post-processing; the
papers do not print them, and they were not checked against the authors'
code here).
"""
import importlib
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

PRESETS = dict(
    blpseg=dict(
        iters=1,
        gaussian_sxy=3.,
        gaussian_compat=3.,
        bilateral_sxy=32.,
        bilateral_srgb=13.,
        bilateral_compat=10.),
    spml=dict(
        iters=10,
        gaussian_sxy=1.,
        gaussian_compat=3.,
        bilateral_sxy=67.,
        bilateral_srgb=3.,
        bilateral_compat=4.))
COLORS = ('auto', 'rgb', 'gray')
EXTRA_MESSAGE = ("model.test_cfg.crf: dense CRF post-processing needs the "
                 "optional extra 'crf' (the pydensecrf2 package): pip "
                 "install 'mmscribble[crf]'")


def import_pydensecrf():
    """``(densecrf, utils)`` of pydensecrf, or an ImportError naming the
    extra that provides them."""
    try:
        dcrf = importlib.import_module('pydensecrf.densecrf')
        utils = importlib.import_module('pydensecrf.utils')
    except ImportError as err:
        raise ImportError(f'{EXTRA_MESSAGE} ({err})') from err
    return dcrf, utils


def dense_crf(probs: np.ndarray,
              image: np.ndarray,
              iters: int,
              gaussian_sxy: float,
              gaussian_compat: float,
              bilateral_sxy: float,
              bilateral_srgb: float,
              bilateral_compat: float) -> np.ndarray:
    """Mean-field marginals of the fully connected CRF.

    Args:
        probs (np.ndarray): ``(C, H, W)`` class probabilities (each pixel's
            sum 1), C >= 2.
        image (np.ndarray): ``(H, W)`` (one intensity channel) or
            ``(H, W, K)`` intensities in 0..255.
        iters (int): mean-field iterations, >= 1.
        gaussian_sxy, gaussian_compat: smoothness kernel width (pixels)
            and weight.
        bilateral_sxy, bilateral_srgb, bilateral_compat: appearance kernel
            widths (pixels, intensity levels) and weight.

    Returns:
        np.ndarray: ``(C, H, W)`` float32 marginals ``Q``.
    """
    dcrf, utils = import_pydensecrf()
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 3 or probs.shape[0] < 2:
        raise ValueError(f'probs must be (C, H, W) with C >= 2, got shape '
                         f'{probs.shape}')
    num_classes, height, width = probs.shape
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[:2] != (height, width):
        raise ValueError(f'image must be (H, W) or (H, W, K) with (H, W) = '
                         f'{(height, width)}, got shape {image.shape}')
    crf = dcrf.DenseCRF(height * width, num_classes)
    unary = -np.log(np.clip(probs, 1e-8, 1.0)).reshape(num_classes, -1)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    gauss = utils.create_pairwise_gaussian(
        sdims=(gaussian_sxy, gaussian_sxy), shape=(height, width))
    crf.addPairwiseEnergy(
        np.ascontiguousarray(gauss, dtype=np.float32),
        compat=float(gaussian_compat))
    bilateral = utils.create_pairwise_bilateral(
        sdims=(bilateral_sxy, bilateral_sxy),
        schan=(bilateral_srgb, ) * image.shape[2],
        img=image,
        chdim=2)
    crf.addPairwiseEnergy(
        np.ascontiguousarray(bilateral, dtype=np.float32),
        compat=float(bilateral_compat))
    q = crf.inference(int(iters))
    return np.asarray(q, dtype=np.float32).reshape(num_classes, height,
                                                   width)


class DenseCRFPostProcessor:
    """Replaces ``pred_sem_seg`` of each prediction by the CRF's argmax.

    Args:
        preset (str, optional): ``'blpseg'`` or ``'spml'`` (see the module
            docstring); keys given beside it override its values. Without
            a preset every value must be given.
        iters, gaussian_sxy, gaussian_compat, bilateral_sxy,
            bilateral_srgb, bilateral_compat: see :func:`dense_crf`.
        color (str): ``'auto'`` (default: one channel when the
            un-normalised channels are equal, as for grayscale MR),
            ``'rgb'`` (always the three channels) or ``'gray'`` (their
            mean).

    Raises:
        ImportError: naming the ``crf`` extra when pydensecrf is missing.
        ValueError: naming the bad argument.

    ``seg_logits`` of the prediction are left as the network gave them;
    the CRF's marginals are in ``crf_probs`` (``(C, H, W)``).
    """

    KEYS = tuple(PRESETS['blpseg'])

    def __init__(self,
                 preset: Optional[str] = None,
                 color: str = 'auto',
                 **kwargs):
        if preset is not None and preset not in PRESETS:
            raise ValueError(f'model.test_cfg.crf.preset must be one of '
                             f'{sorted(PRESETS)} or None, got {preset!r}')
        unknown = sorted(set(kwargs) - set(self.KEYS))
        if unknown:
            raise ValueError(f'model.test_cfg.crf: unknown key(s) {unknown};'
                             f' known: preset, color, {", ".join(self.KEYS)}')
        params = dict(PRESETS[preset]) if preset else {}
        params.update(kwargs)
        missing = [k for k in self.KEYS if k not in params]
        if missing:
            raise ValueError(f'model.test_cfg.crf: give a preset '
                             f'{sorted(PRESETS)} or every parameter; missing '
                             f'{missing}')
        if not isinstance(params['iters'], int) or params['iters'] < 1:
            raise ValueError(f'model.test_cfg.crf.iters must be an int >= 1,'
                             f' got {params["iters"]!r}')
        for key in self.KEYS[1:]:
            if not params[key] > 0:
                raise ValueError(f'model.test_cfg.crf.{key} must be > 0, got'
                                 f' {params[key]!r}')
        if color not in COLORS:
            raise ValueError(f'model.test_cfg.crf.color must be one of '
                             f'{COLORS}, got {color!r}')
        import_pydensecrf()  # fail when the model is built, not at test
        self.preset, self.color, self.params = preset, color, params

    def __repr__(self):
        return (f'{type(self).__name__}(preset={self.preset!r}, '
                f'color={self.color!r}, {self.params})')

    def image_of(self, inputs: torch.Tensor, meta: dict,
                 data_preprocessor) -> np.ndarray:
        """``(H, W)`` or ``(H, W, 3)`` intensities 0..255 at ``ori_shape``
        from one normalised, padded input ``(3, Hp, Wp)``."""
        img = inputs.detach().float()
        mean = getattr(data_preprocessor, 'mean', None)
        std = getattr(data_preprocessor, 'std', None)
        if getattr(data_preprocessor, '_enable_normalize', False):
            img = img * std.to(img) + mean.to(img)
        # The same steps as mmseg's postprocess_result on the logits.
        if 'img_padding_size' in meta:
            pad = meta['img_padding_size']
        else:
            pad = meta.get('padding_size', [0] * 4)
        left, right, top, bottom = pad
        img = img[:, top:img.shape[1] - bottom, left:img.shape[2] - right]
        if meta.get('flip', False):
            direction = meta['flip_direction']
            assert direction in ('horizontal', 'vertical')
            img = img.flip(dims=(2, ) if direction == 'horizontal' else (1, ))
        ori = tuple(meta.get('ori_shape', img.shape[1:]))[:2]
        if tuple(img.shape[1:]) != ori:
            img = F.interpolate(
                img[None], size=ori, mode='bilinear',
                align_corners=False)[0]
        img = img.clamp(0, 255).cpu().numpy().transpose(1, 2, 0)
        gray = self.color == 'gray' or (
            self.color == 'auto'
            and np.abs(img - img[..., :1]).max() < 1.0)
        return img.mean(axis=2) if gray else img

    def __call__(self, inputs: torch.Tensor, results, data_preprocessor):
        """Refine each ``SegDataSample`` of ``results`` in place."""
        for i, sample in enumerate(results):
            logits = sample.seg_logits.data
            if logits.shape[0] < 2:
                raise ValueError('model.test_cfg.crf needs a head with >= 2 '
                                 'output channels (softmax), got '
                                 f'{logits.shape[0]}')
            image = self.image_of(inputs[i], sample.metainfo,
                                  data_preprocessor)
            probs = logits.float().softmax(dim=0).cpu().numpy()
            q = dense_crf(probs, image, **self.params)
            pred = torch.from_numpy(q.argmax(axis=0)).to(
                sample.pred_sem_seg.data)
            sample.set_data(
                dict(
                    crf_probs=sample.seg_logits.__class__(
                        data=torch.from_numpy(q).to(logits.device)),
                    pred_sem_seg=sample.pred_sem_seg.__class__(
                        data=pred[None])))
        return results
