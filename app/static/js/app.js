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
