"""tools/analysis_tools/blpseg_visualize.py on a tiny BLPSeg model."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmscribble.models.losses.blp_loss import blp_modulating_factor
from mmscribble.visualization.blpseg_maps import (blpseg_maps, config_gamma,
                                                  load_blpseg)
from mmscribble.visualization.drawing import load_image
from mmscribble.datasets.transforms.loading import read_label_png

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BLPSEG_CFG = osp.join(
    ROOT, 'configs/blpseg/'
    'blpseg_upernet_r50_2xb5-42k_voc12aug-scribble-384x384.py')
BASELINE_CFG = osp.join(
    ROOT, 'configs/baseline/'
    'pce_upernet_r50_4xb4-20k_voc12aug-scribble-512x512.py')
IMG = 'JPEGImages/2007_000032.jpg'  # 281 x 500
SCRIBBLE = 'pascal_2012_scribble/2007_000032.png'

TOOL = osp.join(ROOT, 'tools/analysis_tools/blpseg_visualize.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


def shrink(cfg):
    cfg.model.backbone.update(
        depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    cfg.model.decode_head.update(
        in_channels=[8, 16, 32, 64], channels=8, pool_scales=(1, 2))
    return cfg


@pytest.fixture
def tiny_checkpoint(random_checkpoint):
    """A config file and checkpoint of the BLPSeg config, shrunk."""
    cfg = shrink(Config.fromfile(BLPSEG_CFG))
    cfg.model.decode_head.lam.update(embed_dims=8, proj_channels=8)
    return random_checkpoint(cfg, 'tiny_blpseg')


def test_writes_the_three_maps(tiny_checkpoint, voc_fixture, tmp_path, capsys):
    cfg_path, ckpt = tiny_checkpoint
    out = str(tmp_path / 'vis')
    run_tool([
        cfg_path, ckpt,
        osp.join(voc_fixture, IMG), '--out-dir', out, '--long-side', '64'
    ])
    assert sorted(os.listdir(out)) == [
        '2007_000032_annot_prob.png', '2007_000032_blp_loss.png',
        '2007_000032_seg_prob.png'
    ]
    written = [osp.join(out, n) for n in os.listdir(out)]
    for path in written:
        assert cv2.imread(path).shape == (36, 64, 3)
    text = capsys.readouterr().out
    assert 'target pixels: 100.0%' in text and 'wrote 3 images' in text
    # the paths, one a line, in the order written
    assert [osp.basename(ln) for ln in text.splitlines()
            if ln.endswith('.png')] == [
                '2007_000032_annot_prob.png', '2007_000032_seg_prob.png',
                '2007_000032_blp_loss.png'
            ]


def test_scribble_gives_the_self_training_target(tiny_checkpoint, voc_fixture,
                                                 tmp_path, capsys):
    cfg_path, ckpt = tiny_checkpoint
    run_tool([
        cfg_path, ckpt,
        osp.join(voc_fixture, IMG), '--out-dir',
        str(tmp_path), '--scribble',
        osp.join(voc_fixture, SCRIBBLE), '--threshold', '1.0'
    ])
    assert cv2.imread(str(tmp_path /
                          '2007_000032_blp_loss.png')).shape == (281, 500, 3)
    # With threshold 1 no prediction qualifies: the scribbles only.
    scribble = read_label_png(osp.join(voc_fixture, SCRIBBLE))
    covered = (scribble != 255).mean()
    assert f'target pixels: {covered:.1%}' in capsys.readouterr().out


def test_visualize_values(tiny_checkpoint, voc_fixture):
    model = load_blpseg(*tiny_checkpoint, device='cpu')
    img = load_image(osp.join(voc_fixture, IMG), 64)
    res = blpseg_maps(model, img)
    for key in ('annot_prob', 'seg_prob', 'blp_weight'):
        assert res[key].shape == (36, 64)
        assert 0 <= res[key].min() and res[key].max() <= 1
    assert res['seg_prob'].min() >= 1 / 21 - 1e-6
    # Dense target (the prediction): a factor at every pixel, and gamma 0
    # turns every factor into 1.
    assert (res['target'] != 255).all()
    assert (res['blp_weight'] > 0).all()
    ones = blpseg_maps(model, img, gamma=0.0)['blp_weight']
    np.testing.assert_allclose(ones, 1.0)
    # With scribbles and threshold 1: factors on scribble pixels only.
    scribble = np.full((36, 64), 255, np.uint8)
    scribble[10:12, 5:40] = 15
    res = blpseg_maps(model, img, scribble=scribble, threshold=1.0)
    np.testing.assert_array_equal(res['target'], scribble)
    assert (res['blp_weight'][scribble == 255] == 0).all()
    assert (res['blp_weight'][scribble != 255] > 0).all()
    with pytest.raises(ValueError, match='scribble'):
        blpseg_maps(model, img, scribble=scribble[:10])


def test_modulating_factor_by_hand():
    seg = torch.tensor([[[0.8, 0.3]], [[0.2, 0.7]]])  # (K=2, 1, 2)
    scrib = torch.tensor([[[0.5, 0.1]], [[0.25, 0.3]], [[0.25, 0.6]]])
    factor = blp_modulating_factor(
        seg, scrib, torch.tensor([[0, 255]]), gamma=2.0)
    torch.testing.assert_close(factor, torch.tensor([[0.36, 0.0]]))
    factor = blp_modulating_factor(
        seg, scrib, torch.tensor([[1, 1]]), gamma=2.0)
    torch.testing.assert_close(factor, torch.tensor([[0.9025, 0.6241]]))
    with pytest.raises(ValueError, match='scrib_prob'):
        blp_modulating_factor(seg, seg, torch.tensor([[0, 0]]), 2.0)
    with pytest.raises(ValueError, match='label'):
        blp_modulating_factor(seg, scrib, torch.tensor([[2, 0]]), 2.0)
    with pytest.raises(ValueError, match='gamma'):
        blp_modulating_factor(seg, scrib, torch.tensor([[0, 0]]), -1.0)


def test_gamma_comes_from_the_config(tiny_checkpoint):
    model = load_blpseg(*tiny_checkpoint, device='cpu')
    assert config_gamma(model.decode_head) == 2.0
    model = load_blpseg(
        *tiny_checkpoint,
        device='cpu',
        cfg_options={
            'model.decode_head.loss_decode': dict(type='BLPLoss', gamma=3.0)
        })
    assert config_gamma(model.decode_head) == 3.0


def test_rejects_bad_inputs(tiny_checkpoint, voc_fixture, tmp_path):
    cfg = shrink(Config.fromfile(BASELINE_CFG))
    cfg.model.auxiliary_head = None
    cfg_path = str(tmp_path / 'upernet.py')
    cfg.dump(cfg_path)
    with pytest.raises(TypeError, match='BLPSegHead'):
        load_blpseg(cfg_path, 'unused.pth', 'cpu')
    img = osp.join(voc_fixture, IMG)
    with pytest.raises(SystemExit):
        run_tool(['c', 'k', img, '--out-dir', 'o', '--threshold', '0.5'])
    bad = str(tmp_path / 'small.png')
    cv2.imwrite(bad, np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match='--scribble'):
        run_tool([
            *tiny_checkpoint, img, '--out-dir',
            str(tmp_path), '--scribble', bad
        ])
