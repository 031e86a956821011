// Draw every chart of the page from its JSON figure; keep the period picker's fields consistent.
document.querySelectorAll(".chart[data-figure]").forEach(function (el) {
  var fig = JSON.parse(el.getAttribute("data-figure"));
  var spark = el.classList.contains("spark");
  Plotly.newPlot(el, fig.data, fig.layout, {displayModeBar: !spark, staticPlot: false, responsive: true});
});
(function () {
  var grain = document.getElementById("grain");
  if (!grain) return;
  function sync() {
    var custom = grain.value === "custom";
    document.getElementById("date").disabled = custom;
    document.getElementById("from").disabled = !custom;
    document.getElementById("to").disabled = !custom;
  }
  grain.addEventListener("change", sync);
  sync();
})();
