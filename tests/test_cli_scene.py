"""`naf scene list|show` through the real command-line entry point."""

from __future__ import annotations

from naf_model.cli import main


def test_scene_list_shows_bundled_scenes(capsys):
    assert main(["scene", "list"]) == 0
    out = capsys.readouterr().out
    assert "apartment_1" in out and "apartment_2" in out and "living room" in out


def test_scene_show_writes_a_png(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["scene", "show", "apartment_1", "-o", str(out), "--grid", "1.0"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert "grid points at 1 m" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary files left behind


def test_unknown_scene_is_a_one_line_error(tmp_path, capsys):
    assert main(["scene", "show", "no_such_scene", "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("naf: error: unknown scene 'no_such_scene'") and "\n" not in err
    assert not (tmp_path / "x.png").exists()
