"""Scribble-drop and scribble-shrink variants of a scribble label set.

The robustness benchmarks of scribble supervision (URSS, Pan et al.,
"Scribble-Supervised Semantic Segmentation by Uncertainty Reduction on
Neural Representation and Self-Supervision on Neural Eigenspace", ICCV 2021)
derive two families of label sets from ScribbleSup:

* scribble-drop, ratio ``r``: all scribbles of an object are dropped with
  probability ``r``;
* scribble-shrink, ratio ``r``: every scribble is shortened by ``r`` of its
  length, down to a single pixel at ``r = 1``.

Label PNGs carry no stroke or instance ids, so the units are defined here:

* a **scribble** is an 8-connected component of the pixels of one class;
* an **object** is a group of scribbles of one class. Two scribbles of a
  class belong to the same object when their closest pixels are at most
  ``link_distance`` pixels apart (Euclidean, pixel centres), transitively.
  The default, 6 px, re-joins a stroke cut in two by a 3-px stroke of
  another class crossing it at 45 degrees or more (gap 4 to 5.7 px), and
  stays far below the ~20 px between scribbles of distinct objects in the
  release. ``link_distance=0`` makes every scribble its own object. When a
  VOC ``SegmentationObject`` map is given, a scribble belongs to the
  instance that covers most of its pixels (instance ids 1..254) and
  scribbles of the same class and instance form one object; scribbles on no
  instance (background, void) are grouped by distance among themselves.

Randomness is per file: :func:`file_rng` derives a generator from
``(seed, file stem)``, so the output of a file depends only on the seed,
its stem and its content, never on which files are processed or in what
order.
"""
import hashlib
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from skimage.morphology import skeletonize

from ..label_io import IGNORE_INDEX, read_label_png
from .folders import Progress, convert_folder

_EIGHT = np.ones((3, 3), dtype=bool)


def _check_ratio(ratio: float, name: str = 'ratio') -> float:
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number in [0, 1], got '
                         f'{ratio!r}') from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f'{name} must be in [0, 1], got {ratio!r}')
    return value


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(f'seed must be an integer >= 0, got {seed!r}')
    return int(seed)


def file_rng(seed: int, stem: str) -> np.random.Generator:
    """The random generator of one file.

    Seeded by ``(seed, first 8 bytes of sha256(stem))``: stable across
    runs, platforms and Python's hash randomisation.

    Args:
        seed (int): Global seed, >= 0.
        stem (str): File name without extension, e.g. ``'2007_000032'``.

    Returns:
        np.random.Generator: A fresh generator.
    """
    seed = _check_seed(seed)
    key = int.from_bytes(
        hashlib.sha256(stem.encode('utf-8')).digest()[:8], 'little')
    return np.random.default_rng(np.random.SeedSequence([seed, key]))


def label_scribbles(
        label: np.ndarray,
        ignore_index: int = IGNORE_INDEX) -> Tuple[np.ndarray, np.ndarray]:
    """Split a label map into scribbles (8-connected one-class components).

    Scribbles are numbered 1..n by class, then by the raster position of
    their first pixel.

    Args:
        label (np.ndarray): ``(H, W)`` uint8 scribble label map.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(H, W)`` int32 scribble ids (0 =
        unlabeled) and the ``(n,)`` class of each scribble (entry ``i`` is
        scribble ``i + 1``).
    """
    if label.ndim != 2:
        raise ValueError(f'label must be 2-D (H, W), got shape {label.shape}')
    comp = np.zeros(label.shape, dtype=np.int32)
    classes = []
    for c in np.unique(label):
        if c == ignore_index:
            continue
        cc, n = ndi.label(label == c, structure=_EIGHT)
        mask = cc > 0
        comp[mask] = cc[mask] + len(classes)
        classes.extend([int(c)] * n)
    return comp, np.asarray(classes, dtype=np.int64)


