# MSCMR benchmark, CDSP (Zhang et al., AAAI 2024): the partial CE row's
# network, schedule and seed (the _base_) with CDSPHead: + label-smoothed CE
# on pseudo-labels (Eq. 9), LoRM on the 320-channel stride-8 feature
# (Eq. 10-13, paper's key mask) and both distance entropies (Eq. 15, 17,
# lambda_s = 1, lambda_c = 6 as Tab. 2), each with weight 1.
#
# Pseudo-label source: the partial CE row's own predictions on the training
# slices (scribbled pixels keep their class). Image tags, the paper's
# source, say almost nothing here: 375 of 382 training slices carry an LV
# scribble. tools/benchmark/mscmr_table.py writes them from the pce row's
# checkpoint of the same seed before training this row
# (benchmark.pseudo_labels_of) into the run's work dir; trained on its own,
# the row reads <data_root>/pseudo_label/pce, written by
#   python tools/dataset_converters/segmentor_pseudo_labels.py \
#       configs/benchmark/mscmr/pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py \
#       <pce work dir>/iter_240.pth <data_root>/pseudo_label/pce \
#       --scribble-override \
#       --cfg-options train_dataloader.dataset.data_root=<data_root>
# (382 slices, about a minute on 2 CPU cores). Distance maps are computed
# online from the scribbles and those pseudo-labels.
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
crop_size = (161, 161)
model = dict(
    decode_head=dict(
        type='CDSPHead',
        loss_segc=dict(type='LabelSmoothCrossEntropyLoss', epsilon=0.1),
        loss_ds=dict(type='DistanceEntropyLoss', loss_name='loss_ds'),
        loss_dc=dict(type='DistanceEntropyLoss', loss_name='loss_dc'),
        loss_lorm=dict(type='LoRMLoss'),
        lorm=dict(mask_mode='key', chunk_size=1024),
        lorm_in_index=3,
        lorm_in_channels=320))
train_pipeline = [
    dict(type='LoadScribbleImageFromFile'),
    dict(type='LoadScribbleAnnotations'),
    dict(type='CDSPDistanceMaps', lam_s=1.0, lam_c=6.0),
    dict(type='ScribbleRandomResize', scale=None, ratio_range=(0.8, 1.25)),
    dict(type='ScribbleRandomRotate', prob=0.5, degree=15, img_pad_val=0),
    dict(type='ScribbleRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ScribbleRandomCrop', crop_size=crop_size),
    dict(type='PackScribbleInputs'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='img_dir/train',
            seg_map_path='ann_dir/train',
            gt_pseudo_seg='pseudo_label/pce'),
        pipeline=train_pipeline))
benchmark = dict(
    method='CDSP',
    labels='scribbles',
    baseline=False,
    control='pce',
    pseudo_labels_of='pce',
    cost=0.9)
