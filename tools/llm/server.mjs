// A small local model behind the OpenAI Chat Completions protocol (and Anthropic's Messages API), over
// node-llama-cpp. One request runs at a time on one context; a request whose client hangs up is aborted.
// Usage: node server.mjs --model FILE.gguf [--host 127.0.0.1] [--port 0] [--threads 1] [--context-size N]
//        [--name ID] [--temperature 1]; prints "listening on http://HOST:PORT" once the model is loaded, and one
//        JSON line per answer on stderr (tokens, stop reason, time queued and generating).
import http from "node:http";
import { parseArgs } from "node:util";
import { getLlama, LlamaChat } from "node-llama-cpp";

const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    threads: { type: "string", default: "1" },
    "context-size": { type: "string", default: "0" },
    name: { type: "string" },
    temperature: { type: "string", default: "1" },
  },
});
if (!args.model) {
  console.error("server.mjs: --model FILE.gguf is required");
  process.exit(2);
}
const modelName = args.name ?? args.model.split("/").pop().replace(/\.gguf$/, "");
const defaultTemperature = Number(args.temperature);

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath: args.model });
const contextSize = Math.min(Number(args["context-size"]) || model.trainContextSize, model.trainContextSize);
const context = await model.createContext({ contextSize, threads: Number(args.threads) });
const sequence = context.getSequence();
const chat = new LlamaChat({ contextSequence: sequence });
const grammars = new Map();

class ClientError extends Error {}

// The subset of JSON Schema node-llama-cpp turns into a grammar: anyOf read as oneOf, a type list as a
// oneOf of types, annotations and numeric bounds left out (they constrain nothing the grammar can express).
const KEPT = new Set(["type", "properties", "items", "enum", "const", "oneOf", "$defs", "$ref", "additionalProperties",
  "minItems", "maxItems", "prefixItems", "minLength", "maxLength"]);
function grammarSchema(schema) {
  if (Array.isArray(schema)) return schema.map(grammarSchema);
  if (schema === null || typeof schema !== "object") return schema;
  if (Array.isArray(schema.type)) {
    const { type, ...rest } = schema;
    return { oneOf: type.map((one) => grammarSchema({ ...rest, type: one })) };
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "anyOf") out.oneOf = grammarSchema(value);
    else if (key === "format" && ["date-time", "time", "date"].includes(value)) out.format = value;
    else if (key === "properties" || key === "$defs")
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, grammarSchema(sub)]));
    else if (KEPT.has(key)) out[key] = grammarSchema(value);
  }
  return out;
}

async function grammarFor(schema) {
  if (schema === undefined) return llama.getGrammarFor("json");
  const key = JSON.stringify(schema);
  if (!grammars.has(key)) {
    try {
      grammars.set(key, await llama.createGrammarForJsonSchema(grammarSchema(schema)));
    } catch (error) {
      throw new ClientError(`response schema not supported: ${error.message}`);
    }
  }
  return grammars.get(key);
}

// The chat as node-llama-cpp's history, ending with the model's turn to answer.
function history(system, messages) {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new ClientError("messages: a non-empty list is required");
  const items = system ? [{ type: "system", text: system }] : [];
  for (const { role, content } of messages) {
    const parts = Array.isArray(content) ? content.filter((part) => part.type === "text") : null;
    const text = typeof content === "string" ? content : parts ? parts.map((part) => part.text).join("") : null;
    if (text === null) throw new ClientError(`messages: content of a ${role} message must be text`);
    if (role === "system" || role === "developer") items.push({ type: "system", text });
    else if (role === "user") items.push({ type: "user", text });
    else if (role === "assistant") items.push({ type: "model", response: [text] });
    else throw new ClientError(`messages: role ${JSON.stringify(role)} is not supported`);
  }
  if (items.at(-1).type !== "model") items.push({ type: "model", response: [] });
  return items;
}

let queue = Promise.resolve();
// One generation at a time, from a clean sequence, so the usage counts the whole prompt.
function generate(items, { maxTokens, temperature, seed, grammar, signal }) {
  const asked = Date.now();
  const run = queue.then(async () => {
    signal.throwIfAborted();
    const started = Date.now();
    const promptTokens = chat.chatWrapper.generateContextState({ chatHistory: items }).contextText
      .tokenize(model.tokenizer).length;
    const room = contextSize - promptTokens;
    if (room <= 0 || (maxTokens !== undefined && maxTokens > room))
      throw new ClientError(`this model's maximum context length is ${contextSize} tokens; the messages use ` +
        `${promptTokens} and ${maxTokens ?? "at least 1"} were asked for the answer`);
    await sequence.clearHistory();
    const before = sequence.tokenMeter.getState();
    const answer = await chat.generateResponse(items, {
      maxTokens: maxTokens ?? room, temperature: temperature ?? defaultTemperature, seed, grammar, signal,
    });
    const used = sequence.tokenMeter.diff(before);
    console.error(JSON.stringify({ prompt_tokens: promptTokens, completion_tokens: used.usedOutputTokens,
      stop: answer.metadata.stopReason, queued_ms: started - asked, generation_ms: Date.now() - started }));
    return { text: answer.response, cut: answer.metadata.stopReason === "maxTokens", promptTokens,
      completionTokens: used.usedOutputTokens };
  });
  queue = run.catch(() => {});
  return run;
}

