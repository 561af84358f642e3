// Keyboard shortcuts of the desk (served from our origin: the CSP allows no inline script).
//   /      focus the search box          j / k   next / previous case in a list
//   g m    my work                       ?       list the shortcuts
// Nothing happens while typing in a field, or with Ctrl, Alt or Meta held.
(function () {
  "use strict";
  var pending = null;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function caseLinks() {
    // the first link of each row of a case list
    var rows = document.querySelectorAll("table.cases tbody tr");
    var links = [];
    Array.prototype.forEach.call(rows, function (row) {
      var link = row.querySelector("a[href^='/cases/']");
      if (link) { links.push(link); }
    });
    return links;
  }

  function move(step) {
    var links = caseLinks();
    if (!links.length) { return; }
    var at = links.indexOf(document.activeElement);
    var next = at === -1 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) { return; }
    if (pending === "g") {
      pending = null;
      if (event.key === "m") { window.location.assign("/"); event.preventDefault(); }
      return;
    }
    if (event.key === "/") {
      var search = document.getElementById("top-q");
      if (search) { search.focus(); event.preventDefault(); }
    } else if (event.key === "j") {
      move(1);
    } else if (event.key === "k") {
      move(-1);
    } else if (event.key === "g") {
      pending = "g";
      window.setTimeout(function () { pending = null; }, 1500);
    } else if (event.key === "?") {
      var help = document.getElementById("keys-help");
      if (help) { help.hidden = !help.hidden; }
    }
  });
})();
