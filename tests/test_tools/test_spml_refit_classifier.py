"""tools/spml_refit_classifier.py on the VOC fixture with a tiny SPML model:
only the classifier of the written checkpoint changes, and it fits the
training scribbles at least as well as before."""
import os.path as osp
import runpy
import sys
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    ROOT, 'configs/spml/spml_r50-d8_4xb3-30k_voc12aug-scribble-512x512.py')
TINY = {
    'model.backbone.depth': 18,
    'model.backbone.init_cfg': None,
    'model.decode_head.in_channels': [64, 512],
    'model.decode_head.channels': 16,
}
TOOL = osp.join(ROOT, 'tools/spml_refit_classifier.py')


def run_tool(argv):
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        return runpy.run_path(TOOL, run_name='__main__')


def test_writes_the_checkpoint_with_only_the_classifier_fitted(
        voc_fixture, tmp_path, capsys):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(TINY)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    ckpt = tmp_path / 'stage1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'x': 1}}, ckpt)
    out = tmp_path / 'stage1_refit.pth'
    opts = [f'{k}={v}'.replace(' ', '') for k, v in TINY.items()]
    opts.append(f'train_dataloader.dataset.data_root={voc_fixture}')
    run_tool([
        CONFIG, ckpt, out, '--device', 'cpu', '--pixels-per-image', '500',
        '--cfg-options'
    ] + opts)
    printed = capsys.readouterr().out
    assert '1 images, 500 labeled pixels' in printed
    before = torch.load(ckpt, weights_only=True)
    after = torch.load(out, weights_only=True)
    assert after['meta'] == {'x': 1}
    changed = {
        k
        for k in before['state_dict']
        if not torch.equal(before['state_dict'][k], after['state_dict'][k])
    }
    assert changed == {
        'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'
    }
    loss = printed.split('loss ')[1].split(',')[0].split(' -> ')
    assert float(loss[1]) < float(loss[0])
    with pytest.raises(SystemExit, match='must not overwrite'):
        run_tool([CONFIG, ckpt, ckpt])
