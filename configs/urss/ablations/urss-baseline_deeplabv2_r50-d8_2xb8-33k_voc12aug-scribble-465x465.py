# URSS ablation (Tab. 1, Fig. 3): partial cross-entropy only (first row).
# Phase 1 only: 33100 iterations (50 epochs at batch 16) at lr 1e-3,
# no self-supervision (so no PhaseSwitchHook).
_base_ = '../urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py'
model = dict(
    decode_head=dict(random_walk=None, loss_entropy=None, loss_eigen=None))
custom_hooks = []
train_cfg = dict(max_iters=33100)
