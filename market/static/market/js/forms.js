/* One submission per click: once a POST form is submitted its submit buttons are disabled, so a
   double click sends it once. The server refuses a repeated submission anyway (market/once.py);
   this spares the second round trip. A file, not an inline script: the site's CSP allows no inline
   script. */
(function () {
  "use strict";
  var RELEASE_AFTER_MS = 15000; // the page is still here (a download, a stalled network): allow a retry

  function submitButtons(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.type === "submit" || el.type === "image";
    });
  }

  function setBusy(form, busy) {
    if (busy) {
      form.setAttribute("data-submitting", "1");
    } else {
      form.removeAttribute("data-submitting");
    }
    submitButtons(form).forEach(function (button) {
      button.disabled = busy;
      if (busy) {
        button.setAttribute("aria-busy", "true");
      } else {
        button.removeAttribute("aria-busy");
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") {
      return;
    }
    if (form.hasAttribute("data-submitting")) {
      event.preventDefault(); // the second click (or Enter) while the first is on its way
      return;
    }
    if (event.defaultPrevented) {
      return; // a script handles this form itself
    }
    form.setAttribute("data-submitting", "1");
    // Disable after the browser has read the form: a disabled submit button would not send its
    // name and value (e.g. decision=accept).
    window.setTimeout(function () { setBusy(form, true); }, 0);
    window.setTimeout(function () { setBusy(form, false); }, RELEASE_AFTER_MS);
  });

  // Back to a page kept in the browser's cache: its forms may be used again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      Array.prototype.forEach.call(document.querySelectorAll("form[data-submitting]"), function (form) {
        setBusy(form, false);
      });
    }
  });
})();
