// Kinora Studio: plain JavaScript, no build step, no dependencies.
// Talks to this server's media API with the X-Api-Key the user enters (kept in localStorage).
"use strict";

const ACTIVE = new Set(["queue_bullet", "processing_bullet"]);
const STATUS_TEXT = {
  queue_bullet: "Queued", processing_bullet: "Rendering", success: "Done", fail: "Failed",
  cancel: "Cancelled", deleted: "Deleted",
};
const ERROR_TEXT = {
  UNAUTHORIZED: "The API key was not accepted",
  INSUFFICIENT_CREDIT: "Not enough credits for this request",
  MEDIA_NOT_FOUND: "This media no longer exists",
  NOT_FOUND: "Not found",
  BAD_REQUEST: "The server refused this request",
  RATE_LIMITED: "Too many requests — wait a moment",
  PAYLOAD_TOO_LARGE: "The upload is too large",
  IDEMPOTENCY_IN_PROGRESS: "The same request is still running",
  NO_KEY: "No API key yet",
  NO_INPUT: "Nothing to animate yet",
  NETWORK: "The server could not be reached",
  NO_VOCABULARY: "The choices could not be loaded",
};
const FIELD_NAMES = {
  image_files: "Images", prompt: "Prompt", camera_control: "Camera path", duration: "Duration",
  aspect_ratio: "Aspect ratio", quantity: "Quantity", audio_option: "Narration & music",
  narrator: "Narrator", narration: "Narration", bg_music_prompt: "Music", title: "Title",
};
const KEY_STORE = "kinora.apiKey";
const PAGE = 12;
const TRASH = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ' +
  'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M3 6h18M8 6V4h8v2' +
  'M19 6l-1 14H6L5 6M10 11v6M14 11v6"/></svg>';

const $ = (id) => document.getElementById(id);
const state = {
  key: localStorage.getItem(KEY_STORE) || "",
  files: [],
  editing: null,
  current: null,
  source: null,
  pollTimer: 0,
  cursor: null,
  items: new Map(),
  pendingDelete: null,
  defaultNarrator: "",
};

// ---------- helpers ----------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "html") node.innerHTML = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}
const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
const cls = (camera) => "pv-" + (slug(camera) || "auto");
const cost = (duration, quantity) => Math.ceil(duration / 5) * quantity;
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(path, { method = "GET", body, raw = false } = {}) {
  if (!state.key) {
    throw new ApiError(0, { message: "NO_KEY", detail: "Paste your API key at the top of the page and save it." });
  }
  let res;
  try {
    res = await fetch(path, { method, body, headers: { "X-Api-Key": state.key } });
  } catch (err) {
    throw new ApiError(0, { message: "NETWORK", detail: String(err.message || err) });
  }
  if (res.ok && raw) return res;
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data || { message: `HTTP ${res.status}` });
  return data;
}

function fieldName(loc) {
  const parts = (loc || []).filter((p) => p !== "body");
  if (!parts.length) return "Request";
  return FIELD_NAMES[parts[0]] ? [FIELD_NAMES[parts[0]], ...parts.slice(1)].join(" › ") : parts.join(" › ");
}

function describe(err) {
  if (err instanceof ApiError) {
    const body = err.body;
    const status = err.status ? ` (${err.status})` : "";
    if (Array.isArray(body.detail)) {
      return {
        title: `Please check the form${status}`,
        text: body.detail.map((d) => `${fieldName(d.loc)}: ${d.msg}`).join("\n"),
      };
    }
    const code = body.message || "ERROR";
    const title = `${ERROR_TEXT[code] || code}${status}`;
    const detail = typeof body.detail === "string" ? body.detail : "";
    return { title, text: [detail, err.status && ERROR_TEXT[code] ? code : ""].filter(Boolean).join(" · ") };
  }
  return { title: "Something went wrong", text: String((err && err.message) || err) };
}

function showError(err) {
  const { title, text } = describe(err);
  $("alert-title").textContent = title;
  $("alert-text").textContent = text;
  $("alert").hidden = false;
  $("alert").scrollIntoView({ block: "nearest", behavior: "smooth" });
}
function clearError() {
  $("alert").hidden = true;
}
let toastTimer = 0;
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 2600);
}

