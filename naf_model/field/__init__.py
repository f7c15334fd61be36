"""Querying a trained Neural Acoustic Field: spectrograms, binaural IR waveforms, features."""

from naf_model.conventions import PHASE_METHODS
from naf_model.field.field import NeuralAcousticField

__all__ = ["PHASE_METHODS", "NeuralAcousticField"]
