"""Per-volume 3-D Dice on the original label grid (MSCMR-style tables)."""
import os.path as osp
from collections import OrderedDict, defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS

from ..datasets.volumes import load_meta, load_nifti, restore_volume
from ..utils.run_paths import path_error


def dice_3d(pred: np.ndarray, gt: np.ndarray, cls: int) -> float:
    """Dice of one class over a whole volume; NaN if absent in both."""
    p, g = pred == cls, gt == cls
    denom = int(p.sum()) + int(g.sum())
    if denom == 0:
        return float('nan')
    return 2.0 * int((p & g).sum()) / denom


@METRICS.register_module()
class VolumeDiceMetric(BaseMetric):
    """Dice per structure, computed per 3-D volume, averaged over volumes.

    Slice predictions are grouped by volume (``meta.json`` written by
    ``tools/dataset_converters/mscmr.py`` lists each volume's slices in
    order), mapped back to the original voxel grid by
    :func:`mmscribble.datasets.volumes.restore_volume` (undoing the centre
    crop and the in-plane resampling, nearest neighbour) and compared with
    the original NIfTI label, as published MSCMR tables do. Volumes are
    equally weighted; a structure absent from both prediction and label of
    a volume is left out of that structure's mean.

    Args:
        meta_file (str): ``meta.json`` of the converted dataset.
        nifti_root (str): folder the ``label`` paths in ``meta.json`` are
            relative to (the raw MSCMR root).
        class_names (Sequence[str], optional): names of the foreground
            classes 1..K-1 used in the metric keys. Default: from the meta.

    Attributes:
        per_volume (OrderedDict): after :meth:`compute_metrics`, each scored
            volume's Dice per structure (``{volume: {name: dice}}``, NaN
            where the structure is absent from prediction and label), in
            the order of ``meta.json``. Paired comparisons over volumes
            (``tools/benchmark/mscmr_table.py``) read it.

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
        self.per_volume = OrderedDict()

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            stem = osp.splitext(osp.basename(sample['img_path']))[0]
            pred = sample['pred_sem_seg']['data'][0].cpu().numpy()
            self.results.append((stem, pred.astype(np.uint8)))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        if not osp.isfile(self.meta_file):
            # Checked at construction; it may have been removed since.
            raise FileNotFoundError(
                f'VolumeDiceMetric: meta_file not found: {self.meta_file}')
        meta = load_meta(self.meta_file)
        names = list(self.class_names or meta['classes'][1:])
        preds = dict(results)
        per_class = defaultdict(list)
        per_volume = OrderedDict()
        lines = []
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
            gt, _, _ = load_nifti(osp.join(self.nifti_root, vmeta['label']))
            gt = np.asarray(gt).astype(np.int64)
            row = []
            per_volume[vol] = OrderedDict()
            for c, name in enumerate(names, start=1):
                d = dice_3d(pred, gt, c)
                per_volume[vol][name] = d
                if not np.isnan(d):
                    per_class[name].append(d)
                row.append(f'{name} {d:.3f}')
            lines.append(f'{vol}: ' + ', '.join(row))
        if not lines:
            raise ValueError('VolumeDiceMetric: no volume of meta_file '
                             f'{self.meta_file} matched the predictions')
        self.per_volume = per_volume
        print_log(
            'per-volume Dice:\n  ' + '\n  '.join(lines), logger='current')
        out = OrderedDict()
        for name in names:
            out[f'Dice_{name}'] = float(np.mean(per_class[name])) \
                if per_class[name] else float('nan')
        out['mDice3D'] = float(np.nanmean([out[f'Dice_{n}'] for n in names]))
        out['num_volumes'] = len(lines)
        return out
