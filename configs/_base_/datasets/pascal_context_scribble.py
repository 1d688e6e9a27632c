# PASCAL-Context (59 classes + background) with ScribbleSup scribbles.
_base_ = './voc12aug_scribble.py'
dataset_type = 'PascalContextScribbleDataset'
data_root = 'data/VOCdevkit/VOC2010'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/SegmentationContext/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='pascal_context_scribble')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/SegmentationContext/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassContext')))
test_dataloader = val_dataloader
