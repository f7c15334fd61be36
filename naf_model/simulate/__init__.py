"""Binaural room impulse responses for a scene: pyroomacoustics image sources + ray tracing, spherical head.

from naf_model.simulate import SimulationConfig, simulate_binaural_rirs
irs = simulate_binaural_rirs(scene, emitter_xy, listeners_xy, SimulationConfig())  # (L, 4, 2, N) float32
"""

from naf_model.simulate.config import SimulationConfig, SimulationError
from naf_model.simulate.rirs import simulate_binaural_rirs

__all__ = ["SimulationConfig", "SimulationError", "simulate_binaural_rirs"]
