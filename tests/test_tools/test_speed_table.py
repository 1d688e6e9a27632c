"""tools/benchmark/speed_table.py: the bench scripts get the papers' sizes
with --paper, and the side-by-side training iterations run (batch 2: at
batch 1 the BN after BLPSeg's 1x1 pyramid pooling sees a single value)."""
import importlib.util
import os.path as osp
import re

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'speed_table', osp.join(ROOT, 'tools', 'benchmark', 'speed_table.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


tool = load_tool()


def test_papers_sizes_reach_the_bench_scripts():
    args = tool.parse_args(['--paper', '--repeats', '2', '--threads', '2'])
    urss = tool.bench_urss.parse_args(tool.bench_argv('urss', args))
    assert (urss.size, urss.channels, urss.batch) == (59, 512, 8)
    assert (urss.repeats, urss.threads) == (2, 2)
    lam = tool.bench_lam.parse_args(tool.bench_argv('lam', args))
    assert (lam.sizes, lam.local_batch, lam.classes) == ([96, 128], 10, 21)
    quick = tool.bench_urss.parse_args(
        tool.bench_argv('urss', tool.parse_args([])))
    assert quick.size < 59 and quick.batch < 8
    # CDSP's LoRM at 59x59 cells of 2048 channels, batch 16; soft
    # self-labeling on the MSCMR label grid; SPML at 512 / 4 = 128 cells.
    cdsp = tool.bench_cdsp.parse_args(tool.bench_argv('cdsp', args))
    assert (cdsp.sizes, cdsp.channels, cdsp.batch) == ([59], 2048, 16)
    softsl = tool.bench_softsl.parse_args(tool.bench_argv('softsl', args))
    assert (softsl.size, softsl.batch, softsl.repeats) == (81, 8, 2)
    spml = tool.bench_spml.parse_args(tool.bench_argv('spml', args))
    assert (spml.loss_sizes, spml.batch, spml.threads) == ([128], 12, 2)
    budget = tool.parse_args(['--dense-budget-gb', '2'])
    assert '--dense-budget-gb' in tool.bench_argv('cdsp', budget)
    assert '--dense-budget-gb' not in tool.bench_argv('spml', budget)


def test_training_iterations_side_by_side(capsys):
    tool.main(['--skip-heads', '--batch', '2', '--repeats', '1'])
    out = capsys.readouterr().out
    assert '| partial CE | start |' in out and 'x1.00' in out
    # URSS's eigenspace phase is timed as a row of its own.
    assert '| URSS | from iter 120: loss_weight=3.0 |' in out


def test_losses_get_the_papers_crops():
    args = tool.parse_args(['--paper', '--dense-budget-gb', '2'])
    losses = tool.bench_losses.parse_args(tool.bench_argv('losses', args))
    assert losses.paper
    assert dict((m, (s, b)) for m, s, b in tool.bench_losses.PAPER) == {
        'URSS': (465, 8),
        'BLPSeg': (384, 10)
    }
    assert not tool.bench_losses.parse_args(
        tool.bench_argv('losses', tool.parse_args([]))).paper


def test_loss_cases_are_scribble_like_and_train_the_logits():
    import torch
    bench = tool.bench_losses
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


def test_bench_losses_prints_a_row_per_loss(capsys):
    tool.bench_losses.main(['--repeats', '1', '--threads', '1'])
    out = capsys.readouterr().out
    for method, size, batch in tool.bench_losses.QUICK:
        for loss in tool.bench_losses.LOSSES[method]:
            row = f'| {method} | {size}x{size} | {batch} | {loss} |'
            line = next(x for x in out.splitlines() if x.startswith(row))
            # Partial CE is the reference of its method's rows; every row
            # has a ratio to it. (Another loss may also round to x1.00.)
            assert re.search(r'\| x\d+\.\d\d \|$', line), line
            if loss == 'partial CE':
                assert line.endswith('| x1.00 |'), line
