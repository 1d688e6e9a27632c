"""Per-volume 3-D Dice, HD95 and ASD on the original label grid
(MSCMR-style tables)."""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ..datasets.volumes import load_meta, load_nifti, restore_volume
from ..utils.run_paths import path_error
from .surface_distance import hd95_asd


def dice_3d(pred: np.ndarray, gt: np.ndarray, cls: int) -> float:
    """Dice of one class over a whole volume; NaN if absent in both."""
    p, g = pred == cls, gt == cls
    denom = int(p.sum()) + int(g.sum())
    if denom == 0:
        return float('nan')
    return 2.0 * int((p & g).sum()) / denom


@METRICS.register_module()
class VolumeDiceMetric(BaseMetric):
    """Dice, HD95 and ASD per structure, computed per 3-D volume, averaged
    over volumes.

    Slice predictions are grouped by volume (``meta.json`` written by
    ``tools/dataset_converters/mscmr.py`` lists each volume's slices in
    order), mapped back to the original voxel grid by
    :func:`mmscribble.datasets.volumes.restore_volume` (undoing the centre
    crop and the in-plane resampling, nearest neighbour) and compared with
    the original NIfTI label, as published MSCMR tables do. Volumes are
    equally weighted; a structure absent from both prediction and label of
    a volume is left out of that structure's mean.

    HD95 and ASD (mm, :mod:`mmscribble.evaluation.surface_distance`:
    medpy's definitions, which the MR papers use) are measured on the
    native voxel grid with the label NIfTI's voxel spacing. They are
    undefined when the structure is absent from the prediction or from
    the label of a volume: that volume gets NaN, is left out of the
    structure's mean, and the log names it (medpy would raise; a made-up
    distance would hide the miss, which Dice already scores 0).

    Args:
        meta_file (str): ``meta.json`` of the converted dataset.
        nifti_root (str): folder the ``label`` paths in ``meta.json`` are
            relative to (the raw MSCMR root).
        class_names (Sequence[str], optional): names of the foreground
            classes 1..K-1 used in the metric keys. Default: from the meta.
        surface_metrics (bool): Also compute ``HD95_<name>``,
            ``ASD_<name>``, ``mHD95`` and ``mASD`` (mm). Default: True.

    Attributes:
        per_volume (OrderedDict): after :meth:`compute_metrics`, each scored
            volume's Dice per structure (``{volume: {name: dice}}``, NaN
            where the structure is absent from prediction and label), in
            the order of ``meta.json``. Paired comparisons over volumes
            (``tools/benchmark/mscmr_table.py``) read it.
        per_volume_distances (OrderedDict): likewise, each volume's
            ``{'HD95_<name>': mm, 'ASD_<name>': mm}`` (NaN where
            undefined); empty without ``surface_metrics``.

    Raises:
        FileNotFoundError: when ``meta_file`` or ``nifti_root`` does not
            exist, at construction: the Runner builds the validation
            evaluator when ``runner.train()`` starts, so a wrong path stops
            the run before iteration 1 instead of after the training and a
            whole validation pass.
    """

    default_prefix = 'vol'

    def __init__(self,
                 meta_file: str,
                 nifti_root: str,
                 class_names: Optional[Sequence[str]] = None,
                 surface_metrics: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        for key, path, kind, exists in (('meta_file', meta_file, 'file',
                                         osp.isfile),
                                        ('nifti_root', nifti_root, 'folder',
                                         osp.isdir)):
            if not isinstance(path, str) or not path:
                raise TypeError(f'VolumeDiceMetric: {key} must be a path '
                                f'string, got {path!r}')
            if not exists(path):
                raise FileNotFoundError(
                    'VolumeDiceMetric: ' +
                    path_error(f'<val|test>_evaluator.{key}', path, kind))
        self.meta_file = meta_file
        self.nifti_root = nifti_root
        self.class_names = class_names
        self.surface_metrics = bool(surface_metrics)
        self.per_volume = OrderedDict()
        self.per_volume_distances = OrderedDict()

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            stem = osp.splitext(osp.basename(sample['img_path']))[0]
            pred = sample['pred_sem_seg']['data'][0].cpu().numpy()
            self.results.append((stem, pred.astype(np.uint8)))

    def _score_volume(self, pred: np.ndarray, vmeta: dict,
                      names: Sequence[str]) -> Tuple[dict, dict]:
        """Dice and (``surface_metrics``) HD95 / ASD of one restored
        ``(X, Y, Z)`` prediction against its label NIfTI."""
        gt, spacing, _ = load_nifti(osp.join(self.nifti_root, vmeta['label']))
        gt = np.asarray(gt).astype(np.int64)
        dice, dist = OrderedDict(), OrderedDict()
        for c, name in enumerate(names, start=1):
            dice[name] = dice_3d(pred, gt, c)
            if self.surface_metrics:
                hd95, asd = hd95_asd(pred == c, gt == c, spacing)
                dist[f'HD95_{name}'], dist[f'ASD_{name}'] = hd95, asd
        return dice, dist

    def compute_metrics(self, results: List) -> Dict[str, float]:
        if not osp.isfile(self.meta_file):
            # Checked at construction; it may have been removed since.
            raise FileNotFoundError(
                f'VolumeDiceMetric: meta_file not found: {self.meta_file}')
        meta = load_meta(self.meta_file)
        names = list(self.class_names or meta['classes'][1:])
        preds = dict(results)
        per_volume, distances = OrderedDict(), OrderedDict()
        for vol, vmeta in meta['volumes'].items():
            slices = vmeta['slices']
            have = [s in preds for s in slices]
            if not any(have):
                continue  # a volume of another split
            if not all(have):
                missing = [s for s, h in zip(slices, have) if not h]
                raise ValueError(
                    f'volume {vol}: no prediction for slices {missing[:5]};'
                    ' evaluate every slice of a volume (the split file must '
                    'list whole volumes)')
            pred = restore_volume([preds[s] for s in slices], vmeta)
            per_volume[vol], distances[vol] = self._score_volume(
                pred, vmeta, names)
        if not per_volume:
            raise ValueError('VolumeDiceMetric: no volume of meta_file '
                             f'{self.meta_file} matched the predictions')
        self.per_volume, self.per_volume_distances = per_volume, distances
        _log_volumes(per_volume, distances)
        out = OrderedDict()
        for name in names:
            out[f'Dice_{name}'] = _mean(v[name] for v in per_volume.values())
        out['mDice3D'] = float(np.nanmean([out[f'Dice_{n}'] for n in names]))
        if self.surface_metrics:
            for kind in ('HD95', 'ASD'):
                keys = [f'{kind}_{n}' for n in names]
                for key in keys:
                    out[key] = _mean(v[key] for v in distances.values())
                out[f'm{kind}'] = _mean(out[k] for k in keys)
        out['num_volumes'] = len(per_volume)
        return out


def _mean(values) -> float:
    """Mean of the non-NaN values; NaN when there is none."""
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values)) if values else float('nan')


def _log_volumes(per_volume: dict, distances: dict) -> None:
    """Log each volume's scores and the volumes left out of a distance
    mean."""
    lines, undefined = [], []
    for vol, dice in per_volume.items():
        row = [f'{name} {d:.3f}' for name, d in dice.items()]
        row += [f'{key} {d:.2f}' for key, d in distances[vol].items()]
        # Absent from both is no miss (Dice is NaN too); absent from one is.
        undefined += [
            f'{vol} {name}' for name in dice
            if np.isnan(distances[vol].get(f'HD95_{name}', 0.0))
            and not np.isnan(dice[name])
        ]
        lines.append(f'{vol}: ' + ', '.join(row))
    print_log(
        'per-volume Dice (HD95 / ASD in mm):\n  ' + '\n  '.join(lines),
        logger='current')
    if undefined:
        print_log(
            'HD95 / ASD undefined (structure absent from the prediction or '
            'the label), left out of the means: ' + ', '.join(undefined),
            logger='current')
