// Drives a tabler1 server with the official `openai` npm client and prints
// what it got as one JSON line. Env: BASE_URL, API_KEY, MODEL.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0 });
const model = process.env.MODEL;
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const completion = await client.completions.create({
  model,
  prompt: "Question: how many rows?\nAnswer:",
  max_tokens: 16,
  n: 2,
  logprobs: 0,
  seed: 7,
  temperature: 1,
  // vLLM's extensions pass through the client untouched.
  return_tokens_as_token_ids: true,
  return_token_ids: true,
});
out.completion = completion;

const chat = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Say hi" }],
  max_tokens: 8,
  logprobs: true,
  top_logprobs: 2,
  stop: ["\n"],
});
out.chat = chat;

// Streaming, as most chat clients do by default: the deltas joined, the
// finish reason, and usage in the last chunk.
const chatStream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Say hi" }],
  max_tokens: 8,
  seed: 7,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
out.chatStream = { content: "", finish: null, usage: null, chunks: 0 };
for await (const chunk of chatStream) {
  out.chatStream.chunks++;
  for (const c of chunk.choices) {
    out.chatStream.content += c.delta?.content ?? "";
    if (c.finish_reason) out.chatStream.finish = c.finish_reason;
  }
  if (chunk.usage) out.chatStream.usage = chunk.usage;
}
out.chatPlain = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Say hi" }],
  max_tokens: 8,
  seed: 7,
  temperature: 0,
});

const completionStream = await client.completions.create({
  model,
  prompt: "Question: how many rows?\nAnswer:",
  max_tokens: 16,
  temperature: 0,
  stream: true,
});
out.completionStream = { text: "", finish: null };
for await (const chunk of completionStream) {
  for (const c of chunk.choices) {
    out.completionStream.text += c.text ?? "";
    if (c.finish_reason) out.completionStream.finish = c.finish_reason;
  }
}
out.completionPlain = await client.completions.create({
  model,
  prompt: "Question: how many rows?\nAnswer:",
  max_tokens: 16,
  temperature: 0,
});

try {
  await client.completions.create({ model, prompt: "x", n: 1000 });
  out.badRequest = { status: 0 };
} catch (e) {
  out.badRequest = { status: e.status, message: e.message, param: e.param ?? e.error?.param ?? null };
}

try {
  const noKey = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: "wrong", maxRetries: 0 });
  await noKey.models.list();
  out.unauthorized = { status: 0 };
} catch (e) {
  out.unauthorized = { status: e.status };
}

process.stdout.write(JSON.stringify(out) + "\n");
