/* SPDX-License-Identifier: MIT */
/* lc_settings: the runtime settings kept in MongoDB (one document), their defaults and rules.
 * fcgi validates updates with lc_settings_rules; wsd reads them through the store. */
#ifndef LC_SETTINGS_H
#define LC_SETTINGS_H

#include <json-c/json.h>
#include "lc_validate.h"

/* Keys:
 *  history_limit            int 1..500, default 50: messages loaded when an agent enters a room
 *  join_message             string, default "{agent} has entered the chat"
 *  end_message_customer     string, default "{agent} has ended the chat. Thank you for contacting us."
 *  end_message_agent        string, default "You ended the chat with {customer}."
 *  agent_disconnected_message string, default "{agent} was disconnected. The chat has ended."
 *  no_agent_message         string, default "Sorry, no agent is available right now. Please try again later."
 *  waiting_message          string, default "Please wait, an agent will be with you shortly."
 *  customer_left_message    string, default "{customer} has left the chat." (to the agent)
 *  request_timeout          int seconds 10..86400, default 120
 *  reconnect_grace          int seconds 0..3600, default 30
 * Templates may contain {agent} and {customer}. */
extern const lc_vrule_t lc_settings_rules[];

/* A new object holding every key with its default. */
json_object *lc_settings_defaults(void);
/* Replace {agent} and {customer} in tmpl; NULL values become "". Returns a new string. */
char *lc_settings_render(const char *tmpl, const char *agent, const char *customer);

#endif