function parseParams(media) {
  const out = {};
  const raw = (media.pose_preset && media.pose_preset.Params) || "";
  for (const part of raw.split("|")) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at)] = part.slice(at + 1);
  }
  return out;
}
function cameraOf(media) {
  return parseParams(media).CameraPath || "";
}

// ---------- API key and credits ----------
async function refreshCredits() {
  if (!state.key) {
    $("credits").textContent = "—";
    return;
  }
  try {
    const { data } = await api("/credits");
    $("credits").textContent = String(data.credits);
  } catch (err) {
    $("credits").textContent = "—";
    throw err;
  }
}

async function saveKey(event) {
  event.preventDefault();
  const value = $("api-key").value.trim();
  if (!value) {
    showError(new ApiError(0, { message: "NO_KEY", detail: "The API key field is empty." }));
    return;
  }
  state.key = value;
  localStorage.setItem(KEY_STORE, value);
  $("key-forget").hidden = false;
  clearError();
  try {
    await refreshCredits();
    toast("Key saved in this browser");
    await loadLibrary(true);
  } catch (err) {
    showError(err);
  }
}

function forgetKey() {
  localStorage.removeItem(KEY_STORE);
  state.key = "";
  $("api-key").value = "";
  $("key-forget").hidden = true;
  $("credits").textContent = "—";
  $("library").replaceChildren();
  state.items.clear();
  $("lib-empty").hidden = false;
  $("lib-more").hidden = true;
  toast("Key removed from this browser");
}

// ---------- the form ----------
// The choices (camera paths, aspect ratios, narrators) come from the API's public /vocabulary,
// so the studio offers exactly what this server accepts, labelled as the server labels it.
async function loadVocabulary() {
  let res;
  try {
    res = await fetch("/vocabulary");
  } catch (err) {
    throw new ApiError(0, { message: "NETWORK", detail: String(err.message || err) });
  }
  if (!res.ok) throw new ApiError(res.status, { message: "NO_VOCABULARY", detail: "Reload the page to try again." });
  return res.json();
}

function buildChoices(vocabulary) {
  const grid = $("paths");
  grid.replaceChildren();
  for (const { value, label, description } of vocabulary.camera_controls) {
    grid.append(
      el("label", { class: "path", title: description || label },
        el("input", { type: "radio", name: "camera_control", value, checked: value === "" }),
        el("span", { class: `pv ${cls(value)}`, "aria-hidden": "true" },
          el("span", { class: "frame" }),
          value === "" ? el("span", { class: "tag", text: "AUTO" }) : null),
        el("span", { class: "name", text: label })),
    );
  }
  // "Auto" is the studio's own choice: the request leaves aspect_ratio out and the server
  // picks the ratio nearest the first image.
  const aspects = $("aspects");
  aspects.replaceChildren(
    el("label", { title: "The ratio nearest your first image" },
      el("input", { type: "radio", name: "aspect_ratio", value: "", checked: true }),
      el("span", { text: "Auto" })),
  );
  for (const { value, label, width, height, description } of vocabulary.aspect_ratios) {
    const scale = 16 / Math.max(width, height);
    aspects.append(
      el("label", { title: description || label },
        el("input", { type: "radio", name: "aspect_ratio", value }),
        el("span", { class: "shape", style: `width:${Math.round(width * scale)}px;height:${Math.round(height * scale)}px`, "aria-hidden": "true" }),
        el("span", { text: label })),
    );
  }
  const narrator = $("narrator");
  narrator.replaceChildren(el("option", { value: "", text: "No narrator" }));
  for (const { value, label } of vocabulary.narrators) narrator.append(el("option", { value, text: label }));
  const fallback = vocabulary.narrators.find((n) => n.default) || vocabulary.narrators[0];
  state.defaultNarrator = fallback ? fallback.value : "";
  updateSound();
}

function buildForm() {
  $("duration").addEventListener("input", updateCost);
  $("quantity").addEventListener("change", updateCost);
  for (const id of ["narrator", "narration", "music"]) $(id).addEventListener("input", updateSound);
  updateCost();
}

function updateCost() {
  const duration = Number($("duration").value);
  const quantity = Number($("quantity").value);
  $("duration-out").textContent = `${duration} s`;
  $("cost").textContent = `Costs ${plural(cost(duration, quantity), "credit")}`;
}