class _UnionFind:

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def group_objects(comp: np.ndarray,
                  classes: np.ndarray,
                  link_distance: float = 6.0,
                  instance: Optional[np.ndarray] = None) -> np.ndarray:
    """Group scribbles into objects (see the module docstring).

    Args:
        comp (np.ndarray): ``(H, W)`` int32 scribble ids from
            :func:`label_scribbles`.
        classes (np.ndarray): ``(n,)`` class of each scribble.
        link_distance (float): Largest gap, in pixels, between two
            scribbles of one object. Defaults to 6.
        instance (np.ndarray, optional): ``(H, W)`` instance ids (VOC
            ``SegmentationObject``: 0 = background, 255 = void).

    Returns:
        np.ndarray: ``(n,)`` int64 object index of each scribble; objects
        are numbered 0..K-1 in the order of their first scribble.
    """
    if link_distance < 0:
        raise ValueError(f'link_distance must be >= 0, got {link_distance}')
    n = len(classes)
    uf = _UnionFind(n)
    boxes = ndi.find_objects(comp, max_label=n)
    linkable = np.ones(n, dtype=bool)
    if instance is not None:
        if instance.shape != comp.shape:
            raise ValueError(f'instance map shape {instance.shape} differs '
                             f'from label shape {comp.shape}')
        owner: Dict[Tuple[int, int], int] = {}
        for i in range(n):
            ids = instance[boxes[i]][comp[boxes[i]] == i + 1]
            ids = ids[(ids > 0) & (ids < 255)]
            if not len(ids):
                continue
            # Majority instance; bincount's argmax takes the smallest on ties.
            key = (int(classes[i]), int(np.bincount(ids).argmax()))
            linkable[i] = False
            if key in owner:
                uf.union(owner[key], i)
            else:
                owner[key] = i
    if link_distance > 0:
        pad = int(np.ceil(link_distance))
        h, w = comp.shape
        for i in range(n):
            if not linkable[i]:
                continue
            ys, xs = boxes[i]
            win = (slice(max(ys.start - pad, 0), min(ys.stop + pad, h)),
                   slice(max(xs.start - pad, 0), min(xs.stop + pad, w)))
            sub = comp[win]
            # Later scribbles of the same class in the window; earlier
            # ones already tested their distance to this one.
            near = [j - 1 for j in np.unique(sub) if j > i + 1]
            near = [
                j for j in near if linkable[j] and classes[j] == classes[i]
            ]
            if not near:
                continue
            dist = ndi.distance_transform_edt(sub != i + 1)
            for j in near:
                if dist[sub == j + 1].min() <= link_distance:
                    uf.union(i, j)
    roots = np.array([uf.find(i) for i in range(n)], dtype=np.int64)
    # Roots are the smallest scribble index of each group, so numbering
    # unique roots in ascending order follows the first scribble.
    _, obj = np.unique(roots, return_inverse=True)
    return obj.astype(np.int64).reshape(-1)


