// The dashboard: plain DOM code over the gateway's /api/, no framework, nothing loaded from elsewhere.
// Every text from the server goes in through textContent; reports open in a sandboxed iframe.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const FINAL = new Set(["completed", "failed", "cancelled"]);
const view = document.getElementById("view");
let closeCurrent = () => {};

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body && body.error) || { code: "internal", message: response.statusText };
    if (response.status === 401) showLogin();
    throw new ApiError(response.status, error.code, error.message);
  }
  return body;
}

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}

function badge(status) {
  return el("span", { class: `badge ${status}` }, status);
}

function showError(error) {
  view.append(el("p", { class: "error", role: "alert" }, `${error.code || "error"}: ${error.message}`));
}

function showLogin() {
  document.getElementById("login").hidden = false;
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value;
  try {
    await api("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    });
    document.getElementById("login").hidden = true;
    route();
  } catch (error) {
    document.getElementById("login-error").textContent = error.message;
  }
});

// ---------------------------------------------------------------- workflows list

async function showWorkflows() {
  view.replaceChildren(el("h1", {}, "Workflows"));
  const { workflows } = await api("/api/workflows?limit=100");
  if (!workflows.length) {
    view.append(el("p", { class: "muted" }, "No workflow yet. ", el("a", { href: "#/submit" }, "Submit one.")));
    return;
  }
  const rows = workflows.map((w) =>
    el(
      "tr",
      { "data-workflow-id": w.workflow_id },
      el("td", {}, el("a", { href: `#/workflow/${w.workflow_id}` }, w.workflow_id)),
      el("td", {}, badge(w.status)),
      el("td", {}, w.graph_name),
      el("td", { class: "num" }, `${w.completed_tasks}/${w.total_tasks}`),
      el("td", { class: "num" }, w.reports),
      el("td", {}, when(w.created_at)),
      el("td", { class: "num" }, `${(w.updated_at - w.created_at).toFixed(2)} s`),
    ),
  );
  view.append(
    el(
      "table",
      { id: "workflows" },
      el(
        "thead",
        {},
        el("tr", {}, ["workflow", "status", "graph", "tasks done", "reports", "created", "took"].map((h) => el("th", {}, h))),
      ),
      el("tbody", {}, rows),
    ),
  );
}

// ---------------------------------------------------------------- submit form

