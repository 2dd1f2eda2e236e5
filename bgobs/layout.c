/* Prints the layout of the libobs structs bgobs mirrors with ctypes, as JSON.
 * Build against the OBS headers (libobs-dev):  cc -I/usr/include/obs layout.c -o layout
 * tests/obs/test_layout.py compiles it and compares every offset with bgobs.structs. */
#include <stddef.h>
#include <stdio.h>
#include <obs.h>
#include <obs-source.h>

#define F(s, f) printf("%s\"%s\": %zu", first ? "" : ", ", #f, offsetof(struct s, f)), first = 0

int main(void)
{
	int first = 1;
	printf("{\"version\": \"%d.%d.%d\",\n", LIBOBS_API_MAJOR_VER, LIBOBS_API_MINOR_VER, LIBOBS_API_PATCH_VER);
	printf(" \"obs_source_info\": {\"sizeof\": %zu, \"fields\": {", sizeof(struct obs_source_info));
	F(obs_source_info, id); F(obs_source_info, type); F(obs_source_info, output_flags);
	F(obs_source_info, get_name); F(obs_source_info, create); F(obs_source_info, destroy);
	F(obs_source_info, get_width); F(obs_source_info, get_height); F(obs_source_info, get_defaults);
	F(obs_source_info, get_properties); F(obs_source_info, update); F(obs_source_info, activate);
	F(obs_source_info, deactivate); F(obs_source_info, show); F(obs_source_info, hide);
	F(obs_source_info, video_tick); F(obs_source_info, video_render); F(obs_source_info, filter_video);
	F(obs_source_info, filter_audio); F(obs_source_info, enum_active_sources); F(obs_source_info, save);
	F(obs_source_info, load); F(obs_source_info, mouse_click); F(obs_source_info, mouse_move);
	F(obs_source_info, mouse_wheel); F(obs_source_info, focus); F(obs_source_info, key_click);
	F(obs_source_info, filter_remove); F(obs_source_info, type_data); F(obs_source_info, free_type_data);
	F(obs_source_info, audio_render); F(obs_source_info, enum_all_sources);
	F(obs_source_info, transition_start); F(obs_source_info, transition_stop);
	F(obs_source_info, get_defaults2); F(obs_source_info, get_properties2); F(obs_source_info, audio_mix);
	F(obs_source_info, icon_type); F(obs_source_info, media_play_pause); F(obs_source_info, media_restart);
	F(obs_source_info, media_stop); F(obs_source_info, media_next); F(obs_source_info, media_previous);
	F(obs_source_info, media_get_duration); F(obs_source_info, media_get_time);
	F(obs_source_info, media_set_time); F(obs_source_info, media_get_state); F(obs_source_info, version);
	F(obs_source_info, unversioned_id); F(obs_source_info, missing_files);
	F(obs_source_info, video_get_color_space);
	printf("}},\n");
	first = 1;
	printf(" \"obs_source_frame\": {\"sizeof\": %zu, \"fields\": {", sizeof(struct obs_source_frame));
	F(obs_source_frame, data); F(obs_source_frame, linesize); F(obs_source_frame, width);
	F(obs_source_frame, height); F(obs_source_frame, timestamp); F(obs_source_frame, format);
	F(obs_source_frame, color_matrix); F(obs_source_frame, full_range); F(obs_source_frame, max_luminance);
	F(obs_source_frame, color_range_min); F(obs_source_frame, color_range_max); F(obs_source_frame, flip);
	F(obs_source_frame, flags); F(obs_source_frame, trc); F(obs_source_frame, refs);
	F(obs_source_frame, prev_frame);
	printf("}},\n");
	printf(" \"constants\": {\"OBS_SOURCE_TYPE_INPUT\": %d, \"OBS_SOURCE_ASYNC_VIDEO\": %d,"
	       " \"OBS_SOURCE_DO_NOT_DUPLICATE\": %d, \"OBS_ICON_TYPE_CAMERA\": %d, \"VIDEO_FORMAT_BGRA\": %d,"
	       " \"OBS_COMBO_TYPE_EDITABLE\": %d, \"OBS_COMBO_FORMAT_STRING\": %d, \"OBS_COMBO_TYPE_LIST\": %d,"
	       " \"OBS_COMBO_FORMAT_INT\": %d, \"OBS_PATH_FILE\": %d, \"OBS_TEXT_INFO\": %d, \"OBS_TEXT_DEFAULT\": %d,"
	       " \"OBS_TASK_UI\": %d, \"LOG_ERROR\": %d, \"LOG_WARNING\": %d, \"LOG_INFO\": %d,"
	       " \"OBS_TEXT_INFO_NORMAL\": %d, \"OBS_TEXT_INFO_WARNING\": %d, \"OBS_TEXT_INFO_ERROR\": %d}}\n",
	       OBS_SOURCE_TYPE_INPUT, OBS_SOURCE_ASYNC_VIDEO, OBS_SOURCE_DO_NOT_DUPLICATE, OBS_ICON_TYPE_CAMERA,
	       VIDEO_FORMAT_BGRA, OBS_COMBO_TYPE_EDITABLE, OBS_COMBO_FORMAT_STRING, OBS_COMBO_TYPE_LIST,
	       OBS_COMBO_FORMAT_INT, OBS_PATH_FILE, OBS_TEXT_INFO, OBS_TEXT_DEFAULT, OBS_TASK_UI, LOG_ERROR,
	       LOG_WARNING, LOG_INFO, OBS_TEXT_INFO_NORMAL, OBS_TEXT_INFO_WARNING, OBS_TEXT_INFO_ERROR);
	return 0;
}
