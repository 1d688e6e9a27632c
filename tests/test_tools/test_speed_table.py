"""tools/benchmark/speed_table.py: the bench scripts get the papers' sizes
with --paper, and the side-by-side training iterations run (batch 2: at
batch 1 the BN after BLPSeg's 1x1 pyramid pooling sees a single value)."""
import importlib.util
import os.path as osp

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


def test_training_iterations_side_by_side(capsys):
    tool.main(['--skip-heads', '--batch', '2', '--repeats', '1'])
    out = capsys.readouterr().out
    assert '| partial CE | start |' in out and 'x1.00' in out
    # URSS's eigenspace phase is timed as a row of its own.
    assert '| URSS | from iter 120: loss_weight=3.0 |' in out
