"use strict";
// Polls /api/status every second and renders it; the buttons POST the
// actions with the header the server requires (no framework, no network
// fetches beyond this server).
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
const dur = (from, now) => { let s = Math.max(0, Math.round((now - new Date(from)) / 1000)); if (s < 60) return s + "s"; if (s < 3600) return Math.floor(s / 60) + "m" + (s % 60) + "s"; return Math.floor(s / 3600) + "h" + Math.floor(s % 3600 / 60) + "m"; };
const hex = v => "0x" + (v >>> 0).toString(16).padStart(8, "0");
const who = x => x.kind === "anonymous" ? "anonymous" : (x.domain ? x.domain + "\\" : "") + x.user;

async function act(path, what) {
  const r = await fetch(path, { method: "POST", headers: { "X-Smbpipe-Action": "1" }, credentials: "same-origin" });
  if (!r.ok) alert(what + ": " + (await r.text()));
  refresh();
}

// breakable is a cell whose long right lists (READ_DATA|WRITE_DATA|...)
// may wrap after each "|".
function breakable(text) {
  const td = el("td");
  text.split("|").forEach((part, i) => { if (i) td.append("|", el("wbr")); td.append(part); });
  return td;
}

function fill(table, rows, cols, empty) {
  const tb = table.tBodies[0];
  tb.replaceChildren();
  if (rows.length === 0) { const tr = el("tr"); const td = el("td", empty, "empty"); td.colSpan = cols; tr.append(td); tb.append(tr); }
  for (const r of rows) tb.append(r);
}

function render(st) {
  const now = new Date(st.time);
  document.getElementById("updated").textContent = "updated " + now.toLocaleTimeString();
  const p = st.policy;
  document.getElementById("policy").textContent = `${p.file}${p.revision ? " at revision " + p.revision : ""} — applied ${new Date(p.applied).toLocaleString()}, ${p.reload_failures} reload failure(s); pipes: ${(p.pipes || []).join(", ") || "none"}`;
  document.getElementById("nsessions").textContent = "(" + st.sessions.length + ")";
  document.getElementById("nopens").textContent = "(" + st.opens.length + ")";
  fill(document.getElementById("sessions"), st.sessions.map(s => {
    const tr = el("tr"); tr.dataset.id = s.id;
    const enc = s.encryption ? "required (" + s.cipher + ")" : (s.cipher ? "offered (" + s.cipher + ")" : "no");
    for (const v of [s.id, s.client, who(s), s.kind, s.dialect, s.signing ? "required" : "no", enc, dur(s.started, now), dur(s.last_active, now), s.opens]) tr.append(el("td", String(v)));
    const b = el("button", "Close session"); b.onclick = () => act(`/api/sessions/${s.id}/close`, "close session");
    const td = el("td"); td.append(b); tr.append(td); return tr;
  }), 11, "no sessions");
  fill(document.getElementById("opens"), st.opens.map(o => {
    const tr = el("tr"); tr.dataset.id = o.id;
    for (const v of [o.id, o.pipe, o.session, who(o), o.client, hex(o.granted), o.bytes_in, o.bytes_out, dur(o.opened, now) + " ago"]) tr.append(el("td", String(v)));
    const b = el("button", "Close"); b.onclick = () => act(`/api/opens/${o.id}/close`, "close open");
    const td = el("td"); td.append(b); tr.append(td); return tr;
  }), 10, "no open pipes");
  fill(document.getElementById("decisions"), st.decisions.map(d => {
    const tr = el("tr"); if (d.denied) tr.className = "denied";
    tr.append(el("td", String(d.seq)), el("td", new Date(d.time).toLocaleTimeString()), el("td", d.status, "result"),
      el("td", who(d)), el("td", d.client), el("td", d.pipe || "(logon)"), el("td", d.rule), breakable(d.reason));
    const a = el("a", "explain"); a.href = "/api/explain?seq=" + d.seq; a.target = "_blank";
    const td = el("td"); td.append(a); tr.append(td); return tr;
  }), 9, "no decisions yet");
}

async function refresh() {
  try {
    const r = await fetch("/api/status", { credentials: "same-origin" });
    if (!r.ok) { document.getElementById("updated").textContent = "error " + r.status + ": " + (await r.text()); return; }
    render(await r.json());
  } catch (e) { document.getElementById("updated").textContent = "disconnected: " + e; }
}
refresh();
setInterval(refresh, 1000);
