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

// A page brought back from the back-forward cache shows the state from when it was left (a task list that
// still says "To do"): load it again. htmx's own history entries reload too (historyCacheSize 0,
// refreshOnHistoryMiss in the htmx-config meta), so Back and Forward always show what is true now.
window.addEventListener("pageshow", function (event) {
  if (event.persisted) { window.location.reload(); }
});

// A file input with data-max-bytes refuses a file above that size before anything is sent: the message goes
// into the element named by data-error-target (the one place that form's errors show, replacing what was
// there, so an earlier refusal does not linger), and the field stays invalid so neither htmx nor a plain submit sends it.
function describeBytes(n) {
  return n >= 1048576 ? (n / 1048576).toFixed(n % 1048576 ? 1 : 0) + " MB" : Math.ceil(n / 1024) + " KB";
}

function checkFileSize(input) {
  var limit = Number(input.getAttribute("data-max-bytes"));
  var slot = document.getElementById(input.getAttribute("data-error-target") || "");
  var file = input.files && input.files[0];
  var message = "";
  if (file && limit && file.size > limit) {
    message = "“" + file.name + "” is " + describeBytes(file.size) + ", larger than " + describeBytes(limit)
      + ". Choose a smaller file.";
  }
  input.setCustomValidity(message);
  if (slot) { slot.textContent = message; }  // a new choice of file replaces the last message, if any
  return !message;
}

document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("input[type=file][data-max-bytes]")) { checkFileSize(field); }
});

// Capture phase: runs before htmx's own submit handler on the form.
document.addEventListener("submit", function (event) {
  var inputs = event.target.querySelectorAll ? event.target.querySelectorAll("input[type=file][data-max-bytes]") : [];
  for (var i = 0; i < inputs.length; i++) {
    if (!checkFileSize(inputs[i])) { event.preventDefault(); event.stopPropagation(); return; }
  }
}, true);

// On a phone the workspace tabs scroll in one row: bring the current one into view.
document.addEventListener("DOMContentLoaded", function () {
  var nav = document.querySelector("nav.subnav");
  var active = nav && nav.querySelector("a.active");
  if (active && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = active.offsetLeft - nav.offsetLeft - (nav.clientWidth - active.offsetWidth) / 2;
  }
});

// The KPI trend chart: its data sits in a <script type="application/json"> block named by the canvas's
// data-kpi-chart (the CSP allows no inline script). Without JavaScript the table of periods says the same.
document.addEventListener("DOMContentLoaded", function () {
  var canvas = document.querySelector("canvas[data-kpi-chart]");
  var source = canvas && document.getElementById(canvas.getAttribute("data-kpi-chart"));
  if (!source || typeof window.Chart === "undefined") { return; }
  var d = JSON.parse(source.textContent);
  var higher = d.direction === "higher";
  var band = function (label, data, colour, fill) {
    return { label: label, data: data, stepped: "middle", borderColor: colour, borderWidth: 1, borderDash: [4, 3],
             pointRadius: 0, fill: fill, backgroundColor: colour.replace("1)", "0.10)"), order: 3 };
  };
  var values = d.values.filter(function (v) { return v !== null; });
  var all = values.concat(d.target, d.amber, d.red).filter(function (v) { return v !== null; });
  var low = Math.min.apply(null, all), high = Math.max.apply(null, all), pad = (high - low) * 0.15 || 1;
  var yMin = d.minimum !== null ? Math.max(d.minimum, low - pad) : low - pad;
  var yMax = d.maximum !== null ? Math.min(d.maximum, high + pad) : high + pad;
  // Bands: past red is off track, between red and amber at risk; the side beyond amber is on track.
  var datasets = [
    { label: "Value", data: d.values, borderColor: "#2456d6", backgroundColor: "#2456d6", borderWidth: 2.5,
      pointRadius: 4, pointHoverRadius: 6, spanGaps: false, cubicInterpolationMode: "monotone", order: 1 },
    { label: "Target", data: d.target, stepped: "middle", borderColor: "#1c7c54", borderWidth: 2, pointRadius: 0,
      fill: false, order: 2 },
    band("Red threshold", d.red, "rgba(180, 35, 24, 1)", higher ? "start" : "end"),
    band("Amber threshold", d.amber, "rgba(214, 141, 0, 1)", "-1")
  ];
  new window.Chart(canvas, {
    type: "line",
    data: { labels: d.labels, datasets: datasets },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { min: yMin, max: yMax, title: { display: true, text: d.unit } }, x: { grid: { display: false } } },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: function (c) {
          return c.parsed.y === null ? c.dataset.label + ": missing" : c.dataset.label + ": " + c.parsed.y + " " + d.unit;
        } } }
      }
    }
  });
});
