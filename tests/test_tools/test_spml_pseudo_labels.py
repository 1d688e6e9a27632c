"""tools/spml_pseudo_labels.py on the VOC fixture with a tiny SPML model."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TOOL = osp.join(ROOT, 'tools/spml_pseudo_labels.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


def test_writes_one_label_per_image_within_the_tags(tiny_spml, voc_fixture,
                                                    tmp_path):
    out = tmp_path / 'pseudo'
    opts = tiny_spml.options + [
        f'train_dataloader.dataset.data_root={voc_fixture}'
    ]
    run_tool([
        tiny_spml.config,
        str(tiny_spml.checkpoint),
        str(out), '--device', 'cpu', '--walk-stride', '4', '--cfg-options'
    ] + opts)
    assert len(os.listdir(out)) == 1
    stem = open(osp.join(
        voc_fixture, 'ImageSets/SegmentationAug/train.txt')).read().split()[0]
    label = np.array(Image.open(out / f'{stem}.png'))
    img = Image.open(osp.join(voc_fixture, 'JPEGImages', stem + '.jpg'))
    assert label.shape == (img.height, img.width)
    scribble = np.array(
        Image.open(
            osp.join(voc_fixture, 'pascal_2012_scribble', stem + '.png')))
    tags = set(np.unique(scribble).tolist()) - {255}
    assert set(np.unique(label).tolist()) <= tags
