/* Newswatch keyboard shortcuts for the review pages (a file of its own: the CSP allows no inline script).
 *
 * The list (/stories): j / k select the next / previous story (highlighted and scrolled into view),
 * Enter or o opens it, r / i / v mark it relevant / not relevant / reviewed.
 * A story page (/stories/ID): j / k open the next / previous story of the list it was opened from,
 * r / i / v mark it, u goes back to the list.
 *
 * Verdicts press the page's own buttons, so they go through the same CSRF-protected form POST (and htmx,
 * which swaps the row or the verdict box in place). Keys are ignored while typing in a form field and
 * with Ctrl, Alt or Meta held.
 */
(function () {
  "use strict";

  var VERDICTS = { r: "relevant", i: "irrelevant", v: "reviewed" };
  var SELECTED = "selected";
  var selectedId = null; // the selected row's article id: it survives the row being swapped by htmx

  document.documentElement.classList.add("keys-on"); // shows the key hints

  function typing(target) {
    if (!(target instanceof Element)) {
      return false;
    }
    return target.isContentEditable || target.closest("input, textarea, select") !== null;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#results li.story"));
  }

  function selectedRow() {
    if (selectedId === null) {
      return null;
    }
    return document.querySelector('#results li.story[data-id="' + selectedId + '"]');
  }

  function select(row) {
    rows().forEach(function (other) {
      other.classList.remove(SELECTED);
      other.removeAttribute("aria-current");
    });
    selectedId = row ? row.getAttribute("data-id") : null;
    if (row) {
      row.classList.add(SELECTED);
      row.setAttribute("aria-current", "true");
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) {
      return;
    }
    var index = all.indexOf(selectedRow());
    index = index < 0 ? 0 : Math.max(0, Math.min(all.length - 1, index + step));
    select(all[index]);
  }

  function press(scope, state) {
    var button = scope && scope.querySelector('button[name="state"][value="' + state + '"]');
    if (button) {
      button.click(); // the form's own submit: htmx takes it when it runs, the browser posts it otherwise
      return true;
    }
    return false;
  }

  function follow(selector) {
    var link = document.querySelector(selector);
    if (link) {
      window.location.assign(link.href);
      return true;
    }
    return false;
  }

  function onList(key) {
    if (key === "j" || key === "k") {
      move(key === "j" ? 1 : -1);
      return true;
    }
    var row = selectedRow();
    if (!row) {
      return false;
    }
    if (key === "Enter" || key === "o") {
      return follow('#results li.story[data-id="' + selectedId + '"] a.title');
    }
    if (VERDICTS[key]) {
      return press(row.querySelector("form.row-triage"), VERDICTS[key]);
    }
    return false;
  }

  function onStory(key) {
    if (key === "j") {
      return follow("#next-story");
    }
    if (key === "k") {
      return follow("#previous-story");
    }
    if (key === "u") {
      return follow("#back-to-list");
    }
    if (VERDICTS[key]) {
      return press(document.querySelector("#triage form"), VERDICTS[key]);
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    if (typing(event.target)) {
      return;
    }
    // Enter on a focused link or button does what it always does
    if (event.key === "Enter" && event.target instanceof Element && event.target.closest("a, button")) {
      return;
    }
    var handled = false;
    if (document.getElementById("results")) {
      handled = onList(event.key);
    } else if (document.getElementById("triage")) {
      handled = onStory(event.key);
    }
    if (handled) {
      event.preventDefault();
    }
  });

  // a click on a row (not on its links or buttons) selects it
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element) || target.closest("a, button, input, select, textarea")) {
      return;
    }
    var row = target.closest("#results li.story");
    if (row) {
      select(row);
    }
  });

  // after htmx swapped a row (a verdict) or the whole list (a filter), select the same story again if shown
  document.addEventListener("htmx:afterSettle", function () {
    var row = selectedRow();
    if (row) {
      row.classList.add(SELECTED);
      row.setAttribute("aria-current", "true");
    } else {
      selectedId = null;
    }
  });

  // back from a story page (/stories?...#story-12): that story is selected
  function fromHash() {
    var found = /^#story-(\d+)$/.exec(window.location.hash);
    var row = found && document.querySelector('#results li.story[data-id="' + found[1] + '"]');
    if (row) {
      select(row);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fromHash);
  } else {
    fromHash();
  }
})();
