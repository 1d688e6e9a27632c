"""publish_checkpoint and tools/publish_model.py."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.logging import HistoryBuffer

from mmscribble.apis import publish_checkpoint, sha256_of

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
META = dict(
    iter=3,
    dataset_meta=dict(classes=('background', 'a', 'b'), palette=[[0, 0, 0],
                                                                 [1, 2, 3],
                                                                 [4, 5, 6]]))


def runner_like(path, meta=META):
    buffer = HistoryBuffer()
    buffer.update(1.0)
    state = dict(w=torch.arange(6.).view(2, 3), b=torch.tensor([7]))
    torch.save(
        dict(
            meta=meta,
            state_dict=state,
            optimizer=dict(state={}, param_groups=[dict(lr=0.1)]),
            param_schedulers=[dict(last_step=3)],
            message_hub=dict(log_scalars=dict(loss=buffer))), path)
    return state


def test_publish_keeps_weights_and_meta_and_names_by_hash(tmp_path):
    src = str(tmp_path / 'iter_3.pth')
    state = runner_like(src)
    # the source needs the allowlist (its message hub) ...
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(src, weights_only=True)
    out = publish_checkpoint(src, str(tmp_path / 'pub' / 'model.pth'))
    name = osp.basename(out)
    assert re.fullmatch(r'model-[0-9a-f]{8}\.pth', name)
    assert name[len('model-'):-len('.pth')] == sha256_of(out)[:8]
    assert not osp.exists(str(tmp_path / 'pub' / 'model.pth'))
    # ... the published file does not
    published = torch.load(out, weights_only=True)
    assert sorted(published) == ['meta', 'state_dict']
    assert published['meta'] == META
    assert sorted(published['state_dict']) == ['b', 'w']
    for key, value in state.items():
        assert torch.equal(published['state_dict'][key], value)


def test_sha256_of_known_value(tmp_path):
    path = tmp_path / 'abc'
    path.write_bytes(b'abc')
    assert sha256_of(str(path)) == (
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')


@pytest.mark.parametrize('meta', [dict(), dict(dataset_meta=dict())])
def test_checkpoint_without_classes_is_refused(meta, tmp_path):
    src = str(tmp_path / 'iter_1.pth')
    runner_like(src, meta)
    with pytest.raises(ValueError, match='no meta.dataset_meta.classes'):
        publish_checkpoint(src, str(tmp_path / 'model.pth'))


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        publish_checkpoint(str(tmp_path / 'nope.pth'), 'x.pth')
    src = str(tmp_path / 'iter_1.pth')
    runner_like(src)
    with pytest.raises(ValueError, match='must end in .pth'):
        publish_checkpoint(src, str(tmp_path / 'model.pt'))
    torch.save(dict(weights=1), src)
    with pytest.raises(ValueError, match='has no state_dict'):
        publish_checkpoint(src, str(tmp_path / 'model.pth'))


def test_tool_prints_the_published_path(tmp_path):
    src = str(tmp_path / 'iter_3.pth')
    runner_like(src)
    proc = subprocess.run(
        [sys.executable, 'tools/publish_model.py', src,
         str(tmp_path / 'm.pth')],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout.strip().splitlines()[-1]
    assert osp.isfile(out)
    assert out.endswith(f'm-{sha256_of(out)[:8]}.pth')
