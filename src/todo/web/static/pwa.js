// The app on a device: the service worker (sw.js) that keeps opened pages readable offline,
// tasks added offline (queued in IndexedDB, sent when the connection returns, each with an
// Idempotency-Key so that a retry never makes a second task) and the first-run hint of the
// quick-add grammar. Without JavaScript none of it is needed: the forms post as always.
'use strict'
;(function () {
  const DATABASE = 'todo-offline' // sw.js deletes it when the account logs out
  const STORE = 'tasks'
  const RETRY_MILLISECONDS = 20000
  const SAVED_OFFLINE = 'Saved offline - will be sent'
  const HINT_KEY = 'todo.hint.quick-add'

  const userMeta = document.querySelector('meta[name="todo-user"]')
  const user = userMeta ? userMeta.content : null
  const csrf = JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRF-Token']

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch(function () {
      // Without a service worker the app works as before, online only.
    })
  }

  function byId (id) {
    return document.getElementById(id)
  }

  function newKey () {
    if (window.crypto && crypto.randomUUID) return 'web-' + crypto.randomUUID()
    const bytes = crypto.getRandomValues(new Uint8Array(16))
    return 'web-' + Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1) }).join('')
  }

  // Built by app.js (loaded first), so both say things the same way.
  function toast (message) {
    if (window.todoToast) window.todoToast(message, '')
  }

  // The queue: one record per task, keyed by its Idempotency-Key.

  function inStore (mode, work) {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) return reject(new Error('no IndexedDB'))
      const opening = indexedDB.open(DATABASE, 1)
      opening.onupgradeneeded = function () {
        opening.result.createObjectStore(STORE, { keyPath: 'key' })
      }
      opening.onerror = function () { reject(opening.error) }
      opening.onsuccess = function () {
        const database = opening.result
        // Closed at once: sw.js can only delete a database nobody holds open.
        const transaction = database.transaction(STORE, mode)
        const request = work(transaction.objectStore(STORE))
        transaction.oncomplete = function () {
          database.close()
          resolve(request.result)
        }
        transaction.onerror = transaction.onabort = function () {
          database.close()
          reject(transaction.error)
        }
      }
    })
  }

  function queued () {
    return inStore('readonly', function (store) { return store.getAll() }).then(function (all) {
      return all.filter(function (item) { return item.user === user })
        .sort(function (a, b) { return a.at - b.at })
    })
  }

  // Tasks waiting to be sent show under the quick-add box (outside the list, which refreshes).

  function pendingList () {
    let list = byId('pending-tasks')
    const form = byId('new-task')
    if (!list && form) {
      list = document.createElement('ul')
      list.id = 'pending-tasks'
      list.className = 'pending-tasks'
      list.setAttribute('aria-label', 'Waiting to be sent')
      // Next to the box they were typed in; a sibling, so the box's own swaps keep it.
      form.after(list)
    }
    return list
  }

  function showPending (item) {
    const list = pendingList()
    if (!list || byId('pending-' + item.key)) return
    const row = document.createElement('li')
    row.id = 'pending-' + item.key
    row.className = 'pending-task'
    const title = document.createElement('span')
    title.className = 'pending-title'
    title.textContent = new URLSearchParams(item.form).get('title')
    const state = document.createElement('span')
    state.className = 'pending-state'
    state.textContent = SAVED_OFFLINE
    row.append(title, state)
    list.append(row)
  }

  function forgetPending (key) {
    const row = byId('pending-' + key)
    if (row) row.remove()
  }

  function queue (form, key) {
    const data = new FormData(form)
    data.delete('csrf_token')
    const item = { key: key, user: user, at: Date.now(), form: new URLSearchParams(data).toString() }
    return inStore('readwrite', function (store) { return store.put(item) }).then(function () {
      form.reset()
      const preview = byId('quick-preview')
      if (preview) preview.replaceChildren()
      showPending(item)
      toast(SAVED_OFFLINE + ': “' + data.get('title') + '”.')
      const input = byId('new-title')
      if (input) input.focus()
      later()
    }).catch(function () {
      toast('This browser cannot keep tasks offline. Try again once the connection is back.')
    })
  }

  function refreshList () {
    const region = byId('tasks')
    if (!region || !window.htmx) return Promise.resolve()
    return window.htmx.ajax('GET', location.pathname + location.search, {
      source: region, target: region, swap: 'outerHTML'
    })
  }

  let sending = false
  let retry = null

  function later () {
    if (retry === null) retry = setTimeout(function () { retry = null; send() }, RETRY_MILLISECONDS)
  }

  // Sends what is queued, oldest first. A network failure, an ended session (401) or a
  // stale form token keeps the rest for later; a task the server refuses (a bad line, a
  // list it may not add to) is dropped, saying so.
  function send () {
    if (sending || !user || !csrf || !navigator.onLine) return Promise.resolve()
    sending = true
    let sent = 0
    function next (items) {
      const item = items.shift()
      if (!item) return
      const body = new URLSearchParams(item.form)
      body.set('csrf_token', csrf)
      return fetch('/tasks', {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Idempotency-Key': item.key,
          'X-CSRF-Token': csrf,
          'HX-Request': 'true'
        },
        body: body
      }).then(function (answer) {
        return answer.status === 403 ? answer.clone().json().catch(function () { return {} }).then(function (problem) {
          // This page's form token is older than the session (it logged in again elsewhere):
          // a page loaded later has a good one.
          return problem.code === 'csrf_failed' ? { later: true } : answer
        }) : answer
      }).then(function (answer) {
        if (answer.later || answer.status === 401 || answer.status >= 500) throw new Error('later')
        if (!answer.ok) {
          toast('“' + body.get('title') + '” could not be added: the server refused it (' + answer.status + ').')
        } else {
          sent += 1
        }
        return inStore('readwrite', function (store) { return store.delete(item.key) }).then(function () {
          if (!answer.ok) forgetPending(item.key)
          return next(items)
        })
      })
    }
    return queued().then(next).catch(later).then(function () {
      sending = false
      if (!sent) return
      return refreshList().then(function () {
        return queued().then(function (left) {
          const waiting = {}
          left.forEach(function (item) { waiting[item.key] = true })
          document.querySelectorAll('.pending-task').forEach(function (row) {
            if (!waiting[row.id.slice('pending-'.length)]) row.remove()
          })
        })
      })
    }).catch(function () { sending = false })
  }

  // The quick-add form: every submission carries a fresh Idempotency-Key; offline, or when
  // the request cannot reach the server, the task is queued with that same key (the first
  // attempt may have arrived: sending it again then changes nothing).

  document.addEventListener('htmx:configRequest', function (event) {
    if (event.detail.elt.id !== 'new-task') return
    event.detail.headers['Idempotency-Key'] = newKey()
  })

  document.addEventListener('submit', function (event) {
    const form = event.target
    if (form.id !== 'new-task' || navigator.onLine || !user) return
    if (!form.checkValidity()) return
    // Before htmx sees it (this listener is on the document, in the capture phase).
    event.preventDefault()
    event.stopImmediatePropagation()
    queue(form, newKey())
  }, true)

  document.addEventListener('htmx:sendError', function (event) {
    const form = event.detail.elt
    const config = event.detail.requestConfig
    if (form.id !== 'new-task' || !config || !config.headers['Idempotency-Key']) return
    queue(form, config.headers['Idempotency-Key'])
  })

  // Offline, a request made in the background (the quick-add preview, a refresh, search)
  // would only fail: it is not sent.
  document.addEventListener('htmx:beforeRequest', function (event) {
    const verb = event.detail.requestConfig && event.detail.requestConfig.verb
    if (!navigator.onLine && verb === 'get') event.preventDefault()
  })

  // A page shown from this device's copy says so.

  function showConnection () {
    let banner = byId('offline-banner')
    if (navigator.onLine) {
      if (banner) banner.remove()
      return
    }
    // Inside the column of content, never as a cell of the page's grid.
    const column = document.querySelector('main .content') || document.querySelector('main')
    // The offline page says it all itself.
    if (banner || !column || document.querySelector('[data-reload]')) return
    banner = document.createElement('p')
    banner.id = 'offline-banner'
    banner.className = 'offline-banner'
    banner.setAttribute('role', 'status')
    banner.textContent = 'You are offline: this is the page as it was when last opened here. Tasks you add are sent when the connection returns.'
    column.prepend(banner)
  }

  window.addEventListener('offline', showConnection)
  window.addEventListener('online', function () {
    showConnection()
    send()
  })
  showConnection()

  if (user && byId('tasks')) {
    queued().then(function (items) {
      items.forEach(showPending)
      return send()
    }).catch(function () {})
  }

  // The offline page: try again, and the pages this device can show meanwhile.
  document.querySelectorAll('[data-reload]').forEach(function (button) {
    button.addEventListener('click', function () { location.reload() })
  })
  // It loads the page asked for once the server answers again (the online event can come
  // a moment before the network does, so the server is asked first, and again later).
  const RECHECK_MILLISECONDS = 3000
  function reloadWhenReachable () {
    if (!navigator.onLine) return
    fetch('/health', { cache: 'no-store' }).then(function (answer) {
      if (answer.ok) location.reload()
    }).catch(function () {})
  }
  if (document.querySelector('[data-reload]')) {
    window.addEventListener('online', reloadWhenReachable)
    setInterval(reloadWhenReachable, RECHECK_MILLISECONDS)
  }

  // The first-run hint of the quick-add grammar, until dismissed in this browser.

  function hintDismissed () {
    try {
      return localStorage.getItem(HINT_KEY) === 'dismissed'
    } catch (error) {
      return false
    }
  }

  const hint = byId('quick-add-hint')
  if (hint && !hintDismissed()) {
    hint.hidden = false
    hint.querySelector('[data-hint-dismiss]').addEventListener('click', function () {
      try {
        localStorage.setItem(HINT_KEY, 'dismissed')
      } catch (error) {
        // Private mode without storage: hidden for this page only.
      }
      hint.remove()
      const input = byId('new-title')
      if (input) input.focus()
    })
  }
})()
