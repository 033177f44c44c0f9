// The account page's "This browser" part: subscribe this browser to Web Push with the
// server's key, or unsubscribe it. Without JavaScript or Push support the buttons stay
// hidden and the rest of the Notifications section works as a plain form.
'use strict'
;(function () {
  const box = document.querySelector('[data-push]')
  if (!box) return
  const state = box.querySelector('[data-push-state]')
  const on = box.querySelector('[data-push-subscribe]')
  const off = box.querySelector('[data-push-unsubscribe]')
  const csrf = JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRF-Token']
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !window.Notification) {
    state.textContent += ' This browser cannot receive them.'
    return
  }

  function keyBytes (base64url) {
    const padded = (base64url + '==='.slice((base64url.length + 3) % 4)).replace(/-/g, '+').replace(/_/g, '/')
    return Uint8Array.from(atob(padded), function (c) { return c.charCodeAt(0) })
  }

  function post (url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body)
    }).then(function (answer) {
      if (!answer.ok) throw new Error('the server answered ' + answer.status)
      return answer
    })
  }

  function show (subscribed) {
    on.hidden = subscribed
    off.hidden = !subscribed
    state.textContent = subscribed
      ? 'This browser gets notifications for your reminders.'
      : Notification.permission === 'denied'
        ? 'Notifications are blocked for this site in this browser’s settings.'
        : 'This browser does not get notifications yet.'
  }

  function failed (error) {
    state.textContent = 'That did not work: ' + error.message + '.'
  }

  navigator.serviceWorker.register('/sw.js').then(function (registration) {
    return registration.pushManager.getSubscription().then(function (current) {
      // A subscription the server does not know yet (another account used this browser
      // before) is sent again: posting the same one twice only updates it.
      if (current) post('/account/push-subscriptions', current.toJSON()).catch(failed)
      show(Boolean(current))
      on.addEventListener('click', function () {
        Notification.requestPermission().then(function (permission) {
          if (permission !== 'granted') return show(false)
          return registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(box.dataset.vapidKey)
          }).then(function (made) {
            return post('/account/push-subscriptions', made.toJSON()).then(function () { show(true) })
          })
        }).catch(failed)
      })
      off.addEventListener('click', function () {
        registration.pushManager.getSubscription().then(function (found) {
          if (!found) return show(false)
          const endpoint = found.endpoint
          return found.unsubscribe().then(function () {
            return post('/account/push-subscriptions/delete', { endpoint: endpoint })
          }).then(function () { show(false) })
        }).catch(failed)
      })
    })
  }).catch(failed)
})()
