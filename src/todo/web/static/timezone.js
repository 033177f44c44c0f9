// The account page's time-zone picker: a search box narrows the choices, and the browser's
// own zone is offered when it is not the one saved. Without JavaScript it is a plain select.
'use strict'
;(function () {
  const picker = document.querySelector('[data-zone-picker]')
  if (picker) {
    const select = picker.querySelector('select')
    const search = picker.querySelector('input[type="search"]')
    const options = Array.prototype.slice.call(select.options)
    search.hidden = false
    search.addEventListener('input', function () {
      const words = search.value.trim().toLowerCase().replace(/\s+/g, '_').split('_').filter(Boolean)
      let first = null
      options.forEach(function (option) {
        const name = option.value.toLowerCase()
        const match = words.every(function (word) { return name.indexOf(word) !== -1 })
        option.hidden = !match
        option.disabled = !match
        if (match && !first) first = option
      })
      select.querySelectorAll('optgroup').forEach(function (group) {
        group.hidden = !group.querySelector('option:not([hidden])')
      })
      if (first && select.selectedOptions[0] && select.selectedOptions[0].hidden) first.selected = true
    })
    const browserZone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone
    const offered = options.find(function (option) { return option.value === browserZone })
    const suggestion = picker.querySelector('[data-zone-suggestion]')
    if (offered && select.value !== browserZone) {
      const use = suggestion.querySelector('[data-zone-use]')
      use.textContent = 'Use this device’s time zone: ' + browserZone
      suggestion.hidden = false
      use.addEventListener('click', function () {
        search.value = ''
        search.dispatchEvent(new Event('input'))
        offered.selected = true
        suggestion.hidden = true
        select.focus()
      })
    }
  }
})()
