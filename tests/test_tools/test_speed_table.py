"""tools/benchmark/speed_table.py: the bench scripts get the papers' sizes
with --paper, and the side-by-side training iterations run (batch 2: at
batch 1 the BN after BLPSeg's 1x1 pyramid pooling sees a single value)."""
import os.path as osp
import re
import runpy
import sys
from types import SimpleNamespace

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(ROOT, 'tools', 'benchmark')


def script(name):
    """The functions of ``tools/benchmark/<name>.py`` (``main`` not run)."""
    return SimpleNamespace(**runpy.run_path(osp.join(BENCH, f'{name}.py')))


tool = script('speed_table')
bench_urss, bench_lam, bench_cdsp, bench_softsl, bench_spml, bench_losses = (
    script(f'bench_{n}')
    for n in ('urss', 'lam', 'cdsp', 'softsl', 'spml', 'losses'))


def test_papers_sizes_reach_the_bench_scripts():
    args = tool.parse_args(['--paper', '--repeats', '2', '--threads', '2'])
    urss = bench_urss.parse_args(tool.bench_argv('urss', args))
    assert (urss.size, urss.channels, urss.batch) == (59, 512, 8)
    assert (urss.repeats, urss.threads) == (2, 2)
    lam = bench_lam.parse_args(tool.bench_argv('lam', args))
    assert (lam.sizes, lam.local_batch, lam.classes) == ([96, 128], 10, 21)
    quick = bench_urss.parse_args(
        tool.bench_argv('urss', tool.parse_args([])))
    assert quick.size < 59 and quick.batch < 8
    # CDSP's LoRM at 59x59 cells of 2048 channels, batch 16; soft
    # self-labeling on the MSCMR label grid; SPML at 512 / 4 = 128 cells.
    cdsp = bench_cdsp.parse_args(tool.bench_argv('cdsp', args))
    assert (cdsp.sizes, cdsp.channels, cdsp.batch) == ([59], 2048, 16)
    softsl = bench_softsl.parse_args(tool.bench_argv('softsl', args))
    assert (softsl.size, softsl.batch, softsl.repeats) == (81, 8, 2)
    spml = bench_spml.parse_args(tool.bench_argv('spml', args))
    assert (spml.loss_sizes, spml.batch, spml.threads) == ([128], 12, 2)
    budget = tool.parse_args(['--dense-budget-gb', '2'])
    assert '--dense-budget-gb' in tool.bench_argv('cdsp', budget)
    assert '--dense-budget-gb' not in tool.bench_argv('spml', budget)


def test_training_iterations_side_by_side(capsys):
    # The two rows the assertions read (every config's run is the same
    # code path; each costs a model build and timed steps).
    mscmr = osp.join(ROOT, 'configs', 'benchmark', 'mscmr')
    configs = [
        osp.join(mscmr, f'{m}_deeplabv2_mobilenet-v2-d8_1xb8-240_'
                 'mscmr-scribble-161x161.py') for m in ('pce', 'urss')
    ]
    tool.main(['--skip-heads', '--batch', '2', '--repeats', '1',
               '--configs', *configs])
    out = capsys.readouterr().out
    assert '| partial CE | start |' in out and 'x1.00' in out
    # URSS's eigenspace phase is timed as a row of its own.
    assert '| URSS | from iter 120: loss_weight=3.0 |' in out


def test_losses_get_the_papers_crops():
    args = tool.parse_args(['--paper', '--dense-budget-gb', '2'])
    losses = bench_losses.parse_args(tool.bench_argv('losses', args))
    assert losses.paper
    assert dict((m, (s, b)) for m, s, b in bench_losses.PAPER) == {
        'URSS': (465, 8),
        'BLPSeg': (384, 10)
    }
    assert not bench_losses.parse_args(
        tool.bench_argv('losses', tool.parse_args([]))).paper


def test_loss_cases_are_scribble_like_and_train_the_logits():
    import torch
    bench = bench_losses
    g = torch.Generator().manual_seed(0)
    label = bench.scribble_labels(2, 200, 21, g)
    frac = (label != 255).float().mean().item()
    assert 0.02 < frac < 0.04  # ~3% of the pixels, as real scribbles
    for i in range(2):
        assert set(label[i].unique().tolist()) == set(range(21)) | {255}
    for method, _, _ in bench.QUICK:
        for loss in bench.LOSSES[method]:
            step = bench._build_case(
                dict(loss=loss, size=24, batch=2, classes=5, device='cpu'))
            step()  # forward + backward, no error


def test_bench_losses_prints_a_row_per_loss(capsys, monkeypatch):
    # As a command (its cases are pickled by name into spawned processes).
    path = osp.join(BENCH, 'bench_losses.py')
    monkeypatch.setattr(sys, 'argv',
                        [path, '--repeats', '1', '--threads', '1'])
    runpy.run_path(path, run_name='__main__')
    out = capsys.readouterr().out
    for method, size, batch in bench_losses.QUICK:
        for loss in bench_losses.LOSSES[method]:
            row = f'| {method} | {size}x{size} | {batch} | {loss} |'
            line = next(x for x in out.splitlines() if x.startswith(row))
            # Partial CE is the reference of its method's rows; every row
            # has a ratio to it. (Another loss may also round to x1.00.)
            assert re.search(r'\| x\d+\.\d\d \|$', line), line
            if loss == 'partial CE':
                assert line.endswith('| x1.00 |'), line


def test_heads_section_runs_each_bench_script_as_a_command(
        capsys, monkeypatch):
    # Sections 1-6: each bench script in its own process, with the sizes
    # of bench_argv, an error in one stopping the table.
    import subprocess
    calls = []
    monkeypatch.setattr(subprocess, 'run',
                        lambda cmd, **kw: calls.append((cmd, kw)))
    tool.main(['--skip-train', '--repeats', '1'])
    args = tool.parse_args(['--repeats', '1'])
    names = ['urss', 'lam', 'losses', 'cdsp', 'softsl', 'spml']
    assert [cmd for cmd, _ in calls] == [[
        sys.executable,
        osp.join(BENCH, f'bench_{n}.py'), *tool.bench_argv(n, args)
    ] for n in names]
    assert all(kw == dict(check=True) for _, kw in calls)
    out = capsys.readouterr().out
    assert out.startswith('## URSS random walk and eigenspace loss, quick')
    assert '## SPML: embedding loss' in out
