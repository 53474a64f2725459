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

// The task list's "select all shown" box ticks every row's box; unticking one row unticks it again (the
// server then takes the ticked rows). Without JavaScript the box alone selects every task shown.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches || !box.form) { return; }
  // The boxes sit in the table, outside their form (form="…"): find them through form.elements.
  var fields = Array.prototype.slice.call(box.form.elements);
  if (box.matches("input[data-select-all]")) {
    fields.forEach(function (one) { if (one.matches("input[data-select-one]")) { one.checked = box.checked; } });
  } else if (box.matches("input[data-select-one]") && !box.checked) {
    fields.forEach(function (all) { if (all.matches("input[data-select-all]")) { all.checked = false; } });
  }
});
