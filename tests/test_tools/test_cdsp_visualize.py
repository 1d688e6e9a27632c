"""tools/analysis_tools/cdsp_visualize.py: Fig. 5 panels."""
import importlib.util
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.utils.visualize import jet

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MSCMR_CDSP = osp.join(
    ROOT, 'configs/benchmark/mscmr/cdsp_deeplabv2_mobilenet-v2-d8_1xb8-240_'
    'mscmr-scribble-161x161.py')


def load():
    spec = importlib.util.spec_from_file_location(
        '_cdsp_vis', osp.join(ROOT, 'tools/analysis_tools/cdsp_visualize.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def paths(root):
    return [
        osp.join(root, 'JPEGImages/2007_000032.jpg'),
        osp.join(root, 'pascal_2012_scribble/2007_000032.png'),
        osp.join(root, 'bmp_pseudolabel/2007_000032.png')
    ]


def test_panels_and_lorm(voc_fixture, tmp_path):
    tool = load()
    out = str(tmp_path / 'vis')
    written = tool.main(paths(voc_fixture) + ['--out-dir', out])
    names = [osp.basename(p) for p in written]
    assert names == [
        f'2007_000032_{n}.png'
        for n in ('scribble', 'pseudo', 'ds', 'dc', 'del_weight')
    ]
    # the d_s panel is the authors' map drawn with JET
    ds = read_label_png(osp.join(voc_fixture, 'distance_map/2007_000032.png'))
    np.testing.assert_array_equal(mmcv.imread(written[2]), jet(ds / 255.))
    w = tool.del_weight(np.array([[255, 0]]), np.array([[255, 255]]))
    np.testing.assert_allclose(w, [[1.0, 0.5 / 1.5]])  # (1 + 1/2), 1/2
    many = tool.main(
        paths(voc_fixture) +
        ['--out-dir', out, '--lam-s', '1', '3', '--lam-c', '2'])
    assert [osp.basename(p)[12:]
            for p in many[2:5]] == ['ds1.png', 'ds3.png', 'dc2.png']
    # the LoRM panel of a (random) trained model
    init_default_scope('mmseg')
    cfg = Config.fromfile(MSCMR_CDSP)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'cdsp.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    lorm = tool.main(
        paths(voc_fixture) + [
            '--out-dir', out, '--config', MSCMR_CDSP, '--checkpoint', ckpt,
            '--pixel', '100', '200'
        ])
    assert osp.basename(lorm[-1]) == '2007_000032_lorm_100_200.png'
    assert mmcv.imread(lorm[-1]).shape == (281, 500, 3)
    with pytest.raises(SystemExit):
        tool.parse_args(
            paths(voc_fixture) + ['--out-dir', out, '--config', MSCMR_CDSP])
