"""tools/analysis_tools/spml_visualize.py on a fixture image, tiny model."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import torch
from PIL import Image

from mmscribble.visualization.palette import pca_colours

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TOOL = osp.join(ROOT, 'tools/analysis_tools/spml_visualize.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


def test_four_panels_per_image(tiny_spml, voc_fixture, tmp_path):
    img = osp.join(voc_fixture, 'JPEGImages', '2007_000032.jpg')
    opts = tiny_spml.options
    out = tmp_path / 'vis'
    run_tool([
        tiny_spml.config,
        str(tiny_spml.checkpoint), img, '--out-dir',
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
