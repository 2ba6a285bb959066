// Draws every Plotly figure whose JSON the server embedded; clicking a point opens its submission.
document.querySelectorAll("[data-figure-id]").forEach(function (el) {
  var fig = JSON.parse(document.getElementById(el.dataset.figureId).textContent);
  Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false}).then(function () {
    el.dataset.rendered = "true";
  });
  el.on("plotly_click", function (ev) {
    var p = ev.points && ev.points[0];
    if (p && p.customdata && p.customdata[0]) { window.location.href = p.customdata[0]; }
  });
});
