/* Small progressive enhancements of the portals; every form also works without JavaScript. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    /* Focus the error summary, or the wizard step's heading, so that a screen reader announces it. */
    var target = document.querySelector("[data-focus]");
    if (target) { target.setAttribute("tabindex", "-1"); target.focus(); }

    /* Cascading fields: a change submits the form (the <noscript> button does it without JS). */
    document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
      field.addEventListener("change", function () {
        var form = field.form;
        if (!form) { return; }
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      });
    });

    /* Uploads: send with XHR to show the progress; the server answers JSON to such calls. */
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var file = form.querySelector("input[type=file]");
        if (!file || !file.files || !file.files.length || !window.FormData) { return; }
        event.preventDefault();
        var bar = form.querySelector("progress");
        var status = form.querySelector("[data-upload-status]");
        var button = form.querySelector("button[type=submit]");
        if (bar) { bar.hidden = false; bar.value = 0; }
        if (button) { button.disabled = true; }
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", function (e) {
          if (!e.lengthComputable) { return; }
          var pct = Math.round(e.loaded * 100 / e.total);
          if (bar) { bar.value = pct; }
          if (status) { status.textContent = "Envoi en cours : " + pct + " %"; }
        });
        xhr.addEventListener("load", function () {
          var body = {};
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
          if (body.redirect) {
            var target = new URL(body.redirect, window.location.href);
            if (target.pathname + target.search === window.location.pathname + window.location.search) {
              window.location.hash = target.hash;
              window.location.reload();  /* same page: only the hash differs, assign() would not reload */
            } else {
              window.location.assign(target.href);
            }
            return;
          }
          if (button) { button.disabled = false; }
          if (status) { status.textContent = body.error || "L'envoi a échoué. Réessayez."; status.classList.add("fr-error-text"); }
        });
        xhr.addEventListener("error", function () {
          if (button) { button.disabled = false; }
          if (status) { status.textContent = "L'envoi a échoué (connexion interrompue). Réessayez."; }
        });
        if (status) { status.textContent = "Envoi en cours : 0 %"; }
        xhr.send(new FormData(form));
      });
    });

    /* Antivirus analysis in progress: reload the page in a moment to show the verdict. */
    if (document.querySelector("[data-refresh-while-scanning]")) {
      window.setTimeout(function () { window.location.reload(); }, 3000);
    }
  });
})();
