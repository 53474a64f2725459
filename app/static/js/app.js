// htmx sends the CSRF token with every request it makes; forms carry their own hidden field.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});

// A select marked data-submit-on-change submits its form as soon as a value is picked (the account
// switcher); without JavaScript the form keeps its own button. No inline handlers: the CSP forbids them.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("select[data-submit-on-change]") && field.form) { field.form.submit(); }
});
