"""tools/analysis_tools/cdsp_visualize.py: Fig. 5 panels."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmscribble.visualization.cdsp_maps import del_weight
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.utils.visualize import jet

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MSCMR_CDSP = osp.join(
    ROOT, 'configs/benchmark/mscmr/cdsp_deeplabv2_mobilenet-v2-d8_1xb8-240_'
    'mscmr-scribble-161x161.py')

TOOL = osp.join(ROOT, 'tools/analysis_tools/cdsp_visualize.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


def paths(root):
    return [
        osp.join(root, 'JPEGImages/2007_000032.jpg'),
        osp.join(root, 'pascal_2012_scribble/2007_000032.png'),
        osp.join(root, 'bmp_pseudolabel/2007_000032.png')
    ]


def printed_paths(capsys):
    """The paths the tool printed, one a line, in the order written."""
    return capsys.readouterr().out.splitlines()


def test_panels_and_lorm(voc_fixture, tmp_path, capsys):
    out = str(tmp_path / 'vis')
    run_tool(paths(voc_fixture) + ['--out-dir', out])
    written = printed_paths(capsys)
    names = [osp.basename(p) for p in written]
    assert names == [
        f'2007_000032_{n}.png'
        for n in ('scribble', 'pseudo', 'ds', 'dc', 'del_weight')
    ]
    assert sorted(os.listdir(out)) == sorted(names)
    # the d_s panel is the authors' map drawn with JET
    ds = read_label_png(osp.join(voc_fixture, 'distance_map/2007_000032.png'))
    np.testing.assert_array_equal(mmcv.imread(written[2]), jet(ds / 255.))
    w = del_weight(np.array([[255, 0]]), np.array([[255, 255]]))
    np.testing.assert_allclose(w, [[1.0, 0.5 / 1.5]])  # (1 + 1/2), 1/2
    run_tool(
        paths(voc_fixture) +
        ['--out-dir', out, '--lam-s', '1', '3', '--lam-c', '2'])
    many = printed_paths(capsys)
    assert [osp.basename(p)[12:]
            for p in many[2:5]] == ['ds1.png', 'ds3.png', 'dc2.png']
    assert all(osp.isfile(p) for p in many)
    # the LoRM panel of a (random) trained model
    init_default_scope('mmseg')
    cfg = Config.fromfile(MSCMR_CDSP)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'cdsp.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    run_tool(
        paths(voc_fixture) + [
            '--out-dir', out, '--config', MSCMR_CDSP, '--checkpoint', ckpt,
            '--pixel', '100', '200'
        ])
    lorm = printed_paths(capsys)
    assert osp.basename(lorm[-1]) == '2007_000032_lorm_100_200.png'
    assert mmcv.imread(lorm[-1]).shape == (281, 500, 3)
    with pytest.raises(SystemExit):
        run_tool(
            paths(voc_fixture) + ['--out-dir', out, '--config', MSCMR_CDSP])
