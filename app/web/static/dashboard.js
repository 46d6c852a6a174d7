// lynkflow dashboard: upload-and-ingest, VIS asset requests, live job progress, copy on click.
// Plain browser JavaScript with no libraries; every call goes to a real lynkflow endpoint.
"use strict";

const POLL_MS = 1000;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

async function getJSON(url) {
  const resp = await fetch(url, { cache: "no-store" });
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
}

function pct(p) { return `${Math.round(Math.max(0, Math.min(100, p || 0)))}%`; }  // the queue keeps percent
function fmtMs(ms) { return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "—"; }

// --- live jobs tables -------------------------------------------------------------------------

function jobRow(j) {
  const subject = el("td", { class: "small" });
  if (j.uplynkAssetId) subject.append(el("a", { href: `/player5/${j.uplynkAssetId}.html` }, `asset ${j.uplynkAssetId.slice(0, 8)}…`), " ");
  if (j.visEventId) subject.append(el("a", { href: `/dashboard/events/${j.visEventId}` }, `event ${j.visEventId.slice(0, 8)}…`));
  return el("tr", { "data-job-id": j.id, "data-state": j.state },
    el("td", { class: "num" }, j.id), el("td", {}, j.kind),
    el("td", {}, el("span", { class: `badge state-${j.state}` }, j.state)),
    el("td", {}, el("progress", { max: "100", value: String(j.progress) }), " ", el("span", { class: "pct" }, pct(j.progress))),
    el("td", { class: "num" }, `${j.attempts}/${j.maxAttempts}`), subject,
    el("td", { class: "small" }, fmtMs(j.created)), el("td", { class: "error small" }, j.lastError || ""));
}

function startLiveJobs() {
  const holders = document.querySelectorAll("[data-live-jobs]");
  if (!holders.length) return;
  const counts = document.getElementById("job-counts");
  const tick = async () => {
    try {
      for (const holder of holders) {
        const limit = Math.max(10, Number(holder.dataset.liveJobs) || 10);
        const doc = await getJSON(`/dashboard/jobs.json?limit=${limit}`);
        const tbody = holder.querySelector("tbody");
        if (doc.jobs.length) tbody.replaceChildren(...doc.jobs.map(jobRow));
        if (counts) {
          const parts = Object.entries(doc.counts).filter(([, n]) => n).map(([s, n]) => `${s} ${n}`);
          counts.textContent = parts.length ? parts.join(" · ") : "none yet";
        }
      }
    } catch (err) { /* the server may be restarting; try again on the next tick */ }
  };
  setInterval(tick, POLL_MS);
}

// Follow one job until it ends; onUpdate(job) is called on every poll.
function followJob(jobId, onUpdate) {
  return new Promise((resolve) => {
    const tick = async () => {
      let job = null;
      try {
        const doc = await getJSON(`/dashboard/jobs.json?limit=0&ids=${jobId}`);
        job = doc.jobs.find((j) => String(j.id) === String(jobId)) || null;
      } catch (err) { /* retry */ }
      if (job) onUpdate(job);
      if (job && ["done", "failed", "cancelled"].includes(job.state)) resolve(job);
      else setTimeout(tick, POLL_MS);
    };
    tick();
  });
}

function showProgress(box, label, job) {
  box.replaceChildren(label, " ", el("span", { class: `badge state-${job.state}` }, job.state), " ",
    el("progress", { max: "100", value: String(job.progress) }), " ", pct(job.progress));
}

// --- upload and ingest ------------------------------------------------------------------------

// Re-read the overview and swap in fresh copies of the named sections (the asset table, the
// events), so an upload shows up without a reload. The server renders them; nothing is duplicated here.
async function refreshSections(ids) {
  try {
    const resp = await fetch(location.pathname + location.search, { cache: "no-store" });
    if (!resp.ok) return;
    const fresh = new DOMParser().parseFromString(await resp.text(), "text/html");
    for (const id of ids) {
      const now = document.getElementById(id), next = fresh.getElementById(id);
      if (now && next) now.replaceWith(document.importNode(next, true));
    }
    document.dispatchEvent(new CustomEvent("lynkflow:refreshed", { detail: ids }));
  } catch (err) { /* the next upload or a reload shows them */ }
}