function updateSound() {
  const bits = [];
  const voice = $("narrator").value || state.defaultNarrator;
  if ($("narration").value.trim()) bits.push(voice ? `narration by ${voice}` : "narration");
  if ($("music").value.trim()) bits.push("music");
  $("sound-summary").textContent = `— ${bits.length ? bits.join(" + ") : "none"}`;
}

function addFiles(list) {
  const images = [...list].filter((f) => f.type.startsWith("image/"));
  if (!images.length) return;
  const all = [...state.files, ...images];
  if (all.length > 2) toast("At most two images: keeping the last two");
  state.files = all.slice(-2);
  renderPicked();
}

function renderPicked() {
  const list = $("picked");
  for (const img of list.querySelectorAll("img")) URL.revokeObjectURL(img.src);
  list.replaceChildren();
  state.files.forEach((file, i) => {
    if (i === 1) list.append(el("li", { class: "picked-arrow", "aria-hidden": "true", text: "→" }));
    list.append(
      el("li", {},
        el("img", { src: URL.createObjectURL(file), alt: "" }),
        el("span", {},
          el("span", { class: "name", text: file.name }),
          el("span", { class: "order", text: state.files.length === 2 ? (i ? "last frame" : "first frame") : "animate" })),
        el("button", {
          type: "button", class: "btn ghost small", "aria-label": `Remove ${file.name}`, text: "✕",
          onclick: () => { state.files.splice(i, 1); renderPicked(); },
        })),
    );
  });
}

function formFields() {
  const fd = new FormData();
  const prompt = $("prompt").value.trim();
  const camera = document.querySelector('input[name="camera_control"]:checked').value;
  const aspect = document.querySelector('input[name="aspect_ratio"]:checked').value;
  if (prompt || state.editing) fd.append("prompt", prompt);
  fd.append("camera_control", camera);
  fd.append("duration", $("duration").value);
  fd.append("quantity", $("quantity").value);
  if (aspect) fd.append("aspect_ratio", aspect);
  const narration = $("narration").value.trim();
  const music = $("music").value.trim();
  const narrator = $("narrator").value;
  if (narration || music || narrator) {
    const audio = {};
    const voice = narrator || (narration ? state.defaultNarrator : "");
    if (voice) audio.narrator = voice;
    if (narration) audio.narration = narration;
    if (music) audio.bg_music_prompt = music;
    fd.append("audio_option", JSON.stringify(audio));
  }
  let title = $("title").value.trim();
  if (!title && !state.editing) {
    const base = state.files.length ? state.files[0].name.replace(/\.[^.]+$/, "") : prompt.split(/\s+/).slice(0, 5).join(" ");
    title = base || "Untitled";
  }
  if (title) fd.append("title", title);
  return fd;
}

async function submit(event) {
  event.preventDefault();
  clearError();
  const editing = state.editing;
  if (!editing && !state.files.length && !$("prompt").value.trim()) {
    showError(new ApiError(0, { message: "NO_INPUT", detail: "Add one or two images, or write a prompt, then press Generate." }));
    $("images").focus();
    return;
  }
  const fd = formFields();
  const button = $("generate");
  button.disabled = true;
  button.textContent = editing ? "Regenerating…" : "Uploading…";
  try {
    let result;
    if (editing) {
      result = await api(`/media/${encodeURIComponent(editing.id)}/edit`, { method: "PUT", body: fd });
    } else {
      for (const file of state.files) fd.append("image_files", file, file.name);
      result = await api("/media", { method: "POST", body: fd });
    }
    const media = result.data;
    stopEditing();
    showMedia(media);
    upsertCard(media, true);
    refreshCredits().catch(() => {});
    $("current").scrollIntoView({ block: "nearest", behavior: "smooth" });
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
    button.textContent = state.editing ? "Regenerate" : "Generate";
  }
}

