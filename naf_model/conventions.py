"""The fixed conventions shared by data, model and metrics (see shared DESIGN.md); change them nowhere else."""

from types import MappingProxyType

SAMPLE_RATE = 22_050
"""Hz, for every IR, spectrogram and rendered training signal."""
N_FFT = 512
HOP = 128
N_FREQ = 256
"""Frequency bins kept: the Nyquist bin of the 512-point STFT is dropped."""
STFT_SETTINGS = MappingProxyType({"sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop": HOP, "n_freq": N_FREQ})
"""The STFT settings stored in (and checked against) every data set and checkpoint; read-only."""
LOG_EPS = 1e-3
"""Spectrogram values are ln(|X| + LOG_EPS); ln(LOG_EPS) is the 'silence' value used for padding."""
ORIENTATIONS_DEG = (0.0, 90.0, 180.0, 270.0)
"""Training head orientations, degrees counter-clockwise from +x."""
EARS = ("left", "right")
"""Channel 0 is the left ear, channel 1 the right ear."""
EAR_HEIGHT_M = 1.5
SPEED_OF_SOUND = 343.0
"""m/s, used by the simulator and by the geometric phase."""
HEAD_RADIUS_M = 0.0875
"""Radius of the spherical head: the simulator's default (Woodworth ITD, head shadow) and the geometric
phase's ITD for checkpoints that do not record their own."""
ONSET_BELOW_PEAK_DB = 20.0
"""ISO 3382-1: the direct-sound onset is where the energy first comes within 20 dB of its maximum; the C50
metric, the listening synthesis (predicted onsets) and the clarity loss all find onsets this way."""
WALL_CLEARANCE_M = 0.2
"""Positions closer than this to a wall are not free."""
LOUDNESS_FLOOR_DB = -60.0
"""Loudness maps (dB re their maximum) show levels below this in their darkest colour, in files and in the app."""
NORM_STD_FACTOR = 3.0
"""Log-magnitudes are normalised as (x - mean) / (NORM_STD_FACTOR * std), per (frequency, frame)."""
STD_FLOOR = 1e-3
"""Lower bound on a normalisation std, so a cell that is silent in every training IR stays finite."""
PHASE_METHODS = ("listening", "geometric", "random")
"""How predicted magnitudes become a waveform (`naf_model.field.listening.synthesize`); the first is played."""
LATE_FRAME_S = 0.010
"""Seconds per frame of the late part's description (per ear, per octave band 125 Hz-8 kHz, mean power):
an octave band decaying 60 dB in 0.3 s changes by 2 dB a frame, smooth enough to interpolate."""
LATE_LOG_EPS = 1e-14
"""The late description stores ln(band power + LATE_LOG_EPS) (power on the simulator's scale, amplitude 1 at
1 m): -140 dB, below any decay a data set keeps."""
EARLY_AFTER_DIRECT_S = 0.100
"""The early part (full STFT resolution) reaches this far past the scene's longest direct path; the late part
(`LATE_FRAME_S` band powers) starts there. See `naf_model.split` and scripts/late_split.py for the measurement."""
CROSSFADE_S = 0.020
"""The early part overlaps the late part by this much; the played IR crossfades them (equal power) over it."""
