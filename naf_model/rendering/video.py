"""The walk video: the plan with the emitter and the moving, turning listener, muxed with the walk's audio.

Frames are drawn with matplotlib (the plan once, then only the moving markers: blitting) and piped as raw
RGBA to ffmpeg, which encodes H.264 and adds the WAV as AAC. Written atomically (`naf_model.atomic`). The
figure has its own Agg canvas (no pyplot), so no global matplotlib backend is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
from tqdm import tqdm

from naf_model.atomic import atomic_path
from naf_model.errors import NafError

FPS = 30


class VideoError(NafError):
    """ffmpeg is missing or failed while writing the walk video."""


def ffmpeg_path() -> str | None:
    """The ffmpeg executable on PATH, or None."""
    return shutil.which("ffmpeg")


def write_walk_video(scene, emitter: np.ndarray, times: np.ndarray, xy: np.ndarray, headings: np.ndarray,
                     audio_path: str | os.PathLike, out_path: str | os.PathLike,
                     progress: bool = False) -> Path:
    """Write an MP4 of the walk: times (K,) s, xy (K, 2) m, headings (K,) deg of the listener, with audio.

    One frame per 1/FPS s up to the audio's end; the listener shown is the latest update at that time.
    """
    import soundfile as sf
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from naf_model.scene.plot import draw_plan

    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise VideoError("ffmpeg is not installed, so no video was written; install it (apt install ffmpeg)")
    seconds = sf.info(str(audio_path)).duration
    fig = Figure(figsize=(8.0, 6.0), dpi=100)  # 800 x 600: even sizes for yuv420p
    FigureCanvasAgg(fig)  # blitting (copy_from_bbox, restore_region) and buffer_rgba need an Agg canvas
    ax = fig.add_subplot()
    draw_plan(scene, grid_spacing=None, ax=ax)
    ax.plot(xy[:, 0], xy[:, 1], color="#1f5fbf", lw=1.0, ls="--", alpha=0.5, zorder=6)
    ax.plot(*emitter, marker="*", ms=18, color="#d62728", mec="black", zorder=8, label="emitter")
    trail, = ax.plot([], [], color="#1f5fbf", lw=2.5, zorder=7, animated=True)
    dot, = ax.plot([], [], marker="o", ms=11, color="#1f5fbf", mec="black", zorder=9, animated=True)
    nose = ax.quiver([0.0], [0.0], [1.0], [0.0], angles="xy", scale_units="xy", scale=2.0, width=0.008,
                     color="#1f5fbf", zorder=9, animated=True)
    clock = ax.text(0.01, 0.99, "", transform=ax.transAxes, va="top", ha="left", fontsize=12,
                    animated=True, zorder=10, bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    ax.set_title(f"{scene.name}: listener walk (heading arrow), emitter star")
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(fig.bbox)
    width, height = fig.canvas.get_width_height()

    out = Path(out_path)
    with atomic_path(out) as tmp:
        cmd = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgba",
               "-s", f"{width}x{height}", "-r", str(FPS), "-i", "-", "-i", str(audio_path),
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "192k", "-shortest", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            n_frames = max(1, int(np.ceil(seconds * FPS)))
            for f in tqdm(range(n_frames), desc="video", unit="frame", disable=not progress, leave=False):
                k = max(0, int(np.searchsorted(times, f / FPS, side="right")) - 1)
                fig.canvas.restore_region(background)
                trail.set_data(xy[: k + 1, 0], xy[: k + 1, 1])
                dot.set_data([xy[k, 0]], [xy[k, 1]])
                rad = np.deg2rad(headings[k])
                nose.set_offsets([xy[k]])
                nose.set_UVC([np.cos(rad)], [np.sin(rad)])
                clock.set_text(f"t = {f / FPS:5.2f} s   heading {headings[k]:5.1f}°")
                for artist in (trail, nose, dot, clock):
                    ax.draw_artist(artist)
                proc.stdin.write(np.asarray(fig.canvas.buffer_rgba()).tobytes())
            proc.stdin.close()
            error = proc.stderr.read().decode(errors="replace")
            if proc.wait() != 0:
                raise VideoError(f"ffmpeg failed writing {out}: {' '.join(error.split())[:300]}")
        except BrokenPipeError:
            error = proc.stderr.read().decode(errors="replace")
            proc.wait()
            raise VideoError(f"ffmpeg failed writing {out}: {' '.join(error.split())[:300]}") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return out
