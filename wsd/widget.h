/* SPDX-License-Identifier: MIT */
/* wsd_widget: the web-widget channel at /ws/widget (docs/websocket.md). wsd is the widget's
 * gateway: customer frames become inbound gateway messages (channel "widget"), and outbound
 * gateway messages for widget.<customer_id> become frames to the customer's connections. */
#ifndef WSD_WIDGET_H
#define WSD_WIDGET_H

#include "wsd.h"
#include "conn.h"

/* The endpoint /ws/widget (listener.h): hello, then the frames of the widget's table. */
extern const wsd_endpoint_t wsd_widget_endpoint;
/* Its frame table (frames.h), for tests/fuzz: the rows as the endpoint checks them. */
extern const struct wsd_frame_table *const wsd_widget_frames;
/* Loop: the customer's outbound key is bound: read the open room and what was missed, then
 * send the welcome (widget_read.c). */
void wsd_widget_ready(wsd_conn_t *c);
/* Loop: the history frame (its row's checks passed): read the page asked for (widget_read.c). */
void wsd_widget_history(wsd_conn_t *c, json_object *frame, json_object *ref);
/* Loop: an outbound gateway message for a widget customer (obj is not taken). */
void wsd_widget_outbound(wsd_t *w, json_object *obj);

#endif
