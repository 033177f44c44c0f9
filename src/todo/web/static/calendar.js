// The calendar in the browser: drag a task to another day with the mouse or a pen, or focus
// it and press Alt+arrows. The move shows at once and is rolled back, with the server's
// reason in a toast (app.js), when the server refuses it: the task changed meanwhile (412,
// the If-Match of the version drawn) or the person may only view its list (403). Without
// this file the calendar is a page of links, and the chosen day's list has a plain form.
(function () {
  'use strict'

  const DRAG_THRESHOLD_PX = 6
  const LIVE_SETTLE_MILLISECONDS = 100
  const LIVE_RETRY_MILLISECONDS = 500
  const ISO_DAY = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/
  const STEPS = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 }

  let drag = null
  let pending = 0
  let refocus = null

  function region () {
    return document.getElementById('calendar')
  }

  function dayOf (element) {
    return element && element.closest ? element.closest('#calendar [data-day]') : null
  }

  function movable (element) {
    return element && element.closest ? element.closest('#calendar [data-move]') : null
  }

  // The day `step` days after an ISO day, or null past the years 1 to 9999.
  function addDays (iso, step) {
    const moment = new Date(iso + 'T12:00:00Z')
    moment.setUTCDate(moment.getUTCDate() + step)
    const day = moment.toISOString().slice(0, 10)
    return ISO_DAY.test(day) && day.slice(0, 4) !== '0000' ? day : null
  }

  function words (iso) {
    const moment = new Date(iso + 'T12:00:00Z')
    return moment.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })
  }

  function refresh () {
    const shown = region()
    if (!shown || !window.htmx || drag || pending) return false
    window.htmx.ajax('GET', location.pathname + location.search, { source: shown, target: '#calendar', swap: 'outerHTML' })
    return true
  }

  // Show the task on its new day (or take it off a page that does not show that day), then
  // ask the server; the answer draws the calendar again, a refusal puts the task back.
  function moveTo (task, day, byKeyboard) {
    const from = dayOf(task)
    if (!from || !day || from.dataset.day === day || !window.htmx) return
    const origin = { parent: task.parentElement, next: task.nextElementSibling }
    const target = region().querySelector('[data-day="' + day + '"] .cal-tasks')
    if (target) target.append(task)
    else task.hidden = true
    task.classList.add('pending')
    if (byKeyboard && target) task.querySelector('a').focus()
    refocus = byKeyboard ? task.id : null
    pending += 1
    function rollBack (event) {
      if (!event.detail.failed) return
      task.hidden = false
      task.classList.remove('pending')
      origin.parent.insertBefore(task, origin.next)
      if (byKeyboard) task.querySelector('a').focus()
      refocus = null
    }
    task.addEventListener('htmx:afterRequest', rollBack, { once: true })
    window.htmx.ajax('POST', '/tasks/' + task.dataset.move + '/reschedule', {
      source: task,
      target: '#calendar',
      swap: 'outerHTML',
      values: { date: day },
      headers: { 'If-Match': '"' + task.dataset.version + '"' }
    }).finally(function () {
      pending -= 1
      if (byKeyboard && !task.classList.contains('pending')) return
      if (byKeyboard && window.todoToast) window.todoToast('Moved to ' + words(day) + '.', '')
    })
  }

  // Focus survives the calendar being drawn again (after a move, a live change): on the
  // same task, or the same field of the day's list, by id.
  function isCalendar (event) {
    return event.detail.target && event.detail.target.id === 'calendar'
  }

  document.addEventListener('htmx:beforeSwap', function (event) {
    const active = document.activeElement
    if (refocus || !isCalendar(event) || !active || !active.closest || !active.closest('#calendar')) return
    const holder = active.id ? active : active.closest('.cal-task')
    refocus = holder ? holder.id : null
  })

  document.addEventListener('htmx:afterSwap', function (event) {
    if (!refocus || !isCalendar(event)) return
    const again = document.getElementById(refocus)
    refocus = null
    const target = again && (again.matches('.cal-task') ? again.querySelector('a') : again)
    if (target) target.focus()
  })

  // A refused change of the day's list (its Move form) leaves the calendar as the server has it.
  document.addEventListener('htmx:afterRequest', function (event) {
    if (event.detail.failed && event.detail.elt.closest && event.detail.elt.closest('#calendar')) {
      setTimeout(refresh, 0)
    }
  })

  document.addEventListener('keydown', function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return
    const step = STEPS[event.key]
    const task = step && movable(event.target)
    if (!task || task.classList.contains('pending')) return
    event.preventDefault()
    moveTo(task, addDays(dayOf(task).dataset.day, step), true)
  })

  // Dragging: Pointer Events on the document, so a calendar drawn again needs no binding.
  // A finger scrolls instead; on a phone the day's list under the month has the Move form.

  function hover (x, y) {
    const cell = dayOf(document.elementFromPoint(x, y))
    if (!cell || cell === drag.over) return
    if (drag.over) drag.over.classList.remove('drop-target')
    drag.over = cell
    cell.classList.add('drop-target')
    cell.querySelector('.cal-tasks').append(drag.task)
  }

  function endDrag (keep) {
    const done = drag
    drag = null
    if (!done || !done.started) return
    done.task.classList.remove('dragging')
    document.documentElement.classList.remove('cal-dragging')
    if (done.over) done.over.classList.remove('drop-target')
    const landed = dayOf(done.task)
    // Put back first: moveTo moves it again and remembers where it came from.
    done.parent.insertBefore(done.task, done.next)
    if (keep && landed && landed.dataset.day !== done.day) moveTo(done.task, landed.dataset.day, false)
    // The click that ends a drag is not a click on the task's link.
    function swallow (event) {
      event.preventDefault()
      event.stopPropagation()
    }
    document.addEventListener('click', swallow, { capture: true, once: true })
    setTimeout(function () { document.removeEventListener('click', swallow, true) }, 0)
  }

  document.addEventListener('pointerdown', function (event) {
    const task = !drag && event.isPrimary && event.button === 0 && event.pointerType !== 'touch' && movable(event.target)
    if (!task || task.classList.contains('pending')) return
    drag = {
      task: task,
      id: event.pointerId,
      x: event.clientX,
      y: event.clientY,
      day: dayOf(task).dataset.day,
      parent: task.parentElement,
      next: task.nextElementSibling,
      over: null
    }
  })

  document.addEventListener('pointermove', function (event) {
    if (!drag || event.pointerId !== drag.id) return
    if (!drag.started) {
      if (Math.hypot(event.clientX - drag.x, event.clientY - drag.y) < DRAG_THRESHOLD_PX) return
      drag.started = true
      drag.task.classList.add('dragging')
      document.documentElement.classList.add('cal-dragging')
      region().setPointerCapture(event.pointerId)
      window.getSelection().removeAllRanges()
    }
    event.preventDefault()
    hover(event.clientX, event.clientY)
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
    if (movable(event.target)) event.preventDefault()
  })

  // Live: a change made elsewhere (another tab, device, person, the API) draws the
  // calendar again, never in the middle of a drag or a move on its way.
  const LIVE_EVENTS = [
    'task.created', 'task.updated', 'task.completed', 'task.uncompleted', 'task.moved',
    'task.deleted', 'list.deleted', 'member.added', 'member.removed', 'reload'
  ]
  let liveTimer = null

  function liveRefresh () {
    liveTimer = null
    if (!refresh()) liveTimer = setTimeout(liveRefresh, LIVE_RETRY_MILLISECONDS)
  }

  if (window.EventSource && region() && document.body.hasAttribute('hx-headers')) {
    const source = new EventSource('/events')
    LIVE_EVENTS.forEach(function (name) {
      source.addEventListener(name, function () {
        if (liveTimer === null) liveTimer = setTimeout(liveRefresh, LIVE_SETTLE_MILLISECONDS)
      })
    })
  }
})()