def scribble_drop(label: np.ndarray,
                  ratio: float,
                  rng: np.random.Generator,
                  keep_background: bool = True,
                  background_index: int = 0,
                  link_distance: float = 6.0,
                  instance: Optional[np.ndarray] = None,
                  ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Drop all scribbles of each object with probability ``ratio``.

    One uniform number ``u`` in ``[0, 1)`` is drawn per object, in object
    order (:func:`group_objects`), including background objects, and the
    object is dropped if ``u < ratio``. Hence ``ratio=0`` returns the input,
    ``ratio=1`` drops every (droppable) object, the objects dropped at a
    ratio are also dropped at every larger ratio with the same generator
    state, and ``keep_background`` does not change which foreground objects
    are dropped.

    Args:
        label (np.ndarray): ``(H, W)`` uint8 scribble label map.
        ratio (float): Drop probability in ``[0, 1]``.
        rng (np.random.Generator): Source of randomness, e.g.
            :func:`file_rng`.
        keep_background (bool): Never drop scribbles of
            ``background_index``. Defaults to True: the benchmark removes
            object annotations, and without background scribbles a
            partial cross-entropy would see no negative pixel at all.
        background_index (int): The background class. Defaults to 0.
        link_distance (float): See :func:`group_objects`. Defaults to 6.
        instance (np.ndarray, optional): ``(H, W)`` instance map.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map, dropped pixels set to
        ``ignore_index``.
    """
    ratio = _check_ratio(ratio)
    comp, classes = label_scribbles(label, ignore_index)
    if not len(classes):
        return label.copy()
    obj = group_objects(comp, classes, link_distance, instance)
    num_obj = int(obj.max()) + 1
    drop = rng.random(num_obj) < ratio
    if keep_background:
        obj_class = np.zeros(num_obj, dtype=np.int64)
        obj_class[obj] = classes
        drop &= obj_class != background_index
    drop_scribble = np.concatenate([[False], drop[obj]])
    out = label.copy()
    out[drop_scribble[comp]] = ignore_index
    return out


def longest_skeleton_path(
        skeleton: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The longest geodesic path of a connected 1-pixel skeleton.

    The skeleton is an 8-connected graph (edge length 1, diagonal
    ``sqrt(2)``); the path joins the two ends found by two Dijkstra sweeps
    (the first from the first pixel in raster order), which is the exact
    longest path on a tree-shaped skeleton. On a closed loop it covers half
    the loop.

    Args:
        skeleton (np.ndarray): ``(H, W)`` bool, at least one pixel set.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(L, 2)`` int64 ``(y, x)`` path
        pixels from one end to the other, and their ``(L,)`` float64 arc
        length from the first end.
    """
    ys, xs = np.nonzero(skeleton)
    n = len(ys)
    if n == 0:
        raise ValueError('skeleton is empty')
    if n == 1:
        return np.stack([ys, xs], 1).astype(np.int64), np.zeros(1)
    index = np.full(skeleton.shape, -1, dtype=np.int64)
    index[ys, xs] = np.arange(n)
    h, w = skeleton.shape
    rows, cols, weights = [], [], []
    for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
        ny, nx = ys + dy, xs + dx
        ok = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        src = np.nonzero(ok)[0]
        dst = index[ny[ok], nx[ok]]
        keep = dst >= 0
        rows.append(src[keep])
        cols.append(dst[keep])
        weights.append(np.full(keep.sum(), np.hypot(dy, dx)))
    graph = coo_matrix((np.concatenate(weights),
                        (np.concatenate(rows), np.concatenate(cols))),
                       shape=(n, n)).tocsr()

    def farthest(start):
        dist, pred = dijkstra(
            graph, directed=False, indices=start, return_predecessors=True)
        dist = np.where(np.isfinite(dist), dist, -1.0)
        return int(np.argmax(dist)), dist, pred

    a, _, _ = farthest(0)
    b, dist, pred = farthest(a)
    path = [b]
    while path[-1] != a:
        path.append(int(pred[path[-1]]))
    path = np.asarray(path[::-1], dtype=np.int64)
    return np.stack([ys[path], xs[path]], 1).astype(np.int64), dist[path]


def shrink_mask(mask: np.ndarray, ratio: float) -> np.ndarray:
    """Shorten one scribble, keeping the central ``1 - ratio`` of it.

    The scribble's skeleton (``skimage.morphology.skeletonize``) gives its
    longest path (:func:`longest_skeleton_path`); its pixel centres lie at
    arc lengths ``0 .. A`` and, counting half a pixel beyond each end pixel,
    its length is ``L = A + 1`` (``n`` for a straight run of ``n`` pixels).
    Path pixels whose arc length lies in the central ``(1 - ratio) * L`` of
    ``[-0.5, A + 0.5]`` are kept, and always the middle one (arc length
    closest to ``A / 2``). For ``ratio < 1`` the result is every scribble
    pixel whose nearest path pixel (Euclidean) is kept, so the stroke keeps
    its width; for ``ratio = 1`` it is the middle path pixel alone. Kept
    sets are nested: a larger ratio keeps a subset.

    Args:
        mask (np.ndarray): ``(H, W)`` bool, one 8-connected scribble.
        ratio (float): Shrink ratio in ``[0, 1]``.

    Returns:
        np.ndarray: ``(H, W)`` bool, the kept pixels.
    """
    ratio = _check_ratio(ratio)
    if ratio == 0.0 or not mask.any():
        return mask.copy()
    skel = skeletonize(mask)
    if not skel.any():
        # Tiny blobs may thin to nothing: use the pixel nearest the centroid.
        ys, xs = np.nonzero(mask)
        k = np.argmin((ys - ys.mean())**2 + (xs - xs.mean())**2)
        skel = np.zeros_like(mask)
        skel[ys[k], xs[k]] = True
    path, arc = longest_skeleton_path(skel)
    mid = int(np.argmin(np.abs(arc - arc[-1] / 2)))
    out = np.zeros_like(mask)
    if ratio == 1.0:
        out[path[mid, 0], path[mid, 1]] = True
        return out
    # The path spans [-0.5, A + 0.5]: each end pixel adds half a pixel, so
    # a straight run of n pixels has length n.
    cut = ratio * (arc[-1] + 1) / 2
    keep = (arc >= cut - 0.5) & (arc <= arc[-1] + 0.5 - cut)
    keep[mid] = True
    path_id = np.full(mask.shape, -1, dtype=np.int64)
    path_id[path[:, 0], path[:, 1]] = np.arange(len(path))
    iy, ix = ndi.distance_transform_edt(
        path_id < 0, return_distances=False, return_indices=True)
    nearest = path_id[iy, ix]
    return mask & keep[nearest]


def scribble_shrink(label: np.ndarray,
                    ratio: float,
                    ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Shrink every scribble of a label map by ``ratio``.

    Each scribble (:func:`label_scribbles`) is shortened by
    :func:`shrink_mask`. Deterministic: no randomness is involved.
    ``ratio=0`` returns the input unchanged; ``ratio=1`` leaves one pixel
    per scribble; the labeled-pixel count never grows with the ratio.

    Args:
        label (np.ndarray): ``(H, W)`` uint8 scribble label map.
        ratio (float): Shrink ratio in ``[0, 1]``.
        ignore_index (int): Value of unlabeled pixels. Defaults to 255.

    Returns:
        np.ndarray: ``(H, W)`` uint8 label map.
    """
    ratio = _check_ratio(ratio)
    if ratio == 0.0:
        return label.copy()
    comp, classes = label_scribbles(label, ignore_index)
    out = np.full_like(label, ignore_index)
    h, w = label.shape
    for i, box in enumerate(ndi.find_objects(comp, max_label=len(classes))):
        # One pixel of margin so that skeletonize never sees the border.
        ys = slice(max(box[0].start - 1, 0), min(box[0].stop + 1, h))
        xs = slice(max(box[1].start - 1, 0), min(box[1].stop + 1, w))
        keep = shrink_mask(comp[ys, xs] == i + 1, ratio)
        out[ys, xs][keep] = classes[i]
    return out


def _read_instance(path: str, label_shape: Tuple[int, int],
                   label_path: str) -> np.ndarray:
    instance = read_label_png(path, eight_bit=True)
    if instance.shape != label_shape:
        raise ValueError(f'instance map {path} has size {instance.shape} '
                         f'(HxW) but label {label_path} has {label_shape}')
    return instance


def drop_dir(src_dir: str,
             out_dir: str,
             ratio: float,
             seed: int = 0,
             keep_background: bool = True,
             link_distance: float = 6.0,
             instance_dir: Optional[str] = None,
             progress: Progress = None) -> Dict[str, List[str]]:
    """Write the scribble-drop variant of every ``*.png`` of ``src_dir``.

    Args:
        src_dir (str): Directory of scribble label PNGs.
        out_dir (str): Output directory (created).
        ratio (float): Drop probability in ``[0, 1]``.
        seed (int): Global seed; each file uses ``file_rng(seed, stem)``.
            Defaults to 0.
        keep_background (bool): See :func:`scribble_drop`. Defaults to
            True.
        link_distance (float): See :func:`group_objects`. Defaults to 6.
        instance_dir (str, optional): Directory of VOC
            ``SegmentationObject`` PNGs. A file without one there is grouped
            by distance (VOC has instance maps for a subset of images).
        progress (callable, optional): Wraps the file list, e.g. ``tqdm``.

    Returns:
        dict: ``'written'``: stems written; ``'with_instances'``: stems
        grouped with an instance map.
    """
    ratio = _check_ratio(ratio)
    seed = _check_seed(seed)
    if instance_dir is not None and not osp.isdir(instance_dir):
        raise FileNotFoundError(f'instance_dir not found: {instance_dir}')
    with_instances = []

    def convert(path: str, stem: str) -> np.ndarray:
        label = read_label_png(path, eight_bit=True)
        instance = None
        if instance_dir is not None:
            inst_path = osp.join(instance_dir, stem + '.png')
            if osp.isfile(inst_path):
                instance = _read_instance(inst_path, label.shape, path)
                with_instances.append(stem)
        return scribble_drop(
            label,
            ratio,
            file_rng(seed, stem),
            keep_background=keep_background,
            link_distance=link_distance,
            instance=instance)

    written = convert_folder(src_dir, '.png', out_dir, convert, progress)
    return dict(written=written, with_instances=with_instances)


def shrink_dir(src_dir: str,
               out_dir: str,
               ratio: float,
               progress: Progress = None) -> List[str]:
    """Write the scribble-shrink variant of every ``*.png`` of ``src_dir``.

    Args:
        src_dir (str): Directory of scribble label PNGs.
        out_dir (str): Output directory (created).
        ratio (float): Shrink ratio in ``[0, 1]``.
        progress (callable, optional): Wraps the file list, e.g. ``tqdm``.

    Returns:
        list[str]: The stems written, sorted.
    """
    ratio = _check_ratio(ratio)

    def convert(path: str, stem: str) -> np.ndarray:
        return scribble_shrink(read_label_png(path, eight_bit=True), ratio)

    return convert_folder(src_dir, '.png', out_dir, convert, progress)
