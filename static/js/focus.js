// Keyboard focus survives htmx swaps. When a swap replaces the control that had focus, the
// browser drops focus to <body> and a keyboard user starts again from the top of the page.
// Here the same control in the new content gets focus back (found by id, or by its form's
// action and its name); when it is gone (the "Accept lead" button after accepting), the new
// content's [data-focus-after-swap] element does, else the new content itself.
// One file for every page: the Content-Security-Policy refuses inline handlers.
(function () {
  "use strict";
  let pending = null;

  function attribute(name, value) {
    return "[" + name + '="' + String(value).replace(/["\\]/g, "\\$&") + '"]';
  }

  function selectorFor(control) {
    if (control.id) return "#" + CSS.escape(control.id);
    const form = control.form || control.closest("form");
    if (!form || !form.getAttribute("action")) return null;
    const scope = "form" + attribute("action", form.getAttribute("action")) + " ";
    if (control.name) return scope + attribute("name", control.name);
    if (control.matches("button")) return scope + "button" + attribute("type", control.type);
    return null;
  }

  function focusable(element) {
    return element && element.isConnected && element.getClientRects().length > 0;
  }

  function landingIn(content) {
    const marked = content.matches("[data-focus-after-swap]")
      ? content
      : content.querySelector("[data-focus-after-swap]");
    const landing = marked || content;
    const control = "a[href], button, input, select, textarea, summary";
    if (!landing.hasAttribute("tabindex") && !landing.matches(control)) {
      landing.setAttribute("tabindex", "-1");
    }
    return landing;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const active = document.activeElement;
    const target = event.detail.target;
    pending = null;
    if (active && active !== document.body && target && target.contains(active)) {
      pending = { control: active, selector: selectorFor(active) };
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!pending) return;
    const { control, selector } = pending;
    pending = null;
    const active = document.activeElement;
    // htmx (same id) or an [autofocus] element may already have placed focus.
    if (active && active !== document.body && active !== control && active.isConnected) return;
    const content = event.target;
    if (!(content instanceof Element) || !content.isConnected) return;
    const again = selector ? document.querySelector(selector) : null;
    (focusable(again) ? again : landingIn(content)).focus();
  });
})();
