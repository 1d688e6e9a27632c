"""The converter CLIs in tools/dataset_converters wire their arguments."""
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from mmscribble.datasets.converters.scribble_variants import (file_rng,
                                                              scribble_drop,
                                                              scribble_shrink)
from mmscribble.datasets.converters.scribblesup import (read_label_png,
                                                        xml_to_label)

ROOT = osp.join(osp.dirname(__file__), '..', '..', '..')
TOOLS = osp.join(ROOT, 'tools', 'dataset_converters')
XML_DIR = osp.join(ROOT, 'tests', 'data', 'scribblesup_xml')


def run_tool(name, *argv):
    """Run ``tools/dataset_converters/<name>.py`` as ``python`` would."""
    path = osp.join(TOOLS, name + '.py')
    with mock.patch.object(sys, 'argv', [path, *argv]):
        runpy.run_path(path, run_name='__main__')


def test_scribblesup_cli(voc_fixture, tmp_path, capsys):
    run_tool('scribblesup', XML_DIR, str(tmp_path / 'xml'), '--width', '5')
    np.testing.assert_array_equal(
        read_label_png(str(tmp_path / 'xml' / '2007_000032.png')),
        xml_to_label(osp.join(XML_DIR, '2007_000032.xml'), width=5))
    src = osp.join(voc_fixture, 'pascal_2012_scribble')
    run_tool('scribblesup', src, str(tmp_path / 'png'), '--keep-width')
    np.testing.assert_array_equal(
        read_label_png(str(tmp_path / 'png' / '2007_000033.png')),
        read_label_png(osp.join(src, '2007_000033.png')))
    assert 'wrote 2 label PNGs' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run_tool('scribblesup', src, str(tmp_path / 'png'), '--width', '0')
    with pytest.raises(SystemExit, match='XML input only'):
        run_tool('scribblesup', src, str(tmp_path / 'png'), '--img-dir', src)


def test_scribble_drop_and_shrink_cli(voc_fixture, tmp_path):
    src = osp.join(voc_fixture, 'pascal_2012_scribble')
    label = read_label_png(osp.join(src, '2007_000032.png'))
    run_tool('scribble_drop', src, str(tmp_path / 'drop'), '--ratio', '0.5',
             '--seed', '3')
    np.testing.assert_array_equal(
        read_label_png(str(tmp_path / 'drop' / '2007_000032.png')),
        scribble_drop(label, 0.5, file_rng(3, '2007_000032')))
    run_tool('scribble_drop', src, str(tmp_path / 'drop_all'), '--ratio', '1',
             '--drop-background')
    assert (read_label_png(str(tmp_path / 'drop_all' /
                               '2007_000032.png')) == 255).all()
    run_tool('scribble_shrink', src, str(tmp_path / 'shrink'), '--ratio',
             '0.25')
    np.testing.assert_array_equal(
        read_label_png(str(tmp_path / 'shrink' / '2007_000032.png')),
        scribble_shrink(label, 0.25))
    with pytest.raises(SystemExit):
        run_tool('scribble_shrink', src, str(tmp_path / 'shrink'), '--ratio',
                 '1.5')


def test_mscmr_cli(tmp_path):
    import nibabel as nib
    for split, suffix in (('train', 'scribble'), ('val', 'manual')):
        for sub in ('images', 'labels'):
            (tmp_path / 'src' / split / sub).mkdir(parents=True)
        data = np.zeros((24, 24, 2), dtype=np.int16)
        data[8:16, 8:16] = 100
        nib.save(
            nib.Nifti1Image(data, np.eye(4)),
            str(tmp_path / 'src' / split / 'images' / 'subject1_DE.nii.gz'))
        label = (data > 0).astype(np.uint8)
        nib.save(
            nib.Nifti1Image(label, np.eye(4)),
            str(tmp_path / 'src' / split / 'labels' /
                f'subject1_DE_{suffix}.nii.gz'))
    run_tool('mscmr', str(tmp_path / 'src'), str(tmp_path / 'out'),
             '--spacing', '2', '--crop-size', '16', '16')
    for split in ('train', 'val'):
        with Image.open(tmp_path / 'out' / 'img_dir' / split /
                        'subject1_DE_slice01.png') as img:
            assert img.size == (16, 16)
    with open(tmp_path / 'out' / 'splits' / 'val.txt') as f:
        assert f.read().split() == [
            'subject1_DE_slice00', 'subject1_DE_slice01'
        ]
    run_tool('mscmr', str(tmp_path / 'src'), str(tmp_path / 'out2'),
             '--no-crop', '--splits', 'val')
    with Image.open(tmp_path / 'out2' / 'ann_dir' / 'val' /
                    'subject1_DE_slice00.png') as img:
        # 24 px * 1 mm / 1.367 mm = 17.6 -> 18
        assert img.size == (18, 18)
