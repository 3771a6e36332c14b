/* SPDX-License-Identifier: MIT */
/* The daemon's main.c for the fuzz targets that link wsd's modules: its helpers (wsd_now_ms,
 * wsd_post, the settings cache) as the daemon has them; its main() renamed, since libFuzzer
 * brings its own. */
#define main wsd_main_not_run
int wsd_main_not_run(int argc, char **argv);
#include "../../wsd/main.c"
