# Copyright (c) mmscribble contributors. All rights reserved.
"""ScribbleEncoderDecoder under mmseg's sliding-window test (the converged
MSCMR table's ``-slide-lcc`` rows): the logits are the average of the
windows' own passes, a window as large as the image is the whole-image
pass (``mscmr_table.py --crop 212``), and a scribble head is handed each
window's image, for an mmseg head and SPML's embedding head alike."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

import mmscribble  # noqa: F401  (registers the components)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
DEMO = osp.join(ROOT, 'configs', 'demo')
CONFIGS = [
    'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py',
    'spml-stage1_r18-d8_1xb8-600_synthetic-shapes-96x96.py',
]


def build(name, test_cfg):
    cfg = Config.fromfile(osp.join(DEMO, name))
    cfg.model.backbone.init_cfg = None  # no download in tests
    cfg.model.pop('pretrained', None)
    cfg.model.test_cfg = test_cfg
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def metas(h, w):
    return [dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                 padding_size=[0, 0, 0, 0])]


@pytest.mark.parametrize('name', CONFIGS)
def test_slide_is_the_mean_of_the_window_passes(name):
    slide = build(name, dict(mode='slide', crop_size=(64, 64),
                             stride=(32, 32)))
    whole = build(name, dict(mode='whole'))
    whole.load_state_dict(slide.state_dict())
    torch.manual_seed(1)
    img = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        got = slide.inference(img, metas(96, 96))
        # The naive reference: every 64x64 window at offsets 0 and 32,
        # passed on its own, its logits added in place, then averaged.
        total = torch.zeros_like(got)
        count = torch.zeros(1, 1, 96, 96)
        for y in (0, 32):
            for x in (0, 32):
                crop = img[:, :, y:y + 64, x:x + 64]
                total[:, :, y:y + 64, x:x + 64] += whole.inference(
                    crop, metas(64, 64))
                count[:, :, y:y + 64, x:x + 64] += 1
    torch.testing.assert_close(got, total / count, rtol=1e-5, atol=1e-5)
    # Windows differ from the whole-image pass (the networks see
    # zero padding at other places), so the test mode matters.
    with torch.no_grad():
        full = whole.inference(img, metas(96, 96))
    assert not torch.allclose(full, got, atol=1e-3)


@pytest.mark.parametrize('name', CONFIGS)
def test_a_window_as_large_as_the_image_is_the_whole_pass(name):
    slide = build(name, dict(mode='slide', crop_size=(96, 96),
                             stride=(64, 64)))
    whole = build(name, dict(mode='whole'))
    whole.load_state_dict(slide.state_dict())
    img = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(
            slide.inference(img, metas(96, 96)),
            whole.inference(img, metas(96, 96)))
