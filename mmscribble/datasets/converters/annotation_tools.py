# Copyright (c) mmscribble contributors. All rights reserved.
"""Scribbles drawn in annotation tools: LabelMe JSON and CVAT XML.

Both give strokes as point lists in pixel coordinates ``(x, y)``; each is
rasterised by :func:`~mmscribble.datasets.converters.scribblesup.
render_strokes` (8-connected 1-pixel polyline dilated by a ``width``
disk; later strokes overwrite earlier ones) into a scribble PNG (class id
on strokes, 255 elsewhere). Labels are mapped to ids by a class list
(index = id): a file or label not in it is an error naming both.

* **LabelMe** (one ``.json`` per image): ``{"version", "flags",
  "shapes": [{"label", "points": [[x, y], ...], "group_id",
  "shape_type", "flags"}], "imagePath", "imageData", "imageHeight",
  "imageWidth"}``. Shapes of type ``linestrip``, ``line`` and ``point``
  are strokes; ``polygon`` shapes are strokes along their closed outline
  (``polygons='outline'``), filled (``'fill'``) or refused
  (``'error'``); other types (``rectangle``, ``circle``) are refused.
* **CVAT for images 1.1** (one ``annotations.xml`` for all images):
  ``<annotations><version>1.1</version><image id name width height>
  <polyline label points="x1,y1;x2,y2" occluded z_order/></image>
  </annotations>``; ``polyline`` and ``points`` elements are strokes,
  drawn in ``z_order`` then document order; an image without a stroke
  still gets an all-unlabeled PNG.
"""
import json
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from ..label_io import write_label_png
from .folders import Progress, iterate, list_files
from .scribblesup import Stroke, render_strokes

POLYGON_MODES = ('outline', 'fill', 'error')
_LABELME_STROKES = ('linestrip', 'line', 'point', 'points')


def read_class_list(path: str) -> List[str]:
    """Class names, one per line (blank lines skipped); index = id."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'class list not found: {path}')
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    if not names or len(set(names)) != len(names):
        raise ValueError(f'class list {path} must hold distinct names, got '
                         f'{names}')
    return names


def write_class_list(classes: Sequence[str], path: str) -> None:
    """Write the class map: one name per line, line ``k`` = id ``k``."""
    with open(path, 'w') as f:
        f.write(''.join(f'{c}\n' for c in classes))


def add_class_arguments(parser) -> None:
    """``--classes NAME ...`` / ``--class-file FILE`` (one required) and
    ``--width`` on an ``argparse`` parser of a converter tool."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--classes', nargs='+', help='names, index = id')
    group.add_argument('--class-file', help='one class name per line')
    parser.add_argument(
        '--width', type=int, default=3, help='stroke width (default: 3)')


def classes_from_args(args) -> List[str]:
    """The class list of :func:`add_class_arguments`' options."""
    return list(args.classes or read_class_list(args.class_file))


def _class_id(label: str, classes: Sequence[str], path: str) -> int:
    if label not in classes:
        raise ValueError(f'{path}: unknown label {label!r} (classes: '
                         f'{", ".join(classes)}); add it to the class list')
    return classes.index(label)


def _points(raw, path: str, label: str) -> np.ndarray:
    pts = np.asarray(raw, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ValueError(f'{path}: shape {label!r} has malformed points '
                         f'{raw!r}')
    return np.rint(pts).astype(np.int64)


def labelme_to_label(path: str,
                     classes: Sequence[str],
                     width: int = 3,
                     polygons: str = 'outline') -> np.ndarray:
    """Rasterise one LabelMe JSON file.

    Args:
        path (str): The ``.json`` file.
        classes (Sequence[str]): Class names, index = id.
        width (int): Stroke width in pixels. Default: 3.
        polygons (str): ``'outline'``, ``'fill'`` or ``'error'``.

    Returns:
        np.ndarray: ``(imageHeight, imageWidth)`` uint8 label map.
    """
    if polygons not in POLYGON_MODES:
        raise ValueError(f'polygons must be one of {POLYGON_MODES}, got '
                         f'{polygons!r}')
    try:
        with open(path) as f:
            doc = json.load(f)
        shape = (int(doc['imageHeight']), int(doc['imageWidth']))
        shapes = doc['shapes']
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f'{path}: not a LabelMe JSON file ({e!r})') from None
    strokes, fills = [], []
    for item in shapes:
        label, kind = item.get('label'), item.get('shape_type') or 'polygon'
        cid = _class_id(label, classes, path)
        pts = _points(item.get('points'), path, label)
        if kind in _LABELME_STROKES:
            strokes.append(Stroke(cid, label, pts))
        elif kind == 'polygon' and polygons == 'outline':
            strokes.append(Stroke(cid, label, np.vstack([pts, pts[:1]])))
        elif kind == 'polygon' and polygons == 'fill':
            fills.append((cid, pts))
        else:
            raise ValueError(f'{path}: shape {label!r} of type {kind!r} is '
                             f'not a scribble (line strips, lines, points'
                             f'{"" if polygons == "error" else ", polygons"})')
    label_map = render_strokes(strokes, shape, width)
    for cid, pts in fills:
        fill = np.zeros(shape, np.uint8)
        cv2.fillPoly(fill, [pts.astype(np.int32).reshape(-1, 1, 2)], 1)
        label_map[fill.astype(bool)] = cid
    return label_map


