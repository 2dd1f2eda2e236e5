"""The source's dialog and saved defaults, built by the installed libobs, agree with the table of
settings (bgcore.settings.SETTINGS) and with what Settings accepts.

The properties and obs_data objects are built in this process by the real libobs.so (they need
no running OBS): bgobs.properties' get_properties and get_defaults callbacks, then libobs's own
getters read back what they made.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from typing import Any

import pytest

from bgcore import Settings
from bgcore.settings import SETTINGS, Spec
from bgobs import config, handles, libobs, plugin, properties

pytestmark = pytest.mark.obs

vp, cstr = ctypes.c_void_p, ctypes.c_char_p
# libobs's enum obs_property_type and obs_number_type
OBS_PROPERTY_BOOL, OBS_PROPERTY_INT, OBS_PROPERTY_FLOAT, OBS_PROPERTY_LIST = 1, 2, 3, 6
OBS_NUMBER_SLIDER = 1
# libobs getters bgobs never calls (bound here, not in bgobs.libobs.FUNCTIONS)
GETTERS: dict[str, tuple[Any, list[Any]]] = {
    "obs_properties_get": (vp, [vp, cstr]),
    "obs_properties_destroy": (None, [vp]),
    "obs_property_get_type": (ctypes.c_int, [vp]),
    "obs_property_description": (cstr, [vp]),
    "obs_property_long_description": (cstr, [vp]),
    "obs_property_int_min": (ctypes.c_int, [vp]),
    "obs_property_int_max": (ctypes.c_int, [vp]),
    "obs_property_int_step": (ctypes.c_int, [vp]),
    "obs_property_int_type": (ctypes.c_int, [vp]),
    "obs_property_int_suffix": (cstr, [vp]),
    "obs_property_float_min": (ctypes.c_double, [vp]),
    "obs_property_float_max": (ctypes.c_double, [vp]),
    "obs_property_float_step": (ctypes.c_double, [vp]),
    "obs_property_float_type": (ctypes.c_int, [vp]),
    "obs_property_float_suffix": (cstr, [vp]),
    "obs_property_list_item_count": (ctypes.c_size_t, [vp]),
    "obs_property_list_item_name": (cstr, [vp, ctypes.c_size_t]),
    "obs_property_list_item_string": (cstr, [vp, ctypes.c_size_t]),
    "obs_data_create": (vp, []),
    "obs_data_set_int": (None, [vp, cstr, ctypes.c_longlong]),
    "obs_data_set_double": (None, [vp, cstr, ctypes.c_double]),
    "obs_data_set_bool": (None, [vp, cstr, ctypes.c_bool]),
}
NOT_IN_THE_DIALOG = {"min_blob", "adapt_rate", "temporal", "work_width"}


@pytest.fixture(scope="module")
def obs_lib() -> Iterator[libobs.Lib]:
    """The installed libobs as bgobs.plugin uses it (what register() sets up inside OBS)."""
    lib = libobs.load()
    saved = handles.process.lib
    handles.process.lib = lib
    try:
        yield libobs.Lib(lib.dll, lib.path, GETTERS)
    finally:
        handles.process.lib = saved


@pytest.fixture
def dialog(obs_lib: libobs.Lib) -> Iterator[int]:
    props = properties.build_properties(None)  # unguarded: an error fails the test
    try:
        yield props
    finally:
        obs_lib.obs_properties_destroy(props)


@pytest.fixture
def data(obs_lib: libobs.Lib) -> Iterator[int]:
    """A source's settings after get_defaults, as OBS gives them to a new source."""
    d = obs_lib.obs_data_create()
    properties.get_defaults(d)
    try:
        yield d
    finally:
        plugin.lib().obs_data_release(d)


def text(raw: bytes | None) -> str:
    return raw.decode() if raw else ""


