"""URSS head (Pan et al., ICCV 2021): random walk, soft entropy and
self-supervision on the neural eigenspace, on a DeepLabV2 head."""
import logging
from contextlib import nullcontext
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ..layers.random_walk import RandomWalk
from ..layers.transition_ops import (SAMPLE_KINDS, ViewTransform, apply_view,
                                     crop_view, overlap_size, sample_view)
from ..utils import kept_bn_stats
from ..utils.accuracy import log_accuracy
from .deeplabv2_head import DeepLabV2Head

# Values of ``ss_on``; the feature ones are keys of forward_intermediates.
SS_LOCATIONS = ('eigen', 'feat_before', 'feat_after')
VIEW_BN_STATS = ('update', 'keep')
TRANSLATE_VIEWS = ('shift', 'crop')


@MODELS.register_module()
class URSSHead(DeepLabV2Head):
    """URSS: uncertainty reduction and eigenspace self-supervision.

    Pan et al., "Scribble-Supervised Semantic Segmentation by Uncertainty
    Reduction on Neural Representation and Self-Supervision on Neural
    Eigenspace", ICCV 2021. The feature path is

    .. code-block:: none

        backbone (N, in_channels, h, w)
          -> bottleneck: 3x3 ConvModule               f^(L-1) (N, C, h, w)
          -> random walk, Eq. 5-6                     f^L (N, C, h, w),
                                                      P (N, hw, hw)
          -> [dropout] -> ASPP classifier             (N, K, h, w)

    and the training loss is Eq. 11:

    .. math::
        L = \\sum_{p \\in \\Omega_L} c(s(x)_p, y_p)
        + \\omega_1 E_{\\Omega - B} + \\omega_2 \\, ss_P(x, \\phi)

    * partial cross-entropy on the scribbles: ``loss_decode``
      (``PartialCrossEntropyLoss``), logged as ``loss_pce``;
    * soft entropy (Eq. 3, or Eq. 2 with ``use_boundary=False``) over the
      pixels that are neither SLIC pseudo-boundaries
      (``gt_boundary_map == 1``) nor padding (``gt_boundary_map == 255``,
      ``gt_valid_mask == 0``): ``loss_entropy``, whose ``loss_weight`` is
      ``omega_1``; computed on the logits upsampled to the label size,
      like the partial cross-entropy;
    * self-supervision (Eq. 9-10): ``loss_eigen`` (or ``loss_feat``, see
      ``ss_on``), whose ``loss_weight`` is ``omega_2``. While it is 0 (the
      first training phase; a ``PhaseSwitchHook`` raises it) nothing else
      is computed: no second view, no extra cost, and every parameter is
      still used by the first view, so DDP needs no
      ``find_unused_parameters``. When it is
      positive, a view ``phi`` is drawn (``view``), the normalised image
      batch is transformed (flipped, or translated as set by
      ``translate_view``: shifted with the vacated pixels set to 0, the
      mean colour, or cropped to the part that stays in frame), sent
      through the segmentor's ``extract_feat`` and this head's feature
      path, and ``P(x)`` is compared with ``P(t_phi(x))``. With that loss's
      ``detach_target=True`` (the authors' choice) the view runs under
      ``torch.no_grad()``, so gradients flow through the first view only;
      with False they flow through both. Batch-norm layers in training
      mode see both views, as in the authors' code.

    ``ss_on`` selects where the self-supervision acts (Tab. 2 of the
    paper): ``'eigen'`` (Eq. 9 on ``P``, the method), ``'feat_before'``
    (Eq. 7 on ``f^(L-1)``) or ``'feat_after'`` (Eq. 7 on ``f^L``). The
    feature variants use ``loss_feat`` (:class:`FeatureConsistencyLoss`,
    logged as ``loss_ss_feat``), with its own ``loss_weight`` for the
    phase switch to raise; ``loss_eigen`` is then not built.

    A flipped image maps exactly onto flipped features only when its
    width is ``view_stride * (w - 1) + 1`` (465 -> 59 at stride 8, the
    paper's crop); other widths are off by a fraction of a cell and a
    warning is logged once.

    Inference (:meth:`predict`) runs the segmentation path only; the
    random walk is part of it. :meth:`forward_intermediates` exposes
    ``f^(L-1)``, ``f^L`` and ``P`` (``tools/analysis_tools/
    urss_visualize.py``).

    Args:
        random_walk (dict, optional): :class:`RandomWalk` arguments
            besides ``in_channels`` (``similarity='raw'``: Eq. 6, the
            paper; ``'projected'``: the authors' code). None removes the
            walk (``f^L = f^(L-1)``, Tab. 1 rows without it).
            Default: ``dict(similarity='raw')``.
        loss_entropy (dict, optional): config of the soft entropy loss,
            called as ``loss(logits, boundary_map, valid_mask)`` with
            ``(N, K, H, W)`` logits and ``(N, H, W)`` maps. None disables
            it. Default: ``SoftEntropyLoss`` with weight 1.
        loss_eigen (dict, optional): config of the self-supervised loss
            (``EigenspaceLoss``), called as ``loss(P, P_view, phi, (h, w),
            valid_mask=...)``. Its ``loss_weight`` is ``omega_2``, its
            ``detach_target`` decides whether the view is computed under
            ``no_grad`` and its ``from_logits`` whether the logits of
            ``P`` are compared. None disables self-supervision. Used
            with ``ss_on='eigen'`` only (not built otherwise).
            Default: ``EigenspaceLoss`` with weight 0 (phase 1).
        loss_feat (dict, optional): config of the self-supervised loss of
            the feature variants of ``ss_on`` (``FeatureConsistencyLoss``),
            called as ``loss(f, f_view, phi, valid_mask=...,
            view_cropped=...)``; its ``loss_weight`` is ``omega_2`` and its
            ``detach_target`` decides about ``no_grad`` as above. None
            disables self-supervision; must be None with
            ``ss_on='eigen'``. Default: None.
        ss_on (str): ``'eigen'``, ``'feat_before'`` or ``'feat_after'``.
            Default: ``'eigen'``.
        view (str): ``'flip'``, ``'translate'`` or ``'random'`` (either,
            with probability 1/2; the paper's best). Default: ``'random'``.
        max_shift (int | Sequence[int]): largest translation in feature
            cells, one int or ``(max_dy, max_dx)``. Default: 10 (the
            authors shift by 80 pixels = 10 cells at stride 8).
        view_stride (int): output stride of the backbone: pixels per
            feature cell. Default: 8.
        view_bn_stats (str): what the second view's forward does to the
            running statistics of BatchNorm layers (the view runs in
            training mode): ``'update'`` folds its batch statistics in,
            as the authors' code does, so each step counts the batch twice
            and translated views add their filled border; ``'keep'``
            restores the statistics after the view, so the running
            statistics (used at test time) see the training images only.
            Normalisation during the view uses the view's batch
            statistics either way. Default: ``'update'``.
        translate_view (str): how a translated view is made. ``'shift'``
            moves the image inside a frame of the same size and fills the
            vacated band with 0 (the mean colour); ``'crop'`` crops the
            part that stays in frame (:func:`crop_view`), as the authors'
            code does (``img[:, :, 0:385]`` / ``img[:, :, 80:465]``), so no
            invented content enters the network and the view is cheaper.
            Both compare the same positions. Default: ``'shift'``.
        channels (int): channels ``C`` of ``f^(L-1)``. Default: 512.
        bottleneck (bool): reduce ``in_channels`` to ``channels`` with a
            3x3 ConvModule. Default: True.
        **kwargs: :class:`DeepLabV2Head` / ``BaseDecodeHead`` arguments
            (``in_channels``, ``num_classes``, ``dilations``,
            ``loss_decode``, ...).
    """

    def __init__(self,
                 random_walk: Optional[dict] = dict(similarity='raw'),
                 loss_entropy: Optional[ConfigType] = dict(
                     type='SoftEntropyLoss',
                     loss_weight=1.0,
                     use_boundary=True),
                 loss_eigen: Optional[ConfigType] = dict(
                     type='EigenspaceLoss', loss_weight=0.0, gamma=0.01),
                 loss_feat: Optional[ConfigType] = None,
                 ss_on: str = 'eigen',
                 view: str = 'random',
                 max_shift: Union[int, Sequence[int]] = 10,
                 view_stride: int = 8,
                 view_bn_stats: str = 'update',
                 translate_view: str = 'shift',
                 channels: int = 512,
                 bottleneck: bool = True,
                 **kwargs) -> None:
        super().__init__(channels=channels, bottleneck=bottleneck, **kwargs)
        if ss_on not in SS_LOCATIONS:
            raise ValueError(
                f'ss_on must be one of {SS_LOCATIONS}, got {ss_on!r}')
        if view not in SAMPLE_KINDS:
            raise ValueError(
                f'view must be one of {SAMPLE_KINDS}, got {view!r}')
        if view_bn_stats not in VIEW_BN_STATS:
            raise ValueError(f'view_bn_stats must be one of {VIEW_BN_STATS}'
                             f', got {view_bn_stats!r}')
        if translate_view not in TRANSLATE_VIEWS:
            raise ValueError(f'translate_view must be one of '
                             f'{TRANSLATE_VIEWS}, got {translate_view!r}')
        if int(view_stride) < 1:
            raise ValueError(
                f'view_stride must be a positive int, got {view_stride}')
        shifts = (max_shift,
                  max_shift) if isinstance(max_shift, int) else max_shift
        if len(shifts) != 2 or any(int(s) < 0 for s in shifts):
            raise ValueError('max_shift must be a non-negative int or a '
                             f'pair (max_dy, max_dx), got {max_shift!r}')
        if view != 'flip' and not any(shifts):
            raise ValueError(f'max_shift={max_shift!r} allows no '
                             f'translation, but view={view!r} translates')
        if random_walk is not None and not isinstance(random_walk, dict):
            raise TypeError('random_walk must be a dict of RandomWalk '
                            f'arguments or None, got {random_walk!r}')
        if ss_on == 'eigen' and loss_feat is not None:
            raise ValueError(
                "loss_feat is the loss of ss_on='feat_before' / "
                "'feat_after'; ss_on='eigen' uses loss_eigen, so set "
                'loss_feat=None')
        ss_cfg = loss_eigen if ss_on == 'eigen' else loss_feat
        if ss_cfg is not None and random_walk is None and ss_on in (
                'eigen', 'feat_after'):
            raise ValueError(
                f"ss_on={ss_on!r} needs random_walk (P and f^L come from "
                "it); use ss_on='feat_before' or set random_walk")
        self.random_walk = None if random_walk is None else RandomWalk(
            self.channels, **random_walk)
        taken = self.decode_loss_names()
        self.loss_entropy = self.build_aux_loss(loss_entropy, 'loss_entropy',
                                                taken)
        self.loss_eigen = self.build_aux_loss(
            loss_eigen if ss_on == 'eigen' else None, 'loss_eigen', taken)
        self.loss_feat = self.build_aux_loss(loss_feat, 'loss_feat', taken)
        self.ss_on = ss_on
        self.view = view
        self.max_shift = tuple(int(s) for s in shifts)
        self.view_stride = int(view_stride)
        self.view_bn_stats = view_bn_stats
        self.translate_view = translate_view
        self._warned_flip = False

    def forward_intermediates(
            self,
            inputs: Sequence[Tensor],
            classify: bool = True,
            with_logits: bool = False) -> Dict[str, Optional[Tensor]]:
        """Run the feature path and return every intermediate.

        Args:
            inputs (Sequence[Tensor]): backbone outputs; ``in_index``
                selects the ``(N, in_channels, h, w)`` map.
            classify (bool): also compute the class logits.
                Default: True.
            with_logits (bool): also return the logits of ``P``.
                Default: False.

        Returns:
            dict[str, Tensor | None]:

            - ``feat_before``: ``f^(L-1)``, ``(N, C, h, w)``;
            - ``feat_after``: ``f^L``, ``(N, C, h, w)`` (``f^(L-1)``
              without a random walk);
            - ``transition``: ``P``, ``(N, h*w, h*w)``, rows summing to
              one (raster order), or None without a random walk;
            - ``transition_logits``: ``(N, h*w, h*w)`` logits of ``P``
              when ``with_logits``, else None;
            - ``seg_logits``: ``(N, K, h, w)`` when ``classify``, else
              None.
        """
        feat = self._forward_feature(inputs)
        out = dict(
            feat_before=feat,
            feat_after=feat,
            transition=None,
            transition_logits=None,
            seg_logits=None)
        if self.random_walk is not None:
            walked = self.random_walk(feat, return_logits=with_logits)
            out['feat_after'], out['transition'] = walked[0], walked[1]
            if with_logits:
                out['transition_logits'] = walked[2]
        if classify:
            out['seg_logits'] = self.cls_seg(out['feat_after'])
        return out

    def forward(
        self,
        inputs: Sequence[Tensor],
        return_transition: bool = False
    ) -> Union[Tensor, Tuple[Tensor, Optional[Tensor]]]:
        """Class logits ``(N, K, h, w)``; with ``return_transition`` also
        ``P`` ``(N, h*w, h*w)`` (None without a random walk)."""
        out = self.forward_intermediates(inputs)
        if return_transition:
            return out['seg_logits'], out['transition']
        return out['seg_logits']

    @property
    def ss_loss(self) -> Optional[nn.Module]:
        """The self-supervised loss ``ss_on`` selects: ``loss_eigen`` or
        ``loss_feat`` (None when not configured)."""
        return self.loss_eigen if self.ss_on == 'eigen' else self.loss_feat

    def ss_enabled(self) -> bool:
        """Whether the self-supervised term (and the second view) is on:
        the loss ``ss_on`` selects exists and has a positive weight."""
        loss = self.ss_loss
        return loss is not None and float(loss.loss_weight) > 0

    def loss(self,
             inputs: Sequence[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             img: Optional[Tensor] = None,
             extract_feat: Optional[Callable] = None) -> dict:
        """Eq. 11 for a batch.

        Args:
            inputs (Sequence[Tensor]): backbone outputs of the batch.
            batch_data_samples (list[SegDataSample]): samples with
                ``gt_sem_seg`` and, for the soft entropy,
                ``gt_boundary_map`` (and ``gt_valid_mask`` if present).
            train_cfg (dict): unused.
            img (Tensor, optional): ``(N, 3, H, W)`` normalised, padded
                image batch; needed when self-supervision is on.
            extract_feat (Callable, optional): the segmentor's feature
                extractor; needed when self-supervision is on.

        Returns:
            dict[str, Tensor]: ``loss_pce``, ``acc_seg``,
            ``loss_entropy`` (if configured) and ``loss_eigen`` (or
            ``loss_feat``'s ``loss_ss_feat``) while ``omega_2 > 0``.
        """
        ss = self.ss_enabled()
        with_logits = ss and self.ss_on == 'eigen' and bool(
            getattr(self.loss_eigen, 'from_logits', False))
        out = self.forward_intermediates(inputs, with_logits=with_logits)
        losses = self.loss_by_feat(out['seg_logits'], batch_data_samples)
        if ss:
            losses.update(
                self.loss_self_supervision(out, batch_data_samples, img,
                                           extract_feat))
        return losses

    def loss_by_feat(self, seg_logits: Tensor,
                     batch_data_samples: SampleList) -> dict:
        """Partial cross-entropy, soft entropy and accuracy.

        Args:
            seg_logits (Tensor): ``(N, K, h, w)`` class logits, upsampled
                here (bilinear) to the ``(H, W)`` of the labels.
            batch_data_samples (list[SegDataSample]): the samples.

        Returns:
            dict[str, Tensor]: one entry per ``loss_decode`` name, the
            soft entropy under its ``loss_name`` and ``acc_seg``.
        """
        seg_logits, seg_label, seg_weight = self.logits_at_labels(
            seg_logits, batch_data_samples)
        losses = self.sum_decode_losses(
            seg_logits, seg_label, weight=seg_weight)
        if self.loss_entropy is not None:
            boundary, valid = self._entropy_maps(batch_data_samples)
            losses[self.loss_entropy.loss_name] = self.loss_entropy(
                seg_logits, boundary, valid)
        return log_accuracy(losses, seg_logits, seg_label, self.ignore_index)

    def _entropy_maps(
        self, batch_data_samples: SampleList
    ) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """``(N, H, W)`` boundary map and valid mask for the entropy.

        The boundary map is required when the loss excludes boundaries;
        otherwise it is used when present (its 255 marks padding).
        """
        use_boundary = getattr(self.loss_entropy, 'use_boundary', True)
        boundary = None
        if use_boundary or self.has_map(batch_data_samples,
                                        'gt_boundary_map'):
            # Raises naming the transform to add when a sample lacks it.
            boundary = self.stack_map(batch_data_samples, 'gt_boundary_map')
        valid = self.stack_map(
            batch_data_samples, 'gt_valid_mask') if self.has_map(
                batch_data_samples, 'gt_valid_mask') else None
        return boundary, valid

    def _warn_flip_alignment(self, phi: ViewTransform, width: int,
                             w: int) -> None:
        if (phi.kind != 'flip' or self._warned_flip
                or width == self.view_stride * (w - 1) + 1):
            return
        self._warned_flip = True
        print_log(
            f'URSSHead: image width {width} is not view_stride * (w - 1) + '
            f'1 = {self.view_stride * (w - 1) + 1} for w = {w} feature '
            'columns, so flipped features are off the flipped image by a '
            'fraction of a cell (crop 465 -> 59 columns at stride 8 is '
            'exact)',
            logger='current',
            level=logging.WARNING)

    def loss_self_supervision(self, out: Dict[str, Optional[Tensor]],
                              batch_data_samples: SampleList,
                              img: Optional[Tensor],
                              extract_feat: Optional[Callable]) -> dict:
        """Self-supervision on a second view: Eq. 9 (or Eq. 7).

        Args:
            out (dict): :meth:`forward_intermediates` of the first view.
            batch_data_samples (list[SegDataSample]): the samples; their
                ``gt_valid_mask`` keeps padding out of the comparison.
            img (Tensor): ``(N, 3, H, W)`` normalised image batch.
            extract_feat (Callable): maps an image batch to backbone
                features.

        Returns:
            dict[str, Tensor]: ``{loss_eigen.loss_name: loss}`` for
            ``ss_on='eigen'``, ``{loss_feat.loss_name: loss}`` otherwise.

        Raises:
            ValueError: ``img`` or ``extract_feat`` is missing (the head
                is not inside ``ScribbleEncoderDecoder``).
        """
        if img is None or extract_feat is None:
            raise ValueError(
                'URSSHead needs img and extract_feat for self-supervision '
                f'({"loss_eigen" if self.ss_on == "eigen" else "loss_feat"}'
                '.loss_weight > 0); use it inside ScribbleEncoderDecoder')
        h, w = out['feat_before'].shape[-2:]
        phi = sample_view(self.view, h, w, self.max_shift)
        self._warn_flip_alignment(phi, img.shape[-1], w)
        crop = phi.kind == 'translate' and self.translate_view == 'crop'
        if crop:
            img_view = crop_view(img, phi, stride=self.view_stride)
        else:
            img_view = apply_view(img, phi, stride=self.view_stride, fill=0)
        valid = self.feature_valid_mask(
            batch_data_samples, (h, w), stride=self.view_stride)
        detach = bool(getattr(self.ss_loss, 'detach_target', True))
        with_logits = out['transition_logits'] is not None
        keep_bn = self.view_bn_stats == 'keep'
        owner = getattr(extract_feat, '__self__', None)
        owner = owner if isinstance(owner, nn.Module) else self
        with torch.no_grad() if detach else nullcontext(), \
                kept_bn_stats(owner) if keep_bn else nullcontext():
            view = self.forward_intermediates(
                extract_feat(img_view),
                classify=False,
                with_logits=with_logits)
        if crop:
            want = overlap_size(h, w, phi)
            got = tuple(view['feat_before'].shape[-2:])
            if got != want:
                raise ValueError(
                    f'URSSHead: the {tuple(img_view.shape[-2:])} crop of '
                    f'{phi!r} gave {got} feature cells, not the {want} '
                    f'that the {h}x{w} features keep in frame; view_stride='
                    f'{self.view_stride} must be the backbone output stride')
        if self.ss_on == 'eigen':
            key = 'transition_logits' if with_logits else 'transition'
            loss = self.loss_eigen(
                out[key],
                view[key],
                phi, (h, w),
                valid_mask=valid,
                view_cropped=crop)
            return {self.loss_eigen.loss_name: loss}
        loss = self.loss_feat(
            out[self.ss_on],
            view[self.ss_on],
            phi,
            valid_mask=valid,
            view_cropped=crop)
        return {self.loss_feat.loss_name: loss}
