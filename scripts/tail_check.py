"""Does any played IR end while still loud? The issue's tail check: the last 50 ms window of every played IR
against its loudest 50 ms window, at random free spots (emitter, listener, heading), for a field and for
fresh simulations with the field's own simulation settings (where the simulated decay itself ends).

    .venv/bin/python scripts/tail_check.py --checkpoint runs/reverb_flat/shipped/best.pt --scene SCENE --spots 50

Prints, per source, the median, the loudest and the count of IRs whose last window is less than 60 dB below
their loudest (and the same for the window before the 50 ms end fade, which says where the decay itself got
to). Positions are seeded (--seed), headings uniform in [0, 360).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from naf_model.acoustics.energy import window_energies
from naf_model.data.plan import free_positions
from naf_model.errors import NafError
from naf_model.field import NeuralAcousticField
from naf_model.scene.io import load_scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs

TARGET_DB = 60.0


def last_window_db(irs: np.ndarray, back: int = 0) -> np.ndarray:
    """dB of the last full 50 ms window (`back` windows earlier) re the loudest one, both ears, (B,)."""
    e = window_energies(np.asarray(irs, np.float64)).sum(1)  # (B, W)
    last = e[:, -1 - back]
    return 10 * np.log10(np.maximum(last, 1e-300) / e.max(axis=1))


def spots(scene, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n seeded (emitter, listener, heading) triples at free positions at least 0.5 m apart."""
    rng = np.random.default_rng(seed)
    e, l_ = free_positions(scene, rng, 4 * n), free_positions(scene, rng, 4 * n)
    keep = np.hypot(*(e - l_).T) >= 0.5
    e, l_ = e[keep][:n], l_[keep][:n]
    return e, l_, rng.uniform(0.0, 360.0, len(e))


def report(name: str, irs: np.ndarray) -> None:
    end, before = last_window_db(irs), last_window_db(irs, back=1)
    print(f"{name}: {len(irs)} IRs of {irs.shape[-1] / 22050:.2f} s | last 50 ms re loudest 50 ms: median "
          f"{np.median(end):.1f} dB, loudest {end.max():.1f} dB, {int((end > -TARGET_DB).sum())} above "
          f"-{TARGET_DB:.0f} dB"
          f" | the window before the end fade: median {np.median(before):.1f} dB, loudest {before.max():.1f} dB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--scene", required=True, help="bundled scene name or scene file")
    parser.add_argument("--spots", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-sim", action="store_true", help="skip the fresh simulations")
    args = parser.parse_args(argv)
    try:
        scene = load_scene(args.scene)
        field = NeuralAcousticField.load(args.checkpoint, device="cpu", scene=scene)
        e, l_, h = spots(scene, args.spots, args.seed)
        report(f"field ({field.preset}, late part: {field.split.has_late})", field.impulse_responses(e, l_, h))
        if not args.no_sim:
            config = SimulationConfig.from_json(field.checkpoint.simulation)
            sim = np.concatenate([simulate_binaural_rirs(scene, e[i], l_[i : i + 1], config)[0] for i in range(len(e))])
            # the simulator gives the 4 training orientations: take the one nearest each heading
            nearest = np.round(h / 90.0).astype(int) % 4
            report("simulation", sim.reshape(len(e), 4, 2, -1)[np.arange(len(e)), nearest])
    except NafError as exc:
        print(f"tail_check: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