def _cvat_points(text: str, path: str, label: str) -> np.ndarray:
    try:
        raw = [[float(v) for v in p.split(',')] for p in text.split(';')]
    except (AttributeError, ValueError):
        raw = text
    return _points(raw, path, label)


def parse_cvat_xml(
        path: str, classes: Sequence[str]
) -> List[Tuple[str, Tuple[int, int], List[Stroke]]]:
    """The images of a CVAT-for-images 1.1 XML file with their strokes.

    Returns:
        list: ``(name, (height, width), strokes)`` per ``<image>``, in
        document order; strokes sorted by ``z_order`` (stable).
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise ValueError(f'{path}: not a CVAT XML file ({e})') from None
    images = []
    for img in root.iter('image'):
        name = img.get('name')
        try:
            size = (int(img.get('height')), int(img.get('width')))
        except (TypeError, ValueError):
            raise ValueError(f'{path}: <image name={name!r}> has no valid '
                             f'width / height') from None
        ranked = []
        for elem in img:
            if elem.tag not in ('polyline', 'points'):
                continue
            label = elem.get('label')
            cid = _class_id(label, classes, path)
            pts = _cvat_points(elem.get('points'), path, label)
            ranked.append(
                (int(elem.get('z_order',
                              0)), len(ranked), Stroke(cid, label, pts)))
        images.append((name, size, [s for *_, s in sorted(ranked)]))
    return images


def convert_labelme_dir(src_dir: str,
                        out_dir: str,
                        classes: Sequence[str],
                        width: int = 3,
                        polygons: str = 'outline',
                        progress: Progress = None) -> List[str]:
    """``out_dir/<stem>.png`` for every ``<stem>.json`` of ``src_dir``,
    and ``out_dir/classes.txt``; returns the stems."""
    stems = []
    for name in iterate(list_files(src_dir, '.json'), progress):
        stem = osp.splitext(name)[0]
        label = labelme_to_label(
            osp.join(src_dir, name), classes, width, polygons)
        write_label_png(label, osp.join(out_dir, stem + '.png'))
        stems.append(stem)
    write_class_list(classes, osp.join(out_dir, 'classes.txt'))
    return stems


def convert_cvat_xml(xml_path: str,
                     out_dir: str,
                     classes: Sequence[str],
                     width: int = 3,
                     progress: Progress = None) -> List[str]:
    """``out_dir/<stem>.png`` for every ``<image>`` of a CVAT XML file
    (stem: the image name without folders and extension), and
    ``out_dir/classes.txt``; returns the stems."""
    stems: Dict[str, str] = {}
    for name, size, strokes in iterate(
            parse_cvat_xml(xml_path, classes), progress):
        stem = osp.splitext(osp.basename(name or ''))[0]
        if not stem or stem in stems:
            raise ValueError(f'{xml_path}: image name {name!r} is empty or '
                             f'gives the same stem as {stems.get(stem)!r}')
        stems[stem] = name
        label = render_strokes(strokes, size, width)
        write_label_png(label, osp.join(out_dir, stem + '.png'))
    write_class_list(classes, osp.join(out_dir, 'classes.txt'))
    return list(stems)
