// The review page: keyboard and buttons; each decision is POSTed at once, in order.
// File names and captions only ever go through textContent and dataset, never innerHTML.
"use strict";
(function () {
  const cards = Array.from(document.querySelectorAll(".card"));
  const msg = document.getElementById("msg");
  const viewer = document.getElementById("viewer");
  const KEYS = { k: "keep", x: "reject", s: "star", p: "pick", u: "clear" };
  let cur = 0;
  let queue = Promise.resolve();

  function say(text, error) {
    msg.textContent = text;
    msg.classList.toggle("error", !!error);
  }

  function select(i) {
    if (!cards.length) return;
    cur = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach((c, j) => c.classList.toggle("current", j === cur));
    cards[cur].scrollIntoView({ block: "nearest" });
    if (!viewer.hidden) show();
  }

  function cardOf(path) {
    return cards.find((c) => c.dataset.path === path);
  }

  function update(state) {
    const card = cardOf(state.path);
    if (!card) return;
    card.dataset.status = state.status;
    card.dataset.decision = state.decision || "";
    for (const cls of Array.from(card.classList)) {
      if (cls.startsWith("st-")) card.classList.remove(cls);
    }
    card.classList.add("st-" + state.status);
    card.classList.toggle("starred", !!state.starred);
    card.querySelector(".status").textContent = state.status;
    card.querySelector(".decision").textContent = state.decision || "";
  }

  function counts(c, picks) {
    document.getElementById("n-picks").textContent = String(picks.length);
    document.getElementById("n-decided").textContent = String(c.decided);
  }

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({ error: "HTTP " + r.status }));
    if (!r.ok) throw new Error(data.error || "HTTP " + r.status);
    return data;
  }

  function decide(card, decision) {
    const path = card.dataset.path;
    if (decision === "pick" && !card.dataset.group) decision = "keep";
    card.classList.add("pending");
    queue = queue
      .then(() => post("api/decide", { path: path, decision: decision }))
      .then((data) => {
        data.entries.forEach(update);
        counts(data.counts, data.picks);
        say((decision === "clear" ? "undone" : decision) + ": " + path + " (saved)");
      })
      .catch((err) => say("not saved: " + err.message, true))
      .finally(() => card.classList.remove("pending"));
    return queue;
  }

  function show() {
    const img = cards[cur].querySelector("img");
    if (!img) return;
    document.getElementById("viewer-img").src = img.dataset.full;
    document.getElementById("viewer-name").textContent = cards[cur].dataset.path;
    viewer.hidden = false;
  }

  function exportPicks() {
    say("exporting…");
    queue = queue
      .then(() => post("api/export", {}))
      .then((d) => say("exported " + d.picks.length + " picks to " + d.folder))
      .catch((err) => say("export failed: " + err.message, true));
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key;
    if (key === "ArrowRight" || key === "ArrowDown") select(cur + 1);
    else if (key === "ArrowLeft" || key === "ArrowUp") select(cur - 1);
    else if (key === "Enter") viewer.hidden ? show() : (viewer.hidden = true);
    else if (key === "Escape") viewer.hidden = true;
    else if (key === "e") exportPicks();
    else if (KEYS[key.toLowerCase()] && cards.length) decide(cards[cur], KEYS[key.toLowerCase()]);
    else return;
    ev.preventDefault();
  });

  cards.forEach((card, i) => {
    card.addEventListener("click", (ev) => {
      select(i);
      const d = ev.target.dataset && ev.target.dataset.d;
      if (d) decide(card, d);
      else if (ev.target.tagName === "IMG") show();
    });
  });
  viewer.addEventListener("click", () => (viewer.hidden = true));
  document.getElementById("export").addEventListener("click", exportPicks);
  select(0);
})();
