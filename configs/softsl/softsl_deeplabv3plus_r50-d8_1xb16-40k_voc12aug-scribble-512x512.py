# Soft self-labeling at batch 16: 60 epochs are 39,660 iterations. The
# learning rate stays 0.007 (see the batch-12 file).
_base_ = './softsl_deeplabv3plus_r50-d8_1xb12-53k_voc12aug-scribble-512x512.py'
batch_size = 16
iters_per_epoch = 10582 // batch_size
max_iters = 60 * iters_per_epoch
pretrain_iters = 10 * iters_per_epoch
train_dataloader = dict(batch_size=batch_size)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters)
custom_hooks = [
    dict(
        type='PhaseSwitchHook',
        phases=[
            dict(begin=pretrain_iters, set={'decode_head.self_labeling': True})
        ])
]
