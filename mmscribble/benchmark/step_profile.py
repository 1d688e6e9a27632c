# Copyright (c) mmscribble contributors. All rights reserved.
"""Where the time of one training step goes, and what makes it faster.

The measurement behind ``tools/benchmark/profile_step.py`` (issue 25). For
a config it builds the model, the optimizer wrapper and the training data
loader as the Runner does, and times one step in phases:

- ``data``: one batch from a loader with ``num_workers=0``, i.e. the
  loading and augmentation a worker pays per batch (in training the
  workers run it beside the step);
- ``forward``: the data preprocessor and ``model(..., mode='loss')`` with
  the losses summed;
- ``backward``: ``loss.backward()``;
- ``optimizer``: ``optim_wrapper.step()`` and ``zero_grad()``.

Variants of the step (channels_last, ``torch.compile``, bfloat16 autocast,
config overrides such as the crop or the output stride) are built side by
side in one process from the same seed and timed in interleaved rounds
(A, B, A, B, ...) on the same prefetched batches, so a slow minute of a
shared machine falls on every variant alike; medians and ratios to the
first variant are reported. The FLOPs of a step are counted once per
variant with :class:`torch.utils.flop_counter.FlopCounterMode` (matmuls
and convolutions of the forward, x3 for forward and backward: see
:func:`forward_flops`) and divided by the step's median
time, against the rate of a large matmul of the same type on the same
number of threads: how far from this CPU's limit a step runs.

Not imported by ``import mmscribble``.
"""
import copy
import statistics
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch

PHASES = ('forward', 'backward', 'optimizer')


@dataclass
class Variant:
    """One way of running the step: its name and what it changes."""
    name: str
    channels_last: bool = False
    compile: bool = False
    bf16: bool = False
    threads: Optional[int] = None
    cfg_options: Dict = field(default_factory=dict)


def parse_variant(text: str) -> Variant:
    """``name:flag;flag;key=value`` with the flags ``channels_last``,
    ``compile``, ``bf16``, ``threads=N`` (torch threads of this variant's
    steps); the rest are config overrides, e.g.
    ``crop129:train_dataloader.dataset.pipeline.5.crop_size=(129,129)``."""
    name, _, spec = text.partition(':')
    if not name:
        raise ValueError(f'--variant {text!r}: give NAME[:OPTIONS]')
    variant = Variant(name)
    for item in filter(None, spec.split(';')):
        if item in ('channels_last', 'compile', 'bf16'):
            setattr(variant, item, True)
        elif item.startswith('threads='):
            variant.threads = int(item.split('=', 1)[1])
            if variant.threads < 1:
                raise ValueError(f'--variant {text!r}: threads must be >= 1')
        elif '=' in item:
            key, value = item.split('=', 1)
            variant.cfg_options[key] = eval_value(value)
        else:
            raise ValueError(f'--variant {text!r}: unknown option {item!r};'
                             ' flags: channels_last, compile, bf16, '
                             'threads=N, or KEY=VALUE')
    return variant


def eval_value(text: str):
    """A config value from the command line: a Python literal or a str."""
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def build_step(cfg, variant: Variant):
    """``(model, optim_wrapper)`` of ``cfg`` with ``variant`` applied."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    model.train()
    if variant.channels_last:
        # What ChannelsLastHook does: the weights only; the first
        # convolution makes the activations channels_last.
        model = model.to(memory_format=torch.channels_last)
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(
        cfg.optim_wrapper))
    if variant.compile:
        # The segmentor's own Python (loss bookkeeping, the data samples)
        # stays eager; the backbone and head are what compile can fuse.
        model.backbone = torch.compile(model.backbone)
        model.decode_head = torch.compile(model.decode_head)
    return model, optim_wrapper


def prefetch(cfg, count: int, seed: int = 0) -> List[dict]:
    """``count`` batches of the training loader with no workers, and the
    seconds each took to load."""
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg['num_workers'] = 0
    loader_cfg['persistent_workers'] = False
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    batches, times = [], []
    it = iter(loader)
    for _ in range(count):
        t0 = time.perf_counter()
        batches.append(next(it))
        times.append(time.perf_counter() - t0)
    return batches, times


def forward_loss(model, batch, variant: Variant) -> torch.Tensor:
    """The summed loss of ``batch``: the data preprocessor, the model in
    ``'loss'`` mode and ``parse_losses``, under the variant's autocast."""
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=variant.bf16):
        data = model.data_preprocessor(batch, True)
        losses = model(data['inputs'], data['data_samples'], mode='loss')
        return model.parse_losses(losses)[0]


def run_step(model, optim_wrapper, batch, variant: Variant) -> Dict:
    """Seconds of each phase of one training step."""
    times = {}
    t0 = time.perf_counter()
    loss = forward_loss(model, batch, variant)
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    optim_wrapper.step()
    optim_wrapper.zero_grad()
    t3 = time.perf_counter()
    times.update(forward=t1 - t0, backward=t2 - t1, optimizer=t3 - t2)
    return times


def forward_flops(model, batch, variant: Variant) -> int:
    """FLOPs of one forward (matmuls and convolutions).

    The step is counted as 3x this: the backward of a convolution or
    matmul is two of the same size (the gradients of the input and of the
    weight). FlopCounterMode's own backward count is not used: in torch
    2.13 it counts the weight gradient of a grouped convolution as a dense
    one (a depthwise 3x3 over 64 channels: 65x its forward instead of 2x),
    which for MobileNetV2 gives a backward of 18x the forward.
    """
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        forward_loss(model, batch, variant)
    return int(counter.get_total_flops())


