// The service worker: keeps the pages you opened readable offline, and shows a pushed
// reminder while no tab of Todo is open (opening the task when it is clicked). Served at
// /sw.js so that its scope is the app.
'use strict'

// Pages: network first, the last copy when the network fails, else the offline page.
// Static files: their URLs carry their content's hash (?v=), so a kept copy is never stale.
// Pages hold one account's tasks: they are forgotten when that account logs out (and so is
// anything queued offline, see pwa.js), and API answers are never kept at all.
const PAGES = 'todo-pages-v1'
const SHELL = 'todo-shell-v1'
const OFFLINE_URL = '/offline'
const PAGES_KEPT = 60
const QUEUE_DATABASE = 'todo-offline'
// Pages never kept: ones that name no account or that carry a secret in their address.
const NOT_KEPT = /^\/(login|signup|offline|join\/|account\/export)/
// Posting these ends the account's session here: what it left on this device goes too.
const FORGETTING = ['/logout', '/account/delete']

self.addEventListener('install', function (event) {
  event.waitUntil(keepShell().then(function () { return self.skipWaiting() }))
})

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.startsWith('todo-') && name !== PAGES && name !== SHELL
    }).map(function (name) { return caches.delete(name) }))
  }).then(function () { return self.clients.claim() }))
})

// The offline page and the files it links to, fetched without cookies: it is nobody's.
function keepShell () {
  return caches.open(SHELL).then(function (cache) {
    return fetch(OFFLINE_URL, { credentials: 'omit', cache: 'reload' }).then(function (page) {
      if (!page.ok) throw new Error('the offline page answered ' + page.status)
      return page.clone().text().then(function (html) {
        const files = html.match(/\/static\/[^"'\s]+\?v=[0-9a-f]+/g) || []
        const unique = files.filter(function (file, at) { return files.indexOf(file) === at })
        return Promise.all([cache.put(OFFLINE_URL, page)].concat(unique.map(function (file) {
          return cache.add(file.replace(/&amp;/g, '&'))
        })))
      })
    })
  })
}

function forgetAccount () {
  return Promise.all([
    caches.delete(PAGES),
    new Promise(function (resolve) {
      const deleting = indexedDB.deleteDatabase(QUEUE_DATABASE)
      deleting.onsuccess = deleting.onerror = deleting.onblocked = function () { resolve() }
    })
  ])
}

function isPage (response) {
  return response.ok && response.type === 'basic' && !response.redirected &&
    (response.headers.get('Content-Type') || '').startsWith('text/html')
}

function keepPage (url, response) {
  return caches.open(PAGES).then(function (cache) {
    return cache.put(url, response).then(function () { return cache.keys() }).then(function (kept) {
      // Keys come oldest first: the pages opened longest ago make room.
      return Promise.all(kept.slice(0, Math.max(0, kept.length - PAGES_KEPT)).map(function (old) {
        return cache.delete(old)
      }))
    })
  })
}

function networkFirst (event, url) {
  return fetch(event.request).then(function (response) {
    if (isPage(response) && !NOT_KEPT.test(url.pathname)) {
      event.waitUntil(keepPage(url.pathname + url.search, response.clone()))
    }
    return response
  }).catch(function (error) {
    return caches.match(url.pathname + url.search, { cacheName: PAGES }).then(function (kept) {
      return kept || caches.match(OFFLINE_URL, { cacheName: SHELL })
    }).then(function (found) {
      if (found) return found
      throw error
    })
  })
}

// A file's new version replaces its older ones, and the offline page is fetched again so
// that it links to the versions kept.
function replaceVersions (cache, request, response) {
  const path = new URL(request.url).pathname
  return cache.put(request, response).then(function () { return cache.keys() }).then(function (kept) {
    const older = kept.filter(function (each) {
      return new URL(each.url).pathname === path && each.url !== request.url
    })
    if (!older.length) return
    return Promise.all(older.map(function (each) { return cache.delete(each) })).then(keepShell)
  }).catch(function () {})
}

function cacheFirst (request) {
  return caches.open(SHELL).then(function (cache) {
    return cache.match(request).then(function (kept) {
      if (kept) return kept
      return fetch(request).then(function (response) {
        // Only an answer the server calls immutable is this URL's content for good.
        if (response.ok && (response.headers.get('Cache-Control') || '').includes('immutable')) {
          replaceVersions(cache, request, response.clone())
        }
        return response
      })
    })
  })
}

self.addEventListener('fetch', function (event) {
  const request = event.request
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (request.method !== 'GET') {
    if (FORGETTING.includes(url.pathname)) event.waitUntil(forgetAccount())
    return
  }
  if (url.pathname.startsWith('/static/') && url.searchParams.has('v')) {
    event.respondWith(cacheFirst(request))
  } else if (request.mode === 'navigate') {
    event.respondWith(networkFirst(event, url))
  }
})

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
    icon: '/static/icons/icon-192.png'
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
