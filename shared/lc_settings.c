/* SPDX-License-Identifier: MIT */
/* lc_settings: defaults and validation rules of the runtime settings document, and the
 * rendering of message templates ({agent}, {customer}). */
#include "config.h"
#include "lc_settings.h"
#include "lc_alloc.h"

#include <string.h>

/* Every key is optional: a settings update is a PATCH. Templates: 1..1000 characters. */
#define TEMPLATE_RULE(name) { name, LC_V_STRING, false, 1, 1000, NULL, NULL }

const lc_vrule_t lc_settings_rules[] = {
	{ "history_limit", LC_V_INT, false, 1, 500, NULL, NULL },
	TEMPLATE_RULE("join_message"),
	TEMPLATE_RULE("end_message_customer"),
	TEMPLATE_RULE("end_message_agent"),
	TEMPLATE_RULE("agent_disconnected_message"),
	TEMPLATE_RULE("no_agent_message"),
	TEMPLATE_RULE("waiting_message"),
	TEMPLATE_RULE("customer_left_message"),
	{ "request_timeout", LC_V_INT, false, 10, 86400, NULL, NULL },
	/* max 0 would mean "unbounded" to lc_validate; 3600 is the real upper bound. */
	{ "reconnect_grace", LC_V_INT, false, 0, 3600, NULL, NULL },
	LC_VRULE_END
};

json_object *lc_settings_defaults(void)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "history_limit", json_object_new_int64(50));
	json_object_object_add(o, "join_message",
			       json_object_new_string("{agent} has entered the chat"));
	json_object_object_add(o, "end_message_customer",
			       json_object_new_string("{agent} has ended the chat. Thank you for contacting us."));
	json_object_object_add(o, "end_message_agent",
			       json_object_new_string("You ended the chat with {customer}."));
	json_object_object_add(o, "agent_disconnected_message",
			       json_object_new_string("{agent} was disconnected. The chat has ended."));
	json_object_object_add(o, "no_agent_message",
			       json_object_new_string("Sorry, no agent is available right now. Please try again later."));
	json_object_object_add(o, "waiting_message",
			       json_object_new_string("Please wait, an agent will be with you shortly."));
	json_object_object_add(o, "customer_left_message",
			       json_object_new_string("{customer} has left the chat."));
	json_object_object_add(o, "request_timeout", json_object_new_int64(120));
	json_object_object_add(o, "reconnect_grace", json_object_new_int64(30));
	return o;
}

char *lc_settings_render(const char *tmpl, const char *agent, const char *customer)
{
	static const char tag_agent[] = "{agent}";
	static const char tag_customer[] = "{customer}";
	if (tmpl == NULL)
		tmpl = "";
	if (agent == NULL)
		agent = "";
	if (customer == NULL)
		customer = "";
	size_t alen = strlen(agent), clen = strlen(customer);

	/* Two passes: measure, then copy; substituted text is never rescanned. */
	size_t need = 0;
	for (const char *p = tmpl; *p != '\0';) {
		if (strncmp(p, tag_agent, sizeof tag_agent - 1) == 0) {
			need += alen;
			p += sizeof tag_agent - 1;
		} else if (strncmp(p, tag_customer, sizeof tag_customer - 1) == 0) {
			need += clen;
			p += sizeof tag_customer - 1;
		} else {
			need++;
			p++;
		}
	}
	char *out = lc_malloc(need + 1);
	char *w = out;
	for (const char *p = tmpl; *p != '\0';) {
		if (strncmp(p, tag_agent, sizeof tag_agent - 1) == 0) {
			memcpy(w, agent, alen);
			w += alen;
			p += sizeof tag_agent - 1;
		} else if (strncmp(p, tag_customer, sizeof tag_customer - 1) == 0) {
			memcpy(w, customer, clen);
			w += clen;
			p += sizeof tag_customer - 1;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return out;
}
