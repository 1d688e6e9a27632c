"""Convert the ScribbleSup release to scribble label PNGs.

ScribbleSup (Lin et al., "ScribbleSup: Scribble-Supervised Convolutional
Networks for Semantic Segmentation", CVPR 2016) ships its scribbles in two
forms, both handled here:

* the original XML release (``scribble_annotation/pascal_2012/*.xml``), one
  file per image::

      <annotation>
        <filename>2007_000032.jpg</filename>
        <size><width>500</width><height>281</height></size>
        <polygon>                       one scribble (stroke)
          <tag>plane</tag>              class name
          <point><X>167</X><Y>46</Y></point>   0-based pixel coordinates
          ...
        </polygon>
        ...
      </annotation>

  LabelMe-style files (``<object><name>`` holding ``<polygon><pt><x><y>``)
  are read as well. Strokes are rasterised as 1-pixel polylines and widened
  to the requested width (:func:`stroke_kernel`);
* the PNG release (``pascal_2012_scribble/*.png``, mode ``L`` or ``P``):
  class ids on scribble pixels, 255 = unlabeled, already 3 px wide. These
  are re-rendered to another width (skeleton, then widen) or copied.

Output: one mode-``L`` PNG per image, class id on stroke pixels, 255 on
every other pixel, the format :class:`VOCScribbleDataset` reads.
"""
import os
import os.path as osp
import warnings
import xml.etree.ElementTree as ET
from typing import List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from ..label_io import (IGNORE_INDEX, check_label_ids, read_image_size,
                        read_label_png, write_label_png)
from ..metainfo import CONTEXT_CLASSES, VOC_CLASSES
from .folders import Progress, convert_folder

__all__ = [
    'CLASS_ALIASES', 'CONTEXT_CLASSES', 'DATASET_CLASSES', 'IGNORE_INDEX',
    'OVERLAP_MODES', 'VOC_CLASSES', 'ScribbleAnnotation', 'Stroke',
    'check_label_ids', 'class_name_to_id', 'convert_png_release',
    'convert_xml_release', 'detect_release_format', 'parse_scribble_xml',
    'read_label_png', 'render_strokes', 'rerender_label', 'stroke_kernel',
    'widen_centrelines', 'write_label_png', 'xml_to_label'
]

# Class lists by dataset name (index = class id). The XML release has one
# folder per dataset: pascal_2012 (VOC) and pascal_context.
DATASET_CLASSES = dict(voc=VOC_CLASSES, context=CONTEXT_CLASSES)

# The XML release tags strokes with PASCAL-Context's short names; map them
# to the canonical names of the class lists. A name found verbatim in the
# class list wins over an alias ('table' is a class of its own in
# PASCAL-Context).
CLASS_ALIASES = {
    'plane': 'aeroplane',
    'airplane': 'aeroplane',
    'bike': 'bicycle',
    'motorcycle': 'motorbike',
    'plant': 'pottedplant',
    'monitor': 'tvmonitor',
    'tv': 'tvmonitor',
    'table': 'diningtable',
    'bg': 'background',
}

OVERLAP_MODES = ('last', 'ignore')


class Stroke(NamedTuple):
    """One scribble of an XML annotation.

    Attributes:
        class_id (int): Index of the class in the class list.
        name (str): Class name as written in the file.
        points (np.ndarray): ``(N, 2)`` int64 ``(x, y)`` pixel coordinates,
            0-based, in drawing order.
    """
    class_id: int
    name: str
    points: np.ndarray


class ScribbleAnnotation(NamedTuple):
    """The content of one XML file.

    Attributes:
        filename (str or None): ``<filename>``, if present.
        size (tuple or None): ``(height, width)`` from ``<size>``, if
            present.
        strokes (list[Stroke]): Strokes in document order.
    """
    filename: Optional[str]
    size: Optional[Tuple[int, int]]
    strokes: List[Stroke]


def _norm_name(name: str) -> str:
    return ''.join(ch for ch in name.lower() if ch not in ' _-')


