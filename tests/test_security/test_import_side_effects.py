"""Importing mmscribble changes nothing global but its own registrations.

Each check runs in a fresh interpreter, so that what other tests imported
(or allowlisted) cannot hide a side effect of the import."""
import ast
import glob
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PROBE = r'''
import importlib, os, sys
import torch
from mmengine.runner.checkpoint import CheckpointLoader

schemes = dict(CheckpointLoader._schemes)
safe = set(torch.serialization.get_safe_globals())
environ = dict(os.environ)

import mmscribble  # noqa: E402

after = dict(CheckpointLoader._schemes)
# mmengine's loaders, the local-file one first, are the same objects
assert after[''] is schemes[''], 'local checkpoint loader replaced'
for prefix, loader in schemes.items():
    assert after[prefix] is loader, f'loader of {prefix!r} replaced'
# the one addition: a new prefix
assert set(after) - set(schemes) == {'mmscribble://'}, set(after)
assert set(torch.serialization.get_safe_globals()) == safe
assert dict(os.environ) == environ
# importing it again is a no-op, and the scheme stays the same object
own = after['mmscribble://']
importlib.reload(sys.modules['mmscribble.utils.pretrained'])
assert CheckpointLoader._schemes['mmscribble://'] is own
# the benchmarks (the harness tunes the allocator) are not imported
assert 'harness' not in sys.modules
assert not [m for m in sys.modules if m.startswith('mmscribble.benchmark')]
print('ok')
'''


def test_import_changes_no_loader_allowlist_or_environment():
    proc = subprocess.run([sys.executable, '-c', PROBE],
                          cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('ok')


def _package_modules():
    paths = glob.glob(
        osp.join(ROOT, 'mmscribble', '**', '*.py'), recursive=True)
    assert len(paths) > 20
    for path in paths:
        with open(path, encoding='utf-8') as f:
            yield osp.relpath(path, ROOT), ast.parse(f.read())


def test_package_imports_nothing_from_tools_and_tunes_no_allocator():
    # mmscribble/benchmark/ (the bench scripts' harness tunes glibc's
    # allocator and reads /proc) is the one place allowed to: import
    # mmscribble never imports it (the probe above).
    banned = {'tools', 'harness', 'ctypes', 'resource'}
    found = []
    for path, tree in _package_modules():
        if path.startswith(osp.join('mmscribble', 'benchmark', '')):
            banned_here = banned - {'ctypes', 'resource'}
        else:
            banned_here = banned
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or '']
            else:
                continue
            found += [(path, n) for n in names
                      if n.split('.')[0] in banned_here
                      or n.split('.')[0].startswith('bench_')]
    assert not found


def test_package_forces_no_registration():
    forced = []
    for path, tree in _package_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                forced += [
                    (path, node.lineno) for k in node.keywords
                    if k.arg == 'force' and not (isinstance(
                        k.value, ast.Constant) and k.value.value is False)
                ]
    assert not forced
