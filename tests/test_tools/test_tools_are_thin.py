"""The scripts under tools/ are thin command lines over the package: each
imports ``mmscribble`` and libraries, never another script, and none edits
``sys.path`` or loads a file as a module (issue 27). This is the import
graph of the repository's tools, checked on every change."""
import ast
import glob
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = sorted(glob.glob(osp.join(ROOT, 'tools', '**', '*.py'),
                         recursive=True))
SCRIPT_NAMES = {osp.splitext(osp.basename(p))[0] for p in TOOLS}
LOADERS = {'spec_from_file_location', 'module_from_spec', 'SourceFileLoader',
           'exec_module', 'load_module'}


def imported_modules(tree):
    """Top-level names of every module an ``import`` statement reads; a
    relative import is reported as ``'.'`` + its module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            yield ('.' * node.level) + (node.module or '')


def path_edits_and_loaders(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if (node.attr in ('insert', 'append', 'extend')
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == 'path'
                    and isinstance(node.value.value, ast.Name)
                    and node.value.value.id == 'sys'):
                yield f'sys.path.{node.attr}'
            elif node.attr in LOADERS:
                yield node.attr
        elif isinstance(node, ast.Name) and node.id in LOADERS:
            yield node.id


def test_tools_found():
    assert len(TOOLS) >= 30
    assert 'mscmr_table' in SCRIPT_NAMES and 'train' in SCRIPT_NAMES


@pytest.mark.parametrize(
    'path', TOOLS, ids=lambda p: osp.relpath(p, osp.join(ROOT, 'tools')))
def test_tool_imports_only_the_package_and_libraries(path):
    tree = ast.parse(open(path).read(), filename=path)
    modules = list(imported_modules(tree))
    relative = [m for m in modules if m.startswith('.')]
    scripts = [m for m in modules if m.split('.')[0] in SCRIPT_NAMES]
    assert not relative and not scripts, (path, relative + scripts)
    assert not list(path_edits_and_loaders(tree)), path


def test_the_check_sees_what_it_forbids():
    # The same checks on a script that does all of it.
    bad = ast.parse('import sys\nimport importlib.util\n'
                    'sys.path.insert(0, "x")\n'
                    'from harness import measure\n'
                    'from . import helpers\n'
                    's = importlib.util.spec_from_file_location("m", "m.py")\n'
                    'm = importlib.util.module_from_spec(s)\n')
    assert list(imported_modules(bad)) == [
        'sys', 'importlib.util', 'harness', '.'
    ]
    assert list(path_edits_and_loaders(bad)) == [
        'sys.path.insert', 'spec_from_file_location', 'module_from_spec'
    ]
