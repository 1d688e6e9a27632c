"""The CI skip rule of tests/conftest.py, on tiny test files in tmp_path.

With ``CI`` set, a skip whose reason does not start with 'optional extra:'
fails the run, whether it happens at collection (a module-level
``importorskip``) or in a test; an 'optional extra:' skip and an xfail do
not. Without ``CI`` every skip passes. Each run is a separate pytest
process using a copy of the real conftest and the addopts of setup.cfg."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))

ACCEPTED = {
    'test_extra_module.py':
    """import pytest
pytest.importorskip('mmscribble_no_such_extra',
                    reason='optional extra: mmscribble_no_such_extra')
""",
    'test_extras.py':
    """import pytest


def test_passes():
    assert True


@pytest.mark.skipif(True, reason='optional extra: a wheel')
def test_needs_wheel():
    raise AssertionError('not run')


def test_needs_data():
    pytest.skip('optional extra: a data set')


@pytest.mark.xfail(reason='a known bug', strict=True)
def test_known_bug():
    assert False
""",
}

REJECTED = {
    'test_missing_module.py':
    """import pytest
pytest.importorskip('mmscribble_no_such_module')


def test_never_collected():
    pass
""",
    'test_broken_path.py':
    """import pytest


def test_passes():
    assert True


@pytest.mark.skipif(True, reason='data not found at ../nowhere')
def test_hidden():
    raise AssertionError('not run')
""",
}


def run_pytest(tmp_path, files, ci, args=()):
    """Run pytest on ``files`` (name -> source) beside the real conftest,
    with the extra command-line ``args``."""
    root = tmp_path / f'CI={ci}{"".join(args)}'
    root.mkdir()
    shutil.copy(osp.join(TESTS, 'conftest.py'), root / 'conftest.py')
    # the addopts of setup.cfg's [tool:pytest]
    (root / 'pytest.ini').write_text(
        '[pytest]\naddopts = -p no:cacheprovider -rfEs\n')
    for name, source in files.items():
        (root / name).write_text(source)
    env = {k: v for k, v in os.environ.items() if k != 'CI'}
    env['OMP_NUM_THREADS'] = '1'
    if ci is not None:
        env['CI'] = ci
    proc = subprocess.run([sys.executable, '-m', 'pytest',
                           str(root), *args],
                          cwd=str(root),
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def test_ci_accepts_optional_extra_skips_and_xfail(tmp_path):
    rc, out = run_pytest(tmp_path, ACCEPTED, ci='true')
    assert rc == 0, out
    assert '1 passed, 3 skipped, 1 xfailed' in out, out
    assert 'skips CI does not accept' not in out
    # -rs lists every skip with its reason
    for reason in ('optional extra: mmscribble_no_such_extra',
                   'optional extra: a wheel', 'optional extra: a data set'):
        assert reason in out, out


# The README's command runs the suite under pytest-xdist (-n auto): the
# workers' skips reach the rule in the controlling process too.
@pytest.mark.parametrize('args', [(), ('-n', '2')], ids=['serial', 'xdist'])
def test_ci_fails_on_any_other_skip(tmp_path, args):
    rc, out = run_pytest(tmp_path, REJECTED, ci='true', args=args)
    assert rc == 1, out
    assert '1 passed, 2 skipped' in out, out
    section = out.split('skips CI does not accept', 1)[1]
    assert ('test_broken_path.py::test_hidden: data not found at '
            '../nowhere') in section
    assert ("test_missing_module.py: could not import "
            "'mmscribble_no_such_module'") in section
    assert "only a skip whose reason starts with 'optional extra:'" in section


def test_outside_ci_every_skip_passes(tmp_path):
    rc, out = run_pytest(tmp_path, REJECTED, ci=None)
    assert rc == 0, out
    assert '1 passed, 2 skipped' in out, out
    assert 'skips CI does not accept' not in out
    # CI=false is not CI either
    rc, out = run_pytest(tmp_path, REJECTED, ci='false')
    assert rc == 0, out
