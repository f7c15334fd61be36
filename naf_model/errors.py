"""Errors a user can cause. The command line prints them as one line, never as a traceback."""


class NafError(Exception):
    """Base class: the message says what was wrong and how to fix it."""


class SceneError(NafError):
    """Unknown scene, malformed scene file, unknown material, self-intersecting wall, open mesh."""


class PositionError(NafError):
    """A position outside the free space of the floor plan."""


class DataError(NafError):
    """Missing, truncated or mismatched data set."""


class CheckpointError(NafError):
    """Missing, truncated or mismatched checkpoint."""


class AudioError(NafError):
    """Unreadable or unusable audio file or impulse response."""
