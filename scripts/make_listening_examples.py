"""A/B listening material: the same music through the simulator's IR and through the field's played IR.

For three listener spots around one emitter (two in its room, one behind walls) writes
`docs/listening/<spot>_sim.wav` and `<spot>_naf.wav` (16-bit, 22,050 Hz, one gain for the pair, set by the
simulator's IR so that a level difference stays audible), `envelopes.png` (50 ms energy envelopes of both
IRs, per ear) and `numbers.md` (level, late energy, C50, ITD, ILD per octave band of the played IR against
the simulated one, `naf_model.evaluation.listening`, measured with `naf_model.acoustics`).

    .venv/bin/python scripts/make_listening_examples.py --scene apartment_1
"""

from __future__ import annotations

import sys
from pathlib import Path

JOB = {
    "title": "Listening examples (A/B)",
    "description": "Music through the simulator's IR and the field's played IR at three spots (one "
    "occluded), with a figure of their 50 ms envelopes.",
    "produces": "image",
    "options": [
        {"flag": "--scene", "type": "scene", "default": "{scene}", "help": "scene name (with SPOTS below)"},
        {"flag": "--checkpoint", "type": "file", "default": "{checkpoint}", "required": False,
         "help": "field checkpoint (default: the bundled one)"},
        {"flag": "--out", "type": "file", "default": "docs/listening", "help": "output folder"},
        {"flag": "--seconds", "type": "float", "default": 5.0, "min": 1.0, "max": 30.0,
         "help": "seconds of music per file"},
    ],
}
SPOTS = {
    "apartment_1": {
        "emitter": (2.0, 5.5),
        "spots": {"near": (3.3, 6.1), "far": (4.8, 4.0), "bedroom_occluded": (2.5, 1.5)},
    },
    "cathedral": {  # a voice in the choir; the crossing, the west end 35 m away, the south aisle behind a column
        "emitter": (38.0, 9.0),
        "spots": {"crossing": (30.5, 9.0), "west_end": (3.0, 9.0), "aisle_occluded": (12.0, 2.5)},
    },
}
"""Emitter and named listener spots per scene (listener faces +x, heading 0)."""


def main(argv: list[str] | None = None) -> int:
    from naf_model.jobs import announce, job_parser

    args = job_parser(JOB, "make_listening_examples.py").parse_args(argv)
    out = Path(args.out)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from scipy.signal import fftconvolve

    from naf_model.acoustics import energy, interaural
    from naf_model.atomic import atomic_path, write_atomic
    from naf_model.audio import DEFAULT_MUSIC
    from naf_model.audio.files import load_audio, write_audio
    from naf_model.conventions import SAMPLE_RATE
    from naf_model.evaluation import listening
    from naf_model.field import NeuralAcousticField
    from naf_model.field.listening import line_of_sight
    from naf_model.paths import default_checkpoint
    from naf_model.scene import load_scene
    from naf_model.simulate import SimulationConfig, simulate_binaural_rirs

    scene = load_scene(args.scene)
    if scene.name not in SPOTS:
        print(f"no listening spots defined for scene {scene.name!r}; add them to SPOTS", file=sys.stderr)
        return 2
    field = NeuralAcousticField.load(args.checkpoint or default_checkpoint(scene.name), device="cpu", scene=scene)
    config = SimulationConfig.from_json(field.checkpoint.simulation)
    emitter = np.array(SPOTS[scene.name]["emitter"])
    names = list(SPOTS[scene.name]["spots"])
    spots = np.array([SPOTS[scene.name]["spots"][n] for n in names])
    sim = simulate_binaural_rirs(scene, emitter, spots, config)[:, 0]  # heading 0: (S, 2, N)
    naf = field.impulse_responses(np.repeat(emitter[None], len(spots), 0), spots, np.zeros(len(spots)))
    music = load_audio(DEFAULT_MUSIC).at_rate(SAMPLE_RATE).samples
    music = music[: int(args.seconds * SAMPLE_RATE)].mean(axis=1)
    out.mkdir(parents=True, exist_ok=True)
    los = line_of_sight(scene.free_space, np.repeat(emitter[None], len(spots), 0), spots)
    errs = listening.listening_errors(naf, sim, los)
    rows = []
    fig, axes = plt.subplots(1, len(spots), figsize=(4.2 * len(spots), 3.4), sharey=True)
    for k, name in enumerate(names):
        wet = {src: np.stack([fftconvolve(music, ir[e]) for e in (0, 1)], axis=1) for src, ir in
               (("sim", sim[k]), ("naf", naf[k]))}
        gain = 0.5 / np.abs(wet["sim"]).max()
        for src, x in wet.items():
            write_audio(out / f"{name}_{src}.wav", (gain * x).astype(np.float32), SAMPLE_RATE, bits=16)
        t = (np.arange(energy.window_energies(sim[k]).shape[-1]) + 0.5) * energy.WINDOW_S
        ref = 10 * np.log10(energy.window_energies(sim[k]).max())
        for src, ir, style in (("simulator", sim[k], "-"), ("field (played)", naf[k], "--")):
            env = 10 * np.log10(np.maximum(energy.window_energies(ir), 1e-30)) - ref
            for e, colour in ((0, "tab:blue"), (1, "tab:red")):
                axes[k].plot(1e3 * t, env[e], style, color=colour, label=f"{src}, {'left' if e == 0 else 'right'}")
        axes[k].set_title(f"{name} ({'line of sight' if los[k] else 'occluded'})")
        axes[k].set_xlabel("time (ms), 50 ms windows")
        axes[k].set_ylim(-60, 3)
        axes[k].grid(alpha=0.3)
        itd_sim, itd_naf = (1e6 * interaural.interaural_delay(x[k : k + 1])[0] for x in (sim, naf))
        ild_sim, ild_naf = (interaural.band_ild(x[k : k + 1])[0] for x in (sim, naf))
        rows.append(
            f"| {name} | {'yes' if los[k] else 'no'} | {errs.level[k]:+.1f} | {errs.late[k]:+.1f} | "
            f"{errs.envelope[k]:.1f} | {errs.c50[k]:.1f} | {itd_sim:.0f} / {itd_naf:.0f} | "
            + " | ".join(f"{a:+.1f} / {b:+.1f}" for a, b in zip(ild_sim, ild_naf, strict=True))
            + " |"
        )
    axes[0].set_ylabel("energy (dB re the simulator's loudest window)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out / "envelopes.png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    bands = " | ".join(f"ILD {f} Hz sim / naf (dB)" for f in interaural.ILD_BANDS_HZ)
    text = (
        f"# Listening examples: {scene.name}, emitter at ({emitter[0]:.1f}, {emitter[1]:.1f}) m, listener facing "
        f"+x\n\n`python scripts/make_listening_examples.py --scene {scene.name}"
        f"{'' if args.out == 'docs/listening' else ' --out ' + str(args.out)}`; field `{field.path.name}`, "
        f"spots {', '.join(f'{n} ({x:.1f}, {y:.1f})' for n, (x, y) in zip(names, spots, strict=True))}; played with "
        "the default phase method. Each pair `<spot>_sim.wav` / `<spot>_naf.wav` shares one gain.\n\n"
        f"| spot | line of sight | level (dB) | late (dB) | envelope (dB) | C50 err (dB) | ITD sim / naf (µs) | "
        f"{bands} |\n|---|---|" + "---:|" * (5 + len(interaural.ILD_BANDS_HZ)) + "\n" + "\n".join(rows) + "\n"
    )
    write_atomic(out / "numbers.md", text)
    print(text)
    announce("image", out / "envelopes.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
