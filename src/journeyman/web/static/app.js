// Journeyman's web UI: a client of /api/v1 and /v3. The DOM is built with textContent only
// (never innerHTML), so names, subjects and reasons from the API are shown, not run.
"use strict";

const KEY_STORE = "journeyman.api-key";
const POLL_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";
let timers = [];

// ---- small helpers ----------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function time(value) {
  if (!value) return "";
  return String(value).replace("T", " ").replace(/\.\d+/, "").replace(/(\+00:00|Z)$/, " UTC");
}

function table(headings, rows, empty) {
  if (!rows.length) return el("p", { class: "empty" }, empty || "Nothing yet.");
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))),
  );
}

function money(amounts) {
  return Object.entries(amounts || {})
    .map(([currency, value]) => `${value.toFixed(2)} ${currency}`)
    .join(", ");
}

class ApiError extends Error {}

async function api(path, options = {}) {
  const key = sessionStorage.getItem(KEY_STORE);
  const response = await fetch(path, {
    ...options,
    headers: { "api-key": key || "", accept: "application/json", ...(options.headers || {}) },
  });
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_STORE);
    showSignIn("The server refused the key: enter a valid API key.");
    throw new ApiError("unauthorized");
  }
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new ApiError(`${body.code || response.status}: ${body.message || ""}`);
  return body;
}

// Runs task again ms after it last finished, or four times as long as it took when that is
// longer (a large workflow's statistics take a second to count), and not while the tab is
// hidden. route() cancels it.
function every(ms, task) {
  const ticket = { timer: null };
  const again = (wait) => { ticket.timer = setTimeout(run, wait); };
  const run = async () => {
    if (document.hidden) return again(ms);
    const started = performance.now();
    try { await task(); } catch (error) { /* the next round tries again */ }
    if (timers.includes(ticket)) again(Math.max(ms, 4 * (performance.now() - started)));
  };
  timers.push(ticket);
  again(ms);
}

// ---- sign in ----------------------------------------------------------------------------

function showSignIn(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("view").replaceChildren();
  document.getElementById("sign-in").hidden = false;
  document.getElementById("sign-in-error").textContent = message || "";
}

async function signIn(event) {
  event.preventDefault();
  const key = document.getElementById("key").value.trim();
  sessionStorage.setItem(KEY_STORE, key);
  try {
    await api("/api/v1/workflows");
  } catch (error) {
    if (!(error instanceof ApiError) || error.message !== "unauthorized") showSignIn(error.message);
    return;
  }
  document.getElementById("key").value = "";
  route();
}

// ---- views ------------------------------------------------------------------------------

async function workflowsView(view) {
  const found = await api("/api/v1/workflows");
  const rows = found.workflows.map((w) => [
    el("a", { href: `#/workflows/${encodeURIComponent(w.key)}` }, w.name),
    w.key,
    el("span", { class: `status ${w.status}` }, w.status),
    w.version ?? "",
    w.runs.entered,
    w.runs.inside,
    w.runs.completed,
    w.runs.exited,
    w.runs.failed,
  ]);
  view.append(
    el("h1", {}, "Workflows"),
    el(
      "div",
      { class: "actions" },
      el("a", { class: "button", href: "/ui/builder/#/new", "data-action": "new-workflow" }, "New workflow"),
    ),
    table(
      ["Name", "Key", "Status", "Version", "Entered", "Inside", "Completed", "Exited", "Failed"],
      rows,
      "No workflow yet: build one with New workflow, or apply one with journeyman workflow apply FILE or POST /api/v1/workflows.",
    ),
  );
}

