// SPDX-License-Identifier: MIT
/* livechat-widget.js: the customer chat widget a website embeds with
 *   <script src="https://chat.example.com/widget/livechat-widget.js" async></script>
 * Options (attributes of this script tag): data-title, data-ws-url (default: /ws/widget on the
 * script's own origin), data-open="true" (start with the panel open).
 * This classic script only reads them (a module cannot see its own tag) and imports the widget,
 * the ES module widget.js beside it, which shares the dashboard's websocket code (../js/ws.js).
 * From another site's page these are cross-origin module loads: the web server answers them with
 * Access-Control-Allow-Origin (conf/lighttpd.conf.in, conf/apache-livechat.conf.in). */
(function () {
  'use strict';

  const script = document.currentScript;
  const options = {
    src: script.src,
    title: script.dataset.title,
    wsUrl: script.dataset.wsUrl,
    open: script.dataset.open,
  };
  const start = () => import(new URL('widget.js', script.src).href)
    .then((widget) => widget.start(options))
    .catch((e) => console.error('livechat: the chat widget could not load', e));
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
}());