async function chatCompletion(body, signal) {
  if (body.stream) throw new ClientError("stream: streaming is not supported by this server");
  if ((body.n ?? 1) !== 1) throw new ClientError("n: only one choice is supported");
  if (body.tools) throw new ClientError("tools: not supported by this server; use response_format json_schema");
  const format = body.response_format ?? { type: "text" };
  let grammar;
  if (format.type === "json_schema") grammar = await grammarFor(format.json_schema?.schema ?? {});
  else if (format.type === "json_object") grammar = await grammarFor(format.schema);
  else if (format.type !== "text")
    throw new ClientError(`response_format: type ${JSON.stringify(format.type)} is not supported`);
  const result = await generate(history(null, body.messages), {
    maxTokens: body.max_completion_tokens ?? body.max_tokens, temperature: body.temperature, seed: body.seed,
    grammar, signal,
  });
  return {
    id: `chatcmpl-${Date.now()}`, object: "chat.completion", created: Math.floor(Date.now() / 1000), model: modelName,
    choices: [{ index: 0, message: { role: "assistant", content: result.text },
      finish_reason: result.cut ? "length" : "stop" }],
    usage: { prompt_tokens: result.promptTokens, completion_tokens: result.completionTokens,
      total_tokens: result.promptTokens + result.completionTokens },
  };
}

// Anthropic's Messages API: a forced tool is answered under its input schema as a grammar.
async function anthropicMessage(body, signal) {
  if (body.stream) throw new ClientError("stream: streaming is not supported by this server");
  if (typeof body.max_tokens !== "number") throw new ClientError("max_tokens: a number is required");
  const toolName = body.tool_choice?.type === "tool" ? body.tool_choice.name : null;
  const forced = toolName === null ? null : (body.tools ?? []).find((tool) => tool.name === toolName);
  if (toolName !== null && !forced) throw new ClientError(`tool_choice: no tool named ${toolName}`);
  const system = Array.isArray(body.system) ? body.system.map((part) => part.text).join("") : body.system;
  const result = await generate(history(system, body.messages), {
    maxTokens: body.max_tokens, temperature: body.temperature, seed: undefined, signal,
    grammar: forced ? await grammarFor(forced.input_schema) : undefined,
  });
  let content = [{ type: "text", text: result.text }];
  if (forced && !result.cut)
    content = [{ type: "tool_use", id: `toolu_${Date.now()}`, name: forced.name, input: JSON.parse(result.text) }];
  return {
    id: `msg_${Date.now()}`, type: "message", role: "assistant", model: modelName, content,
    stop_reason: result.cut ? "max_tokens" : forced ? "tool_use" : "end_turn",
    usage: { input_tokens: result.promptTokens, output_tokens: result.completionTokens },
  };
}

const ROUTES = {
  "/v1/chat/completions": chatCompletion, "/chat/completions": chatCompletion, "/v1/messages": anthropicMessage,
};

const server = http.createServer(async (req, res) => {
  const reply = (status, payload) => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
  };
  const path = new URL(req.url, "http://local").pathname;
  if (req.method === "GET" && (path === "/v1/models" || path === "/models"))
    return reply(200, {
      object: "list", data: [{ id: modelName, object: "model", owned_by: "local", context_length: contextSize }],
    });
  const handler = req.method === "POST" ? ROUTES[path] : undefined;
  if (!handler) return reply(404, { error: { message: `no route ${req.method} ${path}`, type: "not_found_error" } });
  const aborter = new AbortController();
  res.on("close", () => { if (!res.writableFinished) aborter.abort(new Error("client closed the connection")); });
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      throw new ClientError("the request body is not JSON");
    }
    reply(200, await handler(body, aborter.signal));
  } catch (error) {
    if (aborter.signal.aborted) return;
    const client = error instanceof ClientError;
    const type = client ? "invalid_request_error" : "server_error";
    reply(client ? 400 : 500, { error: { message: error.message, type } });
  }
});
server.listen(Number(args.port), args.host, () => {
  console.log(`listening on http://${args.host}:${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
