"""The SPML stage-1 config of the synthetic-shapes diagnosis is the demo's
partial-CE config with only the head and the superpixel cue changed."""
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo')


def test_spml_demo_stage1_is_the_demo_with_the_spml_head():
    pce = Config.fromfile(
        osp.join(DEMO,
                 'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py'))
    spml = Config.fromfile(
        osp.join(DEMO, 'spml-stage1_r18-d8_1xb8-600_synthetic-shapes-96x96.py'))
    head = spml.model.decode_head
    assert (head.type, head.in_channels, head.in_index, head.num_classes,
            head.num_clusters) == ('SPMLHead', [64, 256], [1, 3], 4, 4)
    # the demo's half-width ResNet-18: stages of 32, 64, 128, 256 channels
    assert pce.model.backbone.base_channels == 32
    assert spml.model.backbone == pce.model.backbone
    pipe = spml.train_dataloader.dataset.pipeline
    assert pipe[2] == dict(
        type='FelzenszwalbSuperpixels', scale=300.0, sigma=0.8, min_size=20)
    assert pipe[:2] + pipe[3:] == pce.train_dataloader.dataset.pipeline
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg',
                'randomness', 'val_dataloader'):
        assert spml[key] == pce[key], key
