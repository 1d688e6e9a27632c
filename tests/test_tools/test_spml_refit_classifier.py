"""tools/spml_refit_classifier.py on the VOC fixture with a tiny SPML model:
only the classifier of the written checkpoint changes, and it fits the
training scribbles at least as well as before."""
import os.path as osp
import runpy
import sys
from unittest import mock

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools/spml_refit_classifier.py')


def run_tool(argv):
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        return runpy.run_path(TOOL, run_name='__main__')


def test_writes_the_checkpoint_with_only_the_classifier_fitted(
        tiny_spml, voc_fixture, tmp_path, capsys):
    ckpt = tiny_spml.checkpoint
    torch.save({**torch.load(ckpt, weights_only=True), 'meta': {'x': 1}}, ckpt)
    out = tmp_path / 'stage1_refit.pth'
    opts = tiny_spml.options + [
        f'train_dataloader.dataset.data_root={voc_fixture}'
    ]
    run_tool([
        tiny_spml.config, ckpt, out, '--device', 'cpu', '--pixels-per-image',
        '500', '--cfg-options'
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
        run_tool([tiny_spml.config, ckpt, ckpt])