function startEditing(media) {
  state.editing = media;
  const params = parseParams(media);
  $("prompt").value = params.Prompt || "";
  const camera = params.CameraPath || "";
  const radio = [...document.querySelectorAll('input[name="camera_control"]')].find((r) => r.value === camera);
  if (radio) radio.checked = true;
  const aspect = [...document.querySelectorAll('input[name="aspect_ratio"]')].find((r) => r.value === (params.AspectRatio || ""));
  if (aspect) aspect.checked = true;
  if (params.MotionLength) $("duration").value = params.MotionLength;
  if (params.Quantity) $("quantity").value = params.Quantity;
  $("title").value = media.title || "";
  $("edit-title").textContent = `“${media.title || media.id}”`;
  $("edit-banner").hidden = false;
  $("images-set").disabled = true;
  $("generate").textContent = "Regenerate";
  $("create-h").textContent = "Edit";
  updateCost();
  document.querySelector(".create").scrollIntoView({ block: "start", behavior: "smooth" });
}

function stopEditing() {
  if (!state.editing) return;
  state.editing = null;
  $("edit-banner").hidden = true;
  $("images-set").disabled = false;
  $("generate").textContent = "Generate";
  $("create-h").textContent = "Create";
  $("title").value = "";
}

// ---------- the current media ----------
function showMedia(media) {
  const changed = !state.current || state.current.id !== media.id;
  state.current = media;
  $("empty").hidden = true;
  $("current").hidden = false;
  $("cur-title").textContent = media.title || media.id;
  const params = parseParams(media);
  const bits = [
    params.CameraPath || "Auto camera",
    `${params.MotionLength || "?"} s`,
    params.AspectRatio || null,
    Number(params.Quantity) > 1 ? `${params.Quantity} videos` : null,
    media.bullet_version && media.bullet_version !== "0" ? `version ${media.bullet_version}` : null,
  ];
  $("cur-meta").textContent = bits.filter(Boolean).join(" · ");
  if (changed) $("progress").dataset.seen = "";
  renderStatus({
    processing_status: media.processing_status,
    progress_percentage: String(media.progress_percentage),
    stage: media.stage,
  });
  const active = ACTIVE.has(media.processing_status);
  $("cur-cancel").hidden = !active;
  $("cur-edit").hidden = active;
  const error = $("cur-error");
  error.hidden = media.processing_status !== "fail";
  error.textContent = media.error ? `The render failed: ${media.error}` : "The render failed.";
  renderResults(media);
  for (const card of document.querySelectorAll(".card")) card.classList.toggle("active", card.dataset.id === media.id);
  if (active) watch(media.id);
  else stopWatching();
}

function renderStatus(s) {
  const status = s.processing_status;
  const pct = Math.max(0, Math.min(100, Math.round(Number(s.progress_percentage) || 0)));
  const bar = $("progress");
  bar.setAttribute("aria-valuenow", String(pct));
  bar.setAttribute("aria-valuetext", `${pct}% — ${STATUS_TEXT[status] || status}`);
  bar.querySelector(".bar").style.width = `${pct}%`;
  bar.classList.toggle("done", status === "success");
  bar.classList.toggle("failed", status === "fail");
  const seen = bar.dataset.seen ? bar.dataset.seen.split(",") : [];
  if (seen[seen.length - 1] !== String(pct)) bar.dataset.seen = [...seen, pct].join(",");
  $("progress-text").textContent = `${pct}%`;
  const badge = $("cur-status");
  badge.className = `badge ${status}`;
  badge.textContent = STATUS_TEXT[status] || status;
  let line = "";
  if (status === "queue_bullet") {
    line = s.queue_position ? `Waiting in line — position ${s.queue_position}` : "Waiting for a worker…";
  } else if (status === "processing_bullet") {
    line = [s.stage ? `Stage: ${s.stage}` : "Rendering", s.eta_seconds != null ? `about ${s.eta_seconds} s left` : null]
      .filter(Boolean).join(" · ");
  } else if (status === "success") {
    line = "Finished.";
  } else if (status === "cancel") {
    line = "Cancelled. Unfinished videos were refunded.";
  }
  $("cur-stage").textContent = line;
}

