# UPerNet on ResNet-50-V1c, partial cross-entropy on the ScribbleSup
# scribbles of VOC 2012 aug: the baseline every scribble method is
# compared with.
_base_ = [
    '../_base_/models/upernet_r50.py',
    '../_base_/datasets/voc12aug_scribble.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
