/* Rallyround pledge pages.
 *
 * 1. The pledge form: keep "You will be charged $X …" in step with the amount chosen.
 * 2. The card step: mount Stripe's card element and confirm the SetupIntent in the page
 *    (3-D Secure happens here, with the supporter present); on success post the intent id to
 *    our return URL, where the server re-reads it from Stripe before activating the pledge.
 * No inline script: everything comes from data- attributes (the CSP forbids inline code).
 */
(function () {
  "use strict";
  // Interface strings from Django's JavaScript catalog (/jsi18n/, in the page's language).
  var gettext = window.gettext || function (text) { return text; };

  function formatMoney(cents) {
    var dollars = Math.floor(cents / 100);
    var rest = cents % 100;
    var text = dollars.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "$" + (rest ? text + "." + (rest < 10 ? "0" : "") + rest : text);
  }

  // Mirrors pledges.forms.parse_amount_cents; the server has the final word.
  function parseCents(text) {
    var cleaned = (text || "").trim().replace(/[,\s]/g, "").replace(/^\$/, "");
    if (!/^\d+(\.\d{1,2})?$/.test(cleaned)) return null;
    var parts = cleaned.split(".");
    var cents = parseInt(parts[0], 10) * 100;
    if (parts[1]) cents += parseInt((parts[1] + "0").slice(0, 2), 10);
    return cents > 0 ? cents : null;
  }

  function initPledgeForm(form) {
    var output = form.querySelector("[data-charge-amount]");
    var other = form.querySelector("input[name=amount]");
    var otherRadio = form.querySelector("input[name=amount_choice][value=other]");
    var minCents = parseInt(form.getAttribute("data-min-cents"), 10) || 0;
    if (!output || !other) return;

    function currentCents() {
      var checked = form.querySelector("input[name=amount_choice]:checked");
      if (checked && checked.value !== "other") {
        return parseInt(checked.getAttribute("data-cents"), 10);
      }
      return parseCents(other.value);
    }

    // On the Advocate page: at the Champion minimum or more, offer to become a Champion.
    var offer = form.querySelector("[data-champion-offer]");
    var offerLink = offer && offer.querySelector("[data-champion-link]");
    var championCents = offer ? parseInt(offer.getAttribute("data-champion-cents"), 10) : 0;

    function update() {
      var cents = currentCents();
      output.textContent = formatMoney(cents === null ? Math.max(minCents, 100) : cents);
      if (offer && offerLink) {
        var reaches = cents !== null && championCents > 0 && cents >= championCents;
        offer.hidden = !reaches;
        if (reaches) {
          offerLink.href = offer.getAttribute("data-champion-url") + "?amount=" +
            encodeURIComponent((cents / 100).toFixed(cents % 100 ? 2 : 0));
        }
      }
    }

    form.addEventListener("change", update);
    if (otherRadio) {
      // Choosing "Other" (even when it was already chosen) puts the cursor in its field.
      otherRadio.addEventListener("click", function () {
        other.focus();
        update();
      });
    }
    other.addEventListener("input", function () {
      if (otherRadio && !otherRadio.checked) otherRadio.checked = true;
      update();
    });
    other.addEventListener("focus", function () {
      if (otherRadio && !otherRadio.checked && other.value) {
        otherRadio.checked = true;
        update();
      }
    });
    var submit = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function () {
      // One submission per click; the form's one-time key also guards replays server-side.
      if (submit) {
        window.setTimeout(function () { submit.disabled = true; }, 0);
      }
    });
    // Coming back with the Back button restores the page as it was: make it usable again.
    window.addEventListener("pageshow", function () {
      if (submit) submit.disabled = false;
    });
    update();
  }

  var CARD_NOT_SAVED = gettext("Your card could not be saved. Please check the details or try another card.");
  var SOMETHING_WRONG = gettext("We could not reach the card processor just now. Nothing was charged. " +
    "Please check your connection and try again.");

  function initCardForm(form) {
    var errors = document.getElementById("card-errors");
    var button = document.getElementById("card-submit");
    var complete = document.getElementById("card-complete");
    var clientSecret = form.getAttribute("data-client-secret");
    var intentUrl = form.getAttribute("data-intent-url");
    var needsFreshIntent = false;
    var label = button.textContent;

    if (typeof window.Stripe !== "function") {
      showError(gettext("The card form could not load. Please check your connection and reload the page."));
      return;
    }
    // Stripe's card field speaks the page's language.
    var stripe = window.Stripe(form.getAttribute("data-publishable-key"),
      { locale: document.documentElement.lang || "auto" });
    var elements = stripe.elements();
    var card = elements.create("card", { hidePostalCode: false });
    card.mount("#card-element");
    button.disabled = false;

    function showError(message) {
      errors.textContent = message;
      errors.hidden = false;
    }

    function busy(on) {
      button.disabled = on;
      button.textContent = on ? gettext("Saving your card…") : label;
      form.setAttribute("aria-busy", on ? "true" : "false");
    }

    function csrfToken() {
      var input = complete.querySelector("input[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }

    function freshSecret() {
      return fetch(intentUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
      }).then(function (response) {
        return response.json().then(function (body) {
          if (body.redirect) { window.location.assign(body.redirect); return null; }
          if (!response.ok || !body.client_secret) {
            var error = new Error(body.error || gettext("Please reload the page and try again."));
            error.fromServer = true;
            throw error;
          }
          return body.client_secret;
        });
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errors.hidden = true;
      busy(true);
      var secret = needsFreshIntent ? freshSecret() : Promise.resolve(clientSecret);
      secret.then(function (value) {
        if (value === null) return null;
        clientSecret = value;
        needsFreshIntent = false;
        return stripe.confirmCardSetup(clientSecret, { payment_method: { card: card } });
      }).then(function (result) {
        if (result === null) return;
        if (result.error) {
          // The card processor's own words (sentences such as "Your card was declined.");
          // its server failures and anything without a message get our plain sentence.
          needsFreshIntent = true;
          busy(false);
          var theirs = result.error.message && result.error.type !== "api_error" &&
            result.error.type !== "api_connection_error";
          showError(theirs ? result.error.message : CARD_NOT_SAVED);
          return;
        }
        complete.querySelector("input[name=setup_intent]").value = result.setupIntent.id;
        button.textContent = gettext("Card saved — finishing…");
        complete.submit();
      }).catch(function (err) {
        needsFreshIntent = true;
        busy(false);
        // Only our own server's answers are shown as they are (they are sentences we wrote).
        showError(err && err.fromServer ? err.message : SOMETHING_WRONG);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var pledgeForm = document.querySelector("[data-pledge-form]");
    if (pledgeForm) initPledgeForm(pledgeForm);
    var cardForm = document.querySelector("[data-card-form]");
    if (cardForm) initCardForm(cardForm);
  });
})();
