// Omni dashboard: refreshes the page's <main> in place and draws the bar charts as inline SVG.
// No dependencies, no build step.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";

  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    return node;
  }

  function drawChart(box) {
    var series = JSON.parse(box.getAttribute("data-series") || "[]");
    var w = 320, h = 110, pad = 18, max = 1;
    series.forEach(function (p) { if (p[1] > max) max = p[1]; });
    var svg = el("svg", { viewBox: "0 0 " + w + " " + h, width: "100%", role: "img" });
    var bw = (w - pad) / Math.max(series.length, 1);
    series.forEach(function (p, i) {
      var bh = (h - pad) * p[1] / max;
      var bar = el("rect", { x: pad + i * bw, y: h - pad - bh, width: Math.max(bw - 1, 1), height: bh, "class": "bar" });
      var tip = el("title", {}); tip.textContent = p[0] + ": " + p[1]; bar.appendChild(tip);
      svg.appendChild(bar);
    });
    var top = el("text", { x: 0, y: 10, "class": "axis" }); top.textContent = max; svg.appendChild(top);
    if (series.length) {
      var first = el("text", { x: pad, y: h - 4, "class": "axis" }); first.textContent = series[0][0];
      var last = el("text", { x: w, y: h - 4, "class": "axis", "text-anchor": "end" });
      last.textContent = series[series.length - 1][0];
      svg.appendChild(first); svg.appendChild(last);
    }
    box.replaceChildren(svg);
  }

  function drawAll() { document.querySelectorAll(".chart").forEach(drawChart); }

  function busy() {  // do not replace the page under the user's hands
    var a = document.activeElement;
    return a && (a.tagName === "SELECT" || a.tagName === "INPUT");
  }

  function refresh() {
    if (document.hidden || busy()) return;
    var live = document.getElementById("live");
    fetch(location.href, { credentials: "same-origin", headers: { "X-Requested-With": "refresh" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("main");
        if (next) { document.getElementById("main").replaceChildren.apply(document.getElementById("main"), Array.from(next.childNodes)); drawAll(); }
        if (live) { live.className = "live"; live.setAttribute("data-updated", Date.now()); }
      })
      .catch(function () { if (live) live.className = "live stale"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawAll();
    var seconds = parseFloat(document.body.getAttribute("data-refresh") || "0");
    if (seconds > 0) setInterval(refresh, seconds * 1000);
  });
})();
