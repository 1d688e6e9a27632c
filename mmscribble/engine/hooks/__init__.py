from .channels_last_hook import ChannelsLastHook
from .phase_switch_hook import PhaseSwitchHook
from .spml_classifier_refit_hook import SPMLClassifierRefitHook

__all__ = ['ChannelsLastHook', 'PhaseSwitchHook', 'SPMLClassifierRefitHook']