def matmul_rate(size: int = 2048, repeats: int = 5,
                dtype=torch.float32) -> float:
    """FLOP/s of a ``size`` x ``size`` matmul (median of ``repeats``)."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * size**3 / statistics.median(times)


def module_forward_times(model, batch, variant: Variant,
                         repeats: int = 3) -> Dict[str, float]:
    """Median forward seconds of the backbone's stages (hooks on those
    modules; eager models only) and of the rest of the forward (data
    preprocessor, decode head, losses)."""
    marks: Dict[str, List[float]] = {}
    handles = []
    named = [(f'backbone.{n}', m)
             for n, m in model.backbone.named_children()]
    for name, module in named:
        start = {}

        def pre(_m, _i, name=name, start=start):
            start['t'] = time.perf_counter()

        def post(_m, _i, _o, name=name, start=start):
            marks.setdefault(name, []).append(time.perf_counter() -
                                              start['t'])

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            loss = forward_loss(model, batch, variant)
            marks.setdefault('forward', []).append(time.perf_counter() - t0)
            loss.backward()
            model.zero_grad(set_to_none=True)
    finally:
        for h in handles:
            h.remove()
    out = {k: statistics.median(v) for k, v in marks.items()}
    whole = out.pop('forward')
    out['rest (preprocessor, head, losses)'] = whole - sum(out.values())
    return out


def profile(cfg_for, variants: List[Variant], steps: int, rounds: int,
            warmup: int, seed: int = 0) -> Dict:
    """Time every variant's step in interleaved rounds.

    ``cfg_for(variant)`` gives the variant's config. Returns a dict with,
    per variant, the medians of each phase and of the whole step, the step
    FLOPs and rate, the forward time by module, and the data phase.
    """
    default_threads = torch.get_num_threads()

    def threads_of(variant):
        torch.set_num_threads(variant.threads or default_threads)

    built = []
    for variant in variants:
        threads_of(variant)
        cfg = cfg_for(variant)
        torch.manual_seed(seed)
        model, optim_wrapper = build_step(cfg, variant)
        batches, load_times = prefetch(cfg, steps, seed)
        for batch in batches[:warmup]:
            run_step(model, optim_wrapper, batch, variant)
        built.append((variant, model, optim_wrapper, batches, load_times))
    samples = {v.name: {p: [] for p in PHASES + ('step', )}
               for v in variants}
    for _ in range(rounds):
        for variant, model, optim_wrapper, batches, _ in built:
            threads_of(variant)
            for batch in batches:
                t = run_step(model, optim_wrapper, batch, variant)
                for p in PHASES:
                    samples[variant.name][p].append(t[p])
                samples[variant.name]['step'].append(sum(t.values()))
    # The reference of each variant: the matmul on its own thread count.
    matmul = {}
    for n in sorted({v.threads or default_threads for v in variants}):
        torch.set_num_threads(n)
        matmul[str(n)] = dict(
            float32=matmul_rate() / 1e9,
            bfloat16=matmul_rate(dtype=torch.bfloat16) / 1e9)
    torch.set_num_threads(default_threads)
    result = dict(threads=default_threads, matmul_gflops=matmul, variants={})
    for variant, model, _, batches, load_times in built:
        threads_of(variant)
        med = {p: statistics.median(v)
               for p, v in samples[variant.name].items()}
        entry = dict(
            median_s=med,
            data_s=statistics.median(load_times),
            threads=variant.threads or default_threads,
            bf16=variant.bf16)
        if not variant.compile:
            flops = 3 * forward_flops(model, batches[0], variant)
            entry.update(
                gflop=flops / 1e9,
                gflops_per_s=flops / (med['forward'] + med['backward']) /
                1e9,
                forward_by_module_s=module_forward_times(
                    model, batches[0], variant))
        result['variants'][variant.name] = entry
    return result


def report(result: Dict, names: Optional[List[str]] = None) -> str:
    """The result as markdown tables."""
    names = names or list(result['variants'])
    base = result['variants'][names[0]]['median_s']['step']
    rates = '; '.join(
        f"{n} thread(s): {r['float32']:.1f} GFLOP/s in float32, "
        f"{r['bfloat16']:.1f} in bfloat16"
        for n, r in result['matmul_gflops'].items())
    lines = [
        f'a 2048x2048 matmul runs at {rates} (a variant\'s rate is against '
        'the matmul of its type and thread count)', '',
        '| variant | threads | step (s) | speed-up | forward | backward | '
        'optimizer | data, 1 worker (s) | GFLOP / step | GFLOP/s (fwd+bwd) '
        '| of matmul |', '| --- ' + '| ---: ' * 10 + '|'
    ]
    for name in names:
        v = result['variants'][name]
        m = v['median_s']
        peak = result['matmul_gflops'][str(v['threads'])][
            'bfloat16' if v['bf16'] else 'float32']
        flop = (f"{v['gflop']:.1f} | {v['gflops_per_s']:.1f} | "
                f"{v['gflops_per_s'] / peak:.0%}"
                if 'gflop' in v else 'n/a | n/a | n/a')
        lines.append(
            f"| {name} | {v['threads']} | {m['step']:.3f} | "
            f"{base / m['step']:.2f}x | "
            f"{m['forward']:.3f} | {m['backward']:.3f} | "
            f"{m['optimizer']:.3f} | {v['data_s']:.3f} | {flop} |")
    first = result['variants'][names[0]]
    if 'forward_by_module_s' in first:
        total = sum(first['forward_by_module_s'].values())
        lines += [
            '', f'forward by module ({names[0]}):', '',
            '| module | s | share |', '| --- | ---: | ---: |'
        ]
        for mod, sec in first['forward_by_module_s'].items():
            lines.append(f'| {mod} | {sec:.4f} | {sec / total:.0%} |')
    return '\n'.join(lines)
