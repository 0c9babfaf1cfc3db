/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  // The tenant switcher submits as soon as a tenant is picked with the mouse. From the keyboard,
  // arrow keys only move the choice (a change event per key would leave the page at the first
  // press); Enter submits.
  var keyboardChoice = false;
  function isSwitcher(target) {
    return target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form;
  }
  function submit(form) {
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }
  document.addEventListener("keydown", function (event) {
    if (!isSwitcher(event.target)) { return; }
    if (event.key === "Enter") {
      event.preventDefault();
      submit(event.target.form);
    } else {
      keyboardChoice = true;
    }
  });
  document.addEventListener("pointerdown", function () { keyboardChoice = false; });
  document.addEventListener("change", function (event) {
    if (isSwitcher(event.target) && !keyboardChoice) { submit(event.target.form); }
  });

  // Destructive actions ask first: <form data-confirm="Delete this run?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Live regions are refreshed out of band on every poll; only a changed text is worth announcing.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var detail = event.detail;
    if (detail && detail.target && detail.target.hasAttribute("aria-live") && detail.fragment &&
        detail.target.textContent.trim() === detail.fragment.textContent.trim()) {
      detail.shouldSwap = false;
    }
  });
})();
