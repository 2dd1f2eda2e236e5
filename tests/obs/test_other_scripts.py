"""The Background Replacer source beside another Python script whose own thread calls libobs.

obspython keeps the GIL while libobs locks the source list or a scene; OBS calls some source
callbacks while holding those locks (save while writing the scene collection, create while
loading it, show/hide and deferred updates during its tick). A Python callback there waits for
the GIL, held by the other script's thread, which waits for OBS's lock: OBS freezes. The source
therefore has no save callback; this module drives every callback it does have, with such a
script running, and checks that OBS keeps rendering and the source keeps compositing.

Own OBS for this module: it loads an extra script.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gui import ObsGui, wait_log_count
from harness import SCENE, Obs
from test_filter import LOOKUPS
from util import (
    BASE,
    assert_clean_logs,
    assert_shows,
    create,
    expected_composite,
    press,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.obs

NAME = "Beside scripts"
# frames OBS must go on rendering after the callbacks below ran (2 s of the 30 fps canvas; a
# frozen OBS renders none)
MIN_RENDERED = 60


def test_source_callbacks_beside_a_script_thread_calling_libobs(
    obs: Obs, pictures: dict[str, Any], tmp_path: Path
) -> None:
    paths = pictures["paths"]
    create(obs, NAME, {**BASE, "camera": paths["empty"]})
    wait_status(obs, NAME, "no background captured")
    script = tmp_path / "lookups.py"
    script.write_text(f"SCENE = {SCENE!r}\nITEM = {NAME!r}\n" + LOOKUPS)
    gui = ObsGui(obs)
    gui.add_script(script)
    wait_log_count(gui, "looked up 100 times", 1)
    gui.close_scripts()

    rendered = obs.client.get_stats().render_total_frames
    press(obs, NAME)  # a button callback, then the capture
    wait_status(obs, NAME, "Running:")  # captured ("Running, no background ..." before)
    item = obs.client.get_scene_item_id(SCENE, NAME).scene_item_id
    for n in range(5):
        # deferred updates (run in OBS's tick), hide and show, and a scene collection save
        # (the frontend saves after a scene is created or removed)
        obs.client.set_input_settings(NAME, {"sensitivity": 1.0 + n / 10}, True)
        obs.client.set_scene_item_enabled(SCENE, item, False)
        obs.client.set_scene_item_enabled(SCENE, item, True)
        obs.client.create_scene(f"Extra {n}")
        obs.client.remove_scene(f"Extra {n}")
    obs.client.set_input_settings(NAME, {"camera": paths["person"], "sensitivity": 1.0}, True)
    expected = expected_composite({**BASE, "camera": paths["person"]}, pictures["empty"], pictures["person"])
    assert_shows(obs, NAME, expected)
    wait_for(
        f"OBS to render {MIN_RENDERED} more frames",
        lambda: obs.client.get_stats().render_total_frames - rendered >= MIN_RENDERED,
    )
    assert obs.quit() == 0  # the exit saves the collection too
    assert_clean_logs(obs)
