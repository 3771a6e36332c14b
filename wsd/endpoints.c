/* SPDX-License-Identifier: MIT */
/* wsd_endpoints: the endpoints this program serves. The one place that names them all, so the
 * listener (transport) looks them up by path and knows nothing of agents or widgets. */
#include "config.h"
#include "listener.h"
#include "agent.h"
#include "widget.h"

const wsd_endpoint_t *const wsd_endpoints[] = { &wsd_agent_endpoint, &wsd_widget_endpoint, NULL };
