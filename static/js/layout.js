// Layout helpers for narrow screens, one file for every page (the Content-Security-Policy
// refuses inline scripts):
// - the header's navigation folds into a "Menu" button below 1100 px (without this script it
//   stays one row that scrolls sideways);
// - a table wider than its card scrolls inside it: its wrapper is focusable for the keyboard
//   and says that there is more to the side.
(function () {
  "use strict";

  function setUpMenu() {
    const header = document.querySelector("header.top");
    const button = header && header.querySelector(".menu-toggle");
    const nav = document.getElementById("main-nav");
    if (!button || !nav) return;
    header.classList.add("has-menu");
    button.hidden = false;
    function show(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    }
    button.addEventListener("click", () => show(!nav.classList.contains("open")));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && nav.classList.contains("open")) {
        show(false);
        button.focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (nav.classList.contains("open") && !header.contains(event.target)) show(false);
    });
  }

  function wrapTables(root) {
    root.querySelectorAll("table.grid").forEach((table) => {
      let wrap = table.parentElement;
      if (!wrap.classList.contains("table-wrap")) {
        wrap = document.createElement("div");
        wrap.className = "table-wrap";
        table.parentNode.insertBefore(wrap, table);
        wrap.appendChild(table);
      }
      markOverflow(wrap);
    });
  }

  function markOverflow(wrap) {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
    wrap.classList.toggle("scrolls", scrolls);
    if (scrolls && !wrap.hasAttribute("tabindex")) {
      wrap.setAttribute("tabindex", "0");
      wrap.dataset.madeFocusable = "true";
    } else if (!scrolls && wrap.dataset.madeFocusable) {
      wrap.removeAttribute("tabindex");
      delete wrap.dataset.madeFocusable;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpMenu();
    wrapTables(document);
  });
  document.addEventListener("htmx:afterSettle", (event) => wrapTables(event.target));
  window.addEventListener("resize", () => {
    document.querySelectorAll(".table-wrap").forEach(markOverflow);
  });
})();