@pytest.mark.parametrize("spec", [s for s in SETTINGS if s.obs is not None], ids=lambda s: s.name)
def test_each_shown_setting_has_the_tables_property(obs_lib: libobs.Lib, dialog: int, spec: Spec) -> None:
    L = obs_lib
    assert spec.obs is not None
    p = L.obs_properties_get(dialog, spec.name.encode())
    assert p, f"no property {spec.name}"
    assert text(L.obs_property_description(p)) == spec.obs.label
    assert text(L.obs_property_long_description(p)) == spec.obs.description
    kind = L.obs_property_get_type(p)
    if spec.kind is bool:
        assert kind == OBS_PROPERTY_BOOL
    elif spec.choices:
        assert kind == OBS_PROPERTY_LIST
        items = [
            (text(L.obs_property_list_item_string(p, i)), text(L.obs_property_list_item_name(p, i)))
            for i in range(L.obs_property_list_item_count(p))
        ]
        assert items == list(zip(spec.choices, spec.obs.choice_labels, strict=True))
    elif kind == OBS_PROPERTY_INT:
        assert spec.kind is int or spec.obs.whole
        got = (L.obs_property_int_min(p), L.obs_property_int_max(p), L.obs_property_int_step(p))
        assert got == (spec.lo, spec.hi, spec.obs.step)
        assert (L.obs_property_int_type(p) == OBS_NUMBER_SLIDER) == spec.obs.slider
        assert text(L.obs_property_int_suffix(p)) == spec.obs.suffix
    else:
        assert kind == OBS_PROPERTY_FLOAT and spec.kind is float
        got_f = (L.obs_property_float_min(p), L.obs_property_float_max(p), L.obs_property_float_step(p))
        assert got_f == (spec.lo, spec.hi, spec.obs.step)
        assert text(L.obs_property_float_suffix(p)) == spec.obs.suffix
    if spec.auto:
        box = L.obs_properties_get(dialog, config.auto_key(spec).encode())
        assert box and L.obs_property_get_type(box) == OBS_PROPERTY_BOOL
        assert text(L.obs_property_description(box)) == spec.obs.auto_label


def test_the_settings_not_in_the_dialog_are_the_stated_ones(obs_lib: libobs.Lib, dialog: int) -> None:
    """A setting leaves or joins the dialog only by changing the table (and this list)."""
    absent = {s.name for s in SETTINGS if not obs_lib.obs_properties_get(dialog, s.name.encode())}
    assert absent == NOT_IN_THE_DIALOG
    assert absent == {s.name for s in SETTINGS if s.obs is None}


def test_a_new_sources_defaults_are_the_engines(data: int) -> None:
    cfg = config.from_values(plugin.read_values(data))
    assert cfg.settings_error is None
    assert cfg.settings == Settings()
    assert plugin.read_values(data)["threshold"] == 30  # the manual slider starts there


@pytest.mark.parametrize(
    "spec", [s for s in SETTINGS if s.obs is not None and s.ranged], ids=lambda s: s.name
)
def test_the_dialogs_range_is_what_settings_accept(obs_lib: libobs.Lib, data: int, spec: Spec) -> None:
    """Both ends of the property's range are accepted as they are; one step beyond either end
    (possible over obs-websocket) is refused with the setting's name, and the engine keeps
    its defaults."""
    L = obs_lib
    assert spec.obs is not None and spec.lo is not None and spec.hi is not None
    key = spec.name.encode()
    if spec.auto:
        L.obs_data_set_bool(data, config.auto_key(spec).encode(), False)
    whole = spec.kind is int or spec.obs.whole

    def engine_gets(value: float) -> tuple[Any, str | None]:
        if whole:
            L.obs_data_set_int(data, key, int(value))
        else:
            L.obs_data_set_double(data, key, value)
        cfg = config.from_values(plugin.read_values(data))
        return getattr(cfg.settings, spec.name), cfg.settings_error

    assert engine_gets(spec.lo) == (spec.lo, None)
    assert engine_gets(spec.hi) == (spec.hi, None)
    for beyond in (spec.lo - spec.obs.step, spec.hi + spec.obs.step):
        value, error = engine_gets(beyond)
        assert value == spec.default and error is not None and f"{spec.name} must be" in error
