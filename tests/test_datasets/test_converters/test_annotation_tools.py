"""LabelMe JSON and CVAT XML scribbles to label PNGs, on files written by
hand to the tools' published formats, and the split tool."""
import json
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest

from mmscribble.datasets.converters.annotation_tools import (convert_cvat_xml,
                                                             labelme_to_label,
                                                             read_class_list)
from mmscribble.datasets.converters.splits import (make_splits, split_sizes)
from mmscribble.datasets.label_io import read_label_png

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CLASSES = ['background', 'cat', 'dog']


def run_tool(name, *argv):
    path = osp.join(ROOT, 'tools/dataset_converters', name + '.py')
    with mock.patch.object(sys, 'argv', [path, *map(str, argv)]):
        runpy.run_path(path, run_name='__main__')


def labelme_doc(shapes, h=20, w=30):
    return {
        'version':
        '5.4.1',
        'flags': {},
        'shapes': [
            dict(
                label=label,
                points=pts,
                group_id=None,
                shape_type=kind,
                flags={}) for label, kind, pts in shapes
        ],
        'imagePath':
        'a.jpg',
        'imageData':
        None,
        'imageHeight':
        h,
        'imageWidth':
        w
    }


def test_labelme_linestrip_line_and_polygon(tmp_path):
    doc = labelme_doc([
        ('cat', 'linestrip', [[2, 5], [12, 5], [12, 10]]),
        ('background', 'line', [[20, 2], [20, 17]]),
        ('dog', 'polygon', [[25, 15], [28, 15], [28, 18], [25, 18]]),
    ])
    src = tmp_path / 'json'
    src.mkdir()
    (src / 'a.json').write_text(json.dumps(doc))
    label = labelme_to_label(str(src / 'a.json'), CLASSES, width=1)
    assert label.shape == (20, 30)
    # Width 1: the 1-pixel polylines, (x, y) -> row y, column x.
    assert (label[5, 2:13] == 1).all() and (label[5:11, 12] == 1).all()
    assert (label == 1).sum() == 11 + 5
    assert (label[2:18, 20] == 0).all() and (label == 0).sum() == 16
    assert (label == 2).sum() == 12 and label[16, 26] == 255  # outline
    filled = labelme_to_label(
        str(src / 'a.json'), CLASSES, width=1, polygons='fill')
    assert (filled == 2).sum() == 16
    wide = labelme_to_label(str(src / 'a.json'), CLASSES, width=3)
    assert (wide[4:7, 3:12] == 1).all() and wide[3, 5] == 255
    run_tool('labelme_scribbles', src, tmp_path / 'out', '--classes', *CLASSES,
             '--width', 1)
    np.testing.assert_array_equal(
        read_label_png(str(tmp_path / 'out/a.png')), label)
    assert read_class_list(str(tmp_path / 'out/classes.txt')) == CLASSES


def test_labelme_unknown_label_and_rectangle_are_named(tmp_path):
    path = tmp_path / 'b.json'
    path.write_text(
        json.dumps(labelme_doc([('bird', 'line', [[0, 0], [1, 1]])])))
    with pytest.raises(ValueError, match=r"b\.json: unknown label 'bird'"):
        labelme_to_label(str(path), CLASSES)
    path.write_text(
        json.dumps(labelme_doc([('cat', 'rectangle', [[0, 0], [3, 3]])])))
    with pytest.raises(ValueError, match="'rectangle' is not a scribble"):
        labelme_to_label(str(path), CLASSES)


CVAT = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <image id="0" name="imgs/a.jpg" width="30" height="20">
    <polyline label="dog" occluded="0" source="manual" z_order="1"
              points="2.0,5.0;12.0,5.0"/>
    <polyline label="cat" occluded="0" source="manual" z_order="0"
              points="7.0,1.0;7.0,9.0"/>
  </image>
  <image id="1" name="imgs/b.jpg" width="8" height="6"/>
</annotations>
"""


def test_cvat_polylines_z_order_and_empty_image(tmp_path):
    xml = tmp_path / 'annotations.xml'
    xml.write_text(CVAT)
    stems = convert_cvat_xml(str(xml), str(tmp_path / 'out'), CLASSES, 1)
    assert stems == ['a', 'b']
    a = read_label_png(str(tmp_path / 'out/a.png'))
    assert a.shape == (20, 30)
    assert (a[5, 2:13] == 2).all()  # dog on top (z_order 1) at (7, 5)
    assert (a[1:10, 7] != 255).all() and (a == 1).sum() == 8
    b = read_label_png(str(tmp_path / 'out/b.png'))
    assert b.shape == (6, 8) and (b == 255).all()
    (tmp_path / 'classes.txt').write_text('background\ncat\n')
    with pytest.raises(
            ValueError, match=r"annotations\.xml: unknown label 'dog'"):
        run_tool('cvat_scribbles', xml, tmp_path / 'o2', '--class-file',
                 tmp_path / 'classes.txt')


def test_split_sizes_and_seeded_splits(tmp_path):
    assert split_sizes(10, [0.8, 0.2]) == [8, 2]
    # 3.5, 1.75, 1.75: floors 3, 1, 1; the two largest remainders (0.75)
    assert split_sizes(7, [0.5, 0.25, 0.25]) == [3, 2, 2]
    with pytest.raises(ValueError, match='sum to 1'):
        split_sizes(5, [0.5, 0.4])
    stems = [f's{i:02d}' for i in range(23)]
    a = make_splits(stems, dict(train=0.7, val=0.3), seed=3)
    assert a == make_splits(stems[::-1], dict(train=0.7, val=0.3), seed=3)
    assert a != make_splits(stems, dict(train=0.7, val=0.3), seed=4)
    assert sorted(a['train'] + a['val']) == stems  # disjoint, complete
    assert (len(a['train']), len(a['val'])) == (16, 7)
    fixed = make_splits(stems, dict(train=1.0), fixed=dict(test=['s05']))
    assert fixed['test'] == ['s05'] and 's05' not in fixed['train']
    with pytest.raises(ValueError, match='not in the folder'):
        make_splits(stems, {}, fixed=dict(test=['zz']))


def test_make_splits_tool(tmp_path, capsys):
    folder = tmp_path / 'img'
    folder.mkdir()
    for i in range(10):
        (folder / f'{i}.jpg').write_bytes(b'')
    (tmp_path / 'test.txt').write_text('3\n7\n')
    run_tool('make_splits', folder, tmp_path / 'splits', '--suffix', '.jpg',
             '--ratio', 'train=0.75', 'val=0.25', '--list',
             f'test={tmp_path / "test.txt"}')
    read = {
        n: (tmp_path / f'splits/{n}.txt').read_text().split()
        for n in ('train', 'val', 'test')
    }
    assert read['test'] == ['3', '7']
    assert (len(read['train']), len(read['val'])) == (6, 2)
    assert sorted(sum(read.values(), [])) == sorted(map(str, range(10)))
    assert 'train.txt: 6 stems' in capsys.readouterr().out
