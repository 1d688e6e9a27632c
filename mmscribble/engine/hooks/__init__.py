from .phase_switch_hook import PhaseSwitchHook

__all__ = ['PhaseSwitchHook']
