"""Dense CRF post-processing: presets and argument errors, the error naming
the extra when pydensecrf is missing, the image recovered from the
normalised, padded, flipped input (RGB and grayscale), and on tiny images
that the CRF moves a noisy prediction onto the image's edge (in
intensity, and in colour where the gray levels are equal)."""
import importlib.util
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmscribble.models.postprocess import (PRESETS, DenseCRFPostProcessor,
                                           build_postprocessor, dense_crf)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
DEMO = osp.join(ROOT, 'configs', 'demo',
                'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')
HAVE_CRF = importlib.util.find_spec('pydensecrf') is not None
needs_crf = pytest.mark.skipif(
    not HAVE_CRF,
    reason='optional extra: pydensecrf2 (pip install mmscribble[crf]) is '
    'not installed')


def hide_pydensecrf(monkeypatch):
    for name in ('pydensecrf', 'pydensecrf.densecrf', 'pydensecrf.utils'):
        monkeypatch.setitem(sys.modules, name, None)


def test_presets_are_the_papers():
    assert PRESETS['blpseg'] == dict(
        iters=1, gaussian_sxy=3., gaussian_compat=3., bilateral_sxy=32.,
        bilateral_srgb=13., bilateral_compat=10.)
    assert PRESETS['spml'] == dict(
        iters=10, gaussian_sxy=1., gaussian_compat=3., bilateral_sxy=67.,
        bilateral_srgb=3., bilateral_compat=4.)


def test_missing_extra_is_named_when_the_model_is_built(monkeypatch):
    hide_pydensecrf(monkeypatch)
    with pytest.raises(ImportError, match=r"optional extra 'crf'.*pip "
                       r"install 'mmscribble\[crf\]'"):
        DenseCRFPostProcessor(preset='blpseg')
    cfg = Config.fromfile(DEMO)
    cfg.model.test_cfg = dict(mode='whole', crf=dict(preset='spml'))
    with pytest.raises(ImportError, match=r'model\.test_cfg\.crf.*mmscribble'
                       r'\[crf\]'):
        MODELS.build(cfg.model)
    # Off (the default): nothing is imported, the model builds.
    assert build_postprocessor(dict(mode='whole')) is None
    assert build_postprocessor(None) is None


@pytest.mark.parametrize('kwargs, match', [
    (dict(preset='voc'), 'preset must be one of'),
    (dict(preset='blpseg', iter=3), r"unknown key\(s\) \['iter'\]"),
    (dict(iters=1), 'give a preset'),
    (dict(preset='blpseg', iters=0), 'iters must be an int >= 1'),
    (dict(preset='spml', bilateral_srgb=0), 'bilateral_srgb must be > 0'),
    (dict(preset='spml', color='lab'), 'color must be one of'),
])
def test_bad_arguments_name_the_key(kwargs, match, monkeypatch):
    hide_pydensecrf(monkeypatch)  # checked before the import
    with pytest.raises(ValueError, match=match):
        DenseCRFPostProcessor(**kwargs)
    with pytest.raises(ValueError, match='not True'):
        build_postprocessor(dict(crf=True))


class FakePre:
    """What image_of reads from a SegDataPreProcessor."""
    _enable_normalize = True
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)


def processor(color='auto'):
    proc = DenseCRFPostProcessor.__new__(DenseCRFPostProcessor)
    proc.color = color
    return proc


def test_image_recovered_through_the_real_preprocessor():
    # A BGR uint8 image as the loader gives it, through mmseg's
    # preprocessor (BGR -> RGB, normalised, padded to 12x12 at test time);
    # image_of gives back the RGB image at its original 9x10.
    from mmscribble.models import ScribbleDataPreProcessor
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, size=(9, 10, 3)).astype(np.uint8)
    pre = ScribbleDataPreProcessor(
        mean=FakePre.mean.flatten().tolist(),
        std=FakePre.std.flatten().tolist(),
        bgr_to_rgb=True,
        test_cfg=dict(size=(12, 12)))
    sample = SegDataSample(metainfo=dict(ori_shape=(9, 10), img_shape=(9, 10)))
    out = pre(dict(inputs=[torch.from_numpy(bgr).permute(2, 0, 1)],
                   data_samples=[sample]), False)
    assert out['inputs'].shape[-2:] == (12, 12)
    meta = out['data_samples'][0].metainfo
    img = processor('rgb').image_of(out['inputs'][0], meta, pre)
    np.testing.assert_allclose(img, bgr[..., ::-1], atol=1e-3)