def class_name_to_id(name: str,
                     classes: Sequence[str] = VOC_CLASSES) -> Optional[int]:
    """Map a class name of the release to its index in ``classes``.

    Matching ignores case, spaces, ``_`` and ``-``; ScribbleSup's short
    names (``plane``, ``bike``, ``table``, ``plant``, ``monitor``) are
    resolved through :data:`CLASS_ALIASES`.

    Args:
        name (str): Class name, e.g. ``'plane'`` or ``'Dining table'``.
        classes (Sequence[str]): Class names, index = class id.

    Returns:
        int or None: The class id, or None if the name is unknown.
    """
    lookup = {_norm_name(c): i for i, c in enumerate(classes)}
    key = _norm_name(name)
    if key in lookup:
        return lookup[key]
    alias = CLASS_ALIASES.get(key)
    if alias is not None and _norm_name(alias) in lookup:
        return lookup[_norm_name(alias)]
    return None


def _child(elem: ET.Element, *names: str) -> Optional[ET.Element]:
    """First direct child whose tag matches one of ``names`` (any case)."""
    for sub in elem:
        if isinstance(sub.tag, str) and sub.tag.lower() in names:
            return sub
    return None


def _children(elem: ET.Element, *names: str) -> List[ET.Element]:
    return [
        sub for sub in elem
        if isinstance(sub.tag, str) and sub.tag.lower() in names
    ]


def _text(elem: Optional[ET.Element]) -> Optional[str]:
    if elem is None or elem.text is None:
        return None
    text = elem.text.strip()
    return text or None


def _read_size(root: ET.Element, path: str) -> Optional[Tuple[int, int]]:
    size = _child(root, 'size')
    if size is not None:
        h, w = _text(_child(size, 'height')), _text(_child(size, 'width'))
    else:
        # LabelMe: <imagesize><nrows>H</nrows><ncols>W</ncols></imagesize>
        size = _child(root, 'imagesize')
        if size is None:
            return None
        h, w = _text(_child(size, 'nrows')), _text(_child(size, 'ncols'))
    if h is None or w is None:
        return None
    try:
        hw = int(float(h)), int(float(w))
    except ValueError:
        raise ValueError(
            f'{path}: image size <height>{h}</height> <width>{w}</width> '
            'is not a number') from None
    if min(hw) <= 0:
        raise ValueError(f'{path}: image size {hw} (HxW) is not positive')
    return hw


def _read_points(polygon: ET.Element, path: str) -> np.ndarray:
    pts = []
    for point in _children(polygon, 'point', 'pt'):
        x, y = _text(_child(point, 'x')), _text(_child(point, 'y'))
        if x is None or y is None:
            raise ValueError(f'{path}: a <{point.tag}> lacks <X> or <Y>')
        try:
            # Round half up: the release stores integers, other tools floats.
            pts.append((np.floor(float(x) + 0.5), np.floor(float(y) + 0.5)))
        except ValueError:
            raise ValueError(
                f'{path}: point ({x}, {y}) is not numeric') from None
    return np.asarray(pts, dtype=np.int64).reshape(-1, 2)


