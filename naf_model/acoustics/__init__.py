"""Measures of a sound: what a binaural IR's waveform does, measured the same way by everyone who measures.

Below evaluation, analysis, the benchmarks and the app, which all take their numbers from here (as
pyroomacoustics keeps its acoustics beside its simulator): `decay` (Schroeder curve, T60, EDT, C50, the
direct-sound onset), `energy` (levels, 50 ms window energies, DRR), `bands` (octave bands), `interaural`
(ITD, ILD per band, the direct arrival's ITD), `readout` (the app's readout of a played IR).
"""
