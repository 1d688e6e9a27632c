"""CDSP heads: class-driven scribble promotion (Zhang et al., AAAI 2024).

The total loss, Eq. 5 and 7:

    L = L_segs + L_segc + L_lorm + L_ds + L_dc

* ``L_segs`` (Eq. 8): partial cross-entropy on the scribbles, the head's
  ``loss_decode`` (on the logits upsampled to the label size, as mmseg);
* ``L_segc`` (Eq. 9): label-smoothed cross-entropy on the pseudo-label
  ``gt_pseudo_seg`` (``loss_segc``);
* ``L_lorm`` (Eq. 13): MSE between the backbone's last features ``F`` and
  their LoRM rectification ``F-hat`` (Eq. 10-12), with the pseudo-label
  foreground read at the centres of the feature cells (``lorm``,
  ``loss_lorm``); training only: prediction never runs the LoRM;
* ``L_ds`` / ``L_dc`` (Eq. 17 / 15): distance-weighted entropy on
  ``gt_distance_map`` (``255 d_s``) and ``gt_distance_pseudo``
  (``255 d_c``) (``loss_ds``, ``loss_dc``; the maps come from
  ``CDSPDistanceMaps`` or from disk).

Each extra term is optional (None drops it), which gives the rows of the
paper's Table 2. Padding and rotated-in corners are excluded from every
term through ``gt_valid_mask``.
"""
from typing import Callable, Dict, Optional, Sequence

from mmseg.models.decode_heads.sep_aspp_head import \
    DepthwiseSeparableASPPHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ..layers.lorm import LoRM
from ..utils import cell_centre_mask
from .deeplabv2_head import DeepLabV2Head
from .scribble_head import ScribbleHeadMixin


