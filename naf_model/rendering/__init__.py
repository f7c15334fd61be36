"""Offline binaural renders (`naf render`, `naf walk`): IR sources, listener paths, renders, walk videos.

Orchestration above the numpy-only DSP of `naf_model.audio`: it reaches the simulator or the field for IRs,
the scene for positions and matplotlib/ffmpeg for videos. Import the submodules directly
(`naf_model.rendering.render`, `.ir_source`, `.path`, `.video`, `.calibration`); this package imports
nothing itself, so the CLI can read `IR_SOURCES` without loading the DSP or the simulator.
"""
