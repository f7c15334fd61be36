"""The live audio engine: music through the field's predicted IR to the sound card (sounddevice)."""

from naf_app.audio.health import AudioStats
from naf_app.audio.live import LiveAudio

__all__ = ["AudioStats", "LiveAudio"]
