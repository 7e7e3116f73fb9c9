// Keeps a page current: every two seconds it asks /ui/stamp whether the page's data changed and,
// when it did, fetches the page's live part (?fragment=1) and swaps it in. Also the overview's filters.
(() => {
  "use strict";
  const PERIOD_MS = 2000;
  const live = document.getElementById("live");
  const state = document.getElementById("live-state");
  const filters = document.getElementById("filters");
  let stamp = live ? live.dataset.stamp : null;
  let busy = false;

  function say(text) {
    if (!state) return;
    state.hidden = !text;
    state.textContent = text || "";
  }

  async function swap() {
    const url = new URL(window.location.href);
    url.searchParams.set("fragment", "1");
    const answer = await fetch(url, {credentials: "same-origin", cache: "no-store"});
    if (answer.status === 401) { window.location.reload(); return; }
    if (!answer.ok) throw new Error(`the page answered ${answer.status}`);
    live.innerHTML = await answer.text();
    stamp = answer.headers.get("X-Dc43-Stamp") || stamp;
    live.dataset.stamp = stamp;
    if (window.dc43Charts) window.dc43Charts(live);
  }

  async function poll(force) {
    if (!live || busy) return;
    busy = true;
    try {
      if (!force) {
        const answer = await fetch(live.dataset.stampUrl, {credentials: "same-origin", cache: "no-store"});
        if (answer.status === 401) { window.location.reload(); return; }
        if (!answer.ok) throw new Error(`the service answered ${answer.status}`);
        const now = (await answer.json()).stamp;
        if (now === stamp) { say(""); return; }
      }
      await swap();
      say("");
    } catch (error) {
      say("service unreachable: retrying");
    } finally {
      busy = false;
    }
  }

  if (filters) {
    let timer = null;
    const apply = () => {
      const url = new URL(window.location.href);
      for (const field of filters.elements) {
        if (!field.name) continue;
        if (field.value) url.searchParams.set(field.name, field.value); else url.searchParams.delete(field.name);
      }
      window.history.replaceState(null, "", url);
      poll(true);
    };
    filters.addEventListener("change", apply);
    filters.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(apply, 250); });
    filters.addEventListener("submit", (event) => { event.preventDefault(); apply(); });
  }
  if (live) window.setInterval(() => poll(false), PERIOD_MS);
})();
