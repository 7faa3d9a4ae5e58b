// A JavaScript client of the gaai web gateway: submit a workflow, follow it live, read its reports, trace and lineage.
//
//   node examples/web_client.mjs http://127.0.0.1:8765 [graph]
//
// Plain `fetch` (Node 18+); the Server-Sent Events stream is read from the fetch body, since Node before 22 has no
// EventSource (in a browser, `new EventSource(url)` does the same). GAAI_WEB_TOKEN, when set, is sent as the
// bearer token. Exits 0 when the workflow completed, 1 when it did not, 2 on a request the gateway refused.

const [base = "http://127.0.0.1:8765", graph = "ecommerce"] = process.argv.slice(2);
const headers = process.env.GAAI_WEB_TOKEN ? { Authorization: `Bearer ${process.env.GAAI_WEB_TOKEN}` } : {};

async function api(path, options = {}) {
  const response = await fetch(base + path, { ...options, headers: { ...headers, ...options.headers } });
  const body = await response.json();
  if (!response.ok) {
    console.error(`${options.method || "GET"} ${path}: ${response.status} ${body.error.code}: ${body.error.message}`);
    process.exit(2);
  }
  return body;
}

// Each event of a text/event-stream body as {id, event, data}.
async function* serverSentEvents(path) {
  const response = await fetch(base + path, { headers });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a keep-alive comment
        const colon = line.indexOf(": ");
        fields[line.slice(0, colon)] = line.slice(colon + 2);
      }
      if (fields.event) yield fields;
    }
  }
}

const requirements = "We must find the most influential customers.\nWe should detect communities of customers.\n";
const submitted = await api("/api/workflows", {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ graph_name: graph, documents: [{ content: requirements, name: "example.md" }], max_executions: 2 }),
});
console.log(`submitted ${submitted.workflow_id} (${submitted.status})`);

for await (const { id, event, data } of serverSentEvents(`/api/workflows/${submitted.workflow_id}/events`)) {
  const message = JSON.parse(data);
  if (event === "workflow") {
    for (const task of message.tasks) console.log(`[${id}] ${task.label}: ${task.status}`);
    console.log(`[${id}] workflow ${message.status}: ${message.completed_tasks}/${message.total_tasks} tasks done`);
  } else if (event === "task") {
    console.log(`[${id}] ${message.label}: ${message.status}${message.instance ? ` on ${message.instance.host}:${message.instance.pid}` : ""}`);
  } else if (event === "end") {
    break;
  }
}

const workflow = await api(`/api/workflows/${submitted.workflow_id}`);
console.log(`workflow ${workflow.workflow_id} ${workflow.status}`);
for (const report of workflow.reports) {
  const markdown = await fetch(`${base}/api/workflows/${workflow.workflow_id}/reports/${report.template_id}/md`, { headers });
  const firstLine = (await markdown.text()).split("\n")[0];
  console.log(`report ${report.template_id}: ${report.title} | ${firstLine}`);
}
const trace = await api(`/api/workflows/${workflow.workflow_id}/trace`);
console.log(`trace ${trace.summary.steps_completed} steps, ${trace.summary.llm_calls} LLM calls, ${trace.summary.errors} errors`);
const lineage = await api(`/api/workflows/${workflow.workflow_id}/lineage`);
for (const requirement of lineage.requirements) {
  const reached = requirement.links
    .map((l) => `${l.use_case_id} -> ${l.template_id || "no template"} -> ${l.report_title ?? "no report"}`)
    .join("; ");
  console.log(`lineage ${requirement.requirement_id} (${requirement.status}): ${reached || requirement.reason}`);
}
process.exit(workflow.status === "completed" ? 0 : 1);