async function workflowView(view, key) {
  const base = `/api/v1/workflows/${encodeURIComponent(key)}`;
  const [detail, graph] = await Promise.all([api(base), api(`${base}/graph`)]);
  const counts = el("p", { class: "counts" });
  const updated = el("span", { class: "updated" });
  const runs = el("div", {});
  const drawing = drawGraph(graph);
  const act = (verb) => async () => {
    if (verb === "stop" && !confirm(`Stop ${detail.name}? Every run inside exits.`)) return;
    await api(`${base}/${verb}`, { method: "POST" });
    route();
  };
  view.append(
    el("h1", {}, detail.name, " ", el("span", { class: `status ${detail.status}` }, detail.status)),
    el(
      "p",
      { class: "meta" },
      `key ${detail.key} · version ${detail.version ?? "none"} of ${detail.versions.length}`,
    ),
    el(
      "div",
      { class: "actions" },
      ["activate", "pause", "stop"].map((verb) =>
        el("button", { type: "button", "data-verb": verb, onclick: act(verb) }, verb),
      ),
      el(
        "a",
        { class: "button", href: `/ui/builder/#/edit/${encodeURIComponent(key)}`, "data-action": "edit-workflow" },
        "Edit",
      ),
      el(
        "a",
        { class: "button", href: `/ui/builder/#/workflows/${encodeURIComponent(key)}`, "data-action": "read-in-workspace" },
        "Open in the workspace",
      ),
    ),
    el("p", { class: "entries" }, "Enters on: ", graph.entries.join(" · ")),
    counts,
    el("div", { class: "graph" }, drawing.svg),
    el("h2", {}, "Latest runs ", updated),
    runs,
    el("h2", {}, "Versions"),
    versionsTable(base, detail),
    simulator(base),
  );
  const refresh = async () => {
    const [stats, page] = await Promise.all([
      api(`${base}/stats`),
      api(`${base}/runs?limit=20`),
    ]);
    const r = stats.runs;
    counts.textContent =
      `entered ${r.entered} · inside ${r.inside} · completed ${r.completed} · ` +
      `exited ${r.exited} · failed ${r.failed} · converted ${r.converted}`;
    drawing.update(stats);
    runs.replaceChildren(runsTable(page.runs, "contact"));
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  };
  await refresh();
  every(POLL_MS, refresh);
}

// Versions: each one's document, its diff with the current one, and a rollback to it.
function versionsTable(base, detail) {
  const output = el("pre", { class: "version-output", hidden: true });
  const show = (text) => { output.textContent = text; output.hidden = false; };
  const guarded = (work) => async () => {
    try { await work(); } catch (error) { show(error.message); }
  };
  const rows = detail.versions.map((v) => [
    v.version,
    time(v.created_at),
    v.runs,
    v.current ? "current" : "",
    el("span", { class: "actions" },
      el("button", { type: "button", "data-version-show": v.version, onclick: guarded(async () => {
        show(JSON.stringify((await api(`${base}/versions/${v.version}`)).document, null, 2));
      }) }, "document"),
      v.current ? null : el("button", { type: "button", "data-version-diff": v.version, onclick: guarded(async () => {
        const found = await api(`${base}/diff?old=${v.version}`);
        show(found.diff || `version ${v.version} equals version ${found.new}`);
      }) }, "diff with current"),
      v.current ? null : el("button", { type: "button", "data-version-rollback": v.version, onclick: guarded(async () => {
        if (!confirm(`Publish version ${v.version} again as the newest version?`)) return;
        await api(`${base}/rollback?version=${v.version}`, { method: "POST" });
        route();
      }) }, "roll back to this"),
    ),
  ]);
  return el("div", {}, table(["Version", "Created", "Runs", "", ""], rows), output);
}

