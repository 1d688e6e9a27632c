from .channels_last_hook import ChannelsLastHook
from .phase_switch_hook import PhaseSwitchHook

__all__ = ['ChannelsLastHook', 'PhaseSwitchHook']
