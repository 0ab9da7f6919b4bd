(function () {
  function count() {
    var imgs = document.querySelectorAll("img[data-chart]"), n = 0;
    for (var i = 0; i < imgs.length; i++) {
      if (imgs[i].complete && imgs[i].naturalWidth > 0) { n++; }
    }
    document.body.dataset.chartsLoaded = String(n);
  }
  // "anchor:heading height:charts decoded:top:height" for every section, in CSS pixels
  // (read by the browser test, which crops each section out of a screenshot)
  function sections() {
    var out = [], all = document.querySelectorAll("main > section");
    for (var i = 0; i < all.length; i++) {
      var s = all[i], h = s.querySelector("h2"), imgs = s.querySelectorAll("img[data-chart]");
      var box = s.getBoundingClientRect(), n = 0;
      var heading = h ? Math.round(h.getBoundingClientRect().height) : 0;
      for (var j = 0; j < imgs.length; j++) {
        if (imgs[j].complete && imgs[j].naturalWidth > 0) { n++; }
      }
      out.push([s.id, heading, n, Math.round(box.top + window.scrollY),
                Math.round(box.height)].join(":"));
    }
    document.body.dataset.sections = out.join(";");
    document.body.dataset.pageHeight = String(document.documentElement.scrollHeight);
  }
  var imgs = document.querySelectorAll("img[data-chart]");
  for (var i = 0; i < imgs.length; i++) { imgs[i].addEventListener("load", count); }
  window.addEventListener("load", count);
  window.addEventListener("load", sections);
  count();
})();
