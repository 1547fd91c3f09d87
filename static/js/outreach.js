// Copy-to-clipboard buttons: <button data-copy-target="input-id">. Works without the
// Clipboard API (older browsers, plain http) by selecting the text and using execCommand.
(function () {
  "use strict";
  // Interface strings from Django's JavaScript catalog (/jsi18n/, in the page's language).
  var gettext = window.gettext || function (text) { return text; };
  function announce(button, text) {
    var status = button.parentNode.querySelector("[role=status]");
    if (status) { status.textContent = text; }
  }
  // Phones offer their own share sheet (Messages, Signal, Instagram…): show "More…" there.
  if (navigator.share) {
    document.querySelectorAll("[data-native-share]").forEach(function (item) {
      item.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var share = event.target.closest("[data-share-url]");
    if (share && navigator.share) {
      navigator.share({
        title: share.getAttribute("data-share-title") || document.title,
        url: share.getAttribute("data-share-url")
      }).catch(function () { /* the person closed the sheet */ });
      return;
    }
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) { return; }
    var value = input.value !== undefined ? input.value : input.textContent;
    function fallback() {
      input.focus();
      input.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      announce(button, ok ? gettext("Copied.") : gettext("Press Ctrl+C (⌘C) to copy."));
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(function () {
        announce(button, gettext("Copied."));
      }, fallback);
    } else {
      fallback();
    }
  });
})();
