# UPerNet on ResNet-50-V1c trained on the dense SBD masks (the same loss,
# which on dense masks is the cross-entropy over non-void pixels): the
# fully supervised upper bound of the scribble baselines.
_base_ = [
    '../_base_/models/upernet_r50.py', '../_base_/datasets/voc12aug_full.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
