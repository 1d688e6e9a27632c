# MSCMR benchmark, BLPSeg (Wang et al., TIP 2023) on the backbone, input,
# batch, optimizer, schedule and seed of the partial-CE baseline (the
# _base_ below); only the head, its losses and self-training differ.
#
# Head: BLPSegHead as in configs/blpseg/ (UPerNet decoder, segmentation
# and scribble heads of two 1x1 Conv + BN + ReLU each, LAM with a
# low-level image embedding, annotation-probability WCE w = 0.02 + BLP
# loss gamma = 2), narrowed for two CPU cores: decoder 128 channels
# (paper 256), LAM embedding 64 channels (paper 256). The decoder reads
# all four MobileNetV2 outputs (24, 32, 96, 320 channels at strides
# 4, 8, 8, 8) and predicts at stride 4 (41x41 logits for 161x161 crops).
# LAM sigma: the paper's 6 cells on 96x96 logits is 6% of the map side;
# 3 cells on 41x41 keeps roughly that share (window 2 * ceil(3 sigma) + 1
# = 19 cells).
# No self-training on this schedule: measured on 2026-12-01 (val, seed
# 0), this config gives mean Dice 0.727, and the same with the paper's
# self-training from a quarter of the schedule (iteration 60, as 10k of
# 42k on VOC; row blpseg-selftrain) 0.599: pseudo-labels of a model 60
# iterations old label background as LV, and self-training keeps them
# (from iteration 120 the LV leak is worse). See docs/benchmarks.md.
_base_ = './pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
max_iters = 240
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='BLPSegHead',
        in_channels=[24, 32, 96, 320],
        in_index=[0, 1, 2, 3],
        channels=128,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.0,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        num_branch_convs=2,
        branch_norm=True,
        detach_scribble_feat=True,
        use_lam=True,
        lam=dict(
            sigma=3.0,
            learnable_sigma=False,
            mode='local',
            similarity='low',
            use_distance=True,
            embed_dims=64,
            proj_channels=64),
        loss_annot=dict(
            type='AnnotationProbabilityLoss', unlabeled_weight=0.02),
        loss_decode=dict(type='BLPLoss', gamma=2.0),
        # Off: see the note at the top (blpseg-selftrain switches it on).
        self_training=False,
        self_training_threshold=0.9,
        self_training_mode='replace'))
benchmark = dict(
    method='BLPSeg',
    labels='scribbles',
    baseline=False,
    control='pce-upernet',
    cost=1.7)