class CDSPLossMixin:
    """The CDSP losses on top of a scribble head (Eq. 5, 7).

    Mixed in before a head that already has :class:`ScribbleHeadMixin`
    (``CDSPHead(CDSPLossMixin, DeepLabV2Head)``).

    Args:
        loss_segc (dict, optional): ``L_segc`` (Eq. 9). Default:
            ``LabelSmoothCrossEntropyLoss`` with epsilon 0.1.
        loss_ds (dict, optional): ``L_ds`` (Eq. 17). Default:
            ``DistanceEntropyLoss`` named ``loss_ds``.
        loss_dc (dict, optional): ``L_dc`` (Eq. 15). Default:
            ``DistanceEntropyLoss`` named ``loss_dc``.
        loss_lorm (dict, optional): ``L_lorm`` (Eq. 13); None also drops
            the LoRM. Default: ``LoRMLoss``.
        lorm (dict, optional): :class:`LoRM` arguments but
            ``in_channels`` (``channels``, ``mask_mode``: ``'key'`` paper /
            ``'query'`` authors' code, ``chunk_size``). Default: ``{}``.
        lorm_in_index (int): backbone level ``F`` is read from. Default: -1
            (the last stage).
        lorm_in_channels (int): channels of that level. Default: 2048.
        pseudo_background (int): background id of the pseudo-label (its
            complement, minus ``ignore_index``, is the LoRM's mask).
            Default: 0.
    """

    def __init__(self,
                 *args,
                 loss_segc: Optional[ConfigType] = dict(
                     type='LabelSmoothCrossEntropyLoss', epsilon=0.1),
                 loss_ds: Optional[ConfigType] = dict(
                     type='DistanceEntropyLoss', loss_name='loss_ds'),
                 loss_dc: Optional[ConfigType] = dict(
                     type='DistanceEntropyLoss', loss_name='loss_dc'),
                 loss_lorm: Optional[ConfigType] = dict(type='LoRMLoss'),
                 lorm: Optional[dict] = None,
                 lorm_in_index: int = -1,
                 lorm_in_channels: int = 2048,
                 pseudo_background: int = 0,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        taken = self.decode_loss_names()
        self.loss_segc = self.build_aux_loss(loss_segc, 'loss_segc', taken)
        self.loss_ds = self.build_aux_loss(loss_ds, 'loss_ds', taken)
        self.loss_dc = self.build_aux_loss(loss_dc, 'loss_dc', taken)
        self.loss_lorm = self.build_aux_loss(loss_lorm, 'loss_lorm', taken)
        self.lorm = None if loss_lorm is None else LoRM(
            lorm_in_channels, **(lorm or {}))
        self.lorm_in_index = lorm_in_index
        self.pseudo_background = pseudo_background

    def loss(self,
             inputs: Sequence[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             img: Optional[Tensor] = None,
             extract_feat: Optional[Callable] = None) -> dict:
        """Eq. 5 for a batch.

        Args:
            inputs (Sequence[Tensor]): backbone levels, each
                ``(N, C_l, h_l, w_l)``.
            batch_data_samples (list[SegDataSample]): with ``gt_sem_seg``,
                ``gt_valid_mask`` and, for the enabled terms,
                ``gt_pseudo_seg``, ``gt_distance_map``,
                ``gt_distance_pseudo`` (each ``(1, H, W)``).
            train_cfg (dict): unused.
            img (Tensor, optional): the image batch, for heads that need
                it.
            extract_feat (Callable, optional): unused.

        Returns:
            dict[str, Tensor]: the ``loss_decode`` name(s) (``L_segs``),
            ``acc_seg``, and ``loss_segc``, ``loss_ds``, ``loss_dc``,
            ``loss_lorm`` for the enabled terms.
        """
        seg_logits = self._call_forward(inputs, img)
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        losses.update(self.cdsp_losses(inputs, seg_logits, batch_data_samples))
        return losses

    def cdsp_losses(self, inputs: Sequence[Tensor], seg_logits: Tensor,
                    batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """``L_segc``, ``L_ds``, ``L_dc`` and ``L_lorm``.

        Args:
            inputs (Sequence[Tensor]): backbone levels.
            seg_logits (Tensor): ``(N, K, h, w)`` logits of the head.
            batch_data_samples (list[SegDataSample]): the samples.

        Returns:
            dict[str, Tensor]: one entry per enabled term.
        """
        samples = batch_data_samples
        losses = {}
        size = samples[0].gt_sem_seg.shape
        logits = resize(
            seg_logits,
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
        valid = self.stack_map(samples, 'gt_valid_mask') if self.has_map(
            samples, 'gt_valid_mask') else None
        pseudo = None
        if self.loss_segc is not None or self.lorm is not None:
            pseudo = self.stack_map(samples, 'gt_pseudo_seg').long()
        if self.loss_segc is not None:
            losses[self.loss_segc.loss_name] = self.loss_segc(
                logits,
                pseudo,
                valid_mask=valid,
                ignore_index=self.ignore_index)
        for loss, field in ((self.loss_ds, 'gt_distance_map'),
                            (self.loss_dc, 'gt_distance_pseudo')):
            if loss is not None:
                losses[loss.loss_name] = loss(logits,
                                              self.stack_map(samples, field),
                                              valid)
        if self.lorm is not None:
            feat = inputs[self.lorm_in_index]
            cells = feat.shape[-2:]
            fg = (pseudo != self.pseudo_background) & (
                pseudo != self.ignore_index)
            fg = cell_centre_mask(fg, cells)
            rectified = self.lorm(feat, fg)
            losses[self.loss_lorm.loss_name] = self.loss_lorm(
                feat, rectified, self.feature_valid_mask(samples, cells))
        return losses


@MODELS.register_module()
class CDSPHead(CDSPLossMixin, DeepLabV2Head):
    """CDSP on the DeepLabV2 ASPP classifier (the paper's ablations, Tab.
    1 r50/r101 + v2). See :class:`CDSPLossMixin` for the CDSP arguments
    and :class:`DeepLabV2Head` for the rest."""


@MODELS.register_module()
class CDSPSepASPPHead(CDSPLossMixin, ScribbleHeadMixin,
                      DepthwiseSeparableASPPHead):
    """CDSP on mmseg's DeepLabV3+ head (the paper's best, Tab. 1 r101 +
    v3p). See :class:`CDSPLossMixin` and mmseg's
    ``DepthwiseSeparableASPPHead``."""
