"""tools/analysis_tools/spml_visualize.py on a fixture image, tiny model."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

from mmscribble.visualization.palette import pca_colours

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    ROOT, 'configs/spml/spml_r50-d8_4xb3-30k_voc12aug-scribble-512x512.py')
TINY = {
    'model.backbone.depth': 18,
    'model.backbone.init_cfg': None,
    'model.decode_head.in_channels': [64, 512],
    'model.decode_head.channels': 16,
}

TOOL = osp.join(ROOT, 'tools/analysis_tools/spml_visualize.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


def test_four_panels_per_image(voc_fixture, tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(TINY)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    ckpt = tmp_path / 'stage1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    img = osp.join(voc_fixture, 'JPEGImages', '2007_000032.jpg')
    opts = [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]
    out = tmp_path / 'vis'
    run_tool([
        CONFIG,
        str(ckpt), img, '--out-dir',
        str(out), '--device', 'cpu', '--long-side', '200', '--walk-stride',
        '2', '--scribbles',
        osp.join(voc_fixture, 'pascal_2012_scribble'), '--cfg-options'
    ] + opts)
    assert os.listdir(out) == ['2007_000032_spml.png']
    panel = np.array(Image.open(out / '2007_000032_spml.png'))
    # 500 x 281 rescaled to 200 x 112: four 200-wide panels, 2-pixel gaps.
    assert panel.shape == (112, 4 * 200 + 3 * 2, 3)
    # The k-means panel has several colours, the PCA panel is not flat.
    km = panel[:, 202:402].reshape(-1, 3)
    assert len(np.unique(km, axis=0)) > 1
    assert panel[:, 404:604].std() > 0


def test_pca_colours_of_a_two_direction_embedding():
    emb = torch.zeros(4, 2, 3)
    emb[0, :, :] = 1
    emb[1, 1, :] = 1
    rgb = pca_colours(emb)
    assert rgb.shape == (2, 3, 3)
    assert (rgb[0] == rgb[0, 0]).all() and (rgb[1] == rgb[1, 0]).all()
    assert not (rgb[0, 0] == rgb[1, 0]).all()