def parse_scribble_xml(path: str,
                       classes: Sequence[str] = VOC_CLASSES,
                       skip_unknown: bool = False) -> ScribbleAnnotation:
    """Read one ScribbleSup XML file.

    Two layouts are accepted, in any mix, and strokes keep document order:
    ScribbleSup's ``<polygon><tag>name</tag><point><X/><Y/></point>...``
    directly under the root, and LabelMe's ``<object><name>name</name>
    <polygon><pt><x/><y/></pt>...</polygon></object>`` (objects marked
    ``<deleted>1</deleted>`` are skipped). Tag names are matched in any case.

    Args:
        path (str): The XML file.
        classes (Sequence[str]): Class names, index = class id.
        skip_unknown (bool): Skip strokes whose class is not in ``classes``
            (with a warning) instead of raising. Defaults to False.

    Returns:
        ScribbleAnnotation: File name, size and strokes.

    Raises:
        ValueError: The file is not valid XML, a point is malformed, or a
            class name is unknown (and ``skip_unknown`` is False). The
            message names the file.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ValueError(f'{path}: not a valid XML file ({e})') from None
    except OSError as e:
        raise FileNotFoundError(f'cannot read {path}: {e}') from None

    def make_stroke(name: Optional[str], polygon: ET.Element) -> None:
        if name is None:
            raise ValueError(f'{path}: a <polygon> has no class name '
                             '(<tag> or the <name> of its <object>)')
        class_id = class_name_to_id(name, classes)
        if class_id is None:
            msg = (f'{path}: unknown class name {name!r}; expected one of '
                   f'{", ".join(classes)} or an alias in CLASS_ALIASES')
            if not skip_unknown:
                raise ValueError(msg)
            warnings.warn(msg + ' (stroke skipped)')
            return
        points = _read_points(polygon, path)
        if len(points):
            strokes.append(Stroke(class_id, name, points))

    strokes: List[Stroke] = []
    for elem in root:
        if not isinstance(elem.tag, str):
            continue
        tag = elem.tag.lower()
        if tag == 'polygon':
            make_stroke(_text(_child(elem, 'tag', 'name')), elem)
        elif tag == 'object':
            if _text(_child(elem, 'deleted')) == '1':
                continue
            name = _text(_child(elem, 'name', 'tag'))
            for polygon in _children(elem, 'polygon'):
                make_stroke(_text(_child(polygon, 'tag')) or name, polygon)
    return ScribbleAnnotation(
        filename=_text(_child(root, 'filename')),
        size=_read_size(root, path),
        strokes=strokes)


def stroke_kernel(width: int) -> np.ndarray:
    """The structuring element that gives a stroke its width.

    A ``width x width`` disk: the pixel at offset ``(dy, dx)`` from the
    kernel centre ``((width - 1) / 2, (width - 1) / 2)`` belongs to it if
    ``dy ** 2 + dx ** 2 <= (width / 2) ** 2``. A horizontal or vertical
    centreline dilated by it is exactly ``width`` pixels wide. Width 3 is
    the 3x3 square: the skeleton of the public PNG release dilated by it
    gives back the release with IoU 0.95 (its strokes are 3 px wide).

    Args:
        width (int): Stroke width in pixels, >= 1.

    Returns:
        np.ndarray: ``(width, width)`` uint8 kernel of 0/1.
    """
    if not isinstance(width, (int, np.integer)) or width < 1:
        raise ValueError(f'stroke width must be an integer >= 1, got '
                         f'{width!r}')
    c = np.arange(width) - (width - 1) / 2
    return (c[:, None]**2 + c[None, :]**2 <= (width / 2)**2).astype(np.uint8)


def render_strokes(strokes: Sequence[Stroke],
                   shape: Tuple[int, int],
                   width: int = 3,
                   overlap: str = 'last',
                   ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Rasterise strokes into a scribble label map.

    Each stroke is drawn as an 8-connected 1-pixel polyline through its
    points (``cv2.polylines``; a one-point stroke is a dot), then dilated
    by :func:`stroke_kernel`. Points outside the image are clamped to its
    border, as in the reference conversion that produced the PNG release.

    Overlaps between strokes of different classes are resolved by
    ``overlap``: ``'last'`` draws strokes in order and lets a later stroke
    overwrite an earlier one (the rule of the reference conversion that
    produced the public PNG release); ``'ignore'`` sets every pixel
    covered by strokes of two or more classes to ``ignore_index``.

    Args:
        strokes (Sequence[Stroke]): Strokes in drawing order.
        shape (tuple[int, int]): ``(height, width)`` of the image.
        width (int): Stroke width in pixels. Defaults to 3.
        overlap (str): ``'last'`` or ``'ignore'``. Defaults to ``'last'``.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map.
    """
    if overlap not in OVERLAP_MODES:
        raise ValueError(f'overlap must be one of {OVERLAP_MODES}, got '
                         f'{overlap!r}')
    kernel = stroke_kernel(width)
    h, w = int(shape[0]), int(shape[1])
    label = np.full((h, w), ignore_index, dtype=np.uint8)
    conflict = np.zeros((h, w), dtype=bool)
    mask = np.zeros((h, w), dtype=np.uint8)
    for stroke in strokes:
        pts = stroke.points.copy()
        pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
        pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
        mask[:] = 0
        if len(pts) == 1:
            mask[pts[0, 1], pts[0, 0]] = 1
        else:
            cv2.polylines(
                mask, [pts.astype(np.int32).reshape(-1, 1, 2)],
                isClosed=False,
                color=1,
                thickness=1,
                lineType=cv2.LINE_8)
        if width > 1:
            mask = cv2.dilate(mask, kernel)
        hit = mask.astype(bool)
        conflict |= hit & (label != ignore_index) & (label != stroke.class_id)
        label[hit] = stroke.class_id
    if overlap == 'ignore':
        label[conflict] = ignore_index
    return label