// The dry run: a form for the scenario, the path with the time of each step and its reason.
function simulator(base) {
  const field = (name, placeholder) => el("input", { name, placeholder });
  const email = field("sim-email", "email (empty: a new contact)");
  const properties = el("textarea", { name: "sim-properties", rows: 2, placeholder: '{"amount": 40}' });
  const webhook = el("textarea", { name: "sim-webhook", rows: 2, placeholder: '{"score": 70}' });
  const later = el("textarea", {
    name: "sim-later", rows: 2, placeholder: '[{"after_minutes": 30, "event_name": "order_created"}]',
  });
  const output = el("div", { class: "simulation" });
  const json = (area, what) => {
    if (!area.value.trim()) return undefined;
    try { return JSON.parse(area.value); } catch (error) { throw new ApiError(`${what} is not JSON`); }
  };
  const submit = async (event) => {
    event.preventDefault();
    output.replaceChildren(el("p", { class: "meta" }, "Simulating…"));
    try {
      const body = { event_properties: json(properties, "Event properties") || {} };
      if (email.value.trim()) body.email = email.value.trim();
      const answer = json(webhook, "The webhook answer");
      if (answer !== undefined) body.webhook = { status: 200, json: answer };
      const then = json(later, "The later events");
      if (then !== undefined) body.then_events = then;
      const found = await api(`${base}/simulate`, {
        method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" },
      });
      output.replaceChildren(...simulation(found).filter(Boolean));
    } catch (error) {
      output.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
    }
  };
  return el(
    "section",
    { class: "simulator" },
    el("h2", {}, "Dry run"),
    el("p", { class: "meta" }, "A contact and an event through the current version, time skipped, nothing sent; webhooks get the answer you give."),
    el("form", { class: "search", onsubmit: submit }, email,
      el("label", {}, "Event properties ", properties), el("label", {}, "Webhook answer ", webhook),
      el("label", {}, "Later events ", later),
      el("button", { type: "submit" }, "Simulate")),
    output,
  );
}

function after(start, at) {
  let minutes = Math.floor((new Date(at) - new Date(start)) / 60000);
  const days = Math.floor(minutes / 1440); minutes -= days * 1440;
  const hours = Math.floor(minutes / 60); minutes -= hours * 60;
  const parts = [days ? `${days}d` : "", hours ? `${hours}h` : "", minutes || (!days && !hours) ? `${minutes}m` : ""];
  return "+" + parts.filter(Boolean).join(" ");
}

function simulation(found) {
  const who = found.stored_contact ? "stored contact" : "new contact";
  const end = found.finished ? "ended" : "still inside at the horizon";
  const state = found.runs.map((r) => r.status + (r.step_id ? ` at ${r.step_id}` : "")).join(", ");
  return [
    el("p", { class: "meta" }, `${who} ${found.email}, event ${found.event}`),
    found.entered ? null : el("p", { class: "error" }, `Did not enter: ${found.refusals.join("; ") || "the event matches no entry point"}`),
    table(
      ["After", "Step", "Kind", "Result", "Way out", "Why"],
      found.steps.map((s) => [after(found.started_at, s.at), s.step_id, s.kind, s.result, s.branch || "", el("span", { class: "reason" }, s.reason)]),
      "No step ran.",
    ),
    table(
      ["After", "Channel", "To", "Subject", "Status"],
      found.messages.filter((m) => m.channel !== "webhook").map((m) => [after(found.started_at, m.at), m.channel, m.recipient || "", m.subject || m.text || "", m.status + (m.reason ? `: ${m.reason}` : "")]),
      "No message.",
    ),
    el("p", { class: "sim-end" }, `${end} after ${after(found.started_at, found.ended_at)}: ${state || "no run"}`),
  ];
}

function runsTable(runs, link) {
  return table(
    ["Run", link === "contact" ? "Contact" : "Workflow", "Status", "Step", "Event", "Entered", "Due"],
    runs.map((run) => [
      run.id,
      link === "contact"
        ? el("a", { href: `#/contacts/${run.contact_id}` }, run.email || `#${run.contact_id}`)
        : el("a", { href: `#/workflows/${encodeURIComponent(run.workflow)}` }, run.workflow),
      el("span", { class: `status ${run.status}` }, run.status),
      run.step_id || "",
      run.trigger_event || "",
      time(run.entered_at),
      time(run.due_at),
    ]),
    "No run yet.",
  );
}

