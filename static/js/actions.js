// Email actions: keep the "Open in my email app" link in step with the edited letter, and offer
// a copy button (shown only when the browser can copy). No inline script: CSP forbids it.
(function () {
  "use strict";
  // Interface strings from Django's JavaScript catalog (/jsi18n/, in the page's language).
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (fmt, args) { return fmt.replace("%s", args[0]); };
  var letter = document.getElementById("letter");
  var link = document.getElementById("mailto-link");
  if (!letter || !link) return;

  function crlf(text) {
    return text.replace(/\r\n/g, "\n").replace(/\n/g, "\r\n");
  }

  function update() {
    var to = letter.getAttribute("data-mailto-to") || "";
    var subject = letter.getAttribute("data-mailto-subject") || "";
    link.href = "mailto:" + encodeURIComponent(to).replace(/%40/g, "@") +
      "?subject=" + encodeURIComponent(subject) +
      "&body=" + encodeURIComponent(crlf(letter.value));
  }
  letter.addEventListener("input", update);

  var copy = document.getElementById("copy-letter");
  var status = document.getElementById("copy-status");
  if (copy && navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(letter.value).then(function () {
        status.textContent = interpolate(gettext("Copied. Paste it into a new email to %s."),
          [letter.getAttribute("data-mailto-to") || gettext("the recipient")]);
      }, function () {
        letter.focus();
        letter.select();
        status.textContent = gettext("Your browser would not copy it: the letter is selected, press Ctrl+C (or ⌘C).");
      });
    });
  }
})();
