"""Base class for decode heads that need more than features and labels."""
from typing import Callable, List, Optional, Tuple

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from mmscribble.structures import get_map_spec


class BaseScribbleHead(BaseDecodeHead):
    """A decode head that :class:`ScribbleEncoderDecoder` feeds extra context.

    Plain mmseg heads get ``loss(feats, data_samples, train_cfg)``; heads
    derived from this class get, in addition:

    - ``inputs``: the normalized, padded image batch (N, 3, H, W), for
      low-level cues (BLPSeg's LAM, Potts pairwise weights);
    - ``extract_feat``: the segmentor's feature extractor, so a head can
      run a second, transformed view of the batch through the backbone
      (URSS's eigenspace self-supervision) inside the same training step,
      under the same DDP forward.

    Set ``needs_inputs = True`` on heads whose *prediction* also needs the
    image (LAM); the segmentor then passes ``inputs`` to ``forward`` too.
    """

    needs_inputs = False

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
        return torch.stack(
            [s.get(field).data[0] for s in batch_data_samples], dim=0)

    @staticmethod
    def img_tags(batch_data_samples: SampleList, num_classes: int,
                 device=None) -> Tensor:
        """Image-level class tags as a multi-hot (N, num_classes) tensor."""
        tags = torch.zeros(
            len(batch_data_samples), num_classes, device=device)
        for i, s in enumerate(batch_data_samples):
            ids = s.metainfo.get('img_tags')
            if ids is None:
                raise KeyError(
                    f'sample {s.metainfo.get("img_path", i)} has no img_tags;'
                    ' load its labels with LoadScribbleAnnotations and pack '
                    'with PackScribbleInputs')
            if len(ids):
                tags[i, torch.as_tensor(ids, dtype=torch.long)] = 1
        return tags