// The graph: boxes placed by the server's layers and columns; counts filled in by update().
function drawGraph(graph) {
  const W = 250, H = 100, GX = 40, GY = 70, M = 24, LOOP = 70;
  const perLayer = {};
  for (const node of graph.nodes) perLayer[node.layer] = (perLayer[node.layer] || 0) + 1;
  const widest = Math.max(...Object.values(perLayer));
  const layers = Math.max(...graph.nodes.map((n) => n.layer)) + 1;
  const layerOf = Object.fromEntries(graph.nodes.map((n) => [n.id, n.layer]));
  const skips = graph.edges.filter((e) => !e.back && layerOf[e.target] - layerOf[e.source] > 1);
  const SKIP = skips.length ? 40 + 18 * Math.min(8, skips.length) : 0; // room on the left
  const width = M * 2 + SKIP + widest * (W + GX) - GX + LOOP;
  const height = M * 2 + layers * (H + GY) - GY;
  const place = {};
  for (const node of graph.nodes) {
    const offset = ((widest - perLayer[node.layer]) * (W + GX)) / 2;
    place[node.id] = {
      x: M + SKIP + offset + node.column * (W + GX), y: M + node.layer * (H + GY),
    };
  }
  const root = svg("svg", {
    width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "the workflow's steps",
  });
  const defs = svg("defs");
  const marker = svg("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7,
    orient: "auto-start-reverse",
  });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
  defs.append(marker);
  root.append(defs);

  const edgeLabels = [];
  const ways = {};
  for (const edge of graph.edges) ways[edge.source] = (ways[edge.source] || 0) + 1;
  for (const edge of graph.edges) {
    const from = place[edge.source], to = place[edge.target];
    const end = edge.target === "end";
    let d, lx, ly;
    const span = layerOf[edge.target] - layerOf[edge.source];
    if (edge.back) {
      // a loop: out of the right side and back up into the target's right side
      const x1 = from.x + W, y1 = from.y + H / 2, x2 = to.x + W, y2 = to.y + H / 2;
      d = `M ${x1} ${y1} C ${x1 + LOOP} ${y1}, ${x2 + LOOP} ${y2}, ${x2} ${y2}`;
      lx = Math.max(x1, x2) + LOOP * 0.6; ly = (y1 + y2) / 2;
    } else if (span > 1) {
      // past the layers in between: round the left side, each such edge a little further out
      const out = 30 + 18 * (skips.indexOf(edge) % 8);
      const x1 = from.x, y1 = from.y + H / 2, x2 = to.x + (end ? W / 2 - 40 : 0), y2 = to.y + H / 2;
      const side = Math.min(x1, x2) - out;
      d = `M ${x1} ${y1} C ${side} ${y1}, ${side} ${y2}, ${x2} ${y2}`;
      lx = side + 2; ly = (y1 + y2) / 2;
    } else {
      const x1 = from.x + W / 2, y1 = from.y + H;
      const x2 = to.x + W / 2, y2 = to.y + (end ? H / 2 - 16 : 0);
      const bend = (y2 - y1) / 2;
      d = `M ${x1} ${y1} C ${x1} ${y1 + bend}, ${x2} ${y2 - bend}, ${x2} ${y2}`;
      lx = (x1 + x2) / 2; ly = (y1 + y2) / 2;
    }
    root.append(svg("path", {
      d, class: edge.back ? "edge back" : "edge", "marker-end": "url(#arrow)",
      "data-source": edge.source, "data-branch": edge.branch, "data-target": edge.target,
    }));
    const named = ways[edge.source] > 1 || !["next", "go_to"].includes(edge.branch);
    const label = svg("text", {
      x: lx + 4, y: ly, class: "edge-label",
      "data-source": edge.source, "data-branch": edge.branch,
    });
    edgeLabels.push({ edge, label, named });
    root.append(label);
  }

  const boxes = {};
  for (const node of graph.nodes) {
    const { x, y } = place[node.id];
    const group = svg("g", {
      class: `node kind-${node.kind}${node.disabled ? " disabled" : ""}`,
      "data-step": node.id, transform: `translate(${x} ${y})`,
    });
    if (node.kind === "end") {
      group.append(
        svg("rect", { x: W / 2 - 40, y: H / 2 - 16, width: 80, height: 32, rx: 16 }),
        svg("text", { x: W / 2, y: H / 2 + 5, "text-anchor": "middle", class: "title" }, "end"),
      );
    } else {
      const counts = svg("text", { x: 12, y: 60, class: "counts" });
      const extra = svg("text", { x: 12, y: 77, class: "extra" });
      const more = svg("text", { x: 12, y: 93, class: "extra" });
      group.append(
        svg("rect", { width: W, height: H, rx: 8 }),
        svg("text", { x: 12, y: 22, class: "title" }, node.name || node.id),
        svg(
          "text",
          { x: 12, y: 40, class: "kind" },
          `${node.kind}${node.name ? ` · ${node.id}` : ""}${node.disabled ? " · disabled" : ""}`,
        ),
        counts,
        extra,
        more,
      );
      boxes[node.id] = { counts, extra, more };
    }
    root.append(group);
  }

  function update(stats) {
    const byStep = Object.fromEntries(stats.steps.map((s) => [s.id, s]));
    for (const [id, box] of Object.entries(boxes)) {
      const step = byStep[id];
      if (!step) continue;
      box.counts.textContent = `entered ${step.entered} · waiting ${step.waiting_now}`;
      const m = step.messages;
      box.extra.textContent = m.total
        ? `sent ${m.sent} · opened ${step.opened} · clicked ${step.clicked}`
        : "";
      const more = [];
      if (m.queued) more.push(`queued ${m.queued}`);
      if (m.failed) more.push(`failed ${m.failed}`);
      if (m.suppressed) more.push(`suppressed ${m.suppressed}`);
      if (step.conversions) more.push(`conversions ${step.conversions} · ${money(step.revenue)}`);
      box.more.textContent = more.join(" · ");
    }
    for (const { edge, label, named } of edgeLabels) {
      const taken = (byStep[edge.source] && byStep[edge.source].branches[edge.branch]) || 0;
      label.textContent = named ? `${edge.branch} ${taken}` : String(taken);
    }
  }
  return { svg: root, update };
}

