import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

import mmscribble  # noqa: F401  (registers every component)

# Test tensors are tiny: one intra-op thread avoids the oversubscription
# that makes a 1 s step take 20 s when another process (a DDP test, a
# parallel job) shares the 2 cores.
torch.set_num_threads(1)

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


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Components are registered in mmseg's registries, as in configs."""
    init_default_scope('mmseg')
