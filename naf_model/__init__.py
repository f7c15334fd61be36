"""naf_model: scenes, simulated binaural IRs, spectrogram data sets and Neural Acoustic Fields (no Qt here)."""

__version__ = "0.1.0"