function renderResults(media) {
  const box = $("results");
  box.replaceChildren();
  const results = media.processing_status === "success" || media.processing_status === "cancel" ? media.result || [] : [];
  box.classList.toggle("multi", results.length > 1);
  const many = results.length > 1;
  for (const item of results) {
    const n = item.index + 1;
    const suffix = many ? ` ${n}` : "";
    box.append(
      el("figure", { class: "result" },
        el("video", {
          src: item.url, poster: item.thumbnail_url, controls: true, loop: true, muted: true,
          playsinline: true, autoplay: true, preload: "auto", "aria-label": `Video${suffix}`,
        }),
        el("figcaption", {},
          el("span", { class: "muted small", text: `${many ? `#${n} · ` : ""}${item.width}×${item.height} · ${item.duration} s · seed ${item.seed}` }),
          el("span", { class: "dl" },
            el("button", { type: "button", class: "btn small", text: "Download MP4", "aria-label": `Download MP4${suffix}`, onclick: (e) => download(media, item.index, "mp4", e.currentTarget) }),
            el("button", { type: "button", class: "btn small", text: "GIF", "aria-label": `Download GIF${suffix}`, onclick: (e) => download(media, item.index, "gif", e.currentTarget) })))),
    );
  }
  for (const video of box.querySelectorAll("video")) {
    video.muted = true;
    video.play().catch(() => {});
  }
}

async function download(media, index, kind, button) {
  const type = { mp4: "bullet_video_mp4", gif: "bullet_video_gif" }[kind];
  const text = button.textContent;
  button.disabled = true;
  button.textContent = "…";
  try {
    const res = await api(`/media/${encodeURIComponent(media.id)}/download?object_type=${type}&index=${index}`, { raw: true });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const name = `${slug(media.title || "") || media.id}${media.result.length > 1 ? `-${index + 1}` : ""}.${kind}`;
    const a = el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
    button.textContent = text;
  }
}

// ---------- live progress (Server-Sent Events, polling as a fallback) ----------
function stopWatching() {
  if (state.source) state.source.close();
  state.source = null;
  clearTimeout(state.pollTimer);
}

function watch(id) {
  if (state.source && state.source.mediaId === id) return;
  stopWatching();
  const source = new EventSource(`/media/${encodeURIComponent(id)}/events`);
  source.mediaId = id;
  state.source = source;
  source.addEventListener("status", (ev) => {
    if (state.current && state.current.id === id) renderStatus(JSON.parse(ev.data));
  });
  source.addEventListener("end", () => {
    source.close();
    if (state.source === source) state.source = null;
    finish(id);
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED && state.source === source) {
      state.source = null;
      poll(id);
    }
  };
}

function poll(id) {
  clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(async () => {
    if (!state.current || state.current.id !== id) return;
    try {
      const { data } = await api(`/media/${encodeURIComponent(id)}`);
      if (ACTIVE.has(data.processing_status)) {
        renderStatus({ ...data, progress_percentage: String(data.progress_percentage) });
        poll(id);
      } else {
        finish(id, data);
      }
    } catch (err) {
      showError(err);
    }
  }, 1000);
}

async function finish(id, known) {
  try {
    const media = known || (await api(`/media/${encodeURIComponent(id)}`)).data;
    if (state.current && state.current.id === id) showMedia(media);
    upsertCard(media);
    if (media.processing_status === "fail") toast("The render failed");
    else if (media.processing_status === "success") toast("Your video is ready");
    refreshCredits().catch(() => {});
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) forgetMedia(id);
    else showError(err);
  }
}

async function cancelCurrent() {
  const media = state.current;
  if (!media) return;
  try {
    const { data } = await api(`/media/${encodeURIComponent(media.id)}/cancel`, { method: "POST" });
    showMedia(data);
    upsertCard(data);
    refreshCredits().catch(() => {});
  } catch (err) {
    showError(err);
  }
}

// ---------- delete ----------
function askDelete(media) {
  state.pendingDelete = media;
  $("confirm-title").textContent = media.title || media.id;
  $("confirm").showModal();
}

async function confirmDelete() {
  const media = state.pendingDelete;
  state.pendingDelete = null;
  if (!media || $("confirm").returnValue !== "delete") return;
  try {
    await api(`/media/${encodeURIComponent(media.id)}`, { method: "DELETE" });
    forgetMedia(media.id);
    toast("Deleted");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) forgetMedia(media.id);
    else showError(err);
  }
}

