"""Job scripts as data: the Scripts menu reads each script's JOB literal and rebuilds its command line."""

from __future__ import annotations

import pytest

from naf_app.scripts_menu import SCRIPTS_DIR
from naf_model.jobs import (
    command_line,
    discover_jobs,
    forward_args,
    job_parser,
    parse_numbers,
    parse_progress,
    read_job,
)

EXPECTED = {
    "make_dataset.py": "Make data set",
    "train.py": "Train a field",
    "evaluate.py": "Evaluate",
    "export_loudness.py": "Export loudness images",
    "render_walk.py": "Render a walk",
    "make_listening_examples.py": "Listening examples (A/B)",
}


def test_every_job_script_is_listed_with_its_options():
    specs = {s.script.name: s for s in discover_jobs(SCRIPTS_DIR)}
    assert sorted(specs) == sorted(EXPECTED)  # a deleted or new job script fails here, not silently
    for name in EXPECTED:
        spec = specs[name]
        assert spec.title == EXPECTED[name]
        assert spec.options and spec.options[0].flag == "--scene"
        assert all(o.flag.startswith("--") for o in spec.options)
    assert "bench_app.py" not in specs, "scripts without a JOB are not jobs"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_form_values_round_trip_through_the_script_parser(name):
    path = SCRIPTS_DIR / name
    assert path.is_file(), f"job script {name} is missing from {SCRIPTS_DIR}"
    spec = read_job(path)
    import ast

    job = next(ast.literal_eval(n.value) for n in ast.parse(path.read_text()).body
               if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "JOB")
    values = {}
    for opt in spec.options:
        values[opt.flag] = {"bool": True, "int": 3, "float": 0.75}.get(opt.type, "x")
        if opt.type == "choice":
            values[opt.flag] = opt.choices[-1]
        if opt.flag == "--emitter":
            values[opt.flag] = "1.5 2.0"
    argv = command_line(spec, values)
    args = job_parser(job).parse_args(argv)
    assert forward_args(job, args) == argv
    with pytest.raises(SystemExit) as exit_info:
        job_parser(job).parse_args(["--help"])
    assert exit_info.value.code == 0


def test_empty_and_false_values_are_left_out():
    spec = read_job(SCRIPTS_DIR / "make_dataset.py")
    argv = command_line(spec, {"--scene": "two_room", "--output": "", "--overwrite": False})
    assert argv[:2] == ["--scene", "two_room"]
    assert "--output" not in argv and "--overwrite" not in argv


def test_progress_counters_from_tqdm_and_job_lines():
    assert parse_progress("loudness:  40%|####      | 12/30 [00:01<00:02, 9.1pos/s]") == (12, 30)
    assert parse_progress("step 3\r 7/10 [00:01<00:00]\r 8/10 [00:01<00:00]") == (8, 10)
    assert parse_progress("naf-job: progress 2/4\n") == (2, 4)
    assert parse_progress("room 1/2 of the plan") is None


def test_job_scripts_use_the_library_kit_not_the_app():
    import ast

    for spec in discover_jobs(SCRIPTS_DIR):
        tree = ast.parse(spec.script.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m and m.split(".")[0] in ("naf_app", "PyQt6", "pyqtgraph")}, spec.script


def test_shared_options_expand_in_the_form_and_the_script_parser(tmp_path):
    script = tmp_path / "job.py"
    script.write_text('JOB = {"title": "T", "options": ["scene", "emitter", {"flag": "--n", "type": "int"}]}\n')
    spec = read_job(script)
    assert [o.flag for o in spec.options] == ["--scene", "--emitter", "--n"]
    assert spec.options[1].default == "{emitter}"
    job = {"title": "T", "options": ["scene", "checkpoint"]}
    args = job_parser(job).parse_args(["--scene", "a"])
    assert args.checkpoint is None and forward_args(job, args) == ["--scene", "a"]
    script.write_text('JOB = {"title": "T", "options": ["no_such_option"]}\n')
    with pytest.raises(ValueError, match="no_such_option"):
        read_job(script)


def test_parse_numbers_takes_spaces_or_commas_and_rejects_the_rest(capsys):
    parser = job_parser({"title": "T", "options": ["emitter"]})
    assert parse_numbers(parser, "--emitter", "1.5, 2", 2) == [1.5, 2.0]
    for bad in ("1.5", "1 2 3", "one two"):
        with pytest.raises(SystemExit) as exit_info:
            parse_numbers(parser, "--emitter", bad, 2)
        assert exit_info.value.code == 2
        assert "--emitter needs 2 numbers" in capsys.readouterr().err
