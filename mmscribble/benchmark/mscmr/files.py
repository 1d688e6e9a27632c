# Copyright (c) mmscribble contributors. All rights reserved.
"""The table's files: the lock on its work folder, JSON and markdown
written atomically, and JSON read with the file's name in every error."""
import contextlib
import json
import math
import os
import os.path as osp
import socket
import tempfile
import warnings

from .rows import UsageError

LOCK_FILE = '.lock'


class WorkDirLocked(UsageError):
    """Another table run holds the lock on the work folder."""


@contextlib.contextmanager
def lock_work_dir(work_dir):
    """Hold the table's lock on ``work_dir`` while the block runs.

    Two table runs on one work folder would train the same (row, seed)
    and overwrite each other's checkpoint, ``result.json`` and table, so
    the second one stops at once. The lock is ``fcntl.flock`` (exclusive,
    non-blocking) on ``WORK_DIR/.lock``, which holds the holder's PID and
    host while it is held. It is released when the block ends, by an
    exception too, and by the operating system when the holding process
    dies however it dies (killed, crashed, out of memory): a ``.lock``
    file left by a dead run never blocks the next one, and is not
    deleted (deleting it would let a third run lock a new file while a
    second still holds the old one). The descriptor is not inherited, so
    the runs' own processes never hold it. On NFS, Linux emulates
    ``flock`` with ``fcntl`` locks, which the server shares between
    machines. Where ``fcntl`` does not exist (Windows) no lock is taken
    and a warning says so.

    Args:
        work_dir (str): the table's work folder (made if missing).

    Yields:
        str: the lock file.

    Raises:
        WorkDirLocked: another process holds the lock; the message names
            the folder and, when it wrote it, the holder's PID and host.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_FILE)
    try:
        import fcntl
    except ImportError:
        warnings.warn(f'no fcntl on this platform: {work_dir} is not '
                      'locked; run one table at a time on it')
        yield path
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 256, 0).decode(errors='replace').strip()
            raise WorkDirLocked(
                f'work folder {work_dir} is in use by another '
                f'mscmr_table.py run ({holder or "PID unknown"}; lock '
                f'{path}): wait for it to end, or give this run another '
                '--work-dir') from None
        os.ftruncate(fd, 0)
        os.pwrite(fd,
                  f'PID {os.getpid()} on {socket.gethostname()}\n'.encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def write_text(path, text):
    """Write ``text`` to ``path`` atomically.

    The text goes to a temporary file in the same folder, is flushed to
    disk (``fsync``) and renamed over ``path`` (``os.replace``, atomic on
    one file system), so a reader, a crash or a second writer finds either
    the old file or the new one, never a cut-short one. A failure leaves
    the old file and removes the temporary one. An existing file's mode
    is kept; a new file gets 0o644.
    """
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        mode = os.stat(path).st_mode & 0o7777 if osp.exists(path) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself, to disk
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def clean(value):
    """JSON-safe copy: NaN becomes None."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def write_json(path, data):
    """``data`` to ``path`` as indented JSON, NaN written as null,
    atomically (:func:`write_text`; the JSON is made before the file is
    touched)."""
    write_text(path, json.dumps(clean(data), indent=1))


def read_json(path):
    """The JSON object in ``path``.

    Raises:
        ValueError: ``path`` is not a JSON object (cut short by a crash,
            or written by something else); the message names the file and
            what to do.
    """
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        why = str(err)
    else:
        if isinstance(data, dict):
            return data
        why = f'a JSON {type(data).__name__}, not an object'
    raise ValueError(
        f'{path}: unreadable ({why}), e.g. cut short by a crash: delete it '
        '(or run the table with --no-reuse) to train that run again')
