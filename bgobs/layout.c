/* The layout of the libobs structs bgobs mirrors with ctypes, from the OBS headers.
 *
 * Native (prints JSON; what bgobs/layouts/<major>.json hold):
 *     cc -I/usr/include/obs layout.c -o layout && ./layout
 * Any other C ABI, without running anything (a cross compiler's assembly carries the numbers):
 *     x86_64-w64-mingw32-gcc -DLAYOUT_TABLE -S -I<libobs> layout.c -o layout.s
 * With LAYOUT_TABLE, layout_names holds the names (space-separated) and layout_values the numbers
 * in the same order; tests/obs/abi.py reads both from the assembly and builds the same JSON.
 * tests/obs/test_layout.py compiles both modes against every header tree and compares the
 * numbers with bgobs.structs. */
#include <stddef.h>
#ifndef LAYOUT_TABLE
#include <stdio.h>
#endif
#include <obs.h>
#include <obs-source.h>

#define SOURCE_INFO_FIELDS(X)                                                                                 \
	X(obs_source_info, id) X(obs_source_info, type) X(obs_source_info, output_flags)                      \
	X(obs_source_info, get_name) X(obs_source_info, create) X(obs_source_info, destroy)                   \
	X(obs_source_info, get_width) X(obs_source_info, get_height) X(obs_source_info, get_defaults)         \
	X(obs_source_info, get_properties) X(obs_source_info, update) X(obs_source_info, activate)            \
	X(obs_source_info, deactivate) X(obs_source_info, show) X(obs_source_info, hide)                      \
	X(obs_source_info, video_tick) X(obs_source_info, video_render) X(obs_source_info, filter_video)      \
	X(obs_source_info, filter_audio) X(obs_source_info, enum_active_sources) X(obs_source_info, save)     \
	X(obs_source_info, load) X(obs_source_info, mouse_click) X(obs_source_info, mouse_move)               \
	X(obs_source_info, mouse_wheel) X(obs_source_info, focus) X(obs_source_info, key_click)               \
	X(obs_source_info, filter_remove) X(obs_source_info, type_data) X(obs_source_info, free_type_data)    \
	X(obs_source_info, audio_render) X(obs_source_info, enum_all_sources)                                 \
	X(obs_source_info, transition_start) X(obs_source_info, transition_stop)                              \
	X(obs_source_info, get_defaults2) X(obs_source_info, get_properties2) X(obs_source_info, audio_mix)   \
	X(obs_source_info, icon_type) X(obs_source_info, media_play_pause) X(obs_source_info, media_restart)  \
	X(obs_source_info, media_stop) X(obs_source_info, media_next) X(obs_source_info, media_previous)      \
	X(obs_source_info, media_get_duration) X(obs_source_info, media_get_time)                             \
	X(obs_source_info, media_set_time) X(obs_source_info, media_get_state) X(obs_source_info, version)    \
	X(obs_source_info, unversioned_id) X(obs_source_info, missing_files)                                  \
	X(obs_source_info, video_get_color_space)

#define SOURCE_FRAME_FIELDS(X)                                                                                \
	X(obs_source_frame, data) X(obs_source_frame, linesize) X(obs_source_frame, width)                    \
	X(obs_source_frame, height) X(obs_source_frame, timestamp) X(obs_source_frame, format)                \
	X(obs_source_frame, color_matrix) X(obs_source_frame, full_range) X(obs_source_frame, max_luminance)  \
	X(obs_source_frame, color_range_min) X(obs_source_frame, color_range_max) X(obs_source_frame, flip)   \
	X(obs_source_frame, flags) X(obs_source_frame, trc) X(obs_source_frame, refs)                         \
	X(obs_source_frame, prev_frame)

#define CONSTANTS(X)                                                                                          \
	X(OBS_SOURCE_TYPE_INPUT) X(OBS_SOURCE_ASYNC_VIDEO) X(OBS_SOURCE_DO_NOT_DUPLICATE)                     \
	X(OBS_ICON_TYPE_CAMERA) X(VIDEO_FORMAT_BGRA) X(OBS_COMBO_TYPE_EDITABLE) X(OBS_COMBO_FORMAT_STRING)    \
	X(OBS_COMBO_TYPE_LIST) X(OBS_COMBO_FORMAT_INT) X(OBS_PATH_FILE) X(OBS_TEXT_INFO) X(OBS_TEXT_DEFAULT)  \
	X(OBS_TASK_UI) X(LOG_ERROR) X(LOG_WARNING) X(LOG_INFO) X(OBS_TEXT_INFO_NORMAL)                        \
	X(OBS_TEXT_INFO_WARNING) X(OBS_TEXT_INFO_ERROR)                                                       \
	X(OBS_SOURCE_TYPE_FILTER) X(OBS_SOURCE_VIDEO) X(OBS_SOURCE_ASYNC) X(OBS_SOURCE_SRGB)                  \
	X(OBS_SOURCE_CAP_DISABLED) X(GS_BGRA) X(GS_ZS_NONE) X(GS_CLEAR_COLOR) X(GS_BLEND_ZERO) X(GS_BLEND_ONE)

#ifdef LAYOUT_TABLE

/* Names, space-separated (nothing an assembler escapes): "version.major", "sizeof.<struct>",
 * "<struct>.<field>", "constant.<NAME>". */
#define FIELD_NAME(s, f) #s "." #f " "
#define CONSTANT_NAME(c) "constant." #c " "
const char layout_names[] = "version.major version.minor version.patch "
			    "sizeof.obs_source_info " SOURCE_INFO_FIELDS(FIELD_NAME)
			    "sizeof.obs_source_frame " SOURCE_FRAME_FIELDS(FIELD_NAME)
			    CONSTANTS(CONSTANT_NAME);

/* 64-bit numbers on every ABI; the reader also accepts a run of zeros written as .zero/.space. */
#define FIELD_VALUE(s, f) offsetof(struct s, f),
#define CONSTANT_VALUE(c) (c),
const unsigned long long layout_values[] = {
	LIBOBS_API_MAJOR_VER, LIBOBS_API_MINOR_VER, LIBOBS_API_PATCH_VER,
	sizeof(struct obs_source_info), SOURCE_INFO_FIELDS(FIELD_VALUE)
	sizeof(struct obs_source_frame), SOURCE_FRAME_FIELDS(FIELD_VALUE)
	CONSTANTS(CONSTANT_VALUE)
};

#else

#define PRINT_FIELD(s, f) printf("%s\"%s\": %zu", first ? "" : ", ", #f, offsetof(struct s, f)), first = 0;
#define PRINT_CONSTANT(c) printf("%s\"%s\": %d", first ? "" : ", ", #c, (int)(c)), first = 0;

int main(void)
{
	int first = 1;
	printf("{\"version\": \"%d.%d.%d\",\n", LIBOBS_API_MAJOR_VER, LIBOBS_API_MINOR_VER, LIBOBS_API_PATCH_VER);
	printf(" \"obs_source_info\": {\"sizeof\": %zu, \"fields\": {", sizeof(struct obs_source_info));
	SOURCE_INFO_FIELDS(PRINT_FIELD)
	printf("}},\n");
	first = 1;
	printf(" \"obs_source_frame\": {\"sizeof\": %zu, \"fields\": {", sizeof(struct obs_source_frame));
	SOURCE_FRAME_FIELDS(PRINT_FIELD)
	printf("}},\n");
	first = 1;
	printf(" \"constants\": {");
	CONSTANTS(PRINT_CONSTANT)
	printf("}}\n");
	return 0;
}

#endif
