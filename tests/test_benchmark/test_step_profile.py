"""The step profiler: variant parsing, the FLOP rule (3x the forward) and
why the counter's own backward is not used, the phases of a real step of
a tiny segmentor, and the report's speed-ups and shares."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import mmscribble  # noqa: F401
from mmscribble.benchmark import step_profile as sp


def test_variant_flags_and_overrides():
    v = sp.parse_variant('fast:channels_last;bf16;model.x=(129,129);a.b=c')
    assert (v.name, v.channels_last, v.bf16, v.compile) == ('fast', True,
                                                            True, False)
    assert v.cfg_options == {'model.x': (129, 129), 'a.b': 'c'}
    assert sp.parse_variant('eager') == sp.Variant('eager')
    assert sp.parse_variant('two:threads=2').threads == 2
    with pytest.raises(ValueError, match='threads must be >= 1'):
        sp.parse_variant('x:threads=0')
    with pytest.raises(ValueError, match="unknown option 'fp8'"):
        sp.parse_variant('x:fp8')
    with pytest.raises(ValueError, match='give NAME'):
        sp.parse_variant(':bf16')


def counted(module, x):
    fwd = FlopCounterMode(display=False)
    with fwd:
        y = module(x)
    bwd = FlopCounterMode(display=False)
    with bwd:
        y.sum().backward()
    return fwd.get_total_flops(), bwd.get_total_flops()


def test_backward_is_twice_the_forward_for_dense_convolutions():
    # 2 * N * H * W * Cout * Cin * k * k by hand: 2 * 2*16*16 * 8*4 * 9
    conv = nn.Conv2d(4, 8, 3, padding=1, bias=False)
    fwd, bwd = counted(conv, torch.randn(2, 4, 16, 16, requires_grad=True))
    assert fwd == 2 * 2 * 16 * 16 * 8 * 4 * 9
    assert bwd == 2 * fwd


def test_counter_overcounts_grouped_weight_gradients_hence_3x_forward():
    # A depthwise 3x3 over 64 channels: forward by hand 2*N*H*W*C*9; the
    # counter's backward is 65x it (the weight gradient counted as a dense
    # 64 -> 64 convolution). If torch fixes this, the rule in
    # forward_flops can use the counter's backward again.
    conv = nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False)
    fwd, bwd = counted(conv, torch.randn(2, 64, 16, 16, requires_grad=True))
    assert fwd == 2 * 2 * 16 * 16 * 64 * 9
    assert bwd == 65 * fwd


@pytest.fixture(scope='module')
def tiny():
    """The demo's segmentor on 4 hand-made 32x32 images."""
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (32, 32)
    torch.manual_seed(0)
    samples, imgs = [], []
    for _ in range(4):
        s = SegDataSample(metainfo=dict(img_shape=(32, 32),
                                        ori_shape=(32, 32)))
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, 4, (1, 32, 32), dtype=torch.long))
        samples.append(s)
        imgs.append(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8))
    return cfg, dict(inputs=imgs, data_samples=samples)


def test_a_step_has_every_phase_and_changes_the_weights(tiny):
    cfg, batch = tiny
    variant = sp.Variant('eager')
    model, wrapper = sp.build_step(cfg, variant)
    before = [p.detach().clone() for p in model.parameters()]
    times = sp.run_step(model, wrapper, batch, variant)
    assert set(times) == set(sp.PHASES) and min(times.values()) > 0
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))
    flops = sp.forward_flops(model, batch, variant)
    # all of it in the network's convolutions: the preprocessor and the
    # loss add no matmul or convolution
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        inputs = model.data_preprocessor(batch, True)['inputs']
        model.decode_head.forward(model.extract_feat(inputs))
    assert flops == counter.get_total_flops() > 1e6
    by_module = sp.module_forward_times(model, batch, variant, repeats=1)
    assert 'backbone.layer1' in by_module
    assert 'rest (preprocessor, head, losses)' in by_module


def test_report_speed_ups_are_against_the_first_variant():
    def entry(step, gflop=None):
        e = dict(median_s=dict(step=step, forward=step / 3,
                               backward=step / 2, optimizer=step / 6),
                 data_s=0.01, threads=1, bf16=False)
        if gflop:
            e.update(gflop=gflop, gflops_per_s=gflop / step,
                     forward_by_module_s={'a': 0.3, 'b': 0.1})
        return e
    result = dict(
        threads=1,
        matmul_gflops={
            '1': dict(float32=50.0, bfloat16=150.0),
            '2': dict(float32=100.0, bfloat16=300.0)
        },
        variants=dict(eager=entry(2.0, 60.0), bf16=entry(0.8, 60.0),
                      comp=entry(1.0), two=entry(1.0, 60.0)))
    result['variants']['bf16']['bf16'] = True
    result['variants']['two']['threads'] = 2
    text = sp.report(result)
    assert '| eager | 1 | 2.000 | 1.00x |' in text
    assert '| bf16 | 1 | 0.800 | 2.50x |' in text
    assert '| comp | 1 | 1.000 | 2.00x |' in text and 'n/a | n/a' in text
    assert '| 30.0 | 60% |' in text  # 60 GFLOP / 2 s against 50
    assert '| 75.0 | 50% |' in text  # 60 GFLOP / 0.8 s against 150
    assert '| two | 2 | 1.000 | 2.00x |' in text
    assert '| 60.0 | 60% |' in text  # against the 2-thread matmul
    assert '2 thread(s): 100.0 GFLOP/s' in text
    assert '| a | 0.3000 | 75% |' in text
