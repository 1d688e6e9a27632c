"""Fixtures of the tool tests."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPML_CONFIG = osp.join(
    ROOT, 'configs/spml/spml_r50-d8_4xb3-30k_voc12aug-scribble-512x512.py')
# A ResNet-18 SPML stage 1 with a 16-channel ASPP: small enough for a CPU
# test, the real config otherwise.
SPML_TINY = {
    'model.backbone.depth': 18,
    'model.backbone.init_cfg': None,
    'model.decode_head.in_channels': [64, 512],
    'model.decode_head.channels': 16,
}


@pytest.fixture
def tiny_spml(tmp_path):
    """The VOC SPML stage-1 config made tiny, a randomly initialised
    checkpoint of it (seed 0) and the ``--cfg-options`` that make a tool
    build the same model: ``config``, ``checkpoint``, ``options``."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    cfg = Config.fromfile(SPML_CONFIG)
    cfg.merge_from_dict(SPML_TINY)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    ckpt = tmp_path / 'stage1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    options = [f'{k}={v}'.replace(' ', '') for k, v in SPML_TINY.items()]
    return SimpleNamespace(
        config=SPML_CONFIG, checkpoint=ckpt, options=options)
