"""Does any played IR end while still loud? The issue's tail check: the last 50 ms window of every played IR
against its loudest 50 ms window, at random free spots (emitter, listener, heading), for a field and for
fresh simulations with the field's own simulation settings (where the simulated decay itself ends).

    .venv/bin/python scripts/tail_check.py --checkpoint runs/reverb_flat/shipped/best.pt --scene SCENE --spots 50

Prints, per source, the median, the loudest and the count of IRs whose last window is less than 60 dB below
their loudest (and the same for the window before the 50 ms end fade, which says where the decay itself got
to). Positions are seeded (--seed), headings uniform in [0, 360). `--worst N` also lists the N spots whose
played IR ends loudest, each beside its simulation: where each ends, and how fast each still decays over its
last half second against its own decay from -20 to -40 dB (a simulation whose end is much flatter than its
decay ends in the ray tracer's noise floor, not in the room's decay).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from naf_model.acoustics.energy import window_energies
from naf_model.data.plan import free_positions
from naf_model.errors import NafError
from naf_model.field import NeuralAcousticField
from naf_model.field.listening import line_of_sight
from naf_model.scene.io import load_scene
from naf_model.simulate import SimulationConfig, simulate_binaural_rirs

TARGET_DB = 60.0


def window_db(irs: np.ndarray) -> np.ndarray:
    """dB of each IR's 50 ms windows (both ears) re its loudest window, (B, W)."""
    e = window_energies(np.asarray(irs, np.float64)).sum(1)  # (B, W)
    return 10 * np.log10(np.maximum(e, 1e-300) / e.max(axis=1, keepdims=True))


def last_window_db(irs: np.ndarray, back: int = 0) -> np.ndarray:
    """dB of the last full 50 ms window (`back` windows earlier) re the loudest one, both ears, (B,)."""
    return window_db(irs)[:, -1 - back]


def spots(scene, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n seeded (emitter, listener, heading) triples at free positions at least 0.5 m apart."""
    rng = np.random.default_rng(seed)
    e, l_ = free_positions(scene, rng, 4 * n), free_positions(scene, rng, 4 * n)
    keep = np.hypot(*(e - l_).T) >= 0.5
    e, l_ = e[keep][:n], l_[keep][:n]
    return e, l_, rng.uniform(0.0, 360.0, len(e))


def decay_rates(irs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """dB/s of each IR's 50 ms window levels (both ears) fitted over its last 0.5 s before the end fade, and
    over the windows from -20 to -40 dB re its loudest (NaN where fewer than two windows): (B,), (B,)."""
    db = window_db(irs)
    t = 0.05 * np.arange(db.shape[1])
    end, main = np.full(len(db), np.nan), np.full(len(db), np.nan)
    for i, row in enumerate(db):
        last = slice(max(0, len(row) - 11), len(row) - 1)
        end[i] = np.polyfit(t[last], row[last], 1)[0]
        mid = (row <= -20) & (row >= -40) & (t > t[np.argmax(row)])
        if mid.sum() >= 2:
            main[i] = np.polyfit(t[mid], row[mid], 1)[0]
    return end, main


def worst_spots(n: int, e, l_, h, field_irs: np.ndarray, sim_irs: np.ndarray | None, los: np.ndarray) -> None:
    """The n spots whose played IR ends loudest, each with its simulation's end (see the module docstring)."""
    f_end, f_rate = last_window_db(field_irs), decay_rates(field_irs)
    s_end, s_rate = (last_window_db(sim_irs), decay_rates(sim_irs)) if sim_irs is not None else (None, None)
    for i in np.argsort(-f_end)[:n]:
        line = (f"emitter ({e[i, 0]:.2f}, {e[i, 1]:.2f}) listener ({l_[i, 0]:.2f}, {l_[i, 1]:.2f}) heading "
                f"{h[i]:.0f} {'line of sight' if los[i] else 'occluded'} | field ends {f_end[i]:.1f} dB, last 0.5 s "
                f"{f_rate[0][i]:.0f} dB/s (decay {f_rate[1][i]:.0f} dB/s)")
        if s_end is not None:
            line += (f" | simulation ends {s_end[i]:.1f} dB, last 0.5 s {s_rate[0][i]:.0f} dB/s (decay "
                     f"{s_rate[1][i]:.0f} dB/s)")
        print(line)


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
    parser.add_argument("--worst", type=int, default=0, metavar="N",
                        help="also list the N spots whose played IR ends loudest, beside their simulations")
    args = parser.parse_args(argv)
    try:
        scene = load_scene(args.scene)
        field = NeuralAcousticField.load(args.checkpoint, device="cpu", scene=scene)
        e, l_, h = spots(scene, args.spots, args.seed)
        played = field.impulse_responses(e, l_, h)
        report(f"field ({field.preset}, late part: {field.split.has_late})", played)
        simulated = None
        if not args.no_sim:
            config = SimulationConfig.from_json(field.checkpoint.simulation)
            sim = np.concatenate([simulate_binaural_rirs(scene, e[i], l_[i : i + 1], config)[0] for i in range(len(e))])
            # the simulator gives the 4 training orientations: take the one nearest each heading
            nearest = np.round(h / 90.0).astype(int) % 4
            simulated = sim.reshape(len(e), 4, 2, -1)[np.arange(len(e)), nearest]
            report("simulation", simulated)
        if args.worst:
            worst_spots(args.worst, e, l_, h, played, simulated, line_of_sight(scene.free_space, e, l_))
    except NafError as exc:
        print(f"tail_check: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
