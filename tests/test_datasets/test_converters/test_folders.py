"""Running a converter over a folder: order, names, progress, errors."""
import numpy as np
import pytest

from mmscribble.datasets.converters.folders import (convert_folder, iterate,
                                                    list_files)
from mmscribble.datasets.label_io import read_label_png


def touch(folder, *names):
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text(name)


def test_list_files(tmp_path):
    touch(tmp_path / 'src', 'b.xml', 'a.XML', 'c.png', 'notes.txt')
    assert list_files(str(tmp_path / 'src'), '.xml') == ['a.XML', 'b.xml']
    with pytest.raises(FileNotFoundError, match=r'no \*.jpg file in .*src'):
        list_files(str(tmp_path / 'src'), '.jpg')
    with pytest.raises(FileNotFoundError, match='directory not found'):
        list_files(str(tmp_path / 'missing'), '.xml')


def test_iterate():
    assert iterate([1, 2]) == [1, 2]
    assert list(iterate([1, 2], progress=reversed)) == [2, 1]


def test_convert_folder(tmp_path):
    touch(tmp_path / 'src', 'b.txt', 'a.txt', 'skip.md')
    seen, wrapped = [], []

    def convert(path, stem):
        seen.append((path, stem))
        with open(path) as f:
            return np.full((2, 3), len(f.read()), np.uint8)

    def progress(items):
        wrapped.append(list(items))
        return items

    stems = convert_folder(
        str(tmp_path / 'src'), '.txt', str(tmp_path / 'out'), convert,
        progress)
    assert stems == ['a', 'b'] and wrapped == [['a.txt', 'b.txt']]
    assert seen == [(str(tmp_path / 'src' / 'a.txt'), 'a'),
                    (str(tmp_path / 'src' / 'b.txt'), 'b')]
    for stem in stems:
        np.testing.assert_array_equal(
            read_label_png(str(tmp_path / 'out' / (stem + '.png'))),
            np.full((2, 3), 5, np.uint8))

    # The first error stops the run; nothing after it is written.
    def fail(path, stem):
        raise ValueError(f'bad {stem}')

    with pytest.raises(ValueError, match='bad a'):
        convert_folder(
            str(tmp_path / 'src'), '.txt', str(tmp_path / 'out2'), fail)
    assert not (tmp_path / 'out2').exists()
