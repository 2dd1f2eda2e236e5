"""Reloading and removing obs_bgreplace.py in a real OBS while a Background Replacer is live.

obs-websocket 5.1 cannot reload or remove scripts, so these tests use OBS's own Tools >
Scripts dialog, driven with xdotool under Xvfb (see gui.py): its Reload runs OBS's
``obs_script_reload`` (script_unload, the file executed again, script_load) and Remove runs
``obs_script_destroy``, exactly as when a user clicks them. The OBS log confirms each step
("Unloaded python script" / "Loaded python script").

Own OBS for this module: the script is removed at the end, which the other modules must not see.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gui import ObsGui, count, wait_log_count
from harness import COLLECTION, SCRIPT, Obs
from util import (
    BASE,
    assert_clean_logs,
    assert_shows,
    create,
    expected_composite,
    press,
    remove,
    status,
    wait_for,
    wait_log,
    wait_status,
)

pytestmark = pytest.mark.obs

NAME = "Reload BG"
LOADED = "[obs-scripting]: Loaded python script: obs_bgreplace.py"
UNLOADED = "[obs-scripting]: Unloaded python script: obs_bgreplace.py"
LOADED_AGAIN = "[bgreplace] script loaded again"
GREEN = {"background_type": "color", "background_color": 0xFF40B100}  # OBS colour ABGR: #00b140


def running(obs: Obs) -> str:
    return str(wait_status(obs, NAME, "Running"))


@pytest.fixture(scope="module")
def live(obs: Obs, pictures: dict[str, Any]) -> dict[str, Any]:
    """A source with a captured plate showing the person: the exact composite on screen."""
    paths = pictures["paths"]
    create(obs, NAME, {**BASE, "camera": paths["empty"]})
    wait_status(obs, NAME, "no background captured")
    press(obs, NAME)
    wait_status(obs, NAME, "Running:")
    obs.client.set_input_settings(NAME, {"camera": paths["person"]}, True)
    expected = expected_composite({**BASE, "camera": paths["person"]}, pictures["empty"], pictures["person"])
    assert_shows(obs, NAME, expected)
    return {"expected": expected}


def test_reload_script_keeps_live_source_working(
    obs: Obs, pictures: dict[str, Any], live: dict[str, Any]
) -> None:
    paths = pictures["paths"]
    gui = ObsGui(obs)
    log0 = obs.log_text()
    for n in (1, 2):  # twice: the second reload sees the state the first one left
        gui.reload_script()
        wait_log_count(gui, LOADED_AGAIN, count(log0, LOADED_AGAIN) + n)
    gui.close_scripts()
    new = obs.log_text()[len(log0) :]
    assert count(new, UNLOADED) == 2 and count(new, LOADED) == 2, new
    assert new.index(UNLOADED) < new.index(LOADED)
    assert "1 existing source(s) keep running" in new
    assert_clean_logs(obs)
    kinds = obs.client.get_input_kind_list(False).input_kinds
    assert kinds.count("bgreplace_source") == 1

    # the live source is untouched: still running, still the exact composite
    assert running(obs).startswith("Running")
    assert_shows(obs, NAME, live["expected"])

    # every callback still reaches live code, and the worker still produces new frames:
    # update -> worker -> a different picture on screen
    obs.client.set_input_settings(NAME, GREEN, True)
    green = expected_composite(
        {**BASE, **GREEN, "camera": paths["person"]}, pictures["empty"], pictures["person"]
    )
    assert_shows(obs, NAME, green)
    # get_properties (the properties dialog; a NULL here crashed OBS in the past)
    items = obs.client.get_input_properties_list_property_items(NAME, "background_type").property_items
    assert {i["itemValue"] for i in items} >= {"color", "transparent", "image"}
    # the Recapture button and the hotkey
    obs.client.set_input_settings(NAME, {"camera": paths["empty"]}, True)
    wait_status(obs, NAME, "Running:")
    saved = obs.log_text().count(f"{NAME}: saved the background plate")
    press(obs, NAME)
    wait_log(obs, f"{NAME}: saved the background plate", saved + 1)  # the capture has finished
    obs.client.trigger_hotkey_by_name("bgreplace.recapture")
    wait_log(obs, f"{NAME}: saved the background plate", saved + 2)
    assert count(obs.log_text(), f"{NAME}: recapture requested") == 3  # fixture, button, hotkey
    wait_status(obs, NAME, "Running:")
    obs.client.set_input_settings(NAME, {"camera": paths["person"]}, True)
    assert_shows(obs, NAME, green)
    # create and destroy after the reload
    create(obs, "After reload", {**BASE, "camera": paths["person"]})
    wait_status(obs, "After reload", "no background captured")
    remove(obs, "After reload")
    wait_for("destroyed", lambda: "[bgreplace] After reload: destroyed" in obs.log_text(), 10)
    assert_clean_logs(obs)


def test_remove_script_then_add_it_again(obs: Obs, pictures: dict[str, Any], live: dict[str, Any]) -> None:
    """Removing the script cannot unregister the source type (libobs has no such call): the
    live source keeps working; adding the script again finds the registered type."""
    paths = pictures["paths"]
    gui = ObsGui(obs)
    log0 = obs.log_text()
    gui.remove_script()
    wait_log_count(gui, UNLOADED, count(log0, UNLOADED) + 1)
    assert "[bgreplace] script unloaded: the source type stays registered, 1 source(s) keep running" in (
        obs.log_text()[len(log0) :]
    )
    obs.client.set_input_settings(NAME, {"background_type": "transparent"}, True)
    assert_shows(obs, NAME, live["expected"])

    gui.add_script(SCRIPT)
    wait_log_count(gui, LOADED, count(log0, LOADED) + 1)
    wait_log_count(gui, LOADED_AGAIN, count(log0, LOADED_AGAIN) + 1)
    gui.close_scripts()
    obs.client.set_input_settings(NAME, {"camera": paths["small"]}, True)
    wait_status(obs, NAME, "captured at 640x360 but the camera gives 320x180")
    obs.client.set_input_settings(NAME, {"camera": paths["person"]}, True)
    assert_shows(obs, NAME, live["expected"])
    assert_clean_logs(obs)


def test_remove_script_then_exit_cleanly(obs: Obs, live: dict[str, Any]) -> None:
    gui = ObsGui(obs)
    log0 = obs.log_text()
    gui.remove_script()
    wait_log_count(gui, UNLOADED, count(log0, UNLOADED) + 1)
    gui.close_scripts()
    assert status(obs, NAME).startswith("Running")
    assert obs.quit() == 0
    log = obs.log_text()
    assert f"[bgreplace] {NAME}: destroyed" in log
    saved = json.loads((obs.config / "basic" / "scenes" / f"{COLLECTION}.json").read_text())
    assert not saved.get("modules", {}).get("scripts-tool"), "OBS saved the collection without the script"
    assert_clean_logs(obs)

    # next start without the script: OBS keeps the source's settings but cannot create it
    obs.start()
    wait_for("OBS loaded the scenes", lambda: "Loaded scenes:" in obs.log_text(), 20)
    assert "[bgreplace]" not in obs.log_text()
    assert "Source ID 'bgreplace_source' not found" in obs.log_text()
    assert obs.quit() == 0
    saved = json.loads((obs.config / "basic" / "scenes" / f"{COLLECTION}.json").read_text())
    kept = [s for s in saved["sources"] if s["name"] == NAME]
    assert kept and kept[0]["id"] == "bgreplace_source" and kept[0]["settings"]["plate_id"]
    assert_clean_logs(obs)
