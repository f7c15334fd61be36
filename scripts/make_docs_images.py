"""Regenerate the documentation's images: docs/app.png, the main window on apartment_1 with its bundled field.

The window opens offscreen with audio off, waits until the field has drawn the IR panel and the loudness
heatmap, and is saved as PNG. Run it when the app's look changes (tests never write into docs/):
    .venv/bin/python scripts/make_docs_images.py [--scene apartment_1] [--checkpoint PATH] [--out docs/app.png]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from naf_model.paths import REPO_ROOT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="apartment_1", help="scene (default apartment_1)")
    parser.add_argument("--checkpoint", type=Path, help="field (default: the scene's bundled one)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "app.png", help="PNG to write")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"), help="default cpu")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PyQt6.QtWidgets import QApplication

    from naf_app.audio_link import AudioLink
    from naf_app.screenshot import save_png, wait_and_grab
    from naf_app.window import MainWindow
    from naf_model.errors import NafError
    from naf_model.paths import bundled_checkpoint
    from naf_model.scene import load_scene

    try:
        scene = load_scene(args.scene)
    except NafError as exc:
        print(f"make_docs_images: error: {exc}", file=sys.stderr)
        return 2
    checkpoint = args.checkpoint or bundled_checkpoint(scene.name)
    if not Path(checkpoint).is_file():
        print(f"make_docs_images: error: no checkpoint at {checkpoint}; pass --checkpoint", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(scene, checkpoint, args.device, AudioLink.open(no_audio=True), scene_arg=args.scene)
    window.resize(1400, 820)
    window.show()
    try:
        image = wait_and_grab(window)
    except TimeoutError as exc:
        print(f"make_docs_images: error: {exc}", file=sys.stderr)
        return 1
    finally:
        window.close()
        app.processEvents()
    print(f"wrote {save_png(image, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