def test_image_unflipped_resized_and_gray():
    rgb = np.arange(6 * 4 * 3, dtype=np.float32).reshape(6, 4, 3)
    norm = (torch.from_numpy(rgb).permute(2, 0, 1) - FakePre.mean) / \
        FakePre.std
    # flipped horizontally by the test pipeline, padded by 2 at the right
    inp = torch.nn.functional.pad(norm.flip(2), (0, 2, 0, 0))
    meta = dict(padding_size=[0, 2, 0, 0], flip=True,
                flip_direction='horizontal', ori_shape=(6, 4))
    img = processor('rgb').image_of(inp, meta, FakePre)
    np.testing.assert_allclose(img, rgb, atol=1e-3)
    # ori_shape twice the input: bilinear resize, as the logits are.
    meta = dict(ori_shape=(12, 8))
    img = processor('rgb').image_of(norm, meta, FakePre)
    assert img.shape == (12, 8, 3)
    # A gray slice replicated to 3 channels (MR): one channel in 'auto'.
    gray = np.repeat(rgb[..., :1], 3, axis=2)
    norm = (torch.from_numpy(gray).permute(2, 0, 1) - FakePre.mean) / \
        FakePre.std
    img = processor('auto').image_of(norm, dict(ori_shape=(6, 4)), FakePre)
    assert img.shape == (6, 4)
    np.testing.assert_allclose(img, gray[..., 0], atol=1e-3)
    # Distinct channels stay RGB in 'auto'; 'gray' averages them.
    assert processor('auto').image_of(
        (torch.from_numpy(rgb).permute(2, 0, 1) - FakePre.mean) /
        FakePre.std, dict(ori_shape=(6, 4)), FakePre).shape == (6, 4, 3)


def noisy_probs(size=16, wrong_cols=(5, 6, 7)):
    """Class 1 right of column 8, predicted too wide (columns 5-7 at
    p = 0.6), plus isolated wrong pixels on the right (p = 0.35)."""
    p1 = np.full((size, size), 0.1, np.float32)
    p1[:, 8:] = 0.9
    p1[:, list(wrong_cols)] = 0.6
    p1[[2, 9, 13], [11, 14, 9]] = 0.35
    return np.stack([1 - p1, p1])


def edge_labels(size, col):
    lab = np.zeros((size, size), np.int64)
    lab[:, col:] = 1
    return lab


@needs_crf
@pytest.mark.parametrize('preset', ['blpseg', 'spml'])
def test_crf_moves_a_noisy_prediction_onto_the_gray_edge(preset):
    probs = noisy_probs()
    before = probs.argmax(0)
    for edge in (8, 5):
        # Gray image: dark left of `edge`, bright right of it.
        img = np.where(np.arange(16)[None, :] < edge, 30., 220.)
        img = np.broadcast_to(img, (16, 16))
        q = dense_crf(probs, img, **PRESETS[preset])
        assert q.shape == (2, 16, 16)
        np.testing.assert_allclose(q.sum(0), 1, atol=1e-4)
        after = q.argmax(0)
        target = edge_labels(16, edge)
        err_before = int((before != target).sum())
        err_after = int((after != target).sum())
        # Edge at 8: columns 5-7 (48 px) and 3 noisy pixels are wrong
        # before; edge at 5: only the 3 noisy pixels.
        assert err_before == (51 if edge == 8 else 3)
        assert err_after == 0, (preset, edge, after)


@needs_crf
def test_crf_follows_a_colour_edge_that_gray_does_not_see():
    # Red left of column 8, green right: equal gray levels, so only the
    # RGB appearance kernel sees the edge.
    img = np.zeros((16, 16, 3), np.float32)
    img[:, :8] = (200., 30., 30.)
    img[:, 8:] = (30., 200., 30.)
    probs = noisy_probs()
    target = edge_labels(16, 8)
    rgb = dense_crf(probs, img, **PRESETS['blpseg']).argmax(0)
    assert int((rgb != target).sum()) == 0
    gray = dense_crf(probs, img.mean(2), **PRESETS['blpseg']).argmax(0)
    assert int((gray[:, 5:8] != target[:, 5:8]).sum()) > 0


@needs_crf
def test_segmentor_predict_applies_the_crf():
    cfg = Config.fromfile(DEMO)
    cfg.model.test_cfg = dict(mode='whole', crf=dict(preset='blpseg'))
    model = MODELS.build(cfg.model).eval()
    steps = model.postprocessor.steps
    assert len(steps) == 1 and isinstance(steps[0], DenseCRFPostProcessor)
    torch.manual_seed(0)
    img = torch.randint(0, 256, (3, 24, 20), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(ori_shape=(24, 20),
                                         img_shape=(24, 20)))
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 24, 20,
                                                   dtype=torch.long))
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])[0]
    assert out.pred_sem_seg.data.shape == (1, 24, 20)
    assert out.crf_probs.data.shape == (4, 24, 20)
    assert torch.equal(out.pred_sem_seg.data[0],
                       out.crf_probs.data.argmax(0).to(
                           out.pred_sem_seg.data))
