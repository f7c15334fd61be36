"""The fixed conventions shared by data, model and metrics (see shared DESIGN.md); change them nowhere else."""

SAMPLE_RATE = 22_050
"""Hz, for every IR, spectrogram and rendered training signal."""
N_FFT = 512
HOP = 128
N_FREQ = 256
"""Frequency bins kept: the Nyquist bin of the 512-point STFT is dropped."""
LOG_EPS = 1e-3
"""Spectrogram values are ln(|X| + LOG_EPS); ln(LOG_EPS) is the 'silence' value used for padding."""
ORIENTATIONS_DEG = (0.0, 90.0, 180.0, 270.0)
"""Training head orientations, degrees counter-clockwise from +x."""
EARS = ("left", "right")
"""Channel 0 is the left ear, channel 1 the right ear."""
EAR_HEIGHT_M = 1.5
SPEED_OF_SOUND = 343.0
"""m/s, used by the simulator and by the geometric phase."""
WALL_CLEARANCE_M = 0.2
"""Positions closer than this to a wall are not free."""
PHASE_METHODS = ("listening", "geometric", "random")
"""How predicted magnitudes become a waveform (`naf_model.field.listening.synthesize`); the first is played."""
