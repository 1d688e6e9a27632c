"""tools/analysis_tools/urss_visualize.py on a tiny URSS model."""
import math
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import cv2
import pytest
import torch
from mmengine.config import Config

from mmscribble.visualization.drawing import load_image
from mmscribble.visualization.urss_maps import (entropy_map,
                                                leading_eigenvectors,
                                                load_urss, urss_maps)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
URSS_CFG = osp.join(ROOT, 'configs/urss/urss_r50.py')

TOOL = osp.join(ROOT, 'tools/analysis_tools/urss_visualize.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


@pytest.fixture
def tiny_checkpoint(random_checkpoint):
    """A config file and checkpoint of the URSS config, shrunk."""
    cfg = Config.fromfile(URSS_CFG)
    cfg.model.backbone.update(
        depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    cfg.model.decode_head.update(
        in_channels=64,
        channels=16,
        random_walk=dict(similarity='raw', alpha_init=0.5))
    return random_checkpoint(cfg, 'tiny_urss')


def test_writes_entropy_and_eigenvectors(tiny_checkpoint, voc_fixture,
                                         tmp_path, capsys):
    cfg_path, ckpt = tiny_checkpoint
    img = osp.join(voc_fixture, 'JPEGImages/2007_000032.jpg')  # 281 x 500
    out = str(tmp_path / 'vis')
    run_tool([
        cfg_path, ckpt, img, '--out-dir', out, '--long-side', '64', '--k', '3',
        '--method', 'eig', '--first', '1'
    ])
    names = sorted(os.listdir(out))
    assert names == [
        '2007_000032_eigvec1.png', '2007_000032_eigvec2.png',
        '2007_000032_eigvec3.png', '2007_000032_entropy.png'
    ]
    written = [osp.join(out, n) for n in names]
    for path in written:
        pic = cv2.imread(path)
        assert pic.shape == (36, 64, 3)  # 281 x 500 rescaled to 64 long
    text = capsys.readouterr().out
    assert 'eigenvalues (eig) 1..3' in text and 'wrote 4 images' in text
    # the paths, one a line, in the order written
    assert [osp.basename(ln) for ln in text.splitlines()
            if ln.endswith('.png')] == [
                '2007_000032_entropy.png', '2007_000032_eigvec1.png',
                '2007_000032_eigvec2.png', '2007_000032_eigvec3.png'
            ]


def test_visualize_values(tiny_checkpoint, voc_fixture):
    model = load_urss(*tiny_checkpoint, device='cpu')
    img = load_image(osp.join(voc_fixture, 'JPEGImages/2007_000032.jpg'), 64)
    res = urss_maps(model, img, k=2, method='sym', first=0)
    assert res['entropy'].shape == (36, 64)
    assert 0 <= res['entropy'].min() and res['entropy'].max() <= 1
    assert res['eigvecs'].shape == (2, 5, 8)  # stride-8 feature grid
    assert res['eigvals'][0] >= res['eigvals'][1]


def test_entropy_map_by_hand():
    logits = torch.zeros(4, 1, 2)
    logits[0, 0, 1] = 100.0  # certain pixel
    ent = entropy_map(logits)
    assert ent[0, 0].item() == pytest.approx(1.0)  # uniform
    assert ent[0, 1].item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match='seg_logits'):
        entropy_map(torch.zeros(1, 2, 2))


@pytest.mark.parametrize('method', ['sym', 'eig'])
def test_leading_eigenvectors_of_two_blocks(method):
    """Two disconnected groups: the eigenvalue 1 has the group indicators
    as eigenvectors; the other eigenvalues are 0."""
    trans = torch.zeros(5, 5, dtype=torch.float64)
    trans[:2, :2] = 0.5
    trans[2:, 2:] = 1 / 3
    vals, vecs = leading_eigenvectors(trans, 3, method)
    torch.testing.assert_close(vals,
                               torch.tensor([1., 1., 0.], dtype=torch.float64))
    for val, vec in zip(vals, vecs):
        torch.testing.assert_close(trans @ vec, val * vec)
        assert vec[vec.abs().argmax()] > 0
    # The leading pair spans the two indicator vectors.
    span = vecs[:2].T
    for ind in ([1, 1, 0, 0, 0], [0, 0, 1, 1, 1]):
        ind = torch.tensor(ind, dtype=torch.float64)
        coef = torch.linalg.lstsq(span, ind).solution
        torch.testing.assert_close(span @ coef, ind)
    first = leading_eigenvectors(trans, 1, method, first=2)[0]
    assert first.item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match='first'):
        leading_eigenvectors(trans, 5, method, first=1)
    with pytest.raises(ValueError, match='method'):
        leading_eigenvectors(trans, 1, 'svd')
    assert math.isclose(float(vecs[:2].norm(dim=1)[0]), 1.0)


def test_rejects_models_without_a_random_walk(tmp_path):
    cfg = Config.fromfile(URSS_CFG)
    cfg.model.backbone.update(
        depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    cfg.model.decode_head.update(
        in_channels=64, channels=16, random_walk=None, loss_eigen=None)
    cfg_path = str(tmp_path / 'no_rw.py')
    cfg.dump(cfg_path)
    with pytest.raises(ValueError, match='random_walk'):
        load_urss(cfg_path, 'unused.pth', 'cpu')
