from __future__ import annotations

import dataclasses

import pytest

from bgcore import Settings, SettingsError
from bgcore.cli import build_parser, settings_from_args
from bgcore.settings import SETTINGS, parse_threshold


@pytest.mark.parametrize(
    ("value", "expected"),
    [("auto", None), (None, None), ("0", 0), (255, 255), (13.0, 13), (" AUTO ", None)],
)
def test_threshold_accepts(value: object, expected: int | None) -> None:
    assert parse_threshold(value) == expected


@pytest.mark.parametrize("value", [-1, 256, "300", "abc", 12.5, True, [3]])
def test_threshold_rejects_with_one_line_message(value: object) -> None:
    with pytest.raises(SettingsError) as err:
        Settings(threshold=value)  # type: ignore[arg-type]
    msg = str(err.value)
    assert "threshold" in msg and "\n" not in msg


@pytest.mark.parametrize(
    "changes",
    [{"mode": "fancy"}, {"feather": -1}, {"feather": 99}, {"min_blob": 0.9}, {"work_width": 10},
     {"plate_frames": 0}, {"sensitivity": 0}, {"shadows": "yes"}, {"adapt_rate": 2}],
)
def test_out_of_range_rejected(changes: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        Settings(**changes)  # type: ignore[arg-type]


def test_from_mapping_and_replace() -> None:
    s = Settings.from_mapping({"mode": "classic", "threshold": "20", "feather": None})
    assert s.mode == "classic" and s.threshold == 20 and s.feather == Settings().feather
    assert s.replace(threshold="auto").threshold is None
    with pytest.raises(SettingsError, match="unknown setting"):
        Settings.from_mapping({"treshold": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.mode = "default"  # type: ignore[misc]


COMMANDS = {
    "process": ["process", "in.mp4", "--plate", "empty.mp4", "--background", "blur", "--out", "out.mp4"],
    "preview": ["preview"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_ranged_setting_is_a_flag_with_the_tables_range_and_default(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The flags are built from the table (bgcore.settings.SETTINGS): through argparse, no flag
    gives Settings(), both ends of each range are taken as they are, one step beyond either
    is refused naming the setting. (The OBS dialog: tests/obs/test_properties.py.)"""
    parser = build_parser()

    def parsed(*extra: str) -> Settings:
        return settings_from_args(parser.parse_args([*COMMANDS[command], *extra]))

    assert parsed() == Settings()
    ranged = [spec for spec in SETTINGS if spec.ranged]
    assert {s.name for s in ranged} >= {"threshold", "sensitivity", "feather", "work_width", "absorb_seconds"}
    for spec in ranged:
        assert spec.cli, f"{spec.name} has a range but no flag"
        assert spec.lo is not None and spec.hi is not None
        assert getattr(parsed(spec.flag, f"{spec.lo:g}"), spec.name) == spec.lo
        assert getattr(parsed(spec.flag, f"{spec.hi:g}"), spec.name) == spec.hi
        step = 1 if spec.kind is int else (spec.hi - spec.lo) / 100
        for beyond in (spec.lo - step, spec.hi + step):
            if spec.zero and beyond == 0:
                continue
            with pytest.raises(SystemExit) as refused:
                parser.parse_args([*COMMANDS[command], spec.flag, f"{beyond:g}"])
            assert refused.value.code == 2
            assert f"{spec.name} must be" in capsys.readouterr().err
    for spec in SETTINGS:
        if spec.kind is bool and spec.cli:
            assert getattr(parsed(spec.flag), spec.name) is (not spec.default)
    assert parsed("--threshold", "auto").threshold is None
    assert parsed("--work-width", "0").work_width == 0
    assert parsed("--mode", "classic").mode == "classic"
