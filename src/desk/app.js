// emrtd desk page: renders the state pushed by the server (server-sent events, with
// GET /state as fallback). No external resources; nothing is stored in the browser.
"use strict";
(function () {
  const q = new URLSearchParams(location.search);
  const token = q.get("token");
  const withToken = (u) => (token ? u + (u.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : u);
  const $ = (id) => document.getElementById(id);
  const SYMBOL = { VALID: "\u2714", INVALID: "\u2718", INDETERMINATE: "?" };
  const STATUS = { fail: "\u2718 FAILED", indeterminate: "? NOT CHECKED", pass: "\u2714 passed", skip: "\u2013 not applicable" };
  let shownResult = null;
  window.deskTimings = [];

  function text(id, v) { $(id).textContent = v == null || v === "" ? "?" : v; }
  function date(d) { return d && d.length === 6 ? d.slice(4, 6) + "." + d.slice(2, 4) + "." + d.slice(0, 2) : (d || "?"); }
  function show(section) {
    for (const s of ["idle", "reading", "result", "remove"]) $(s).hidden = s !== section;
  }
  function checkItem(c) {
    const li = document.createElement("li");
    li.className = c.status + (c.informational ? " info" : "");
    li.dataset.id = c.id;
    const st = document.createElement("span");
    st.className = "st";
    st.textContent = STATUS[c.status] || c.status;
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = c.title + (c.informational ? " (for information)" : "");
    const reason = document.createElement("span");
    reason.className = "reason";
    reason.textContent = c.reason + "  [" + c.id + "]";
    li.append(st, title, reason);
    return li;
  }
  function clearResult() {
    shownResult = null;
    const img = $("face");
    img.removeAttribute("src");
    img.hidden = true;
    $("face-box").className = "";
    $("face-note").hidden = true;
    $("face-note").textContent = "";
    for (const id of ["h-name", "h-number", "h-nat", "h-birth", "h-expiry", "verdict-word", "verdict-symbol", "verdict-why"]) $(id).textContent = "";
    $("problems").replaceChildren();
    $("allchecks").replaceChildren();
    $("highlights").replaceChildren();
    $("all").open = false;
  }
  // tell the desk when the verdict is on screen (after the next paint), and how long
  // after the card was seen: the desk_verdict_latency_ms benchmark
  function reportRendered(s) {
    if (!s.card_present_at_ms) return;
    requestAnimationFrame(() => setTimeout(() => {
      const latency = Date.now() - s.card_present_at_ms;
      fetch(withToken("/rendered"), { method: "POST", cache: "no-store",
        headers: { "X-Emrtd-Desk": "rendered", "Content-Type": "application/json" },
        body: JSON.stringify({ result_id: s.result_id, latency_ms: latency }) }).catch(() => {});
    }, 0));
  }
  function renderFace(s) {
    const img = $("face");
    if (s.face) {
      if (img.hidden) {
        img.src = withToken(s.face);
        img.hidden = false;
      }
      $("noface").hidden = true;
      // is this the photo the issuer signed? (an altered one is marked, never plain)
      const ph = s.photo || { level: "unknown", text: "photo not verified" };
      $("face-box").className = "photo-" + ph.level;
      $("face-note").textContent = ph.text;
      $("face-note").hidden = false;
    } else {
      $("noface").textContent = s.face_pending ? "face loading\u2026" : "no face image on the chip";
      $("noface").hidden = false;
    }
  }
  function renderResult(s) {
    if (shownResult === s.result_id) { renderFace(s); return; }
    clearResult();
    shownResult = s.result_id;
    const v = $("verdict");
    v.className = "verdict " + s.verdict;
    $("verdict-symbol").textContent = SYMBOL[s.verdict] || "";
    $("verdict-word").textContent = s.verdict;
    const d = s.document || {};
    text("h-name", d.names);
    text("h-number", (d.code ? d.code + " " : "") + (d.number || "?"));
    text("h-nat", (d.issuer || "?") + " / " + (d.nationality || "?"));
    text("h-birth", date(d.birth));
    text("h-expiry", date(d.expiry));
    const bad = s.checks.filter((c) => c.status === "fail" || c.status === "indeterminate");
    const few = (list) => list.slice(0, 2).map((c) => c.title).join("; ") + (list.length > 2 ? " and " + (list.length - 2) + " more" : "");
    $("verdict-why").textContent =
      s.verdict === "VALID" ? "Every check passed." :
      s.verdict === "INVALID" ? "Failed: " + few(bad.filter((c) => c.status === "fail" && !c.informational)) :
      "Could not be checked: " + few(bad.filter((c) => !c.informational));
    for (const h of [s.expiry, s.alert_list, s.eac]) {
      const li = document.createElement("li");
      li.className = h.level;
      li.textContent = h.text;
      $("highlights").append(li);
    }
    $("problems-title").hidden = bad.length === 0;
    for (const c of bad) $("problems").append(checkItem(c));
    for (const c of s.checks) $("allchecks").append(checkItem(c));
    renderFace(s);
    reportRendered(s);
  }
  function render(s) {
    const t0 = performance.now();
    document.body.dataset.state = s.state;
    document.body.dataset.seq = String(s.seq);
    document.body.dataset.removed = s.card_removed_mid_read ? "1" : "0";
    document.body.dataset.verdict = s.verdict || "";
    $("message").textContent = s.message;
    const r = $("reader");
    r.className = s.reader_ok ? "reader-ok" : "reader-bad";
    r.textContent = s.reader_ok ? (s.card_present ? "document on reader" : "reader ready") : "NO READER";
    const p = $("problem");
    p.hidden = !s.problem;
    p.textContent = s.problem || "";
    if (s.state === "result") {
      renderResult(s);
      show("result");
    } else {
      clearResult();
      if (s.state === "reading") {
        show("reading");
        const pr = s.progress || { done: 0, total: 0, file: "" };
        const pct = pr.total > 0 ? Math.min(100, Math.round((100 * pr.done) / pr.total)) : 0;
        $("progress-fill").style.width = pct + "%";
        $("progress").setAttribute("aria-valuenow", String(pct));
        $("reading-title").textContent = s.card_removed_mid_read ? "Card removed \u2014 put it back" : "Reading the chip\u2026";
        $("progress-text").textContent = s.card_removed_mid_read ? "The read continues when the document is back on the reader."
          : (pr.file ? pr.file + " \u2014 " : "") + Math.round(pr.done / 1024) + " of " + Math.round(pr.total / 1024) + " kB";
      } else if (s.state === "remove") {
        show("remove");
      } else {
        show("idle");
        $("idle-title").textContent = s.reader_ok ? (s.card_present ? "Scan the MRZ" : "Place the document on the reader") : "No reader";
        $("idle-detail").textContent = s.message;
        $("keyinfo").textContent = s.key ? "Key ready: " + s.key : (s.mrz_lines ? "MRZ line " + s.mrz_lines[0] + " of " + s.mrz_lines[1] : "");
      }
    }
    window.deskTimings.push({ seq: s.seq, state: s.state, verdict: s.verdict || null, at: performance.timeOrigin + performance.now(), renderMs: performance.now() - t0 });
    if (window.deskTimings.length > 200) window.deskTimings.shift();
  }
  function poll() {
    fetch(withToken("/state"), { cache: "no-store" }).then((r) => r.json()).then(render).catch(() => {});
  }
  function connect() {
    if (!window.EventSource) { setInterval(poll, 500); poll(); return; }
    const es = new EventSource(withToken("/events"));
    es.onmessage = (e) => { try { render(JSON.parse(e.data)); } catch (_) {} };
    es.onerror = () => { $("message").textContent = "Connection to emrtd desk lost \u2014 retrying\u2026"; };
  }
  $("keyform").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("keyinput");
    const v = input.value;
    input.value = "";
    if (!v.trim()) return;
    fetch(withToken("/key"), { method: "POST", headers: { "X-Emrtd-Desk": "key", "Content-Type": "text/plain" }, body: v, cache: "no-store" });
  });
  // the state at the time the page was served: the first paint needs no round trip
  const initial = document.getElementById("initial-state");
  if (initial) { try { render(JSON.parse(initial.textContent)); } catch (_) { poll(); } } else { poll(); }
  connect();
})();
