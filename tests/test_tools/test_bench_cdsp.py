"""tools/benchmark/bench_cdsp.py: its cases run and its forms agree."""
import importlib.util
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load():
    spec = importlib.util.spec_from_file_location(
        '_bench_cdsp', osp.join(ROOT, 'tools/benchmark/bench_cdsp.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
