// The lead list's bulk bar: "tick all on this page" and the count of ticked leads. Listens on
// the document, so it keeps working after htmx swaps the results in.
(function () {
  "use strict";

  function update(form) {
    const boxes = Array.from(form.querySelectorAll("input[data-pick]"));
    const ticked = boxes.filter((box) => box.checked).length;
    const all = form.querySelector("input[data-pick-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    const count = form.querySelector("#bulk-count");
    if (count) {
      count.textContent = ticked
        ? ticked + (ticked === 1 ? " lead ticked." : " leads ticked.")
        : "Tick leads in the table, or all on this page.";
    }
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    const form = target.closest && target.closest("form#bulk");
    if (!form) return;
    if (target.matches("input[data-pick-all]")) {
      form.querySelectorAll("input[data-pick]").forEach((box) => {
        box.checked = target.checked;
      });
    }
    if (target.matches("input[data-pick], input[data-pick-all]")) update(form);
  });
})();
