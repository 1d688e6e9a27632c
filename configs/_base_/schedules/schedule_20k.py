# mmseg's 20k schedule, unchanged: SGD lr 0.01, poly decay to 1e-4,
# validation and checkpoints every 2000 iterations, and its default hooks.
_base_ = 'mmseg::_base_/schedules/schedule_20k.py'
