// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("click", function (event) {
  var copy = event.target.closest("[data-copy]");
  if (copy) {
    var source = document.querySelector(copy.getAttribute("data-copy"));
    var text = source ? (source.value !== undefined && source.tagName === "INPUT" ? source.value : source.innerText) : "";
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text.trim()).then(function () { copy.textContent = "Copied"; });
    }
    return;
  }
  var confirmer = event.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
  var all = event.target.closest("[data-select-all]");
  if (all) {
    document.querySelectorAll(all.getAttribute("data-select-all")).forEach(function (box) { box.checked = all.checked; });
  }
});
