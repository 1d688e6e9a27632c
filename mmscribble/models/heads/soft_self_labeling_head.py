# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft self-labeling heads (Zhang & Boykov, "Soft Self-labeling and Potts
Relaxations for Weakly-Supervised Segmentation")."""
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads import DepthwiseSeparableASPPHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ...utils.validation import check_choice
from ..layers.potts import (RELAXATIONS, DenseNeighbourhood,
                            GridNeighbourhood, rgb_guide,
                            self_label_cross_entropy, solve_pseudo_labels)
from ..losses.utils import safe_div
from .deeplabv2_head import DeepLabV2Head
from .scribble_head import ScribbleHeadMixin

MODES = ('soft', 'hard', 'gd')
DENOMINATORS = ('unlabeled', 'scribbled')
_IMAGENET_MEAN = (123.675, 116.28, 103.53)
_IMAGENET_STD = (58.395, 57.12, 57.375)


class SoftSelfLabelingMixin:
    """Training with the self-labeling loss, Eq. 8 of the paper.

    Mixed in before a scribble head (``ScribbleHeadMixin`` + an mmseg
    head). Every step computes the head's ``loss_decode`` (partial CE on
    the scribbles, Eq. 8's first term); once ``self_labeling`` is True
    (``PhaseSwitchHook`` switches it after the CE pretraining) it also

    1. solves for the pseudo-labels ``y`` with the network's ``sigma``
       fixed (:func:`~mmscribble.models.layers.potts.solve_pseudo_labels`,
       energy ``eta sum H(y, sigma) + lam sum w_ij P(y_i, y_j)``, scribbled
       ``y`` fixed), on the label map scaled by ``solve_scale``;
    2. adds ``loss_self_label`` = ``eta * sum_{i not in S} H(y_i,
       sigma_i) / D`` with ``y`` a fixed target: the Potts term acts only
       through ``y``. ``D`` (``self_label_denominator``): 'scribbled',
       the number of scribbled pixels, the denominator of the partial CE,
       so that the two terms keep Eq. 8's sums' proportion (each
       unlabeled pixel weighs ``eta`` against 1 for a scribbled pixel);
       'unlabeled', the number of unscribbled pixels (a mean per term,
       which weighs an unlabeled pixel ``eta * |S| / |not S|``: about
       ``eta / 30`` at 3% scribbled pixels). Logged beside it (not a
       loss): ``self_label_share``, the self-labeling term's weight in
       units of the partial CE's, ``eta * #unscribbled / D``: ~10 on VOC-
       like 3% scribbles with 'scribbled', but ~1400 on MSCMR's one-pixel
       strokes (0.013% scribbled), where the scribbles stop steering the
       network (docs/softsl.md, "One-pixel strokes"); ``eta`` with
       'unlabeled'.

    ``mode`` selects the rows of Table 4: 'soft' (the method), 'hard'
    (``y`` rounded to one-hot after the solver: hard self-labeling with a
    relaxed solver instead of the discrete one of [29]) and 'gd' (no
    pseudo-labels: gradient descent on Eq. 4, ``eta * mean H(sigma) + lam
    * sum w P(sigma_i, sigma_j) / #pixels`` straight on the network's
    prediction; the Potts part is logged as ``loss_potts``).

    Args:
        loss_self_label (dict): config of the ``H`` term,
            ``SoftSelfLabelingLoss``; its ``loss_weight`` is ``eta`` and
            its ``cross_entropy`` the ``H`` of the solver's energy too.
        relaxation (str): Potts relaxation ``P`` (Tables 1-2). Default:
            'collision_divergence'.
        lam (float): ``lambda``. Default: 6.
        neighbourhood (dict): ``type='grid'`` with ``connectivity`` (4 or
            8) or ``type='dense'`` with ``spatial_sigma`` (image pixels);
            ``bandwidth``: colour bandwidth on [0, 255] RGB (9 for VOC).
        solver (dict): ``steps``, ``lr``, ``optimizer`` of
            :func:`solve_pseudo_labels`. Default: the paper's (200 Adam
            steps at lr 0.075).
        solve_scale (float): size of the grid of ``y`` relative to the
            label map (logits resized bilinearly, image by area, labels and
            valid mask by nearest). Default: 1.
        self_labeling (bool): start with the self-labeling terms on.
            Default: False (CE pretraining first).
        mode (str): 'soft', 'hard' or 'gd'. Default: 'soft'.
        self_label_denominator (str): 'scribbled' (Eq. 8's proportion) or
            'unlabeled' (the mean over the unscribbled pixels). Counted
            on the pseudo-labels' grid, padding excluded. With
            'scribbled', a batch without scribbled pixel has no proportion
            to keep: its ``loss_self_label`` is 0 (with a gradient path)
            and so is ``self_label_share``, where dividing the sum by 1
            logged 16474 for a typical 2.8 on MSCMR. Default:
            'scribbled'.
        img_mean, img_std (Sequence[float]): the preprocessor's
            normalisation, undone for the colour affinities.
    """

    def __init__(self,
                 loss_self_label: ConfigType = dict(
                     type='SoftSelfLabelingLoss',
                     cross_entropy='collision',
                     loss_weight=0.3),
                 relaxation: str = 'collision_divergence',
                 lam: float = 6.0,
                 neighbourhood: ConfigType = dict(
                     type='grid', connectivity=4, bandwidth=9.0),
                 solver: ConfigType = dict(
                     steps=200, lr=0.075, optimizer='adam'),
                 solve_scale: float = 1.0,
                 self_labeling: bool = False,
                 mode: str = 'soft',
                 self_label_denominator: str = 'scribbled',
                 img_mean: Sequence[float] = _IMAGENET_MEAN,
                 img_std: Sequence[float] = _IMAGENET_STD,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        check_choice('relaxation', relaxation, RELAXATIONS)
        check_choice('mode', mode, MODES)
        check_choice('self_label_denominator', self_label_denominator,
                     DENOMINATORS)
        neighbourhood = dict(neighbourhood)
        check_choice('neighbourhood.type', neighbourhood.get('type'),
                     ('grid', 'dense'))
        if not 0 < solve_scale <= 1:
            raise ValueError(f'solve_scale must be in (0, 1], got '
                             f'{solve_scale!r}')
        if set(solver) - {'steps', 'lr', 'optimizer'}:
            raise ValueError('solver takes steps, lr and optimizer, got '
                             f'{sorted(solver)}')
        self.loss_self_label = self.build_aux_loss(
            loss_self_label, 'loss_self_label', self.decode_loss_names())
        self.relaxation = relaxation
        self.lam = lam
        self.neighbourhood = neighbourhood
        self.solver = dict(solver)
        self.solve_scale = solve_scale
        self.self_labeling = self_labeling
        self.mode = mode
        self.self_label_denominator = self_label_denominator
        self.img_mean = tuple(img_mean)
        self.img_std = tuple(img_std)

    def loss(self,
             inputs: Tuple[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             img: Optional[Tensor] = None,
             extract_feat: Optional[Callable] = None) -> dict:
        seg_logits = self._call_forward(inputs, img)
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        if self.self_labeling:
            if img is None:
                raise ValueError(
                    f'{type(self).__name__} needs the input image for the '
                    'Potts weights; use it inside ScribbleEncoderDecoder')
            losses.update(
                self.self_label_losses(seg_logits, batch_data_samples, img))
        return losses

    def _build_neighbourhood(self, guide: Tensor, valid: Optional[Tensor]):
        cfg = self.neighbourhood
        if cfg['type'] == 'grid':
            return GridNeighbourhood.from_image(
                guide, cfg['bandwidth'], cfg.get('connectivity', 4), valid)
        return DenseNeighbourhood.from_image(
            guide, cfg['bandwidth'],
            cfg['spatial_sigma'] * self.solve_scale, valid)

    def self_label_inputs(self, seg_logits: Tensor,
                          batch_data_samples: SampleList, img: Tensor):
        """Logits, scribbles, valid mask and neighbourhood on the grid of
        the pseudo-labels (the label map scaled by ``solve_scale``).

        Returns:
            tuple: logits ``(N, K, h, w)`` (with graph), scribble ``(N, h,
            w)`` long, valid ``(N, h, w)`` bool or None, neighbourhood.
        """
        label = self._stack_batch_gt(batch_data_samples)[:, 0].long()
        full = label.shape[-2:]
        size = tuple(max(1, round(s * self.solve_scale)) for s in full)
        logits = resize(
            seg_logits,
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
        guide = rgb_guide(img, self.img_mean, self.img_std)
        valid = None
        if self.has_map(batch_data_samples, 'gt_valid_mask'):
            valid = self.stack_map(batch_data_samples, 'gt_valid_mask')
        if size != tuple(full):
            label = F.interpolate(
                label[:, None].float(), size=size, mode='nearest')[:,
                                                                   0].long()
            guide = F.interpolate(guide, size=size, mode='area')
            if valid is not None:
                valid = F.interpolate(
                    valid[:, None].float(), size=size, mode='nearest')[:, 0]
        if valid is not None:
            valid = valid != 0
        return logits, label, valid, self._build_neighbourhood(guide, valid)

    def solve(self, logits: Tensor, scribble: Tensor,
              valid: Optional[Tensor], neighbourhood) -> Tensor:
        """Pseudo-labels ``y`` for fixed ``sigma`` (the solver's energy
        takes ``eta`` and ``H`` from ``loss_self_label``)."""
        # float32 at least, autocast off: under AMP half-precision logits
        # would make the log guard's eps 6e-5 and the Adam steps coarse.
        logits = logits.detach()
        with torch.autocast(device_type=logits.device.type, enabled=False):
            return solve_pseudo_labels(
                logits.to(torch.promote_types(logits.dtype, torch.float32)),
                scribble,
                neighbourhood,
                cross_entropy=self.loss_self_label.cross_entropy,
                relaxation=self.relaxation,
                eta=self.loss_self_label.loss_weight,
                lam=self.lam,
                valid_mask=valid,
                ignore_index=self.ignore_index,
                **self.solver)

    def self_label_losses(self, seg_logits: Tensor,
                          batch_data_samples: SampleList,
                          img: Tensor) -> Dict[str, Tensor]:
        """The terms of Eq. 8 (or Eq. 4 for ``mode='gd'``) beyond partial
        CE.

        Args:
            seg_logits (Tensor): the head's output ``(N, K, h', w')``.
            batch_data_samples (list[SegDataSample]): with ``gt_sem_seg``
                (scribbles) and optionally ``gt_valid_mask``.
            img (Tensor): normalised image ``(N, 3, H, W)``.

        Returns:
            dict[str, Tensor]: ``loss_self_label`` (and ``loss_potts`` for
            'gd').
        """
        logits, scribble, valid, nb = self.self_label_inputs(
            seg_logits, batch_data_samples, img)
        # float32 at least: under AMP a float16 sum or count over a VOC
        # batch's ~94k scribbled / ~2M pixels is inf (above 65504).
        logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
        free = scribble == self.ignore_index
        if valid is not None:
            free = free & valid
        if self.mode == 'gd':
            return self._gradient_descent_losses(logits, scribble, valid,
                                                 free, nb)
        y = self.solve(logits, scribble, valid, nb)
        if self.mode == 'hard':
            y = F.one_hot(y.argmax(1), y.shape[1]).permute(0, 3, 1,
                                                           2).to(y.dtype)
        avg_factor = None
        eta = self.loss_self_label.loss_weight
        share = logits.new_tensor(eta)  # a mean over the free pixels
        if self.self_label_denominator == 'scribbled':
            scribbled = scribble != self.ignore_index
            if valid is not None:
                scribbled = scribbled & valid
            # No scribble, nothing to keep in proportion: weigh every
            # pixel 0 (a tensor test, no host sync), so the sum is 0.
            free = free & scribbled.any()
            avg_factor = scribbled.sum().to(logits.dtype)
            share = eta * safe_div(free.sum().to(logits.dtype), avg_factor)
        return {
            self.loss_self_label.loss_name:
            self.loss_self_label(
                logits, y, weight=free, avg_factor=avg_factor),
            # Not a loss (no 'loss' in the key): logged, not summed.
            'self_label_share': share
        }

    def _gradient_descent_losses(self, logits: Tensor, scribble: Tensor,
                                 valid: Optional[Tensor], free: Tensor,
                                 nb) -> Dict[str, Tensor]:
        """Eq. 4 on the network's ``sigma`` (``mode='gd'``): the entropy
        mean over ``free`` and the Potts sum over the real pixels."""
        sigma = logits.softmax(1)
        eta = self.loss_self_label.loss_weight
        entropy = self_label_cross_entropy(sigma, logits, 'standard')
        entropy = entropy.where(free, entropy.new_zeros(()))
        count = (valid.sum() if valid is not None else scribble.new_tensor(
            scribble.numel())).to(logits.dtype)
        potts = nb.pair_energy(sigma, self.relaxation).sum()
        return {
            self.loss_self_label.loss_name:
            eta * safe_div(entropy.sum(), free.sum().to(logits.dtype)),
            'loss_potts': self.lam * safe_div(potts, count)
        }


@MODELS.register_module()
class SoftSelfLabelingHead(SoftSelfLabelingMixin, ScribbleHeadMixin,
                           DepthwiseSeparableASPPHead):
    """DeepLabV3+'s head (the paper's) trained with soft self-labeling.

    See :class:`SoftSelfLabelingMixin`; the other arguments are mmseg's
    ``DepthwiseSeparableASPPHead``'s.
    """


@MODELS.register_module()
class SoftSelfLabelingV2Head(SoftSelfLabelingMixin, DeepLabV2Head):
    """DeepLabV2's head trained with soft self-labeling: the MSCMR
    benchmark's backbone and head (see :class:`SoftSelfLabelingMixin`)."""


__all__ = ['SoftSelfLabelingMixin', 'SoftSelfLabelingHead',
           'SoftSelfLabelingV2Head']
