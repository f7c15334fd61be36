"""scripts/reference_rays.py: a data set's off-grid pairs simulated twice per ray count with `naf eval`'s seeds,
and the table of every source against every ray count's simulations (a simulation never against itself)."""

from __future__ import annotations

import numpy as np
import pytest
from model_helpers import tiny_dataset
from script_helpers import load_script

from naf_model.data import DataSet, offgrid
from naf_model.scene.examples import two_room_scene
from naf_model.simulate import SimulationConfig

SCRIPT = load_script("reference_rays")
SCENE = two_room_scene()


def test_runs_at_the_data_sets_own_rays_are_naf_evals_reference_and_second_simulation(
    tmp_path_factory, capsys
):
    path = tiny_dataset(tmp_path_factory)
    with DataSet(path) as ds:
        own = SimulationConfig.from_json(ds.meta.simulation).n_rays
        og = offgrid.offgrid_set(ds, SCENE, 4, 0, progress=False, min_grid_distance=0.1, workers=1)
        pairs = offgrid.draw_offgrid_pairs(SCENE, np.concatenate([ds.emitters, ds.listeners]), 4, 0, 0.1)
        sims = SCRIPT.simulations(ds, SCENE, pairs, 1, [own, 3 * own], 0, 1)
        # told which set they come from, the runs naf eval cached are read, not simulated again
        again = SCRIPT.simulations(ds, SCENE, pairs, 1, [own], 0, 1, n_offgrid=4, min_grid_distance=0.1)
    assert "2 of 2 simulations read from naf eval's off-grid caches" in capsys.readouterr().err
    og.path.unlink()
    for run in (0, 1):
        np.testing.assert_allclose(again[(own, run)], sims[(own, run)], atol=1e-3 * np.abs(sims[(own, 0)]).max())
    flat = og.irs.reshape((-1,) + og.irs.shape[2:])
    assert set(sims) == {(own, 0), (own, 1), (3 * own, 0), (3 * own, 1)}
    # the cache holds float16; the script's runs at the data set's count are those very simulations
    np.testing.assert_allclose(sims[(own, 0)], flat, atol=1e-3 * np.abs(flat).max())
    np.testing.assert_allclose(sims[(own, 1)], og.floor_irs.reshape(flat.shape), atol=1e-3 * np.abs(flat).max())
    assert not np.allclose(sims[(3 * own, 0)], sims[(own, 0)], atol=1e-3 * np.abs(flat).max())

    los = np.zeros(len(flat), bool)
    text = SCRIPT.table(sims, {"copy of run 0": sims[(own, 0)]}, los)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert list(rows)[1:] == [f"simulation, {own:,} rays", f"simulation, {3 * own:,} rays", "copy of run 0"]
    floor = SCRIPT.scores(sims[(own, 0)], sims[(own, 1)], los)
    back = SCRIPT.scores(sims[(own, 1)], sims[(own, 0)], los)
    first_cell = rows[f"simulation, {own:,} rays"].split(" | ")[1]
    assert first_cell.startswith(f"{(floor[0] + back[0]) / 2:.2f} / ")
    copy_cell = rows["copy of run 0"].split(" | ")[1]  # against run 0 (zero error) and run 1 (the floor)
    assert copy_cell.startswith(f"{floor[0] / 2:.2f} / ")


@pytest.mark.parametrize("argv, message", [
    (["--scene", "two_room", "--groups", "0"], "at least 1"),
    (["--scene", "two_room", "--groups", "11", "--offgrid", "40"], "--offgrid of at least 44"),
    (["--scene", "no_such_scene"], "no_such_scene"),
])  # fmt: skip
def test_bad_input_is_one_line_before_any_work(argv, message, capsys):
    assert SCRIPT.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err
