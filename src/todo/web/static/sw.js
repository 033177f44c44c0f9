// The service worker: shows a pushed reminder while no tab of Todo is open, and opens the
// task when the notification is clicked. Served at /sw.js so that its scope is the app.
'use strict'

self.addEventListener('push', function (event) {
  let message = { title: 'Reminder', body: '', url: '/', tag: 'todo' }
  try {
    message = Object.assign(message, event.data ? event.data.json() : {})
  } catch (error) {
    message.body = event.data ? event.data.text() : ''
  }
  // The same tag as the page's own reminder notification: one replaces the other.
  event.waitUntil(self.registration.showNotification(message.title, {
    body: message.body,
    tag: message.tag,
    data: { url: message.url },
    icon: '/static/favicon.svg'
  }))
})

self.addEventListener('notificationclick', function (event) {
  event.notification.close()
  const target = new URL((event.notification.data && event.notification.data.url) || '/', self.location.origin)
  if (target.origin !== self.location.origin) return
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (windows) {
    for (const client of windows) {
      if ('focus' in client && new URL(client.url).origin === target.origin) {
        return client.navigate(target.href).then(function (found) { return (found || client).focus() })
      }
    }
    return self.clients.openWindow(target.href)
  }))
})
