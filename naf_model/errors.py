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


class WriteError(NafError, OSError):
    """A file could not be written because of its file system: disk full, read-only, no permission.

    Also an OSError (with `errno` and `filename`), so code that handled the raw OS error still does.
    """

    def __init__(self, message: str, code: int | None = None, filename: str | None = None) -> None:
        super().__init__(message)
        self.errno, self.filename = code, filename

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple:
        return type(self), (self.args[0], self.errno, self.filename)
