# mmseg's runtime (scope, environment, visualizer, logging, TTA model) with
# this plugin imported, so that every config can name its components.
# The iteration-based hooks are in ./schedules/, as in mmseg.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['mmscribble'], allow_failed_imports=False)
