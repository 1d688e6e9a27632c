"""What every scribble head shares: the mixin and its BaseDecodeHead form."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from mmscribble.structures import get_map_spec
from ..utils import cell_centre_mask
from ..utils.accuracy import log_accuracy



def multi_hot(ids: Sequence[Sequence[int]],
              num_classes: int,
              device=None) -> Tensor:
    """``(N, num_classes)`` float multi-hot rows of per-image class ids.

    The rows are built in Python and the tensor is created once, on
    ``device``: no CPU index tensor (and no host sync) in a training step.

    Args:
        ids (Sequence[Sequence[int]]): the class ids of each image.
        num_classes (int): ``K``.
        device (torch.device, optional): where to create the tensor.

    Returns:
        Tensor: ``(N, K)`` float32, 1 at the given ids.

    Raises:
        ValueError: for an id outside ``[0, num_classes)``.
    """
    rows = []
    for i, row_ids in enumerate(ids):
        row = [0.0] * num_classes
        for c in row_ids:
            if not 0 <= int(c) < num_classes:
                raise ValueError(f'image {i}: class id {int(c)} is outside '
                                 f'[0, {num_classes})')
            row[int(c)] = 1.0
        rows.append(row)
    return torch.tensor(
        rows, dtype=torch.float32, device=device).view(-1, num_classes)


class ScribbleHeadMixin:
    """Context and loss plumbing for decode heads of scribble methods.

    Mixed in *before* an mmseg head (``BLPSegHead(ScribbleHeadMixin,
    UPerHead)``), so the head keeps that head's ``forward`` and mmseg's
    ``loss_by_feat(seg_logits, batch_data_samples)`` /
    ``predict_by_feat`` contract, while :class:`ScribbleEncoderDecoder`
    passes, in addition to the features:

    - ``img``: the normalized, padded image batch ``(N, 3, H, W)``, for
      low-level cues (BLPSeg's LAM, Potts pairwise weights);
    - ``extract_feat``: the segmentor's feature extractor, so a head can
      run a second, transformed view of the batch through the backbone
      (URSS's eigenspace self-supervision) inside the same training step,
      under the same DDP forward.

    Set ``needs_inputs = True`` on heads whose *prediction* also needs the
    image (LAM); the segmentor then passes ``img`` to ``forward`` too.

    Besides :meth:`loss` / :meth:`predict`, the mixin holds what every
    such head needs once: reading extra per-pixel maps
    (:meth:`stack_map`, :meth:`has_map`) and image tags
    (:meth:`img_tags`), the valid mask at feature resolution
    (:meth:`feature_valid_mask`), ``loss_decode`` as one list however it
    was configured (:meth:`decode_losses`, :meth:`sum_decode_losses`) and
    auxiliary losses with summed, distinct log names
    (:meth:`build_aux_loss`).
    """

    needs_inputs = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # loss() and predict() must win over BaseDecodeHead's, whose
        # signatures drop img and extract_feat.
        mro = cls.__mro__
        if BaseDecodeHead not in mro or mro.index(
                ScribbleHeadMixin) > mro.index(BaseDecodeHead):
            raise TypeError(
                f'{cls.__name__}: ScribbleHeadMixin must come before an '
                'mmseg decode head in the bases, e.g. '
                f'class {cls.__name__}(ScribbleHeadMixin, UPerHead)')

    def loss(self,
             inputs: Tuple[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             img: Optional[Tensor] = None,
             extract_feat: Optional[Callable] = None) -> dict:
        seg_logits = self._call_forward(inputs, img)
        return self.loss_by_feat(seg_logits, batch_data_samples)

    def predict(self,
                inputs: Tuple[Tensor],
                batch_img_metas: List[dict],
                test_cfg: ConfigType,
                img: Optional[Tensor] = None) -> Tensor:
        seg_logits = self._call_forward(inputs, img)
        return self.predict_by_feat(seg_logits, batch_img_metas)

    def _call_forward(self, inputs, img):
        if self.needs_inputs:
            if img is None:
                raise ValueError(
                    f'{type(self).__name__} needs the input image; use it '
                    'inside ScribbleEncoderDecoder')
            return self.forward(inputs, img)
        return self.forward(inputs)

    # -- per-sample data -------------------------------------------------
    @staticmethod
    def has_map(batch_data_samples: SampleList, field: str) -> bool:
        """Whether every sample carries the per-pixel map ``field``."""
        return all(field in s for s in batch_data_samples)

    @staticmethod
    def stack_map(batch_data_samples: SampleList, field: str) -> Tensor:
        """Stack a per-pixel map of every sample into (N, H, W).

        Raises:
            KeyError: naming the field and the pipeline transform to add.
        """
        get_map_spec(field)
        missing = [
            s.metainfo.get('img_path', i)
            for i, s in enumerate(batch_data_samples) if field not in s
        ]
        if missing:
            raise KeyError(
                f'samples {missing[:3]} carry no {field!r}; add the transform '
                'that produces it to the training pipeline (see '
                'docs/conventions.md)')
        return torch.stack([s.get(field).data[0] for s in batch_data_samples],
                           dim=0)

    @staticmethod
    def img_tags(batch_data_samples: SampleList,
                 num_classes: int,
                 device=None) -> Tensor:
        """Image-level class tags as a multi-hot (N, num_classes) tensor.

        Built as a Python list and created once on ``device``: no index
        tensor on the CPU inside a training step.
        """
        ids = []
        for i, s in enumerate(batch_data_samples):
            tag = s.metainfo.get('img_tags')
            if tag is None:
                raise KeyError(
                    f'sample {s.metainfo.get("img_path", i)} has no img_tags;'
                    ' load its labels with LoadScribbleAnnotations and pack '
                    'with PackScribbleInputs')
            ids.append(tag)
        return multi_hot(ids, num_classes, device)

    def feature_valid_mask(self,
                           batch_data_samples: SampleList,
                           size: Sequence[int],
                           stride: Optional[int] = None) -> Optional[Tensor]:
        """``(N, h, w)`` bool: feature cells centred on real image pixels.

        ``gt_valid_mask`` read at the centre of every cell
        (:func:`~mmscribble.models.utils.cell_centre_mask`): cell ``i`` of
        a stride-``s`` backbone is centred on pixel ``s i``, so the mask is
        subsampled there, which is exact for every image size where
        nearest resizing is off by up to ``s - 1`` pixels.

        Args:
            batch_data_samples (list[SegDataSample]): the samples.
            size (Sequence[int]): ``(h, w)`` of the feature map.
            stride (int, optional): output stride of the backbone; None
                infers it from the sizes. Default: None.

        Returns:
            Tensor | None: the mask, or None when a sample has no
            ``gt_valid_mask`` (every position then counts as real).

        Raises:
            ValueError: ``size`` is not what ``stride`` gives for the
                padded batch.
        """
        if not self.has_map(batch_data_samples, 'gt_valid_mask'):
            return None
        mask = self.stack_map(batch_data_samples, 'gt_valid_mask')
        return cell_centre_mask(mask, size, stride)

    # -- losses ----------------------------------------------------------
    def decode_losses(self) -> List[nn.Module]:
        """``loss_decode`` as a list, whether one loss or a ModuleList."""
        if isinstance(self.loss_decode, nn.ModuleList):
            return list(self.loss_decode)
        return [self.loss_decode]

    def sum_decode_losses(self, pred: Tensor, label: Tensor,
                          **kwargs) -> Dict[str, Tensor]:
        """Every ``loss_decode`` on ``(pred, label)``, same names summed.

        Args:
            pred (Tensor): logits, ``(N, K, H, W)``.
            label (Tensor): class ids, ``(N, H, W)``.
            **kwargs: passed to every loss; ``ignore_index`` defaults to
                the head's.

        Returns:
            dict[str, Tensor]: one entry per distinct ``loss_name``.
        """
        kwargs.setdefault('ignore_index', self.ignore_index)
        losses: Dict[str, Tensor] = {}
        for loss in self.decode_losses():
            value = loss(pred, label, **kwargs)
            name = loss.loss_name
            losses[name] = losses[name] + value if name in losses else value
        return losses

    def loss_by_feat(self, seg_logits: Tensor,
                     batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """mmseg's: every ``loss_decode`` on the logits resized to the
        labels, and ``acc_seg``, left out of a batch without labelled
        pixel (:func:`~mmscribble.models.utils.accuracy.log_accuracy`;
        mmseg logs 100.0 there)."""
        seg_logits, seg_label, seg_weight = self.logits_at_labels(
            seg_logits, batch_data_samples)
        losses = self.sum_decode_losses(
            seg_logits, seg_label, weight=seg_weight)
        return log_accuracy(losses, seg_logits, seg_label, self.ignore_index)

    def logits_at_labels(
        self, seg_logits: Tensor, batch_data_samples: SampleList
    ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """mmseg's first steps of ``loss_by_feat``.

        Args:
            seg_logits (Tensor): ``(N, K, h, w)`` class logits.
            batch_data_samples (list[SegDataSample]): the samples.

        Returns:
            tuple: the ``(N, K, H, W)`` logits resized (bilinear) to the
            labels, the ``(N, H, W)`` labels and the sampler's
            ``(N, H, W)`` pixel weights (None without a sampler).
        """
        seg_label = self._stack_batch_gt(batch_data_samples)
        seg_logits = resize(
            seg_logits,
            size=seg_label.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        seg_weight = None if self.sampler is None else self.sampler.sample(
            seg_logits, seg_label)
        return seg_logits, seg_label.squeeze(1), seg_weight

    @staticmethod
    def check_loss_name(name, arg: str) -> str:
        """Return ``name`` if mmengine will sum it into the total loss.

        Raises:
            ValueError: naming ``arg``, when ``name`` does not contain
                ``'loss'`` (mmengine would log it without training on it).
        """
        if not isinstance(name, str) or 'loss' not in name:
            raise ValueError(f"{arg}: loss_name must contain 'loss' so that "
                             f'mmengine sums it, got {name!r}')
        return name

    def decode_loss_names(self) -> Dict[str, str]:
        """``{loss_name: 'loss_decode'}`` for every decode loss: the names
        auxiliary losses must not reuse (decode losses may share one)."""
        return {
            self.check_loss_name(loss.loss_name, 'loss_decode'): 'loss_decode'
            for loss in self.decode_losses()
        }

    def build_aux_loss(self, cfg: Optional[ConfigType], arg: str,
                       taken_names: Dict[str, str]) -> Optional[nn.Module]:
        """Build an auxiliary loss whose value mmengine sums and logs apart.

        Args:
            cfg (dict, optional): the loss config; None builds nothing.
            arg (str): the head argument it comes from, for messages.
            taken_names (dict[str, str]): ``loss_name`` -> what already
                logs under it (start from :meth:`decode_loss_names`); the
                new name is added, so the next call checks against it too.

        Returns:
            nn.Module | None: the loss.

        Raises:
            ValueError: its ``loss_name`` lacks ``'loss'`` or is taken.
        """
        if cfg is None:
            return None
        loss = MODELS.build(cfg)
        name = self.check_loss_name(getattr(loss, 'loss_name', None), arg)
        if name in taken_names:
            raise ValueError(
                f'{arg}: loss_name {name!r} is already used by '
                f'{taken_names[name]}; each loss of a head needs a distinct '
                'loss_name, or mmengine logs and sums them as one')
        taken_names[name] = arg
        return loss


class BaseScribbleHead(ScribbleHeadMixin, BaseDecodeHead):
    """:class:`ScribbleHeadMixin` on mmseg's ``BaseDecodeHead``.

    The base for heads written from scratch (``DeepLabV2Head``); heads
    built on another mmseg head mix in :class:`ScribbleHeadMixin`
    instead. Code that asks "is this a scribble head?"
    (``ScribbleEncoderDecoder``) asks for the mixin.
    """
