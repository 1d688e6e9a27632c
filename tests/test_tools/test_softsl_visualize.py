"""tools/analysis_tools/softsl_visualize.py on a small soft self-labeling
model."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmscribble.visualization.softsl_maps import softsl_maps

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(
    ROOT, 'configs/softsl/softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_'
    'voc12aug-scribble-512x512.py')

TOOL = osp.join(ROOT, 'tools/analysis_tools/softsl_visualize.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


@pytest.fixture
def checkpoint(random_checkpoint):
    cfg = Config.fromfile(CFG)
    cfg.model.backbone.update(init_cfg=None, norm_cfg=dict(type='BN'))
    cfg.model.decode_head.update(
        norm_cfg=dict(type='BN'),
        solve_scale=0.1,
        solver=dict(steps=2, lr=0.2, optimizer='adam'))
    return random_checkpoint(cfg, 'softsl')


def test_writes_panels(checkpoint, voc_fixture, tmp_path, capsys):
    img = osp.join(voc_fixture, 'JPEGImages/2007_000032.jpg')  # 281 x 500
    scribble = osp.join(voc_fixture, 'pascal_2012_scribble/2007_000032.png')
    out = str(tmp_path / 'vis')
    run_tool(
        [*checkpoint, img, scribble, '--out-dir', out, '--solver', 'fast'])
    names = ('pred', 'y_maxprob', 'y_entropy', 'y', 'weights', 'panel')
    assert sorted(os.listdir(out)) == sorted(f'2007_000032_{n}.png'
                                             for n in names)
    written = [osp.join(out, f'2007_000032_{n}.png') for n in names]
    for path in written[:-1]:
        assert cv2.imread(path).shape == (281, 500, 3)
    assert cv2.imread(written[-1]).shape[1] == 6 * 500 + 5 * 2
    text = capsys.readouterr().out
    assert 'wrote 6 images' in text
    # the paths, one a line, in the order written: the panel last
    assert [ln for ln in text.splitlines() if ln.endswith('.png')] == written


def test_scribbles_fix_the_pseudo_labels(checkpoint, voc_fixture):
    from mmscribble.utils.visualize import load_segmentor
    model = load_segmentor(*checkpoint, 'cpu')
    img = np.full((40, 30, 3), 100, np.uint8)  # flat: every w_ij = 1
    scribble = np.full((40, 30), 255, np.uint8)
    scribble[::2, 3] = 4  # every other row of column 3
    model.decode_head.solve_scale = 1.0
    res = softsl_maps(model, img, scribble)
    assert res['y'].shape == (21, 40, 30)
    np.testing.assert_allclose(res['y'][4, ::2, 3], 1)
    np.testing.assert_allclose(res['y'].sum(0), 1, rtol=1e-5)
    assert res['weights'].shape == (40, 30)
    np.testing.assert_allclose(res['weights'], 1)
