# MSCMR benchmark, BLPSeg with class-balanced self-training (ours; issue
# 15): the blpseg-selftrain row (the paper's self-training from a quarter
# of the schedule, pseudo-labels replacing the scribbles, tau = 0.9) with
# one change to which pixels become labels: besides every pixel of
# confidence >= tau, each image keeps, per tagged class, the 20% most
# confident of the pixels predicted as that class
# (self_training_class_portion=0.2; 20% is CBST's starting portion, Zou et
# al., ECCV 2018, not tuned here).
# Why (tools/analysis_tools/self_training_quality.py, val only, tags from
# the masks, the three blpseg checkpoints of the table): tau = 0.9 labels
# 15-27% of the pixels at 99.9% accuracy, but they are background: 0.1-0.6%
# of the myocardium and 12-24% of RV and LV get a label. The target then
# teaches the class proportions of the confident set, and the paper's
# rule under-segments RV and Myo on one seed of three (0.502). With
# p = 0.2 the myocardium gets 11-21% of its pixels labeled at 65-78%
# precision (the plain prediction: 46-62%), RV and LV 26-37% at 88-95%.
# Measured, 3 seeds (2026-12-02 evening): it LOSES, 0.523 / 0.524 / 0.448
# (-0.143 [-0.241, -0.051] against pce-upernet): on seeds 0 and 2 the LV
# spreads over 20% of the background (LV Dice 0.13, 0.16). Per image, the
# top 20% of the pixels predicted LV at iteration 60 include the LV leak
# of that early model, and self-training makes it grow. Kept as the
# measured negative result; docs/blpseg.md.
# Section 'variants': trained with the main section's seeds, but not part
# of `--section main`, whose time budget it would exceed.
_base_ = './blpseg-selftrain_upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py'
model = dict(decode_head=dict(self_training_class_portion=0.2))
benchmark = dict(
    method='BLPSeg + class-balanced self-training (ours)',
    labels='scribbles',
    baseline=False,
    section='variants',
    control='pce-upernet')
