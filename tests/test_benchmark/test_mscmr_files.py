# Copyright (c) mmscribble contributors. All rights reserved.
"""mmscribble/benchmark/mscmr/files.py: the lock on the work folder (held,
released on error, not blocked by a dead holder), atomic writes and JSON
errors that name the file."""
import os
import signal
import stat
import subprocess
import sys

import pytest

from mmscribble.benchmark.mscmr import files, report

# A process that holds flock on a file, as a table run holds its lock,
# until it is killed.
HOLDER = """import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f'PID {os.getpid()} on here'.encode())
print('locked', flush=True)
time.sleep(120)
"""


def hold_lock(work_dir):
    """A subprocess holding ``work_dir/.lock``; returns once it holds it."""
    os.makedirs(work_dir, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, '-c', HOLDER,
         os.path.join(work_dir, '.lock')],
        stdout=subprocess.PIPE,
        text=True)
    assert proc.stdout.readline().strip() == 'locked'
    return proc


def test_lock_is_exclusive_names_its_holder_and_ends_with_the_block(tmp_path):
    work = str(tmp_path / 'w')
    with files.lock_work_dir(work) as path:
        assert path == os.path.join(work, '.lock')
        assert open(path).read().startswith(f'PID {os.getpid()} on ')
        # A second holder (another open file, as another process has)
        # fails at once, naming the folder and the holder.
        with pytest.raises(files.WorkDirLocked) as err:
            with files.lock_work_dir(work):
                pass
        msg = str(err.value)
        assert f'work folder {work} is in use' in msg
        assert f'PID {os.getpid()} on ' in msg and '--work-dir' in msg
    # Released when the block ends, also by an exception.
    with pytest.raises(RuntimeError, match='inside'):
        with files.lock_work_dir(work):
            raise RuntimeError('inside')
    with files.lock_work_dir(work):
        pass
    assert open(os.path.join(work, '.lock')).read() == ''


def test_a_killed_holder_does_not_block_the_next_run(tmp_path):
    work = str(tmp_path / 'w')
    proc = hold_lock(work)
    try:
        with pytest.raises(files.WorkDirLocked, match=f'PID {proc.pid} on'):
            with files.lock_work_dir(work):
                pass
    finally:
        proc.send_signal(signal.SIGKILL)  # a crash: no clean-up runs
        proc.wait()
    # Its .lock file is still there; the OS released the lock with it.
    assert os.path.isfile(os.path.join(work, '.lock'))
    with files.lock_work_dir(work):
        pass


def test_write_json_leaves_the_old_file_when_writing_fails(tmp_path):
    # json.dump straight into the file used to cut it short at the first
    # value it could not write: a result.json every later run stopped on.
    path = str(tmp_path / 'result.json')
    report.write_json(path, dict(a=1.0, b=float('nan')))
    assert report.read_json(path) == dict(a=1.0, b=None)
    with pytest.raises(TypeError):
        report.write_json(path, dict(a=2.0, b=object()))
    assert report.read_json(path) == dict(a=1.0, b=None)
    assert os.listdir(tmp_path) == ['result.json']  # no temporary left


def test_write_report_replaces_the_table_only_once_on_disk(
        tmp_path, monkeypatch):
    out, out_json = str(tmp_path / 't.md'), str(tmp_path / 't.json')
    info = dict(
        split='val', machine='x', cpus=2, torch='t', load='0', date='d')
    row = dict(
        id='pce',
        method='partial CE',
        labels='scribbles',
        baseline=True,
        section='main',
        control=None,
        runs=[])
    report.write_report(out, out_json, [row], info)
    first = open(out).read()
    assert '| pce | partial CE | scribbles | 0 |' in first
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o644
    os.chmod(out, 0o664)

    def disk_full(fd):
        raise OSError(28, 'No space left on device')

    # The new table cannot reach the disk: the old one stays whole (the
    # table used to be truncated first, then written).
    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space'):
        report.write_report(out, out_json, [dict(row, method='M')], info)
    assert open(out).read() == first
    monkeypatch.undo()
    report.write_report(out, out_json, [dict(row, method='M')], info)
    assert '| pce | M |' in open(out).read()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o664  # mode kept
    assert sorted(os.listdir(tmp_path)) == ['t.json', 't.md']


@pytest.mark.parametrize('text', ['{"key": {"iters": 2, "spl', 'null', ''])
def test_read_json_names_the_file_it_cannot_read(tmp_path, text):
    path = tmp_path / 'result.json'
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        report.read_json(str(path))
    assert str(path) in str(err.value) and 'delete it' in str(err.value)
    assert '--no-reuse' in str(err.value)
