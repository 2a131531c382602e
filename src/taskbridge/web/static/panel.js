// taskbridge panel: small enhancements; every page also works without JavaScript.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Copy a shown-once secret to the clipboard.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field) { return; }
      field.select();
      var done = function () { button.textContent = button.getAttribute("data-copied") || "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });

  // Submit the tenant switcher as soon as another tenant is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Operator screen: the date-time picker appears only for labels that need a future date.
  var field = document.querySelector("[data-future-field]");
  if (field) {
    var input = field.querySelector("input");
    var sync = function () {
      var chosen = document.querySelector("input[name='result_type']:checked");
      var needs = !!(chosen && chosen.hasAttribute("data-needs-date"));
      field.hidden = !needs;
      input.required = needs;
      if (!needs) { input.value = ""; }
    };
    document.querySelectorAll("input[name='result_type']").forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  }
})();
