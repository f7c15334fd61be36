"""`naf-app`: the desktop studio. Drag a listener and an emitter over a scene's plan and hear the field.

    naf-app --scene apartment_1 [--checkpoint PATH] [--device auto|cpu|cuda] [--music FILE] [--no-audio]
    naf-app --data IMPORTED.h5 [...]   (a data set from `naf data import`: the plan derived from its positions)

Without --checkpoint the scene's bundled field is used, else the newest training run for the scene; with
none at all the plan opens alone and the status bar says how to train one (Scripts menu). An unknown scene
is one stderr line and exit status 2; every other problem (a checkpoint for another scene, a corrupt file,
no sound card, unreadable music, a remembered session that cannot be read: set aside as
session.json.bad-<time>) is one status-bar line and the app keeps running.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from naf_model import paths
from naf_model.cli.validate import NafArgumentParser
from naf_model.errors import CheckpointError, NafError


def build_parser() -> argparse.ArgumentParser:
    parser = NafArgumentParser(
        prog="naf-app",
        description="Interactive studio for a Neural Acoustic Field: drag the listener and emitter over the "
        "floor plan, turn the listener with the mouse wheel or arrow keys, and hear music through the "
        "predicted binaural IR.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--scene", help="bundled scene name, scene.json path or mesh path")
    where.add_argument("--data", type=Path, metavar="FILE.h5",
                       help="an imported data set (`naf data import`): opens the plan derived from its positions")
    parser.add_argument("--checkpoint", type=Path,
                        help="trained field (default: the scene's bundled field, else its newest run)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the field runs (default: CUDA when available)")
    parser.add_argument("--music", type=Path, help="audio file to play (WAV/FLAC/OGG; default: bundled loop)")
    parser.add_argument("--no-audio", action="store_true",
                        help="do not open the sound card (IRs are still computed and shown)")
    return parser


def default_checkpoint(scene_name: str) -> Path | None:
    """The field `naf_model.paths.default_checkpoint` picks for the scene, or None: the app then opens with the
    plan only and says how to train one."""
    try:
        return paths.default_checkpoint(scene_name)
    except CheckpointError:
        return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of `naf-app`: returns the process exit status."""
    args = build_parser().parse_args(argv)
    from naf_model.scene import load_scene

    scene_arg = args.scene if args.scene is not None else str(args.data)
    try:
        scene = load_scene(scene_arg)
    except NafError as exc:
        print(f"naf-app: error: {exc}", file=sys.stderr)
        return 2
    import pyqtgraph as pg
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from naf_app.audio.render_ahead import prefer_the_audio_thread
    from naf_app.audio_link import AudioLink
    from naf_app.session_file import default_session_path
    from naf_app.window import MainWindow

    prefer_the_audio_thread()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("naf-app")
    pg.setConfigOptions(antialias=True)
    checkpoint = args.checkpoint if args.checkpoint is not None else default_checkpoint(scene.name)
    audio = AudioLink.open(no_audio=args.no_audio, music=args.music)
    try:
        window = MainWindow(scene, checkpoint, args.device, audio, scene_arg=scene_arg,
                            session=default_session_path())
    except NafError as exc:  # the window stopped whatever it had started (threads, audio) before this
        print(f"naf-app: error: {exc}", file=sys.stderr)
        return 2
    window.show()
    # Ctrl-C in the terminal quits cleanly: Python only sees signals while it runs, so wake it up regularly.
    previous = signal.signal(signal.SIGINT, lambda *_: app.quit())
    wake = QTimer(interval=250)
    wake.timeout.connect(lambda: None)
    wake.start()
    try:
        code = app.exec()
    finally:
        wake.stop()
        window.shutdown()
        signal.signal(signal.SIGINT, previous)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