async function contactsView(view, identifier) {
  const input = el("input", {
    name: "identifier", value: identifier || "", placeholder: "email or contact id", required: true,
  });
  view.append(
    el("h1", {}, "Contacts"),
    el(
      "form",
      {
        class: "search",
        onsubmit: (event) => {
          event.preventDefault();
          location.hash = `#/contacts/${encodeURIComponent(input.value.trim())}`;
        },
      },
      input,
      el("button", { type: "submit" }, "Show journey"),
    ),
  );
  if (!identifier) return;
  const path = encodeURIComponent(identifier);
  const [contact, journey] = await Promise.all([
    api(`/v3/contacts/${path}`),
    api(`/api/v1/contacts/${path}/timeline`),
  ]);
  const ids = contact.listIds || [];
  // names for the first 50 lists (one request each); ids beyond that
  const named = await Promise.all(
    ids.slice(0, 50).map((id) => api(`/v3/contacts/lists/${id}`).then((l) => l.name, () => `#${id}`)),
  );
  const listNames = [...named, ...ids.slice(50).map((id) => `#${id}`)];
  const attributes = Object.entries(contact.attributes || {}).map(([k, v]) => [k, String(v)]);
  const blocked = [
    contact.emailBlacklisted ? "email" : null,
    contact.smsBlacklisted ? "SMS" : null,
  ].filter(Boolean);
  view.append(
    el("h2", {}, contact.email || `contact ${contact.id}`),
    el(
      "p",
      { class: "meta" },
      `id ${contact.id} · lists: ${listNames.join(", ") || "none"} · ` +
        `blocklisted: ${blocked.join(", ") || "no"}`,
    ),
    table(["Attribute", "Value"], attributes, "No attributes."),
    el("h2", {}, "Runs"),
    runsTable(journey.runs, "workflow"),
    el("h2", {}, "Timeline"),
    table(
      ["At", "Workflow", "What", "Step", "Result", "Way out", "Why"],
      journey.timeline.map((entry) => [
        time(entry.at),
        entry.workflow || "",
        entry.type,
        entry.step_id ? `${entry.step_id} (${entry.kind})` : entry.event || "",
        entry.result || "",
        entry.branch || "",
        el("span", { class: "reason" }, entry.reason),
      ]),
      "No journey yet.",
    ),
    el(
      "p",
      {},
      el("a", { href: `#/messages?email=${encodeURIComponent(contact.email || "")}` }, "Messages"),
    ),
  );
}

