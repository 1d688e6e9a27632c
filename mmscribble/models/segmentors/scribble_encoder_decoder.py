"""EncoderDecoder that hands scribble heads the context their losses need."""
from typing import List

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor

from ..heads.scribble_head import ScribbleHeadMixin
from ..postprocess.builder import build_postprocessor


@MODELS.register_module()
class ScribbleEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` for scribble supervision.

    Behaves exactly like mmseg's ``EncoderDecoder`` for plain mmseg heads.
    For a head with :class:`ScribbleHeadMixin` it also passes, at training time, the
    normalized image batch and ``extract_feat`` (so the head can run a second
    view of the batch for a consistency loss), and, at inference, the image
    to heads whose prediction needs it (``needs_inputs``, e.g. BLPSeg's LAM).
    Auxiliary heads are called as in mmseg. ``test_cfg.crf`` (e.g.
    ``dict(preset='blpseg')``) refines every prediction with a dense CRF
    (:mod:`mmscribble.models.postprocess.dense_crf`);
    ``test_cfg.largest_component`` (e.g. ``dict()``) then keeps each
    class's largest connected component
    (:mod:`mmscribble.models.postprocess.largest_component`).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional test-time post-processing, built (and its extra checked)
        # with the model.
        self.postprocessor = build_postprocessor(self.test_cfg)

    def predict(self, inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        results = super().predict(inputs, data_samples)
        if self.postprocessor is not None:
            results = self.postprocessor(inputs, results,
                                         self.data_preprocessor)
        return results

    def _is_scribble_head(self) -> bool:
        return isinstance(self.decode_head, ScribbleHeadMixin)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        x = self.extract_feat(inputs)
        losses = dict()
        if self._is_scribble_head():
            loss_decode = self.decode_head.loss(
                x,
                data_samples,
                self.train_cfg,
                img=inputs,
                extract_feat=self.extract_feat)
            losses.update(add_prefix(loss_decode, 'decode'))
        else:
            losses.update(self._decode_head_forward_train(x, data_samples))
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        return losses

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        x = self.extract_feat(inputs)
        if self._is_scribble_head():
            return self.decode_head.predict(
                x, batch_img_metas, self.test_cfg, img=inputs)
        return self.decode_head.predict(x, batch_img_metas, self.test_cfg)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        x = self.extract_feat(inputs)
        if self._is_scribble_head() and self.decode_head.needs_inputs:
            return self.decode_head.forward(x, inputs)
        return self.decode_head.forward(x)


__all__ = ['ScribbleEncoderDecoder']
