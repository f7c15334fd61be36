"""Querying a trained Neural Acoustic Field: spectrograms, binaural IR waveforms, features."""

from naf_model.field.field import NeuralAcousticField
from naf_model.field.phase import PHASE_METHODS

__all__ = ["PHASE_METHODS", "NeuralAcousticField"]