const PAGE = 50;

async function messagesView(view, query) {
  const fields = ["status", "channel", "workflow", "email"];
  const choices = {
    status: ["queued", "sending", "sent", "failed", "suppressed"],
    channel: ["email", "sms", "whatsapp", "webhook"],
  };
  const input = (f) => {
    if (!choices[f]) return el("input", { name: f, value: query.get(f) || "", placeholder: f });
    const options = ["", ...choices[f]].map((v) =>
      el("option", { value: v, selected: v === (query.get(f) || "") }, v || `any ${f}`),
    );
    return el("select", { name: f }, options);
  };
  const inputs = Object.fromEntries(fields.map((f) => [f, input(f)]));
  const offset = Number(query.get("offset") || 0);
  const wanted = new URLSearchParams({ limit: PAGE, offset });
  for (const f of fields) if (query.get(f)) wanted.set(f, query.get(f));
  const page = await api(`/api/v1/messages?${wanted}`);
  const go = (changes) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) v ? next.set(k, v) : next.delete(k);
    location.hash = `#/messages?${next}`;
  };
  view.append(
    el("h1", {}, "Outbox"),
    el(
      "form",
      {
        class: "search",
        onsubmit: (event) => {
          event.preventDefault();
          go({ ...Object.fromEntries(fields.map((f) => [f, inputs[f].value.trim()])), offset: "" });
        },
      },
      Object.values(inputs),
      el("button", { type: "submit" }, "Filter"),
    ),
    el("p", { class: "meta" }, `${page.count} messages`),
    table(
      ["Id", "Status", "Channel", "To", "Subject", "Workflow", "Step", "Created", "Sent"],
      page.messages.map((m) => [
        el("a", { href: `#/messages/${m.id}` }, m.id),
        el("span", { class: `status ${m.status}` }, m.status),
        m.channel,
        m.recipient || "",
        m.subject,
        m.workflow || "",
        m.step_id || "",
        time(m.created_at),
        time(m.sent_at),
      ]),
      "No message yet.",
    ),
    el(
      "p",
      { class: "pages" },
      offset > 0
        ? el("button", { type: "button", onclick: () => go({ offset: Math.max(0, offset - PAGE) }) }, "Newer")
        : null,
      offset + PAGE < page.count
        ? el("button", { type: "button", onclick: () => go({ offset: offset + PAGE }) }, "Older")
        : null,
    ),
  );
}

