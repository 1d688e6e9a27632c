"""tools/benchmark/bench_cdsp.py: its cases run and its forms agree."""
import os.path as osp
import runpy
from types import SimpleNamespace

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load():
    """The script's functions (its ``main`` not run)."""
    return SimpleNamespace(
        **runpy.run_path(osp.join(ROOT, 'tools/benchmark/bench_cdsp.py')))


def test_cases_and_distance_section(capsys):
    bench = load()
    for form in ('chunked', 'dense'):
        bench._build_step(
            dict(
                form=form, size=5, batch=1, channels=3, chunk=7,
                device='cpu'))()
    bench.distance_section()
    out = capsys.readouterr().out
    assert out.count('| True |') == 2
    with pytest.raises(SystemExit):
        bench.parse_args(['--chunk', '0'])
