"""Regenerate the documentation's screenshots of naf-app on apartment_1 with its bundled field.

One window, offscreen, audio off, three states in turn:
- docs/app.png: two emitters on the plan (the second selected), the loudness heatmap for it, its IR panel;
- docs/app_ab.png: after "Simulate here" (the simulator in a child process, the field's data-set settings):
  the simulation's IR overlaid dashed and its spectrograms under the field's, both readouts, hearing B;
- docs/app_c50.png: the heatmap switched to C50 (broadband) of the played IRs.
Each is saved only once the window shows that state. Tests never write into docs/; rerun this after a new
field is shipped:
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_docs_images.py
    .venv/bin/python scripts/make_docs_images.py --scene path/to/scene.json --checkpoint other.pt --out-dir /tmp
Exit status 0 when all three are written, 1 when the window never reached a state, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SHOTS = ("app.png", "app_ab.png", "app_c50.png")


def main(argv: list[str] | None = None) -> int:
    from naf_model.paths import REPO_ROOT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", default="apartment_1", help="scene name or scene file (default apartment_1)")
    parser.add_argument("--checkpoint", type=Path, help="field (default: the scene's bundled one)")
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "docs", help="folder of the PNGs (docs/)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"), help="default cpu")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for each state (900)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from naf_model.checkpoint import load_checkpoint
    from naf_model.errors import NafError
    from naf_model.paths import bundled_checkpoint
    from naf_model.scene import load_scene

    try:
        scene = load_scene(args.scene)
        checkpoint = args.checkpoint or bundled_checkpoint(scene.name)
        load_checkpoint(checkpoint, scene_hash=scene.geometry_hash())  # before any window: one line, status 2
    except NafError as exc:
        print(f"make_docs_images: error: {exc}", file=sys.stderr)
        return 2
    from PyQt6.QtWidgets import QApplication

    from naf_app.audio_link import AudioLink
    from naf_app.screenshot import save_png
    from naf_app.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(scene, checkpoint, args.device, AudioLink.open(no_audio=True), scene_arg=args.scene)
    window.resize(1400, 900)
    window.show()
    try:
        for name, image in shoot(window, args.timeout):
            print(f"wrote {save_png(image, args.out_dir / name)}")
    except TimeoutError as exc:
        print(f"make_docs_images: error: {exc}", file=sys.stderr)
        return 1
    finally:
        window.close()
        app.processEvents()
    return 0


def shoot(window, timeout_s: float):
    """Yield (file name, QImage) of SHOTS as the window reaches each state."""
    import numpy as np

    from naf_app.screenshot import grab_settled, wait_for, window_ready
    from naf_app.state import SIMULATION

    state = window.state

    def heatmap_for(metric: str) -> bool:
        mm = state.heatmap
        return (mm is not None and mm.metric == metric and mm.emitter_name == state.selected
                and np.allclose(mm.emitter_xy, state.emitter) and not window.status.progress.isVisible())

    def panel_shows_newest() -> bool:
        ir = state.last_ir
        return ir is not None and window.ir_panel.shown_seq == ir.seq and ir.selected == state.selected

    wait_for(lambda: window_ready(window), timeout_s, "the field did not answer", window)
    window.studio.add_emitter()
    wait_for(lambda: len(state.last_ir.irs) == 2 and heatmap_for("loudness") and panel_shows_newest(),
             timeout_s, "no IRs and heatmap for two emitters", window)
    yield SHOTS[0], grab_settled(window)
    window.studio.simulate_here()
    wait_for(lambda: state.simulation is not None, timeout_s, "the simulation did not finish", window)
    state.set_listen_to(SIMULATION)
    wait_for(lambda: state.readout is not None and state.readout.get(SIMULATION) is not None
             and panel_shows_newest(), timeout_s, "no readout of the simulation", window)
    yield SHOTS[1], grab_settled(window)
    window.heatmap_controls.metric_box.setCurrentIndex(window.heatmap_controls.metric_box.findData("c50"))
    wait_for(lambda: heatmap_for("c50"), timeout_s, "no C50 heatmap", window)
    yield SHOTS[2], grab_settled(window)


if __name__ == "__main__":
    sys.exit(main())