def xml_to_label(xml_path: str,
                 img_path: Optional[str] = None,
                 width: int = 3,
                 overlap: str = 'last',
                 classes: Sequence[str] = VOC_CLASSES,
                 skip_unknown: bool = False,
                 ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Convert one XML file to a scribble label map.

    The label map takes the size of the image at ``img_path`` when given
    (the grid the label must align with; a different ``<size>`` in the XML
    gives a warning), otherwise the XML's ``<size>``.

    Args:
        xml_path (str): The XML file.
        img_path (str, optional): The JPEG the scribbles were drawn on.
        width (int): Stroke width in pixels. Defaults to 3.
        overlap (str): Overlap rule, see :func:`render_strokes`.
        classes (Sequence[str]): Class names, index = class id.
        skip_unknown (bool): See :func:`parse_scribble_xml`.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map.

    Raises:
        ValueError: The size is known neither from the image nor from the
            XML, or the XML is invalid.
    """
    anno = parse_scribble_xml(xml_path, classes, skip_unknown)
    size = anno.size
    if img_path is not None:
        img_size = read_image_size(img_path)
        if size is not None and tuple(size) != img_size:
            warnings.warn(f'{xml_path}: <size> {size} (HxW) differs from '
                          f'image {img_path} {img_size}; using the image')
        size = img_size
    if size is None:
        raise ValueError(f'{xml_path}: no <size> in the file and no image '
                         'given; pass the JPEG directory (img_dir)')
    return render_strokes(anno.strokes, size, width, overlap, ignore_index)


def widen_centrelines(centre: np.ndarray,
                      width: int,
                      ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Widen labeled centrelines to strokes of ``width`` pixels.

    The stroke area is the union of the centrelines dilated by
    :func:`stroke_kernel`; each of its pixels takes the class of its nearest
    centreline pixel (Euclidean; ties as ``scipy.ndimage``'s distance
    transform resolves them). The rule does not depend on any class order.

    Args:
        centre (np.ndarray): ``(H, W)`` uint8 centreline label map.
        width (int): Stroke width in pixels.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map.
    """
    kernel = stroke_kernel(width)
    labeled = centre != ignore_index
    if width == 1 or not labeled.any():
        return centre.copy()
    support = cv2.dilate(labeled.astype(np.uint8), kernel).astype(bool)
    iy, ix = ndi.distance_transform_edt(
        ~labeled, return_distances=False, return_indices=True)
    out = np.full_like(centre, ignore_index)
    out[support] = centre[iy[support], ix[support]]
    return out


def rerender_label(label: np.ndarray,
                   width: int,
                   ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Re-render a scribble label map at another stroke width.

    Each class's pixels are thinned to a 1-pixel skeleton
    (``skimage.morphology.skeletonize``), then widened with
    :func:`widen_centrelines`.

    Args:
        label (np.ndarray): ``(H, W)`` uint8 scribble label map.
        width (int): Target stroke width in pixels.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map.
    """
    stroke_kernel(width)
    centre = np.full_like(label, ignore_index)
    for c in np.unique(label):
        if c == ignore_index:
            continue
        centre[skeletonize(label == c)] = c
    return widen_centrelines(centre, width, ignore_index)


def detect_release_format(src_dir: str) -> str:
    """Return ``'xml'`` or ``'png'``: the kind of files in ``src_dir``.

    Raises:
        FileNotFoundError: ``src_dir`` holds neither kind.
        ValueError: It holds both.
    """
    if not osp.isdir(src_dir):
        raise FileNotFoundError(f'directory not found: {src_dir}')
    names = os.listdir(src_dir)
    has_xml = any(n.lower().endswith('.xml') for n in names)
    has_png = any(n.lower().endswith('.png') for n in names)
    if has_xml and has_png:
        raise ValueError(f'{src_dir} holds both *.xml and *.png files; '
                         'pass the format explicitly')
    if not (has_xml or has_png):
        raise FileNotFoundError(f'no *.xml or *.png file in {src_dir}')
    return 'xml' if has_xml else 'png'


def convert_xml_release(xml_dir: str,
                        out_dir: str,
                        img_dir: Optional[str] = None,
                        width: int = 3,
                        overlap: str = 'last',
                        classes: Sequence[str] = VOC_CLASSES,
                        skip_unknown: bool = False,
                        progress: Progress = None) -> List[str]:
    """Convert every ``*.xml`` of ``xml_dir`` to ``out_dir/<stem>.png``.

    Args:
        xml_dir (str): Directory of ScribbleSup XML files.
        out_dir (str): Output directory (created).
        img_dir (str, optional): Directory of the JPEGs; when given, each
            label takes the size of ``img_dir/<stem>.jpg`` (which must
            exist), otherwise the XML's ``<size>``.
        width (int): Stroke width in pixels. Defaults to 3.
        overlap (str): Overlap rule, see :func:`render_strokes`.
        classes (Sequence[str]): Class names, index = class id.
        skip_unknown (bool): See :func:`parse_scribble_xml`.
        progress (callable, optional): Wraps the file list, e.g. ``tqdm``.

    Returns:
        list[str]: The stems written, sorted.
    """
    stroke_kernel(width)

    def convert(xml_path: str, stem: str) -> np.ndarray:
        img_path = None
        if img_dir is not None:
            img_path = osp.join(img_dir, stem + '.jpg')
            if not osp.isfile(img_path):
                raise FileNotFoundError(
                    f'image for {xml_path} not found: {img_path}')
        return xml_to_label(xml_path, img_path, width, overlap, classes,
                            skip_unknown)

    return convert_folder(xml_dir, '.xml', out_dir, convert, progress)


def convert_png_release(src_dir: str,
                        out_dir: str,
                        width: int = 3,
                        keep_width: bool = False,
                        num_classes: int = len(VOC_CLASSES),
                        progress: Progress = None) -> List[str]:
    """Validate and re-render (or copy) every ``*.png`` of ``src_dir``.

    Every file is checked (single channel, ids in ``0..num_classes - 1`` or
    255) before it is written as a mode-``L`` PNG.

    Args:
        src_dir (str): Directory of scribble PNGs (mode ``L`` or ``P``).
        out_dir (str): Output directory (created).
        width (int): Target stroke width in pixels. Defaults to 3.
        keep_width (bool): Copy the strokes as they are instead of
            re-rendering them. Defaults to False.
        num_classes (int): Number of classes. Defaults to 21 (VOC).
        progress (callable, optional): Wraps the file list, e.g. ``tqdm``.

    Returns:
        list[str]: The stems written, sorted.
    """
    stroke_kernel(width)

    def convert(path: str, stem: str) -> np.ndarray:
        label = read_label_png(path, eight_bit=True)
        check_label_ids(label, path, num_classes)
        return label if keep_width else rerender_label(label, width)

    return convert_folder(src_dir, '.png', out_dir, convert, progress)
