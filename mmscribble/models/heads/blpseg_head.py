"""BLPSeg head (Wang et al., TIP 2023): UPerNet decoder, scribble head,
segmentation head with the local aggregation module, BLP loss and
self-training."""
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads import UPerHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ...utils.validation import (check_choice, check_fraction,
                                 check_non_negative_int, check_positive_int,
                                 grouped_option)
from ..layers.local_aggregation import LocalAggregationModule
from ..utils import cell_centre_mask, self_training_target
from ..utils.accuracy import log_accuracy
from .scribble_head import ScribbleHeadMixin

# Values of ``self_training_mode``.
SELF_TRAINING_MODES = ('replace', 'add')


@dataclass(frozen=True)
class SelfTrainingCfg:
    """The ``self_training_*`` options of :class:`BLPSegHead`, checked.

    Built by the head from its keyword arguments (``self_training_threshold``
    is ``threshold`` here, and so on); a bad value raises a ``ValueError``
    that names the head's argument. ``threshold`` and ``weight`` are stored
    as floats, ``agreement`` as a bool.

    Args:
        threshold (float): confidence ``tau`` in ``(0, 1]``.
        mode (str): one of :data:`SELF_TRAINING_MODES`.
        weight (float): multiplier of ``loss_self``.
        agreement (bool): keep a pseudo-label only where the scribble
            head agrees.
        class_portion (float, optional): class-balanced share ``p`` in
            ``(0, 1]``, or None.
    """
    threshold: float = 0.9
    mode: str = 'replace'
    weight: float = 1.0
    agreement: bool = False
    class_portion: Optional[float] = None

    def __post_init__(self) -> None:
        check_choice('self_training_mode', self.mode, SELF_TRAINING_MODES)
        check_fraction('self_training_threshold', self.threshold)
        check_fraction(
            'self_training_class_portion', self.class_portion, allow_none=True)
        object.__setattr__(self, 'threshold', float(self.threshold))
        object.__setattr__(self, 'weight', float(self.weight))
        object.__setattr__(self, 'agreement', bool(self.agreement))


