/* Rallyround payment pages after a campaign succeeded.
 *
 * Confirm page: finish 3-D Secure on the existing PaymentIntent with stripe.confirmCardPayment
 * (passing the saved card), then post the form; the server re-reads the intent from Stripe
 * before recording anything.
 * New-card page: save the card with stripe.confirmCardSetup, then post the SetupIntent id; the
 * server charges the new card and tells the supporter the result.
 * No inline script (the CSP forbids it): everything comes from data- attributes.
 */
(function () {
  "use strict";
  // Interface strings from Django's JavaScript catalog (/jsi18n/, in the page's language).
  var gettext = window.gettext || function (text) { return text; };

  function errorBox() { return document.getElementById("payment-errors"); }

  function showError(message) {
    var box = errorBox();
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    box.setAttribute("tabindex", "-1");
    box.focus();
  }

  function stripeFor(form) {
    if (typeof window.Stripe !== "function") {
      showError(gettext("The payment form could not load. Please check your connection and reload the page."));
      return null;
    }
    // Stripe's card field and 3-D Secure window speak the page's language.
    return window.Stripe(form.getAttribute("data-publishable-key"),
      { locale: document.documentElement.lang || "auto" });
  }

  function busy(button, on, label, busyLabel) {
    button.disabled = on;
    button.textContent = on ? busyLabel : label;
  }

  function initConfirm(form) {
    var stripe = stripeFor(form);
    var button = document.getElementById("payment-submit");
    if (!stripe || !button) return;
    var label = button.textContent;
    var submitting = false;
    button.disabled = false;
    form.addEventListener("submit", function (event) {
      if (submitting) return; // the second submit is ours: let it go to the server
      event.preventDefault();
      busy(button, true, label, gettext("Waiting for your bank…"));
      // The saved card goes with the request: after an off-session charge that needed
      // authentication, real Stripe leaves the payment waiting for a payment method.
      var paymentMethod = form.getAttribute("data-payment-method");
      var data = paymentMethod ? { payment_method: paymentMethod } : undefined;
      stripe.confirmCardPayment(form.getAttribute("data-client-secret"), data).then(function (result) {
        // Success or failure, the server asks Stripe what happened; the page only says "done".
        if (result.error && !result.paymentIntent) {
          var message = (result.error && result.error.message) || gettext("Your bank did not confirm the payment.");
          showError(message + " We are checking with your bank…");
        }
        submitting = true;
        form.submit();
      });
    });
  }

  function initNewCard(form) {
    var stripe = stripeFor(form);
    var button = document.getElementById("payment-submit");
    var complete = document.getElementById("new-card-complete");
    if (!stripe || !button || !complete) return;
    var label = button.textContent;
    var card = stripe.elements().create("card", { hidePostalCode: false });
    card.mount("#card-element");
    button.disabled = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      busy(button, true, label, gettext("Paying…"));
      errorBox().hidden = true;
      stripe.confirmCardSetup(form.getAttribute("data-client-secret"), {
        payment_method: { card: card }
      }).then(function (result) {
        if (result.error) {
          showError((result.error.message || gettext("Your card could not be saved.")) + " " + gettext("Please check the details or try another card."));
          busy(button, false, label, "");
          return;
        }
        complete.querySelector("input[name=setup_intent]").value = result.setupIntent.id;
        complete.submit();
      });
    });
  }

  document.querySelectorAll("[data-payment-confirm]").forEach(initConfirm);
  document.querySelectorAll("[data-payment-new-card]").forEach(initNewCard);
})();
