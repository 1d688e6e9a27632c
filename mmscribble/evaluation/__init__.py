from .volume_dice_metric import VolumeDiceMetric, dice_3d

__all__ = ['VolumeDiceMetric', 'dice_3d']
