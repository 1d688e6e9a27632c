"""mmscribble.apis.inference: a trained segmentor for offline use, and
one image through its data preprocessor."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmscribble.apis import load_segmentor, preprocess_image
from mmscribble.models.heads.blpseg_head import BLPSegHead

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-'
    '96x96.py')
MEAN = np.array([123.675, 116.28, 103.53])  # the demo's, RGB
STD = np.array([58.395, 57.12, 57.375])


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The demo config and a checkpoint of its model, from seed 0."""
    from mmseg.registry import MODELS
    tmp = tmp_path_factory.mktemp('inference')
    cfg = Config.fromfile(DEMO)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp / 'demo.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    return DEMO, ckpt, model.state_dict()


def test_load_segmentor_weights_and_mode(demo):
    cfg_path, ckpt, state = demo
    model = load_segmentor(cfg_path, ckpt, 'cpu')
    assert not model.training and model.train_cfg is None
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    for key, value in state.items():
        torch.testing.assert_close(loaded[key], value)


def test_load_segmentor_checks_before_reading(demo, tmp_path):
    cfg_path, _, _ = demo
    missing = str(tmp_path / 'never_read.pth')
    with pytest.raises(
            TypeError, match='DeepLabV2Head; this tool needs a BLPSegHead'):
        load_segmentor(cfg_path, missing, 'cpu', head_type=BLPSegHead)

    def refuse(model):
        raise ValueError(f'no {type(model.decode_head).__name__}')

    with pytest.raises(ValueError, match='no DeepLabV2Head'):
        load_segmentor(cfg_path, missing, 'cpu', check=refuse)
    # cfg_options reach the model
    model = load_segmentor(
        cfg_path,
        demo[1],
        'cpu',
        cfg_options={'model.decode_head.align_corners': True})
    assert model.decode_head.align_corners is True


def test_preprocess_image_normalises_bgr(demo):
    model = load_segmentor(*demo[:2], 'cpu')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (5, 7, 3), np.uint8)
    img[2, 3] = (10, 20, 30)  # B, G, R
    out = preprocess_image(model, img)
    inputs = out['inputs']
    # test mode, no test_cfg size: one image, not padded
    assert inputs.shape == (1, 3, 5, 7) and inputs.dtype == torch.float32
    expected = (np.array([30, 20, 10]) - MEAN) / STD  # RGB, normalised
    torch.testing.assert_close(inputs[0, :, 2, 3],
                               torch.tensor(expected, dtype=torch.float32))
    whole = (img[..., ::-1].astype(np.float64) - MEAN) / STD
    torch.testing.assert_close(
        inputs[0], torch.tensor(whole.transpose(2, 0, 1), dtype=torch.float32))
    # the preprocessor's own output for the same tensor
    own = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(img.transpose(2, 0, 1).copy())]), False)
    torch.testing.assert_close(inputs, own['inputs'])
    # a non-contiguous view (flipped) is taken as it looks
    flipped = preprocess_image(model, img[:, ::-1])['inputs']
    torch.testing.assert_close(flipped, inputs.flip(-1))
