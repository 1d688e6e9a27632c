import functools
import os
import os.path as osp

import mmengine.config.config as _mmengine_config
import mmengine.config.utils as _mmengine_config_utils
import pytest
import torch
from mmengine.registry import init_default_scope

import mmscribble  # noqa: F401  (registers every component)

# mmengine 0.10.7 resolves every `mmseg::` base through is_installed(),
# which reloads pkg_resources, and a config of mmseg's model zoo through
# _get_cfg_metainfo(), which parses mmseg's 50-odd metafile.yml each time
# (also for an mmseg::_base_ file, which it then fails to find there):
# together ~0.5 s of the ~0.55 s of parsing one of our VOC configs, and the
# suite parses hundreds. Within one test session the installed packages do
# not change and the metainfo is only read, so both answers are cached
# here, for the tests only (the package changes nothing of mmengine's).
_mmengine_config.is_installed = functools.lru_cache(maxsize=None)(
    _mmengine_config.is_installed)
_mmengine_config_utils.load = functools.lru_cache(maxsize=None)(
    _mmengine_config_utils.load)  # only reads metafile / model-index YAML

# Test tensors are tiny: one intra-op thread avoids the oversubscription
# that makes a 1 s step take 20 s when another process (a DDP test, a
# parallel job) shares the 2 cores.
torch.set_num_threads(1)

# A skip is acceptable in CI only when what it needs is an optional extra
# (a wheel or a data set outside the package's requirements); any other
# skip hides a path CI should exercise. Reasons of acceptable skips start
# with this prefix.
OPTIONAL_EXTRA = 'optional extra:'

DATA = osp.join(osp.dirname(__file__), 'data')
VOC_FIXTURE = osp.join(DATA, 'voc_scribble_fixture')


@pytest.fixture
def voc_fixture():
    return VOC_FIXTURE


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic shapes dataset shared by the tests of a session."""
    from mmscribble.datasets.synthetic import generate_synthetic_shapes
    root = tmp_path_factory.mktemp('synthetic_shapes')
    return generate_synthetic_shapes(str(root), num_train=16, num_val=4,
                                     size=(64, 64), seed=0)


@pytest.fixture
def random_checkpoint(tmp_path):
    """Factory: ``make(cfg, name)`` dumps the (already shrunk) config
    ``cfg`` to ``tmp_path/<name>.py``, builds its model from seed 0 (weight
    init applied) and saves it to ``tmp_path/<name>.pth``; returns the two
    paths, what the analysis tools take. What the random network predicts
    does not matter to the tests that use it, only that it is a real
    checkpoint of a real config."""
    from mmseg.registry import MODELS

    def make(cfg, name):
        cfg_path = str(tmp_path / f'{name}.py')
        cfg.dump(cfg_path)
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        ckpt = str(tmp_path / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
        return cfg_path, ckpt

    return make


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Components are registered in mmseg's registries, as in configs."""
    init_default_scope('mmseg')


def running_in_ci() -> bool:
    """True when ``CI`` is set to anything but an empty, 0, false or no."""
    return os.environ.get('CI', '').strip().lower() not in ('', '0', 'false',
                                                            'no')


class CISkipRule:
    """Fail the run in CI when a test is skipped for a reason that does not
    start with :data:`OPTIONAL_EXTRA`.

    Skips are seen where pytest reports them: at collection (a module-level
    ``pytest.importorskip``) and at setup / call (``skipif`` marks,
    ``pytest.skip``). An ``xfail`` is not a skip.
    """

    def __init__(self):
        self.rejected = []

    def _record(self, report):
        if not report.skipped or hasattr(report, 'wasxfail'):
            return
        reason = str(report.longrepr[2]) if isinstance(
            report.longrepr, tuple) else str(report.longrepr)
        if reason.startswith('Skipped: '):
            reason = reason[len('Skipped: '):]
        if not reason.startswith(OPTIONAL_EXTRA):
            self.rejected.append((report.nodeid, reason))

    def pytest_collectreport(self, report):
        self._record(report)

    def pytest_runtest_logreport(self, report):
        self._record(report)

    def pytest_sessionfinish(self, session, exitstatus):
        if self.rejected and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if not self.rejected:
            return
        terminalreporter.section('skips CI does not accept', red=True)
        for nodeid, reason in self.rejected:
            terminalreporter.line(f'{nodeid}: {reason}')
        terminalreporter.line(
            f'CI is set: only a skip whose reason starts with '
            f'{OPTIONAL_EXTRA!r} may pass; the run fails.')


def pytest_configure(config):
    if running_in_ci():
        config.pluginmanager.register(CISkipRule(), 'mmscribble-ci-skips')