@MODELS.register_module()
class BLPSegHead(ScribbleHeadMixin, UPerHead):
    """BLPSeg: balance the label preference.

    Wang et al., "BLPSeg: Balance the Label Preference in
    Scribble-Supervised Semantic Segmentation", TIP 2023 (Sec. III, IV-B,
    Fig. 4). The feature path is

    .. code-block:: none

        backbone levels (strides 4, 8, 16, 32)
          -> UPerNet decoder (PPM + FPN, mmseg's UPerHead)   (N, C, h, w)
             h, w = H / 4, W / 4
          |-> segmentation head: num_branch_convs x (1x1 Conv + BN + ReLU)
          |     -> [dropout] -> 1x1 classifier              Z_in (N, K, h, w)
          |     -> LAM (Eq. 3-5, 8) with the low-level
          |        embedding of the image                   Z (N, K, h, w)
          |-> [detach] -> scribble head:
                num_branch_convs x (1x1 Conv + BN + ReLU)
                -> [dropout] -> 1x1 classifier          (N, K + 1, h, w)

    The two heads share no weight. The output of the LAM is the prediction
    at training and test time (Sec. IV-B); inference drops the scribble
    head. ``use_lam=False`` classifies without the LAM (Table I).

    The scribble head reads **detached** decoder features by default
    (``detach_scribble_feat=True``), as the authors' code does
    (``self.scribble_head(decoder_out.detach())`` in ``lib/net/blpseg.py``):
    the annotation-probability loss then trains the scribble head only and
    never shapes the shared decoder. The paper does not say.

    Training loss, Eq. 12, at the label resolution (both logit maps are
    upsampled bilinearly, as in the authors' code):

    .. math::
        \\mathcal{L} = WCE(p^{scrib}, y') + BL(p^{seg}, p^{scrib}, y)

    * ``loss_annot`` (:class:`AnnotationProbabilityLoss`, Eq. 1-2): the
      ``K + 1``-way weighted CE of the scribble head; unlabeled pixels are
      the "not scribbled" class (weight 0.02), padding
      (``gt_valid_mask == 0``) is excluded;
    * ``loss_blp`` (``loss_decode``, :class:`BLPLoss`, Eq. 9-11) on the LAM
      output, modulated by the detached annotation probability. For
      Table II ``loss_decode`` may be ``PartialCrossEntropyLoss``
      (``loss_pce``) or :class:`PartialFocalLoss` (``loss_focal``); every
      ``loss_decode`` is called with the keyword ``scrib_logits``.

    Self-training (Sec. IV-B). While the attribute ``self_training`` is
    True (a ``PhaseSwitchHook`` sets it at iteration 10k on VOC, 20k on
    PASCAL-Context), the segmentation head is supervised by
    :func:`self_training_target` of its own detached prediction (tags from
    ``metainfo['img_tags']``, confidence ``>= self_training_threshold``,
    scribbles overriding). The same ``loss_decode`` is applied to that
    target and logged as ``loss_self`` (times ``self_training_weight``):

    * ``self_training_mode='replace'`` (paper and authors' code, default):
      the pseudo-label replaces the scribbles as the target, so
      ``loss_blp`` is not computed in this phase (the scribbles are part of
      the pseudo-label);
    * ``'add'``: ``loss_blp`` on the scribbles is kept and ``loss_self``
      is added.

    ``self_training_agreement=True`` (ours, off by default) keeps a
    pseudo-label only where the scribble head's tag-restricted class
    argmax names the same class (``agree_logits`` of
    :func:`self_training_target`). ``self_training_class_portion=p`` (ours,
    off by default, after CBST's class-balanced selection) also keeps, per
    image and class, the ``p`` most confident share of the pixels
    predicted as the class, so that thin or hard classes get
    pseudo-labels that a fixed ``tau`` gives almost only the background.

    The five ``self_training_*`` options are checked together in
    ``self_training_cfg`` (:class:`SelfTrainingCfg`); each stays readable
    and settable as the head attribute of its argument's name.

    Switching it on uses no new parameter, so DDP needs no
    ``find_unused_parameters``: the scribble head gets its gradient from
    ``loss_annot``, the LAM's embedding (and learnable ``sigma``) from the
    segmentation loss through the affinity, every iteration.

    Args:
        branch_channels (int, optional): Channels of the 1x1 layers of both
            heads. Default: ``channels``.
        num_branch_convs (int): 1x1 Conv + norm + act layers per head.
            Default: 2.
        branch_norm (bool): Use ``norm_cfg`` in those layers (paper:
            "1x1 Conv + BN + ReLU"); False drops the norm and uses biased
            convolutions (the authors' code has ``Conv2d(bias=False)`` +
            ``ReLU`` only). Default: True.
        detach_scribble_feat (bool): Feed the scribble head detached
            decoder features (authors' code). Default: True.
        use_lam (bool): Apply the LAM to the segmentation logits.
            Default: True.
        lam (dict): :class:`LocalAggregationModule` arguments (``sigma``,
            ``learnable_sigma``, ``window``, ``mode``, ``similarity``,
            ``use_distance``, ``embed_dims``, ``patch_size``,
            ``proj_channels``). ``similarity='high'`` / ``'both'`` use the
            decoder output (``(N, C, h, w)``, not detached) as high-level
            features (Table III). Ignored when ``use_lam=False``.
            Default: ``dict(sigma=6.0)`` (low-level similarity, local form).
        loss_annot (dict): Config of the scribble-head loss, called as
            ``loss(scrib_logits, label, valid_mask=..., ignore_index=...)``.
            Default: ``AnnotationProbabilityLoss`` with ``w = 0.02``.
        loss_decode (dict | list[dict]): Segmentation loss(es), called as
            ``loss(seg_logits, label, ignore_index=..., scrib_logits=...)``.
            Default: ``BLPLoss`` with ``gamma = 2``.
        self_training (bool): Initial value of the attribute.
            Default: False.
        self_training_threshold (float): Confidence ``tau`` in ``(0, 1]``
            of the pseudo-labels. Default: 0.9 (authors' code).
        self_training_mode (str): ``'replace'`` or ``'add'``.
            Default: ``'replace'``.
        self_training_weight (float): Multiplier of ``loss_self``.
            Default: 1.0.
        self_training_agreement (bool): Keep a pseudo-label only where the
            scribble head agrees (not in the paper). Default: False.
        self_training_class_portion (float, optional): Class-balanced
            selection share ``p`` in ``(0, 1]`` (not in the paper).
            Default: None.
        pool_scales (tuple[int]): PPM pooling scales. Default: (1, 2, 3, 6).
        init_cfg (dict): Default: normal(std=0.01) for both classifiers.
        **kwargs: ``UPerHead`` / ``BaseDecodeHead`` arguments
            (``in_channels``, ``channels``, ``num_classes``, ``norm_cfg``,
            ``dropout_ratio``, ...).
    """

    needs_inputs = True

    def __init__(self,
                 branch_channels: Optional[int] = None,
                 num_branch_convs: int = 2,
                 branch_norm: bool = True,
                 detach_scribble_feat: bool = True,
                 use_lam: bool = True,
                 lam: dict = dict(sigma=6.0),
                 loss_annot: ConfigType = dict(
                     type='AnnotationProbabilityLoss', unlabeled_weight=0.02),
                 loss_decode: Union[ConfigType, Sequence[ConfigType]] = dict(
                     type='BLPLoss', gamma=2.0),
                 self_training: bool = False,
                 self_training_threshold: float = 0.9,
                 self_training_mode: str = 'replace',
                 self_training_weight: float = 1.0,
                 self_training_agreement: bool = False,
                 self_training_class_portion: Optional[float] = None,
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 init_cfg: dict = dict(
                     type='Normal',
                     std=0.01,
                     override=[dict(name='conv_seg'),
                               dict(name='conv_scrib')]),
                 **kwargs) -> None:
        super().__init__(
            pool_scales=pool_scales,
            loss_decode=loss_decode,
            init_cfg=init_cfg,
            **kwargs)
        self._check_decode_head()
        check_non_negative_int('num_branch_convs', num_branch_convs)
        branch_channels = check_positive_int(
            'branch_channels', branch_channels, allow_none=True)
        if branch_channels is None:
            branch_channels = self.channels
        if num_branch_convs == 0 and branch_channels != self.channels:
            raise ValueError('branch_channels must equal channels when '
                             'num_branch_convs is 0')
        self.self_training_cfg = SelfTrainingCfg(
            threshold=self_training_threshold,
            mode=self_training_mode,
            weight=self_training_weight,
            agreement=self_training_agreement,
            class_portion=self_training_class_portion)
        if use_lam and not isinstance(lam, dict):
            raise TypeError('lam must be a dict of LocalAggregationModule '
                            f'arguments, got {lam!r}')

        self.branch_channels = branch_channels
        self.detach_scribble_feat = detach_scribble_feat
        self.self_training = bool(self_training)

        self.seg_convs = self._branch(num_branch_convs, branch_norm)
        self.scrib_convs = self._branch(num_branch_convs, branch_norm)
        # conv_seg (BaseDecodeHead) reads `channels` inputs.
        self.conv_seg = nn.Conv2d(branch_channels, self.num_classes, 1)
        self.conv_scrib = nn.Conv2d(branch_channels, self.num_classes + 1, 1)
        self.lam = LocalAggregationModule(**lam) if use_lam else None

        taken = self.decode_loss_names()
        if 'loss_self' in taken:
            raise ValueError('loss_decode: loss_name must not be loss_self, '
                             'the self-training term; give it a distinct '
                             'name')
        taken['loss_self'] = 'the self-training term'
        self.loss_annot = self.build_aux_loss(loss_annot, 'loss_annot', taken)

    def _check_decode_head(self) -> None:
        """What BLPSeg needs of the ``BaseDecodeHead`` arguments."""
        if self.out_channels != self.num_classes:
            raise ValueError('BLPSegHead needs out_channels == num_classes '
                             f'(softmax over K classes), got out_channels='
                             f'{self.out_channels}, num_classes='
                             f'{self.num_classes}')
        if self.sampler is not None:
            raise ValueError('BLPSegHead does not support a pixel sampler: '
                             'the BLP loss already weights the pixels; set '
                             'sampler=None')

    # The self_training_* arguments, read and set through the grouped,
    # validated ``self_training_cfg`` (setting one re-validates it).
    self_training_threshold = grouped_option('self_training_cfg', 'threshold')
    self_training_mode = grouped_option('self_training_cfg', 'mode')
    self_training_weight = grouped_option('self_training_cfg', 'weight')
    self_training_agreement = grouped_option('self_training_cfg', 'agreement')
    self_training_class_portion = grouped_option('self_training_cfg',
                                                 'class_portion')

    def _branch(self, num_convs: int, with_norm: bool) -> nn.Sequential:
        layers = []
        in_channels = self.channels
        for _ in range(num_convs):
            layers.append(
                ConvModule(
                    in_channels,
                    self.branch_channels,
                    1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg if with_norm else None,
                    act_cfg=self.act_cfg))
            in_channels = self.branch_channels
        return nn.Sequential(*layers)

    def _classify(self, feat: Tensor, conv: nn.Conv2d) -> Tensor:
        if self.dropout is not None:
            feat = self.dropout(feat)
        return conv(feat)

    def forward_intermediates(
            self,
            inputs: Sequence[Tensor],
            img: Tensor,
            valid_mask: Optional[Tensor] = None,
            with_scribble: bool = True) -> Dict[str, Optional[Tensor]]:
        """Run both heads and return every intermediate.

        Args:
            inputs (Sequence[Tensor]): Backbone levels selected by
                ``in_index`` (strides 4 to 32 for UPerNet).
            img (Tensor): Normalised (padded) image batch ``(N, 3, H, W)``,
                for the LAM's low-level embedding.
            valid_mask (Tensor, optional): ``(N, H, W)``, nonzero on real
                image pixels; read at the centres of the ``(h, w)`` cells
                (:func:`cell_centre_mask`, the stride inferred from the
                sizes) so that the LAM does not aggregate from padding.
            with_scribble (bool): Also run the scribble head.
                Default: True.

        Returns:
            dict[str, Tensor | None]:

            - ``feat``: decoder output ``(N, C, h, w)``;
            - ``seg_logits_raw``: segmentation head before the LAM,
              ``(N, K, h, w)``;
            - ``seg_logits``: the prediction (after the LAM, or the raw
              logits when ``use_lam=False``), ``(N, K, h, w)``;
            - ``scrib_logits``: ``(N, K + 1, h, w)``, last channel "not
              scribbled", or None without ``with_scribble``.
        """
        feat = self._forward_feature(inputs)
        raw = self._classify(self.seg_convs(feat), self.conv_seg)
        seg = raw
        if self.lam is not None:
            if img is None:
                raise ValueError('BLPSegHead needs img (the normalised '
                                 'image batch) for the LAM')
            lam_mask = None
            if valid_mask is not None:
                lam_mask = cell_centre_mask(valid_mask, raw.shape[-2:])
            seg = self.lam(raw, img=img, feat=feat, valid_mask=lam_mask)
        scrib = None
        if with_scribble:
            scrib_feat = feat.detach() if self.detach_scribble_feat else feat
            scrib = self._classify(
                self.scrib_convs(scrib_feat), self.conv_scrib)
        return dict(
            feat=feat, seg_logits_raw=raw, seg_logits=seg, scrib_logits=scrib)

    def forward(self, inputs: Sequence[Tensor], img: Tensor) -> Tensor:
        """Prediction ``(N, K, H / 4, W / 4)``: the LAM output.

        Args:
            inputs (Sequence[Tensor]): Backbone levels.
            img (Tensor): Normalised image batch ``(N, 3, H, W)``.
        """
        return self.forward_intermediates(
            inputs, img, with_scribble=False)['seg_logits']

    def loss(self,
             inputs: Sequence[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             img: Optional[Tensor] = None,
             extract_feat: Optional[Callable] = None) -> dict:
        """Eq. 12 (and the self-training term) for a batch.

        Args:
            inputs (Sequence[Tensor]): Backbone levels of the batch.
            batch_data_samples (list[SegDataSample]): Samples with
                ``gt_sem_seg``, ``gt_valid_mask`` and, while self-training,
                ``metainfo['img_tags']``.
            train_cfg (dict): Unused.
            img (Tensor): Normalised, padded image batch ``(N, 3, H, W)``.
            extract_feat (Callable, optional): Unused.

        Returns:
            dict[str, Tensor]: ``loss_annot``, the ``loss_decode`` name(s)
            (``loss_blp``; not in the ``'replace'`` self-training phase),
            ``loss_self`` while self-training, and ``acc_seg``.
        """
        if img is None:
            raise ValueError('BLPSegHead needs img (the normalised image '
                             'batch); use it inside ScribbleEncoderDecoder')
        valid = self.stack_map(batch_data_samples, 'gt_valid_mask')
        out = self.forward_intermediates(inputs, img, valid_mask=valid)
        return self.loss_by_feat(out, batch_data_samples)

    def loss_by_feat(self, out: Dict[str, Optional[Tensor]],
                     batch_data_samples: SampleList) -> dict:
        """Losses from :meth:`forward_intermediates` outputs.

        Args:
            out (dict): with ``seg_logits`` ``(N, K, h, w)`` and
                ``scrib_logits`` ``(N, K + 1, h, w)``, both upsampled here
                (bilinear) to the ``(H, W)`` of the labels.
            batch_data_samples (list[SegDataSample]): The samples.

        Returns:
            dict[str, Tensor]: See :meth:`loss`.
        """
        label = self._stack_batch_gt(batch_data_samples)
        size = label.shape[-2:]
        label = label[:, 0].long()
        valid = self.stack_map(batch_data_samples, 'gt_valid_mask')
        seg = resize(
            out['seg_logits'],
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
        scrib = resize(
            out['scrib_logits'],
            size=size,
            mode='bilinear',
            align_corners=self.align_corners)
        losses = {
            self.loss_annot.loss_name:
            self.loss_annot(
                scrib, label, valid_mask=valid, ignore_index=self.ignore_index)
        }
        if not self.self_training or self.self_training_mode == 'add':
            losses.update(
                self.sum_decode_losses(seg, label, scrib_logits=scrib))
        if self.self_training:
            tags = self.img_tags(
                batch_data_samples, self.num_classes, device=seg.device)
            target = self_training_target(
                seg,
                label,
                tags,
                valid_mask=valid,
                threshold=self.self_training_threshold,
                ignore_index=self.ignore_index,
                agree_logits=scrib if self.self_training_agreement else None,
                class_portion=self.self_training_class_portion)
            self_losses = self.sum_decode_losses(
                seg, target, scrib_logits=scrib)
            losses['loss_self'] = self.self_training_weight * sum(
                self_losses.values())
        return log_accuracy(losses, seg, label, self.ignore_index)