function forgetMedia(id) {
  state.items.delete(id);
  const card = document.querySelector(`.card[data-id="${CSS.escape(id)}"]`);
  if (card) card.remove();
  $("lib-empty").hidden = state.items.size > 0;
  if (state.editing && state.editing.id === id) stopEditing();
  if (state.current && state.current.id === id) {
    stopWatching();
    state.current = null;
    $("current").hidden = true;
    $("empty").hidden = false;
  }
}

// ---------- library ----------
function card(media) {
  const first = (media.result || [])[0];
  const title = media.title || media.id;
  const status = media.processing_status;
  const when = media.created_at ? new Date(media.created_at.replace(" ", "T")).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "";
  const thumb = el("button", { type: "button", class: "thumb", "aria-label": `Open ${title}`, onclick: () => openMedia(media.id) });
  if (first && first.thumbnail_url && status !== "fail") {
    thumb.append(el("img", { src: first.thumbnail_url, alt: "", loading: "lazy" }));
  } else {
    thumb.append(el("span", { class: "ph", text: ACTIVE.has(status) ? "Rendering…" : "No video" }));
  }
  if (status !== "success") thumb.append(el("span", { class: `badge ${status}`, text: STATUS_TEXT[status] || status }));
  return el("li", { class: "card", "data-id": media.id },
    thumb,
    el("div", { class: "info" },
      el("div", {},
        el("strong", { text: title }),
        el("span", { text: [cameraOf(media) || "Auto", when].filter(Boolean).join(" · ") })),
      el("button", {
        type: "button", class: "icon-btn", "aria-label": `Delete ${title}`, title: "Delete", html: TRASH,
        onclick: () => askDelete(state.items.get(media.id) || media),
      })));
}

function upsertCard(media, prepend = false) {
  state.items.set(media.id, media);
  const list = $("library");
  const node = card(media);
  if (state.current && state.current.id === media.id) node.classList.add("active");
  const old = list.querySelector(`.card[data-id="${CSS.escape(media.id)}"]`);
  if (old) old.replaceWith(node);
  else if (prepend) list.prepend(node);
  else list.append(node);
  $("lib-empty").hidden = true;
}

async function loadLibrary(reset = false) {
  if (!state.key) return;
  const button = $("lib-more");
  if (reset) state.cursor = null;
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (state.cursor) query.set("cursor", state.cursor);
  try {
    const page = await api(`/media?${query}`);
    if (reset) {
      $("library").replaceChildren();
      state.items.clear();
    }
    for (const media of page.data) upsertCard(media);
    state.cursor = page.next_cursor || null;
    button.hidden = !state.cursor;
    $("lib-empty").hidden = state.items.size > 0;
    $("lib-empty").textContent = "Nothing yet. Create your first video above.";
  } catch (err) {
    showError(err);
  }
}

async function openMedia(id) {
  clearError();
  try {
    const { data } = await api(`/media/${encodeURIComponent(id)}`);
    upsertCard(data);
    showMedia(data);
    $("current").scrollIntoView({ block: "nearest", behavior: "smooth" });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) forgetMedia(id);
    showError(err);
  }
}

// ---------- wiring ----------
function init() {
  buildForm();
  $("key-form").addEventListener("submit", saveKey);
  $("key-forget").addEventListener("click", forgetKey);
  $("alert-close").addEventListener("click", clearError);
  $("create-form").addEventListener("submit", submit);
  $("images").addEventListener("change", (e) => {
    addFiles(e.target.files);
    e.target.value = "";
  });
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (!$("images-set").disabled) addFiles(e.dataTransfer.files);
  });
  $("edit-cancel").addEventListener("click", stopEditing);
  $("cur-edit").addEventListener("click", () => state.current && startEditing(state.current));
  $("cur-cancel").addEventListener("click", cancelCurrent);
  $("cur-delete").addEventListener("click", () => state.current && askDelete(state.current));
  $("confirm").addEventListener("close", confirmDelete);
  $("lib-refresh").addEventListener("click", () => loadLibrary(true));
  $("lib-more").addEventListener("click", () => loadLibrary(false));
  if (state.key) {
    $("api-key").value = state.key;
    $("key-forget").hidden = false;
    refreshCredits().catch(showError);
    loadLibrary(true);
  }
  loadVocabulary()
    .then((vocabulary) => {
      buildChoices(vocabulary);
      document.body.dataset.ready = "1";
    })
    .catch(showError);
}

init();
