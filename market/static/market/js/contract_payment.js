// Mounts Stripe's Payment Element with the PaymentIntent's client secret and confirms the payment.
// No inline script: everything it needs comes from the form's data attributes.
(function () {
  "use strict";
  function start() {
    var form = document.getElementById("payment-form");
    if (!form || typeof window.Stripe !== "function") { return; }
    var stripe = window.Stripe(form.dataset.publishableKey);
    var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
    var element = elements.create("payment");
    element.mount("#payment-element");
    var message = document.getElementById("payment-message");
    var button = document.getElementById("payment-submit");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      message.hidden = true;
      stripe.confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.returnUrl } })
        .then(function (result) {
          if (result.error) {
            message.textContent = result.error.message;
            message.hidden = false;
            button.disabled = false;
          }
        });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