async function showSubmit() {
  view.replaceChildren(el("h1", {}, "Submit a workflow"));
  const { graphs } = await api("/api/graphs");
  const form = el(
    "form",
    { id: "submit-form", class: "panel" },
    el("label", {}, "Graph ", el("select", { id: "graph", name: "graph_name", required: true },
      graphs.map((g) => el("option", { value: g.name }, g.name)))),
    el("label", {}, "Requirement documents ", el("input", { id: "documents", name: "documents", type: "file", multiple: true })),
    el("label", {}, "…or type requirements ", el("textarea", { id: "requirements-text" })),
    el("label", {}, "Max executions ",
      el("input", { id: "max-executions", name: "max_executions", type: "number", min: 1, max: 256, value: 5 })),
    el("label", {}, el("input", { id: "sequential", type: "checkbox" }), " Run the phases sequentially"),
    el("button", { id: "submit", type: "submit" }, "Submit"),
    el("p", { id: "submit-error", class: "error", role: "alert" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData();
    data.append("graph_name", form.querySelector("#graph").value);
    data.append("max_executions", form.querySelector("#max-executions").value);
    data.append("enable_parallelism", form.querySelector("#sequential").checked ? "false" : "true");
    const text = form.querySelector("#requirements-text").value.trim();
    if (text) data.append("request", JSON.stringify({ documents: [{ content: text, name: "typed requirements" }] }));
    for (const file of form.querySelector("#documents").files) data.append("documents", file, file.name);
    try {
      const reply = await api("/api/workflows", { method: "POST", body: data });
      location.hash = `#/workflow/${reply.workflow_id}`;
    } catch (error) {
      form.querySelector("#submit-error").textContent = `${error.code}: ${error.message}`;
    }
  });
  view.append(form);
}

// ---------------------------------------------------------------- graphs

async function showGraphs() {
  view.replaceChildren(el("h1", {}, "Graphs"));
  const { graphs } = await api("/api/graphs");
  if (!graphs.length) view.append(el("p", { class: "muted" }, "The store holds no graph; import one with gaai import."));
  for (const graph of graphs) {
    const semantics = Object.fromEntries(graph.edge_semantics.map((s) => [s.collection, s]));
    view.append(
      el(
        "section",
        { class: "card graph", "data-graph": graph.name },
        el("h2", {}, graph.name),
        el("p", { class: "muted" }, `imported ${when(graph.created_at)}, version ${graph.version}`),
        el(
          "table",
          {},
          el("thead", {}, el("tr", {}, ["collection", "kind", "count", "read as"].map((h) => el("th", {}, h)))),
          el(
            "tbody",
            {},
            Object.entries(graph.vertex_collections).map(([name, count]) =>
              el("tr", {}, el("td", {}, name), el("td", {}, "vertices"), el("td", { class: "num" }, count.toLocaleString()), el("td", {}))),
            Object.entries(graph.edge_collections).map(([name, count]) => {
              const s = semantics[name];
              const readAs = `${s.directed ? "directed" : "undirected"}${s.weight_field ? `, weighted by ${s.weight_field}` : ", unweighted"}`;
              return el("tr", {}, el("td", {}, name), el("td", {}, "edges"), el("td", { class: "num" }, count.toLocaleString()), el("td", {}, readAs));
            }),
          ),
        ),
      ),
    );
  }
}

// ---------------------------------------------------------------- one workflow

function depths(tasks) {
  const byId = Object.fromEntries(tasks.map((t) => [t.task_id, t]));
  const depth = {};
  const of = (id, seen = new Set()) => {
    if (depth[id] !== undefined) return depth[id];
    if (seen.has(id) || !byId[id]) return 0;
    seen.add(id);
    const parents = byId[id].depends_on.filter((p) => byId[p]);
    depth[id] = parents.length ? 1 + Math.max(...parents.map((p) => of(p, seen))) : 0;
    return depth[id];
  };
  tasks.forEach((t) => of(t.task_id));
  return depth;
}

function drawDag(container, tasks) {
  const depth = depths(tasks);
  const columns = [];
  for (const task of tasks) (columns[depth[task.task_id]] ||= []).push(task);
  const width = 190, height = 28, gapX = 40, gapY = 10;
  const position = {};
  columns.forEach((column, x) =>
    column.forEach((task, y) => (position[task.task_id] = { x: 10 + x * (width + gapX), y: 10 + y * (height + gapY) })));
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const drawing = svg("svg", {
    id: "dag",
    viewBox: `0 0 ${20 + columns.length * (width + gapX)} ${20 + rows * (height + gapY)}`,
    role: "img",
    "aria-label": "the workflow's tasks by phase",
  });
  for (const task of tasks) {
    for (const parent of task.depends_on) {
      const from = position[parent], to = position[task.task_id];
      if (from && to) drawing.append(svg("line", { x1: from.x + width, y1: from.y + height / 2, x2: to.x, y2: to.y + height / 2 }));
    }
  }
  for (const task of tasks) {
    const { x, y } = position[task.task_id];
    const node = svg("g", { class: "node", "data-task-id": task.task_id, "data-status": task.status, transform: `translate(${x},${y})` });
    node.append(svg("rect", { width, height }));
    const label = svg("text", { x: 6, y: 18 });
    label.textContent = task.label.length > 30 ? `${task.label.slice(0, 29)}…` : task.label;
    const hover = svg("title", {});
    hover.textContent = nodeTitle(task);
    node.append(label, hover);
    drawing.append(node);
  }
  container.replaceChildren(drawing);
}

function nodeTitle(task) {
  const who = task.instance ? `${task.instance.agent} on ${task.instance.host} pid ${task.instance.pid} (${task.instance.instance_id})` : "not taken by an agent yet";
  const error = task.error ? `\n${task.error.code}: ${task.error.message}` : "";
  return `${task.label}\n${task.status}, attempt ${task.attempt}\n${who}${error}`;
}

function applyTaskEvent(container, event) {
  const node = container.querySelector(`g.node[data-task-id="${CSS.escape(event.task_id)}"]`);
  if (!node) return false;
  node.setAttribute("data-status", event.status);
  if (event.instance) node.querySelector("title").textContent = nodeTitle({ ...event, attempt: "?", error: event.error });
  return true;
}

function drawReports(container, progress) {
  container.replaceChildren(el("h2", {}, "Reports"));
  if (!progress.reports.length) {
    container.append(el("p", { class: "muted" }, FINAL.has(progress.status) ? "No report." : "Reports appear as they are written."));
    return;
  }
  const frame = el("iframe", { id: "report-frame", sandbox: "", title: "report", referrerpolicy: "no-referrer" });
  const base = `/api/workflows/${encodeURIComponent(progress.workflow_id)}/reports`;
  const list = el("ul", { id: "reports" }, progress.reports.map((report) => {
    const open = el("a", { href: "#", class: "report-link", "data-template-id": report.template_id }, report.title);
    open.addEventListener("click", (event) => {
      event.preventDefault();
      frame.src = `${base}/${encodeURIComponent(report.template_id)}/html`;
      frame.hidden = false;
    });
    const files = report.artifacts.map((a) =>
      el("a", { href: `${base}/${encodeURIComponent(report.template_id)}/${encodeURIComponent(a.format)}?download=1` }, a.format));
    return el("li", {}, open, " ", el("span", { class: "muted" }, report.template_id, " · "), files.flatMap((f) => [f, " "]));
  }));
  frame.hidden = true;
  container.append(list, frame);
}

function coverageReason(r) {
  return r.executions_needed ? `${r.reason} (max executions ${r.executions_needed} would cover it)` : r.reason;
}

async function drawLineage(container, progress) {
  const workflowId = progress.workflow_id;
  container.replaceChildren(el("h2", {}, "Lineage: requirement → use case → template → execution → report"));
  let lineage;
  try {
    lineage = await api(`/api/workflows/${encodeURIComponent(workflowId)}/lineage`);
  } catch (error) {
    // Without the catalog the chains are unknown; what became of each requirement is still in the workflow's state.
    container.append(el("p", { class: "error", id: "lineage-error", role: "alert" },
      `The lineage is not available (${error.code}): ${error.message}`));
    if (progress.coverage.length) {
      container.append(el("table", { id: "coverage" },
        el("thead", {}, el("tr", {}, ["requirement", "status", "templates, or why none"].map((h) => el("th", {}, h)))),
        el("tbody", {}, progress.coverage.map((r) => el("tr", { "data-requirement-id": r.requirement_id },
          el("td", {}, el("b", {}, r.requirement_id), " ", r.text), el("td", {}, badge(r.status)),
          el("td", {}, r.template_ids.length ? r.template_ids.join(", ") : coverageReason(r) || "—"))))));
    }
    return;
  }
  if (!lineage.requirements.length) {
    container.append(el("p", { class: "muted" }, "No requirement was accounted for (yet)."));
  }
  const rows = lineage.requirements.flatMap((r) => {
    const head = [el("td", {}, el("b", {}, r.requirement_id), " ", r.text), el("td", {}, badge(r.status))];
    if (!r.links.length) {
      return [el("tr", { class: "requirement unanswered", "data-requirement-id": r.requirement_id }, head,
        el("td", { colspan: 4 }, coverageReason(r) || "—"))];
    }
    return r.links.map((link, i) =>
      el(
        "tr",
        { class: "requirement", "data-requirement-id": r.requirement_id },
        i === 0 ? head : [el("td", {}), el("td", {})],
        el("td", { class: "use-case" }, link.use_case_id ? `${link.use_case_id} ${link.use_case_title}` : "—"),
        el("td", { class: "template" }, link.template_id || el("span", { class: "muted" }, "no template")),
        el("td", {}, link.execution_label || "—", " ", link.execution_status ? badge(link.execution_status) : ""),
        el("td", {}, link.report_title
          ? el("a", { href: "#", class: "lineage-report", "data-template-id": link.template_id }, link.report_title)
          : el("span", { class: "muted" }, link.template_id ? "no report yet" : "—")),
      ));
  });
  container.append(
    el("table", { id: "lineage" },
      el("thead", {}, el("tr", {}, ["requirement", "status", "use case", "template", "execution", "report"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows)),
  );
  container.querySelectorAll("a.lineage-report").forEach((link) =>
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const target = document.querySelector(`a.report-link[data-template-id="${CSS.escape(link.dataset.templateId)}"]`);
      if (target) {
        target.click();
        document.getElementById("report-frame").scrollIntoView();
      }
    }));
  if (lineage.unanswered.length) {
    container.append(el("h3", {}, "Questions this graph cannot answer"),
      el("ul", { id: "unanswered" }, lineage.unanswered.map((q) =>
        el("li", {}, `${q.algorithm} for ${q.requirement_ids.join(", ")}: ${q.reason}`))));
  }
}

async function drawTrace(container, workflowId) {
  const base = `/api/workflows/${encodeURIComponent(workflowId)}/trace`;
  const trace = await api(base);
  const summary = trace.summary;
  const span = Math.max(trace.total_time_ms, ...trace.tasks.map((t) => (t.start_ms ?? 0) + (t.duration_ms ?? 0)), 1);
  const count = (n, word) => `${n.toLocaleString()} ${n === 1 ? word : `${word}s`}`;
  container.replaceChildren(
    el("h2", {}, "Trace timeline"),
    el("p", { class: "muted", id: "trace-summary" },
      `trace id ${trace.trace_id || "—"} · ${(trace.total_time_ms / 1000).toFixed(3)} s wall clock · `,
      `${count(summary.steps_completed, "step")} · ${count(summary.llm_calls, "LLM call")} · `,
      `${summary.total_tokens.toLocaleString()} tokens${summary.tokens_estimated ? " (estimated)" : ""} · `,
      `$${summary.cost_usd.toFixed(4)} · ${count(summary.errors, "error")} · export: `,
      el("a", { id: "trace-html", href: `${base}.html`, target: "_blank", rel: "noopener" }, "HTML"), " ",
      el("a", { id: "trace-md", href: `${base}.md?download=1` }, "Markdown")),
  );
  const rows = trace.tasks.map((t) => {
    const lane = el("div", { class: "lane" });
    if (t.start_ms !== null && t.duration_ms !== null) {
      const bar = el("div", { class: `bar ${t.status}`, title: `${t.duration_ms.toFixed(1)} ms` });
      bar.style.left = `${(100 * t.start_ms) / span}%`;
      bar.style.width = `${Math.max(0.3, (100 * t.duration_ms) / span)}%`;
      lane.append(bar);
    }
    return el("tr", {}, el("td", {}, t.label), el("td", {}, t.agent), el("td", {}, badge(t.status)),
      el("td", { class: "num" }, t.duration_ms === null ? "" : `${t.duration_ms.toFixed(1)} ms`),
      el("td", { class: "num" }, t.llm_calls ? `${t.llm_calls} LLM, ${t.tokens} tokens` : ""), el("td", {}, lane));
  });
  container.append(el("table", { id: "trace" },
    el("thead", {}, el("tr", {}, ["task", "agent", "status", "duration", "LLM", `0 – ${(span / 1000).toFixed(3)} s`].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows)));
}

async function showWorkflow(workflowId) {
  const status = el("span", { id: "workflow-status" });
  const counts = el("span", { id: "workflow-counts", class: "muted" });
  const dag = el("div", { id: "dag-container" });
  const reports = el("section", { class: "card", id: "reports-card" });
  const lineage = el("section", { class: "card", id: "lineage-card" });
  const trace = el("section", { class: "card", id: "trace-card" });
  view.replaceChildren(el("h1", {}, "Workflow ", el("code", {}, workflowId), " ", status, " ", counts), dag, reports, lineage, trace);
  let progress = null;
  let refreshing = null;

  const render = (next) => {
    progress = next;
    status.replaceChildren(badge(progress.status));
    const done = progress.tasks.filter((t) => t.status === "completed").length;
    counts.textContent = `${done}/${progress.tasks.length} tasks done · graph ${progress.graph_name}`;
    drawDag(dag, progress.tasks);
    drawReports(reports, progress);
  };
  const refresh = () => {
    refreshing ||= api(`/api/workflows/${encodeURIComponent(workflowId)}`)
      .then(render)
      .finally(() => (refreshing = null));
    return refreshing;
  };
  const finish = async () => {
    await refresh();
    await Promise.all([drawLineage(lineage, progress), drawTrace(trace, workflowId)]);
  };

  const source = new EventSource(`/api/workflows/${encodeURIComponent(workflowId)}/events`);
  closeCurrent = () => source.close();
  source.addEventListener("status", (event) => render(JSON.parse(event.data)));
  // Events replayed from before the status snapshot are already in it: drawing them would step nodes back.
  const isNew = (event) => !progress || event.at > progress.updated_at;
  source.addEventListener("task", (event) => {
    const data = JSON.parse(event.data);
    if (isNew(data) && !applyTaskEvent(dag, data)) refresh();
  });
  source.addEventListener("workflow", (event) => {
    const data = JSON.parse(event.data);
    if (!isNew(data)) return;
    data.tasks.forEach((t) => applyTaskEvent(dag, t));
    status.replaceChildren(badge(data.status));
    if (data.total_tasks !== (progress ? progress.tasks.length : -1) || data.tasks.length) refresh();
  });
  source.addEventListener("end", () => {
    source.close();
    finish().catch(showError);
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) refresh().catch(showError);
  };
}

// ---------------------------------------------------------------- routing

function route() {
  closeCurrent();
  closeCurrent = () => {};
  const hash = location.hash || "#/";
  const workflow = hash.match(/^#\/workflow\/([A-Za-z0-9_-]{1,64})$/);
  const shown = workflow ? showWorkflow(workflow[1])
    : hash === "#/submit" ? showSubmit()
    : hash === "#/graphs" ? showGraphs()
    : showWorkflows();
  Promise.resolve(shown).catch(showError);
}

window.addEventListener("hashchange", route);
route();
