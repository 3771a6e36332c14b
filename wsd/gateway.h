/* wsd_gateway: the livechat side of the gateway contract (docs/gateway.md): inbound messages
 * (request_agent, customer_message, customer_left, customer_typing) are validated, stored on a
 * worker, forwarded, and only then acked; outbound messages are built here. */
#ifndef WSD_GATEWAY_H
#define WSD_GATEWAY_H

#include "wsd.h"
#include "lc_bus.h"

/* Consumer thread: take over one inbound delivery. */
void wsd_gateway_inbound(wsd_t *w, lc_bus_delivery_t *d);
/* A new outbound message {type, id, channel, customer_id, ts, room_id} for room (a room
 * object with id, channel, customer_id). */
json_object *wsd_gateway_out_new(const char *type, const char *id, json_object *room);
/* The worker key of a customer: all jobs of one customer's rooms run in order on one worker. */
char *wsd_gateway_key(const char *channel, const char *customer_id);

#endif
