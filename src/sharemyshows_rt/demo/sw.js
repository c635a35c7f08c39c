// The demo's service worker: shows the server's Web Push notifications (docs/push.md) and
// opens the show's chat when one is clicked.
self.addEventListener('push', function (event) {
  var data = event.data ? event.data.json() : {};
  var count = data.count || 1;
  var title = (data.show_title || 'ShareMyShows') + (count > 1 ? ' (' + count + ' new)' : '');
  var body = data.last ? data.last.username + ': ' + data.last.message : 'New messages';
  event.waitUntil(self.registration.showNotification(title, {
    body: body, tag: 'show-' + data.show_id, renotify: true, data: { url: data.url || '/' },
  }));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
