import json
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from mmscribble.benchmark.mscmr.curve import collect, markdown, plot

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def table(path, iters, runs):
    """A table JSON with row ``pce``: ``runs`` is ``[(seed, dice), ...]``
    (dice None: a failed run)."""
    rows = [
        dict(id='pce', runs=[
            dict(seed=s, iters=iters,
                 metrics={} if d is None else {'vol/mDice3D': d, 'mIoU': 1})
            for s, d in runs
        ])
    ]
    path.write_text(json.dumps(dict(info={}, rows=rows)))
    return str(path)


def test_collect_and_markdown(tmp_path):
    a = table(tmp_path / 'a.json', 240, [(1, 0.60), (0, 0.70)])
    b = table(tmp_path / 'b.json', 480, [(0, 0.75), (1, None)])
    curves = collect([b, a])
    # seeds in seed order, schedules sorted, the failed run left out
    assert curves == {'pce': {240: [0.70, 0.60], 480: [0.75]}}
    text = markdown(curves)
    # mean 0.65, sd sqrt(0.005) = 0.0707; then +0.100
    assert '| pce | 240 | 2 | 0.650 ± 0.071 | - |' in text
    assert '| pce | 480 | 1 | 0.750 | +0.100 |' in text


def test_collect_names_bad_and_repeated_files(tmp_path):
    a = table(tmp_path / 'a.json', 240, [(0, 0.6)])
    again = table(tmp_path / 'again.json', 240, [(0, 0.6)])
    with pytest.raises(ValueError, match='again.json: pce seed 0 at 240'):
        collect([a, again])
    cut = tmp_path / 'cut.json'
    cut.write_text('{"rows": [')
    with pytest.raises(ValueError, match='cut.json: not a table JSON'):
        collect([str(cut)])
    other = tmp_path / 'other.json'
    other.write_text('[1, 2]')
    with pytest.raises(ValueError, match='other.json: not a table JSON'):
        collect([str(other)])


def test_plot_and_tool(tmp_path, capsys):
    a = table(tmp_path / 'a.json', 240, [(0, 0.6)])
    b = table(tmp_path / 'b.json', 960, [(0, 0.7), (1, 0.8)])
    out = tmp_path / 'curve.png'
    plot(collect([a, b]), str(out))
    img = np.asarray(Image.open(out))
    assert img.shape[:2] == (400, 600)
    assert img.std() > 0  # something was drawn
    tool = osp.join(ROOT, 'tools', 'benchmark', 'learning_curve.py')
    out2 = tmp_path / 'tool.png'
    with mock.patch.object(sys, 'argv', [tool, a, b, '--out', str(out2)]):
        runpy.run_path(tool, run_name='__main__')
    text = capsys.readouterr().out
    assert '| pce | 960 | 2 | 0.750 ± 0.071 | +0.150 |' in text
    assert out2.is_file()


def test_labelled_files_and_only_make_lines_of_their_own(tmp_path, capsys):
    # the same (row, iters, seed) in float32 and bf16 tables: an error
    # unless one file is labelled, then two lines
    fp32 = table(tmp_path / 'fp32.json', 960, [(0, 0.74)])
    bf16 = table(tmp_path / 'bf16.json', 960, [(0, 0.75)])
    with pytest.raises(ValueError, match='bf16.json: pce seed 0 at 960'):
        collect([fp32, bf16])
    curves = collect([fp32, (bf16, 'bf16')])
    assert curves == {'pce': {960: [0.74]}, 'pce (bf16)': {960: [0.75]}}
    assert collect([fp32, (bf16, 'bf16')], only=['urss']) == {}
    tool = osp.join(ROOT, 'tools', 'benchmark', 'learning_curve.py')
    out = tmp_path / 'c.png'
    with mock.patch.object(sys, 'argv', [
            tool, fp32, f'bf16={bf16}', '--only', 'pce', '--out',
            str(out)
    ]):
        runpy.run_path(tool, run_name='__main__')
    text = capsys.readouterr().out
    assert '| pce (bf16) | 960 | 1 | 0.750 | - |' in text
    assert '| pce | 960 | 1 | 0.740 | - |' in text
