from __future__ import annotations

import dataclasses

import pytest

from bgcore import Settings, SettingsError
from bgcore.settings import parse_threshold


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