async function messageView(view, id) {
  const m = await api(`/api/v1/messages/${encodeURIComponent(id)}`);
  const facts = [
    ["Status", m.status + (m.reason ? ` (${m.reason})` : "")],
    ["Channel", m.channel],
    ["From", m.sender],
    ["To", m.recipient || ""],
    ["Workflow", m.workflow ? `${m.workflow} · step ${m.step_id}` : ""],
    ["Run", m.run_id ?? ""],
    ["Created", time(m.created_at)],
    ["Sent", time(m.sent_at)],
    ["Attempts", m.attempts],
    ["Key", m.idempotency_key],
  ];
  view.append(
    el("h1", {}, m.subject || `${m.channel} message ${m.id}`),
    el("dl", { class: "facts" }, facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])),
  );
  if (m.contact_id) {
    view.append(el("p", {}, el("a", { href: `#/contacts/${m.contact_id}` }, "The contact's journey")));
  }
  if (m.html) {
    // sandbox without scripts; the page's policy (img-src data:) is inherited, so neither
    // the open pixel nor remote images load. Links are shown, not followed.
    const frame = el("iframe", { class: "preview", sandbox: "allow-same-origin", title: "preview" });
    frame.srcdoc = m.html;
    frame.addEventListener("load", () => {
      const doc = frame.contentDocument;
      if (!doc) return;
      doc.addEventListener("click", (event) => event.preventDefault(), true);
      frame.style.height = `${doc.documentElement.scrollHeight + 24}px`;
    });
    view.append(
      el("h2", {}, "Preview"),
      el("p", { class: "meta" }, "Images are not loaded and links are not followed here: looking records no open or click."),
      frame,
    );
  }
  if (m.text) view.append(el("h2", {}, "Text"), el("pre", {}, m.text));
  if (m.payload) view.append(el("h2", {}, "Payload"), el("pre", {}, JSON.stringify(m.payload, null, 2)));
  if (m.headers) view.append(el("h2", {}, "Headers"), el("pre", {}, JSON.stringify(m.headers, null, 2)));
  view.append(
    el("h2", {}, "Tracking"),
    table(
      ["At", "Event", "Properties"],
      m.tracking.map((t) => [time(t.occurred_at), t.name, JSON.stringify(t.properties)]),
      "Not opened or clicked yet.",
    ),
  );
}

async function reportsView(view) {
  const report = await api("/api/v1/reports/conversions");
  const amount = (row) => `${row.revenue.toFixed(2)} ${row.currency}`;
  view.append(
    el("h1", {}, "Conversions and revenue"),
    el("p", { class: "meta" }, "Summed per currency, never converted between currencies."),
    table(["Currency", "Conversions", "Revenue"],
      report.totals.map((t) => [t.currency, t.conversions, amount(t)]), "No conversion yet."),
    el("h2", {}, "Per workflow"),
    table(["Workflow", "Conversions", "Revenue"],
      report.workflows.map((w) => [
        el("a", { href: `#/workflows/${encodeURIComponent(w.workflow)}` }, w.workflow),
        w.conversions, amount(w),
      ]), "No conversion yet."),
    el("h2", {}, "Per step"),
    table(["Workflow", "Step", "Conversions", "Revenue"],
      report.steps.map((s) => [s.workflow, s.step || "(goal)", s.conversions, amount(s)]),
      "No conversion yet."),
  );
}

// ---- routing ----------------------------------------------------------------------------

async function route() {
  for (const ticket of timers) clearTimeout(ticket.timer);
  timers = [];
  if (!sessionStorage.getItem(KEY_STORE)) {
    showSignIn();
    return;
  }
  document.getElementById("sign-in").hidden = true;
  document.getElementById("nav").hidden = false;
  const [path, search] = location.hash.replace(/^#/, "").split("?");
  const parts = (path || "/").split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search || "");
  const view = el("div", { class: "view", "data-view": parts[0] || "workflows" });
  document.getElementById("view").replaceChildren(view);
  try {
    if (!parts.length || (parts[0] === "workflows" && parts.length === 1)) await workflowsView(view);
    else if (parts[0] === "workflows") await workflowView(view, parts[1]);
    else if (parts[0] === "contacts") await contactsView(view, parts[1]);
    else if (parts[0] === "messages" && parts.length > 1) await messageView(view, parts[1]);
    else if (parts[0] === "messages") await messagesView(view, query);
    else if (parts[0] === "reports") await reportsView(view);
    else view.append(el("p", { class: "error" }, `No page ${location.hash}`));
  } catch (error) {
    if (error instanceof ApiError && error.message === "unauthorized") return;
    view.append(el("p", { class: "error", role: "alert" }, error.message));
  }
}

document.getElementById("sign-in").addEventListener("submit", signIn);
document.getElementById("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORE);
  route();
});
window.addEventListener("hashchange", route);
route();