function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const box = document.getElementById("upload-status");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    const data = new FormData(form);
    const headers = {};
    const token = data.get("admin_token");
    data.delete("admin_token");
    if (token) headers.Authorization = `Bearer ${token}`;
    if (!data.get("desc")) data.delete("desc");
    if (!data.get("external_id")) data.delete("external_id");
    box.className = "status";
    box.textContent = "Uploading…";
    try {
      const resp = await fetch("/_lynkflow/ingest", { method: "POST", body: data, headers });
      const doc = await resp.json().catch(() => ({}));
      if (!resp.ok) throw new Error(doc.error || doc.detail || `HTTP ${resp.status}`);
      refreshSections(["owners", "events"]);  // the new asset and event show at once, still processing
      const job = await followJob(doc.job.id, (j) => showProgress(box, `Ingest job ${j.id}`, j));
      await refreshSections(["owners", "events"]);
      box.dataset.jobState = job.state;
      if (job.state === "done") {
        const links = [el("span", { class: "badge state-ready", id: "upload-ready" }, "ready"), " "];
        if (doc.uplynkAssetId) links.push(el("a", { href: `/player5/${doc.uplynkAssetId}.html`, id: "upload-player" }, "play the Uplynk asset"), " ");
        if (doc.visEventId) links.push(el("a", { href: `/dashboard/events/${doc.visEventId}`, id: "upload-event" }, "open the VIS event"));
        box.replaceChildren(...links);
      } else {
        box.className = "status error";
        box.textContent = `Ingest ${job.state}: ${job.lastError || "no reason given"}`;
      }
    } catch (err) {
      box.className = "status error";
      box.textContent = `Upload failed: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}

// --- VIS asset requests -----------------------------------------------------------------------

function clipTime(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), rest = s - h * 3600 - m * 60;
  const pad = (n, w) => String(n).padStart(w, "0");
  return `${pad(h, 2)}:${pad(m, 2)}:${rest.toFixed(3).padStart(6, "0")}`;
}

function assetBody(type, f, eventId) {
  const name = f.get("name");
  if (type === "image") return { eventId, name, time: clipTime(f.get("start")) };
  const clip = { eventId, start: clipTime(f.get("start")), end: clipTime(f.get("end")) };
  if (type === "video") return { clip, name, frameAccurate: true };
  const body = { clip, name, fps: Number(f.get("fps")) || 12 };
  if (f.get("width")) body.width = Number(f.get("width"));
  return body;
}

async function refreshFragment(holder) {
  const resp = await fetch(holder.dataset.fragment, { cache: "no-store" });
  if (resp.ok) holder.innerHTML = await resp.text();
}

function setupAssetRequests() {
  const form = document.getElementById("asset-form");
  if (!form) return;
  const box = document.getElementById("asset-status");
  const holder = document.getElementById("event-assets");
  const typeSelect = form.elements.type;
  const syncFields = () => {
    const type = typeSelect.value;
    form.querySelectorAll(".gif-only").forEach((n) => { n.hidden = type !== "gif"; });
    form.querySelectorAll(".not-image").forEach((n) => { n.hidden = type === "image"; });
    const nameInput = form.elements.name;
    if (/^(GIF|MP4 clip|JPEG image) from the dashboard$/.test(nameInput.value)) {
      nameInput.value = `${typeSelect.selectedOptions[0].text} from the dashboard`;
    }
  };
  typeSelect.addEventListener("change", syncFields);
  syncFields();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    const type = typeSelect.value;
    const f = new FormData(form);
    // A unique file name, so repeated requests with the same name do not clash on the path.
    const body = assetBody(type, f, form.dataset.eventId);
    body.filename = `${String(f.get("name")).replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80)}-${Date.now()}`;
    box.className = "status";
    box.textContent = `POST /api/asset/${type}/ …`;
    try {
      const resp = await fetch(`/api/asset/${type}/`, {
        method: "POST", headers: { "Content-Type": "application/json", "API-KEY": form.dataset.apiKey },
        body: JSON.stringify(body),
      });
      const doc = await resp.json().catch(() => ({}));
      if (!resp.ok) throw new Error(doc.exceptionMessage || `HTTP ${resp.status}`);
      await refreshFragment(holder);
      const job = await followJob(doc.jobId, (j) => showProgress(box, `${type.toUpperCase()} job ${j.id}`, j));
      await refreshFragment(holder);
      box.dataset.jobState = job.state;
      if (job.state === "done") {
        box.replaceChildren(el("span", { class: "badge state-done", id: "asset-ready" }, "done"), ` ${doc.name} (${doc.path})`);
      } else {
        box.className = "status error";
        box.textContent = `${type.toUpperCase()} job ${job.state}: ${job.lastError || "no reason given"}`;
      }
    } catch (err) {
      box.className = "status error";
      box.textContent = `Request refused: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}

// --- copy on click ----------------------------------------------------------------------------

function setupCopy() {
  document.addEventListener("click", async (ev) => {
    const target = ev.target.closest("pre.copy, .copyable");
    if (!target || !navigator.clipboard) return;
    try {
      await navigator.clipboard.writeText(target.textContent.trim());
      target.classList.add("copied");
      setTimeout(() => target.classList.remove("copied"), 800);
    } catch (err) { /* clipboard refused (not a secure context): selecting by hand still works */ }
  });
}

setupUpload();
setupAssetRequests();
startLiveJobs();
setupCopy();
