"""tools/spml_pseudo_labels.py on the VOC fixture with a tiny SPML model."""
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

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    ROOT, 'configs/spml/spml_r50-d8_4xb3-30k_voc12aug-scribble-512x512.py')
TINY = {
    'model.backbone.depth': 18,
    'model.backbone.init_cfg': None,
    'model.decode_head.in_channels': [64, 512],
    'model.decode_head.channels': 16,
}

TOOL = osp.join(ROOT, 'tools/spml_pseudo_labels.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


def test_writes_one_label_per_image_within_the_tags(voc_fixture, tmp_path):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(TINY)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    ckpt = tmp_path / 'stage1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    out = tmp_path / 'pseudo'
    opts = [f'{k}={v}' for k, v in TINY.items()]
    opts = [o.replace(' ', '') for o in opts]
    opts.append(f'train_dataloader.dataset.data_root={voc_fixture}')
    run_tool([
        CONFIG,
        str(ckpt),
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
