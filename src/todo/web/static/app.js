// Todo in the browser: keyboard shortcuts, toasts, focus care and fresh data, on top of htmx.
// Every action is also a plain form, so none of this is needed for the app to work.
(function () {
  'use strict'

  const TOAST_MILLISECONDS = 8000
  // Focus and visibilitychange often fire together; one refresh is enough.
  const REFRESH_GAP_MILLISECONDS = 1000

  document.documentElement.classList.add('js')

  const toasts = document.getElementById('toasts')
  const shortcuts = document.getElementById('shortcuts')

  function byId (id) {
    return document.getElementById(id)
  }

  // Toasts

  function dismiss (toast) {
    const hadFocus = toast.contains(document.activeElement)
    toast.remove()
    if (hadFocus) focusNewTask()
  }

  function arm (toast) {
    if (toast.dataset.armed) return
    toast.dataset.armed = 'true'
    const close = toast.querySelector('.toast-close')
    if (close) {
      close.hidden = false
      close.addEventListener('click', function () { dismiss(toast) })
    }
    let timer = null
    function wait () {
      clearTimeout(timer)
      timer = setTimeout(function () { dismiss(toast) }, TOAST_MILLISECONDS)
    }
    function hold () { clearTimeout(timer) }
    // Someone reading the toast or reaching for its Undo button keeps it on screen.
    toast.addEventListener('mouseenter', hold)
    toast.addEventListener('focusin', hold)
    toast.addEventListener('mouseleave', wait)
    toast.addEventListener('focusout', wait)
    wait()
  }

  function armAll () {
    toasts.querySelectorAll('[data-toast]').forEach(arm)
  }

  // kind: 'error' (the default) or '' for news; pwa.js says its own through window.todoToast.
  function showToast (message, kind) {
    if (!toasts) return
    const toast = document.createElement('div')
    toast.className = kind === '' ? 'toast' : 'toast ' + (kind || 'error')
    toast.dataset.toast = ''
    const text = document.createElement('p')
    text.className = 'toast-message'
    text.textContent = message
    const close = document.createElement('button')
    close.type = 'button'
    close.className = 'toast-close'
    close.setAttribute('aria-label', 'Dismiss')
    close.textContent = '×'
    toast.append(text, close)
    toasts.append(toast)
  }

  window.todoToast = showToast

  if (toasts) {
    armAll()
    new MutationObserver(armAll).observe(toasts, { childList: true })
  }

  // The list region, refreshed from the server

  let lastRefresh = 0

  // Whether the list was asked for again (false: busy, or too soon after the last time).
  function refreshList (force) {
    const region = byId('tasks')
    if (!region || !window.htmx) return false
    const now = Date.now()
    if (!force && now - lastRefresh < REFRESH_GAP_MILLISECONDS) return false
    // Never pull a title being edited, or a change on its way, from under someone.
    if (region.querySelector('.editing, .htmx-request, .dragging')) return false
    lastRefresh = now
    refreshSentAfter = changesSent
    // As many pages as are shown, so that the rows Load more brought stay on screen.
    const pages = Number(region.dataset.pages) || 1
    const url = location.pathname + location.search
    const drawn = pages > 1 ? url + (location.search ? '&' : '?') + 'pages=' + pages : url
    window.htmx.ajax('GET', drawn, { source: region, target: region, swap: 'outerHTML' })
    return true
  }

  // A change that draws the list again (Tab, a drop, a refused form) keeps as many pages.
  document.addEventListener('htmx:configRequest', function (event) {
    const region = byId('tasks')
    if (region && Number(region.dataset.pages) > 1) {
      event.detail.headers['X-Todo-Pages'] = region.dataset.pages
    }
  })

  // Each page Load more appends counts towards what a refresh asks for.
  document.addEventListener('htmx:afterSwap', function (event) {
    const region = byId('tasks')
    if (region && event.detail.target && event.detail.target.id === 'task-list' &&
        event.detail.requestConfig && event.detail.requestConfig.verb === 'get') {
      region.dataset.pages = String((Number(region.dataset.pages) || 1) + 1)
    }
  })

  // A refresh that left before a change of this tab's may come back after it, with the
  // list as it was, or land on a row opened for editing meanwhile: it is not drawn, and
  // another refresh follows once the row is closed.
  let changesSent = 0
  let refreshSentAfter = null
  document.addEventListener('htmx:beforeRequest', function (event) {
    const verb = event.detail.requestConfig && event.detail.requestConfig.verb
    if (verb && verb !== 'get') changesSent += 1
  })
  document.addEventListener('htmx:beforeSwap', function (event) {
    const target = event.detail.target
    if (refreshSentAfter === null || !target || target.id !== 'tasks') return
    // Nor is one that would wipe an editor opened, or a request sent, while it was away.
    const stale = refreshSentAfter !== changesSent ||
      target.querySelector('.editing, .htmx-request, .dragging') !== null
    refreshSentAfter = null
    if (stale) {
      event.detail.shouldSwap = false
      if (liveTimer === null) liveTimer = setTimeout(liveRefresh, LIVE_SETTLE_MILLISECONDS)
    }
  })

  // Live: the server says when anything of this account changed (in another tab, on
  // another device, or here). The list and its counts are drawn again; a row being edited
  // or dragged, or a change on its way, is never overwritten: the refresh waits for it.
  // On a task's page only its Activity section is drawn again; the form stays as typed.
  const LIVE_EVENTS = [
    'task.created', 'task.updated', 'task.completed', 'task.uncompleted', 'task.moved',
    'task.deleted', 'list.created', 'list.updated', 'list.moved', 'list.deleted',
    'tag.updated', 'tag.merged', 'tag.deleted', 'member.added', 'member.updated',
    'member.removed', 'reload'
  ]
  const LIVE_SETTLE_MILLISECONDS = 100
  const LIVE_RETRY_MILLISECONDS = 500
  let liveTimer = null

  function liveRefresh () {
    liveTimer = null
    if (byId('tasks')) {
      if (!refreshList(true)) liveTimer = setTimeout(liveRefresh, LIVE_RETRY_MILLISECONDS)
      return
    }
    const history = byId('activity')
    if (history && window.htmx) {
      window.htmx.ajax('GET', location.pathname, {
        source: history, target: history, select: '#activity', swap: 'outerHTML'
      })
    }
  }

  function onLiveEvent (event) {
    const history = byId('activity')
    if (!byId('tasks') && history) {
      const data = event.data ? JSON.parse(event.data) : {}
      const mine = data.resource === 'task' && String(data.resource_id) === history.dataset.task
      if (event.type !== 'reload' && !mine) return
    }
    // A burst of changes (a list deleted with its tasks) is one refresh.
    if (liveTimer === null) liveTimer = setTimeout(liveRefresh, LIVE_SETTLE_MILLISECONDS)
  }

  if (window.EventSource && document.body.hasAttribute('hx-headers') && (byId('tasks') || byId('activity'))) {
    const source = new EventSource('/events')
    LIVE_EVENTS.forEach(function (name) { source.addEventListener(name, onLiveEvent) })
  }

  // Another tab or device may have changed the list while this tab was in the background.
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') refreshList(false)
  })
  window.addEventListener('focus', function () { refreshList(false) })

  function problemDetail (xhr) {
    if ((xhr.getResponseHeader('Content-Type') || '').indexOf('json') !== -1) {
      try {
        const detail = JSON.parse(xhr.responseText).detail
        if (detail) return detail
      } catch (error) {
        // Not a problem document after all: the general sentence below says enough.
      }
    }
    return 'That did not work: something went wrong on our side.'
  }

  // A refused change leaves the screen as the server has it: say why here, and reload the
  // list once the request is over (see htmx:afterRequest).
  document.addEventListener('htmx:responseError', function (event) {
    showToast(problemDetail(event.detail.xhr))
  })
  document.addEventListener('htmx:sendError', function () {
    showToast('The server cannot be reached. Check the connection and try again.')
  })

  // A refusal (422 problem) is said, not swapped into the page.
  function refusal (xhr) {
    return xhr && xhr.status === 422 && /json/.test(xhr.getResponseHeader('Content-Type'))
  }
  document.addEventListener('htmx:beforeSwap', function (event) {
    if (refusal(event.detail.xhr)) event.detail.shouldSwap = false
  })

  document.addEventListener('htmx:afterRequest', function (event) {
    if (refusal(event.detail.xhr)) showToast(problemDetail(event.detail.xhr))
    if (event.detail.failed || refusal(event.detail.xhr)) {
      refreshList(true)
      return
    }
    const elt = event.detail.elt
    const status = event.detail.xhr ? event.detail.xhr.status : 0
    if (status < 200 || status >= 300) return
    if (elt.id === 'new-task') {
      elt.reset()
      focusNewTask()
    }
    const toast = elt.closest && elt.closest('[data-toast]')
    if (toast) dismiss(toast)
  })

  // Focus: when the row that had it is swapped away, keep the person where they were: on
  // the same control of the new row, or on the next (else previous) row when it is gone,
  // by id, as a list brought back whole has new row elements.

  let focusedRow = null

  document.addEventListener('htmx:beforeSwap', function () {
    const row = currentRow()
    const all = rows()
    const at = all.indexOf(row)
    focusedRow = row && {
      id: row.id,
      control: document.activeElement.classList.contains('check') ? '.check' : '.title',
      next: all[at + 1] ? all[at + 1].id : null,
      previous: at > 0 ? all[at - 1].id : null
    }
  })

  document.addEventListener('htmx:afterSettle', function () {
    const lost = !document.activeElement || document.activeElement === document.body
    const remembered = focusedRow
    focusedRow = null
    if (!lost || !remembered) return
    const same = byId(remembered.id)
    const control = same && same.querySelector(remembered.control)
    if (control) {
      control.focus()
      return
    }
    const candidates = [same, byId(remembered.next), byId(remembered.previous)]
    const row = candidates.find(function (each) { return each && each.closest('#task-list') })
    if (row) focusRow(row)
    else focusNewTask()
  })

  // Keyboard

  function rows () {
    return Array.prototype.slice.call(document.querySelectorAll('#task-list > .task'))
  }

  function currentRow () {
    const active = document.activeElement
    return active && active.closest ? active.closest('#task-list > .task') : null
  }

  function focusRow (row) {
    const target = row && row.querySelector('.edit-title, .title')
    if (!target) return
    target.focus()
    target.scrollIntoView({ block: 'nearest' })
  }

  function focusNewTask () {
    const input = byId('new-title')
    if (input) input.focus()
    return Boolean(input)
  }

  function move (step) {
    const all = rows()
    if (!all.length) return false
    const index = all.indexOf(currentRow())
    const next = index === -1 ? (step > 0 ? 0 : all.length - 1) : index + step
    focusRow(all[Math.max(0, Math.min(all.length - 1, next))])
    return true
  }

  function press (selector) {
    const row = currentRow()
    const control = row && row.querySelector(selector)
    if (!control) return false
    control.click()
    return true
  }

  function showShortcuts () {
    if (!shortcuts || shortcuts.open) return false
    shortcuts.showModal()
    return true
  }

  function isTyping (element) {
    return element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName)
  }

  const keys = {
    n: focusNewTask,
    '/': focusNewTask,
    j: function () { return move(1) },
    k: function () { return move(-1) },
    x: function () { return press('.check') },
    e: function () { return press('.title') },
    Delete: function () { return press('.delete') },
    '?': showShortcuts
  }

  document.addEventListener('keydown', function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return
    const target = event.target
    if (event.key === 'Escape' && target.classList.contains('edit-title')) {
      event.preventDefault()
      target.form.querySelector('.cancel').click()
      return
    }
    if (isTyping(target)) {
      if (event.key === 'Escape' && target.id === 'new-title') target.blur()
      return
    }
    if (shortcuts && shortcuts.open) return
    const action = Object.prototype.hasOwnProperty.call(keys, event.key) && keys[event.key]
    if (action && action()) event.preventDefault()
  })

  const help = byId('shortcuts-button')
  if (help) {
    help.hidden = false
    help.addEventListener('click', showShortcuts)
  }
  // The sidebar is a menu on a phone: closed until asked for.
  const sidebar = byId('sidebar')
  const phone = window.matchMedia('(max-width: 48rem)')
  if (sidebar && phone.matches) sidebar.open = false
  // The drawer's shade (the details element) or Escape closes it.
  function closeMenu (event) {
    if (!phone.matches || !sidebar.open) return
    if (event.key === 'Escape' || event.target === sidebar) {
      sidebar.open = false
      sidebar.firstElementChild.focus()
    }
  }
  if (sidebar) {
    sidebar.addEventListener('click', closeMenu)
    document.addEventListener('keydown', closeMenu)
  }

  // Reordering: drag a row, or Alt+ArrowUp/Down on a focused one. The list says whether
  // its order is the person's own (data-reorder); the server keeps the new place. Rows that
  // Load more appends belong to the same list, so they move like the first page's.

  function reorderable () {
    const list = byId('task-list')
    return list && list.dataset.reorder === 'true' ? list : null
  }

  function saveOrder (row) {
    if (!window.htmx) return
    const previous = row.previousElementSibling
    const after = previous && previous.classList.contains('task') ? previous.id.replace('task-', '') : ''
    window.htmx.ajax('POST', '/tasks/' + row.id.replace('task-', '') + '/move', {
      source: row, values: { after: after }, swap: 'none'
    })
  }

  function shift (step) {
    const row = currentRow()
    if (!row || !reorderable()) return false
    const other = step < 0 ? row.previousElementSibling : row.nextElementSibling
    if (!other || !other.classList.contains('task')) return true
    const focused = document.activeElement
    if (step < 0) other.before(row)
    else other.after(row)
    if (focused) focused.focus()
    saveOrder(row)
    return true
  }

  document.addEventListener('keydown', function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey) return
    if (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') return
    if (isTyping(event.target)) return
    if (shift(event.key === 'ArrowUp' ? -1 : 1)) event.preventDefault()
  })

  // Dragging uses Pointer Events (mouse, finger, pen) with listeners on the document, so
  // rows that Load more appends need no binding of their own. A mouse drags a row from
  // anywhere but its buttons; a finger or a pen uses the grip, so swiping still scrolls.

  const DRAG_THRESHOLD_PX = 6
  const SCROLL_EDGE_PX = 48
  let drag = null

  function dragRow (target) {
    const list = reorderable()
    const row = target.closest && target.closest('#task-list > .task:not(.editing)')
    return list && row && row.parentElement === list ? row : null
  }

  function placeAt (row, y) {
    const others = Array.prototype.filter.call(row.parentElement.children, function (each) {
      return each !== row && each.classList.contains('task')
    })
    const before = others.find(function (each) {
      const box = each.getBoundingClientRect()
      return y < box.top + box.height / 2
    })
    if (before) before.before(row)
    else if (others.length) others[others.length - 1].after(row)
    if (y < SCROLL_EDGE_PX) window.scrollBy(0, -16)
    else if (y > window.innerHeight - SCROLL_EDGE_PX) window.scrollBy(0, 16)
  }

  // Sideways nests: right under the row shown above, left (a subtask) one level up; the server
  // keeps the place among the new siblings and the depth limit.
  function depthOf (row) {
    return Number((row.className.match(/depth-(\d)/) || [0, 0])[1])
  }

  function nestAt (dx) {
    const row = drag.row
    let above = row.previousElementSibling
    while (above && above.hidden) above = above.previousElementSibling
    const up = row.querySelector('.outdent')
    drag.nest = dx > 32 && above && above.classList.contains('task')
      ? { parent: above.id.slice(5), depth: depthOf(above) + 1 }
      : dx < -32 && up ? { parent: up.value, depth: drag.depth - 1 } : null
    const depth = drag.nest && drag.nest.depth ? ' sub depth-' + drag.nest.depth : ''
    row.className = drag.nest ? drag.classes.replace(/ (sub|depth-\d)\b/g, '') + ' dragging nesting' + depth : drag.classes + ' dragging'
  }

  function endDrag (keep) {
    const done = drag
    drag = null
    if (!done || !done.started) return
    done.row.className = done.classes
    document.documentElement.classList.remove('reordering')
    const nest = done.nest
    const regraft = keep && nest && nest.parent !== (done.row.dataset.parent || '')
    if (!keep || (nest && !regraft)) done.list.insertBefore(done.row, done.next)
    else if (regraft) {
      window.htmx.ajax('POST', '/tasks/' + done.row.id.slice(5) + '/parent', {
        source: done.row, values: { parent: nest.parent }, target: '#tasks', swap: 'outerHTML'
      })
    } else if (done.row.nextElementSibling !== done.next) saveOrder(done.row)
    // The click that ends a drag is not a click on what the pointer was let go over.
    function swallow (event) {
      event.preventDefault()
      event.stopPropagation()
    }
    document.addEventListener('click', swallow, { capture: true, once: true })
    setTimeout(function () { document.removeEventListener('click', swallow, true) }, 0)
  }

  document.addEventListener('pointerdown', function (event) {
    const row = !drag && event.isPrimary && event.button === 0 && dragRow(event.target)
    if (!row) return
    const grip = event.target.closest('.grip')
    if (!grip && (event.pointerType !== 'mouse' || event.target.closest('button, input'))) return
    if (grip) event.preventDefault()
    drag = { row: row, list: row.parentElement, id: event.pointerId, x: event.clientX, y: event.clientY, next: row.nextElementSibling, depth: depthOf(row), classes: row.className }
  })

  document.addEventListener('pointermove', function (event) {
    if (!drag || event.pointerId !== drag.id) return
    if (!drag.started) {
      if (Math.hypot(event.clientX - drag.x, event.clientY - drag.y) < DRAG_THRESHOLD_PX) return
      drag.started = true
      drag.row.classList.add('dragging')
      document.documentElement.classList.add('reordering')
      // The list holds the pointer: the row itself moves around inside it.
      drag.list.setPointerCapture(event.pointerId)
      window.getSelection().removeAllRanges()
    }
    event.preventDefault()
    placeAt(drag.row, event.clientY)
    nestAt(event.clientX - drag.x)
  })

  document.addEventListener('pointerup', function (event) {
    if (drag && event.pointerId === drag.id) endDrag(true)
  })
  document.addEventListener('pointercancel', function (event) {
    if (drag && event.pointerId === drag.id) endDrag(false)
  })
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && drag && drag.started) endDrag(false)
  })
  // A link dragged natively would take the pointer away from all this.
  document.addEventListener('dragstart', function (event) {
    if (dragRow(event.target)) event.preventDefault()
  })

  // Subtasks: folds, Tab / Shift+Tab, the _ask.html dialog
  function folds () {
    try { return new Set(JSON.parse(localStorage.getItem('todo.folded'))) } catch (e) { return new Set() }
  }
  function applyFolds () {
    const shut = folds()
    const under = new Set()
    document.querySelectorAll('#task-list > .task').forEach(function (row) {
      const id = row.id.slice(5)
      const twisty = row.querySelector('.twisty')
      row.hidden = under.has(row.dataset.parent)
      if (row.hidden || shut.has(id)) under.add(id)
      if (!twisty) return
      twisty.hidden = false
      twisty.setAttribute('aria-expanded', !shut.has(id))
    })
    const ask = document.querySelector('#ask-slot dialog:not(.asked)')
    if (!ask) return
    ask.classList.add('asked')
    ask.showModal()
  }
  document.addEventListener('htmx:afterSettle', applyFolds)
  applyFolds()
  document.addEventListener('click', function (event) {
    const twisty = event.target.closest('.twisty')
    if (!twisty) return
    const shut = folds()
    const id = twisty.parentNode.id.slice(5)
    if (!shut.delete(id)) shut.add(id)
    localStorage.setItem('todo.folded', JSON.stringify(Array.from(shut).slice(-500)))
    applyFolds()
  })
  document.addEventListener('htmx:afterRequest', function (event) {
    const ask = event.detail.elt.closest('#ask-slot dialog')
    if (ask) ask.remove()
  })
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Tab' && event.target.classList.contains('title') && press(event.shiftKey ? '.outdent' : '.indent')) event.preventDefault()
  })

  // Sign-up tells the server where "today" is for this person.
  const zoneField = byId('browser-timezone')
  if (zoneField && window.Intl) {
    zoneField.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ''
  }

  // The repeat picker shows only the details of the chosen kind of repetition, and what
  // the next date counts from only when the task repeats at all.
  const repeat = byId('repeat')
  function showRepeatDetails () {
    document.querySelectorAll('[data-repeat]').forEach(function (part) {
      part.hidden = part.dataset.repeat !== repeat.value
    })
    document.querySelectorAll('[data-repeating]').forEach(function (part) {
      part.hidden = repeat.value === 'none'
    })
  }
  if (repeat) {
    repeat.addEventListener('change', showRepeatDetails)
    showRepeatDetails()
  }

  // Reminders: the page asks for due ones every minute; a browser notification when the
  // person allowed them, the banner in the page otherwise.
  const REMINDER_POLL_MILLISECONDS = 60000
  const announced = {}

  function announce () {
    const granted = window.Notification && Notification.permission === 'granted'
    document.querySelectorAll('#reminders .reminder').forEach(function (banner) {
      const id = banner.dataset.reminder
      if (!granted || announced[id]) return
      announced[id] = true
      const note = new Notification('Reminder', { body: banner.dataset.title, tag: 'task-' + id })
      note.addEventListener('click', function () { location.href = '/tasks/' + id })
    })
  }

  const reminders = byId('reminders')
  if (reminders) {
    announce()
    if (window.Notification && Notification.permission === 'default') {
      const ask = document.createElement('button')
      ask.type = 'button'
      ask.className = 'link-button notify-button'
      ask.textContent = 'Notify me of reminders'
      ask.addEventListener('click', function () {
        Notification.requestPermission().then(function () { ask.remove(); announce() })
      })
      reminders.before(ask)
    }
    setInterval(function () {
      if (!window.htmx || document.visibilityState !== 'visible') return
      window.htmx.ajax('GET', '/reminders', { source: '#reminders', target: '#reminders', swap: 'outerHTML' })
        .then(announce)
    }, REMINDER_POLL_MILLISECONDS)
  }

  // A new token's Copy button: the secret is shown once, so copying it must be easy. Where the
  // clipboard is not available (plain http on another host), the field is selected instead.
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    const field = byId(button.dataset.copy)
    if (!field) return
    const label = button.textContent
    button.addEventListener('click', function () {
      field.select()
      if (!navigator.clipboard) return
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = button.dataset.copied
        setTimeout(function () { button.textContent = label }, 2000)
      })
    })
  })
})()
