// The header's jump-to-lead box. htmx fetches the suggestions; this adds the keyboard
// (Down/Up move through them, Escape closes them) and shows a refused term's 400 message.
(function () {
  "use strict";

  function links(results) {
    return Array.from(results.querySelectorAll("a"));
  }

  function close(input, results) {
    results.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
  }

  function setUp() {
    const input = document.getElementById("jump-q");
    const results = document.getElementById("jump-results");
    if (!input || !results) return;

    // htmx leaves 4xx answers unswapped; the 400 carries the message to show.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target === results && event.detail.xhr.status === 400) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== results) return;
      input.setAttribute("aria-expanded", links(results).length ? "true" : "false");
    });

    input.addEventListener("keydown", function (event) {
      const found = links(results);
      if (event.key === "ArrowDown" && found.length) {
        event.preventDefault();
        found[0].focus();
      } else if (event.key === "Escape" && results.innerHTML.trim()) {
        // The first Escape closes the suggestions and keeps the term; a second one lets
        // the browser clear the box.
        event.preventDefault();
        close(input, results);
      }
    });
    results.addEventListener("keydown", function (event) {
      const found = links(results);
      const at = found.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && at < found.length - 1) {
        event.preventDefault();
        found[at + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (at > 0 ? found[at - 1] : input).focus();
      } else if (event.key === "Escape") {
        close(input, results);
        input.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (!event.target.closest || !event.target.closest(".jump")) close(input, results);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
