# Upper-bound reference: the same data trained with the dense SBD masks.
_base_ = './voc12aug_scribble.py'
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug')))
