"""Largest-connected-component clean-up: hand-made label maps with known
answers, 4- vs 8-connectivity, ties, classes left alone, the argument
errors, the chain with the CRF, and the segmentor applying it."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmscribble.models.postprocess import (LargestComponentPostProcessor,
                                           PostProcessChain,
                                           build_postprocessor,
                                           keep_largest_components)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
DEMO = osp.join(ROOT, 'configs', 'demo',
                'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


def test_second_blob_of_a_class_becomes_background():
    pred = np.array([[1, 1, 0, 0, 1],
                     [1, 1, 0, 2, 0],
                     [0, 0, 0, 2, 2],
                     [3, 0, 0, 0, 0]])
    want = np.array([[1, 1, 0, 0, 0],
                     [1, 1, 0, 2, 0],
                     [0, 0, 0, 2, 2],
                     [3, 0, 0, 0, 0]])
    out = keep_largest_components(pred, classes=(1, 2, 3))
    np.testing.assert_array_equal(out, want)
    assert pred[0, 4] == 1  # the input is not modified


def test_diagonal_neighbours_join_only_with_8_connectivity():
    pred = np.array([[2, 2, 0, 0],
                     [2, 2, 0, 0],
                     [0, 0, 2, 0],
                     [0, 0, 0, 0]])
    four = keep_largest_components(pred, classes=(2, ), connectivity=4)
    assert four[2, 2] == 0 and four[:2, :2].tolist() == [[2, 2], [2, 2]]
    eight = keep_largest_components(pred, classes=(2, ), connectivity=8)
    np.testing.assert_array_equal(eight, pred)


def test_tie_keeps_the_first_in_raster_order_and_classes_are_chosen():
    pred = np.array([[1, 0, 1],
                     [0, 0, 0],
                     [2, 0, 2]])
    out = keep_largest_components(pred, classes=(1, ))
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 0], [2, 0, 2]])
    # background given explicitly: removed pixels take it
    out = keep_largest_components(pred, classes=(2, ), background=1)
    np.testing.assert_array_equal(out, [[1, 0, 1], [0, 0, 0], [2, 0, 1]])
    # the background class itself is never cleaned
    np.testing.assert_array_equal(
        keep_largest_components(pred, classes=(0, ), background=0), pred)


@pytest.mark.parametrize('kwargs, match', [
    (dict(connectivity=6), 'connectivity must be 4 or 8'),
    (dict(background=-1), 'background must be an int >= 0'),
    (dict(classes=[]), 'classes must be a non-empty list'),
    (dict(classes=[1, 'LV']), 'classes must be a non-empty list'),
])
def test_bad_arguments_name_the_key(kwargs, match):
    with pytest.raises(ValueError, match='largest_component.*' + match):
        LargestComponentPostProcessor(**kwargs)
    with pytest.raises(TypeError, match='unexpected keyword'):
        LargestComponentPostProcessor(conectivity=4)
    with pytest.raises(ValueError, match='largest_component: give a dict'):
        build_postprocessor(dict(largest_component=True))
    with pytest.raises(ValueError, match='must be \\(H, W\\)'):
        keep_largest_components(np.zeros((1, 2, 2)), (1, ))


def test_builder_chains_in_order_and_is_none_when_off():
    assert build_postprocessor(dict(mode='whole')) is None
    assert build_postprocessor(dict(largest_component=None)) is None
    chain = build_postprocessor(dict(largest_component=dict()))
    assert isinstance(chain, PostProcessChain)
    assert [type(s) for s in chain.steps] == [LargestComponentPostProcessor]


def test_segmentor_predict_cleans_every_class_but_background(monkeypatch):
    cfg = Config.fromfile(DEMO)
    cfg.model.test_cfg = dict(mode='whole', largest_component=dict())
    model = MODELS.build(cfg.model).eval()
    pred = torch.tensor([[1, 0, 1, 1],
                         [0, 0, 0, 0],
                         [0, 3, 0, 3]])
    logits = torch.zeros(4, 3, 4)
    sample = SegDataSample(metainfo=dict(ori_shape=(3, 4)))
    sample.set_data(dict(seg_logits=PixelData(data=logits),
                         pred_sem_seg=PixelData(data=pred[None])))
    # mmseg's prediction replaced by the hand-made one: what is tested is
    # that ScribbleEncoderDecoder.predict hands it to the clean-up
    monkeypatch.setattr(EncoderDecoder, 'predict',
                        lambda self, inputs, data_samples=None: [sample])
    out = model.predict(torch.zeros(1, 3, 3, 4), [sample])[0]
    assert out.pred_sem_seg.data.tolist() == [[[0, 0, 1, 1],
                                               [0, 0, 0, 0],
                                               [0, 3, 0, 0]]]
    assert out.pred_sem_seg.data.dtype == torch.int64
