// The contact sheet's behaviour: sorting, filtering, the larger view and the side-by-side
// view of a group. Reads the page's data from the JSON block; writes text only through
// textContent, so no name from the album can become markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("picme-data").textContent);
  var photos = data.photos;
  var grid = document.getElementById("grid");
  var cards = Array.prototype.slice.call(grid.querySelectorAll(".card"));
  var byI = {};
  cards.forEach(function (c) { byI[c.dataset.i] = c; });
  var viewer = document.getElementById("viewer");
  var compare = document.getElementById("compare");
  var current = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  var sorters = {
    rank: function (a, b) { return a.i - b.i; },
    score: function (a, b) { return (b.score - a.score) || (a.i - b.i); },
    date: function (a, b) {
      if (a.date === b.date) { return a.path < b.path ? -1 : (a.path > b.path ? 1 : 0); }
      if (!a.date) { return 1; }
      if (!b.date) { return -1; }
      return a.date < b.date ? -1 : 1;
    },
    name: function (a, b) { return a.path < b.path ? -1 : (a.path > b.path ? 1 : a.i - b.i); }
  };

  function shownStatuses() {
    var on = {};
    document.querySelectorAll("input.filter").forEach(function (box) {
      on[box.value] = box.checked;
    });
    return on;
  }

  function refresh() {
    var key = document.getElementById("sort").value;
    var sorted = photos.slice().sort(sorters[key] || sorters.rank);
    var on = shownStatuses();
    var n = 0;
    sorted.forEach(function (p) {
      var card = byI[p.i];
      if (!card) { return; }
      card.hidden = on[p.status] === false;
      if (!card.hidden) { n += 1; }
      grid.appendChild(card);
    });
    document.getElementById("shown").textContent = n + " of " + photos.length + " shown";
  }

  function visible() {
    return Array.prototype.filter.call(grid.querySelectorAll(".card"), function (c) {
      return !c.hidden;
    }).map(function (c) { return Number(c.dataset.i); });
  }

  function showImage(img, p) {
    img.onerror = function () {
      img.onerror = null;
      if (p.thumb) { img.src = p.thumb; }
    };
    img.src = p.full || p.thumb || "";
    img.alt = p.path;
  }

  function describe(p, into) {
    var head = el("p");
    head.appendChild(el("span", "status " + p.status, (p.rank ? "#" + p.rank + " " : "") + p.status));
    head.appendChild(document.createTextNode(" "));
    if (p.score_100 !== null && p.score_100 !== undefined) {
      var s = el("b", "score-100", p.score_100 + "/100");
      s.title = "raw score " + Number(p.score).toFixed(4) + " (" + data.scorer.name +
        "); 0-100 is the percentile within this album";
      head.appendChild(s);
    }
    into.appendChild(head);
    into.appendChild(el("code", "name", p.path));
    var meta = [p.date_text, p.camera, p.width && p.height ? p.width + "×" + p.height : null]
      .filter(function (x) { return x; }).join(" · ");
    if (meta) { into.appendChild(el("div", "meta", meta)); }
    var ul = el("ul", "reasons");
    p.reasons.forEach(function (r) { ul.appendChild(el("li", null, r)); });
    into.appendChild(ul);
  }

  function openViewer(i) {
    current = i;
    var p = photos[i];
    showImage(document.getElementById("viewer-img"), p);
    var cap = document.getElementById("viewer-caption");
    cap.textContent = "";
    describe(p, cap);
    viewer.dataset.i = String(i);
    viewer.hidden = false;
  }

  function step(delta) {
    var list = visible();
    if (!list.length) { return; }
    var at = list.indexOf(current);
    var next = at < 0 ? 0 : (at + delta + list.length) % list.length;
    openViewer(list[next]);
  }

  function openCompare(groupId) {
    var g = data.groups.filter(function (x) { return x.id === groupId; })[0];
    if (!g) { return; }
    document.getElementById("compare-title").textContent =
      "Group " + g.id + ": " + g.members.length + " shots side by side";
    var row = document.getElementById("compare-row");
    row.textContent = "";
    g.members.forEach(function (i) {
      var p = photos[i];
      var fig = el("figure", "member " + p.status + (p.kept ? " kept" : ""));
      fig.dataset.i = String(i);
      var img = el("img");
      showImage(img, p);
      fig.appendChild(img);
      var cap = el("figcaption");
      describe(p, cap);
      var table = el("table");
      p.compare.forEach(function (pair) {
        var tr = el("tr");
        tr.appendChild(el("td", null, pair[0]));
        tr.appendChild(el("td", null, pair[1]));
        table.appendChild(tr);
      });
      cap.appendChild(table);
      fig.appendChild(cap);
      row.appendChild(fig);
    });
    compare.hidden = false;
  }

  function close() {
    viewer.hidden = true;
    compare.hidden = true;
    current = null;
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target.closest ? ev.target.closest("button") : null;
    if (!t) { return; }
    if (t.classList.contains("open")) { openViewer(Number(t.dataset.i)); }
    else if (t.classList.contains("compare")) { viewer.hidden = true; openCompare(Number(t.dataset.group)); }
    else if (t.classList.contains("close")) { close(); }
    else if (t.classList.contains("prev")) { step(-1); }
    else if (t.classList.contains("next")) { step(1); }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { close(); return; }
    if (viewer.hidden) { return; }
    if (ev.key === "ArrowRight") { step(1); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { step(-1); ev.preventDefault(); }
  });

  document.getElementById("sort").addEventListener("change", refresh);
  document.querySelectorAll("input.filter").forEach(function (box) {
    box.addEventListener("change", refresh);
  });
  refresh();
}());
