// Proof that a real AI SDK client understands aomi's stream: the `ai` package's own AbstractChat
// (what useChat wraps), DefaultChatTransport and UI-message-stream reader talk to a real
// `aomi serve` whose model is the stub model server, and its validator accepts the stored history.
//
// The same tests run against two majors of `ai`: the page's (web/node_modules, through ai-page.mjs)
// and the current one (ai-current/, which needs Node 22: `AOMI_AI_SDK=./ai-current/ai.mjs`, run with
// ai-current's own node). `make test-node` runs both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const { AbstractChat, DefaultChatTransport, readUIMessageStream, validateUIMessages } = await import(
  process.env.AOMI_AI_SDK ?? './ai-page.mjs'
);

const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'aomi', 'target');
const AOMI_BIN = process.env.AOMI_BIN ?? join(targetDir, 'debug', 'aomi');
const STUB_BIN = process.env.AOMI_STUB_BIN ?? join(targetDir, 'debug', 'aomi-stub-model');

const script = {
  rules: [
    { when: { last_user_contains: 'echo' }, reply: { tool_calls: { text: 'Calling the tool.', calls: [{ name: 'get_current_time', arguments: {} }] } } },
    { when: { last_tool_result_contains: 'utc' }, reply: { text: 'The time tool answered.' } },
    // Checked before "fail": after a failed turn the provider sees both user messages merged.
    { when: { last_user_contains: 'again' }, reply: { text: 'Hello again from the stub.' } },
    { when: { last_user_contains: 'fail' }, reply: { http_error: { status: 500, message: 'stub failure' } } },
    // Some 1000 chunks at 100 a second: still running when the test stops it.
    { when: { last_user_contains: 'slowly' }, reply: { text: 'one two three four five six seven eight nine ten '.repeat(80) } },
  ],
  fallback: { text: 'Hello from the stub.' },
  timing: { ttft_ms: 0, tokens_per_second: 100, chars_per_token: 4 },
};

const children = [];
let baseUrl;

/** Starts a process and resolves with the URL from its `listening on <url>` line. */
function startProcess(command, args, env) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', code => reject(new Error(`${command} exited with ${code} before listening`)));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', line => {
      const match = /^listening on (\S+)/.exec(line);
      if (match) resolve(match[1]);
    });
  });
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aomi-node-'));
  const scriptPath = join(dir, 'script.json');
  writeFileSync(scriptPath, JSON.stringify(script));
  const stubUrl = await startProcess(STUB_BIN, ['--script', scriptPath]);
  baseUrl = await startProcess(AOMI_BIN, ['serve', '--bind', '127.0.0.1:0'], {
    AOMI_MODEL: 'openai:stub-model',
    OPENAI_BASE_URL: `${stubUrl}/v1`,
    OPENAI_API_KEY: 'test-key',
    ANTHROPIC_API_KEY: '',
    AOMI_DATA_DIR: join(dir, 'data'),
    RUST_LOG: 'warn',
  });
});

after(() => {
  for (const child of children) child.kill('SIGTERM');
});

/** The smallest ChatState: what @ai-sdk/react keeps in React state, kept in plain fields. */
class MemoryChatState {
  constructor() {
    this.messages = [];
    this.status = 'ready';
    this.error = undefined;
  }
  pushMessage(message) { this.messages = [...this.messages, message]; }
  popMessage() { this.messages = this.messages.slice(0, -1); }
  replaceMessage(index, message) { this.messages = this.messages.map((m, i) => (i === index ? message : m)); }
  snapshot(value) { return structuredClone(value); }
}

class TestChat extends AbstractChat {
  constructor(options) {
    super({ ...options, state: new MemoryChatState() });
  }
}

const newChat = () => new TestChat({ id: `node-${crypto.randomUUID()}`, transport: new DefaultChatTransport({ api: `${baseUrl}/api/chat` }) });

test('the AI SDK chat assembles a tool call, its result and the answer', async () => {
  const chat = newChat();
  await chat.sendMessage({ text: 'please echo the time' });
  assert.equal(chat.status, 'ready');
  assert.equal(chat.error, undefined);
  assert.equal(chat.messages.length, 2);
  const answer = chat.messages[1];
  assert.equal(answer.role, 'assistant');
  const tool = answer.parts.find(part => part.type === 'tool-get_current_time');
  assert.ok(tool, JSON.stringify(answer.parts));
  assert.equal(tool.state, 'output-available');
  assert.match(tool.output.data.utc, /^\d{4}-\d\d-\d\dT/);
  const text = answer.parts.filter(part => part.type === 'text').map(part => part.text).join('');
  assert.equal(text, 'Calling the tool.The time tool answered.');
  assert.equal(answer.parts.filter(part => part.type === 'step-start').length, 2);

  // What the client holds is what the server stored.
  const stored = await (await fetch(`${baseUrl}/api/chats/${chat.id}`)).json();
  assert.deepEqual(stored.messages[1].parts.map(p => p.type), answer.parts.map(p => p.type));
  assert.equal(stored.messages[1].id, answer.id);

  // The stored history is valid UI messages for this version of the SDK, so a client can resume
  // from it (validateUIMessages throws on the first malformed part).
  const valid = await validateUIMessages({ messages: stored.messages });
  assert.equal(valid.length, 2);
  assert.ok(valid[1].parts.some(part => part.type === 'tool-get_current_time' && part.state === 'output-available'));
});

test('the validator refuses a history that is not UI messages (so the check above can fail)', async () => {
  const broken = [{ id: 'm1', role: 'assistant', parts: [{ type: 'tool-get_current_time', state: 'output-available' }] }];
  await assert.rejects(validateUIMessages({ messages: broken }));
});

test('a model error reaches the AI SDK client as an error, and the chat goes on', async () => {
  const chat = newChat();
  await chat.sendMessage({ text: 'please fail' });
  assert.equal(chat.status, 'error');
  assert.match(chat.error.message, /500/);
  chat.clearError();
  await chat.sendMessage({ text: 'hello again' });
  assert.equal(chat.status, 'ready');
  const last = chat.messages.at(-1);
  assert.equal(last.parts.filter(p => p.type === 'text').map(p => p.text).join(''), 'Hello again from the stub.');
});

test('the UI message stream reader parses a raw response of aomi', async () => {
  const transport = new DefaultChatTransport({ api: `${baseUrl}/api/chat` });
  const stream = await transport.sendMessages({
    chatId: `node-${crypto.randomUUID()}`,
    messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
    trigger: 'submit-message',
    messageId: undefined,
    abortSignal: undefined,
  });
  let last;
  for await (const message of readUIMessageStream({ stream })) last = message;
  assert.equal(last.role, 'assistant');
  assert.equal(last.parts.filter(p => p.type === 'text').map(p => p.text).join(''), 'Hello from the stub.');
});

test('a stop ends the turn for the AI SDK client: the answer so far stays, marked stopped, and the chat goes on', async () => {
  const chat = newChat();
  const sending = chat.sendMessage({ text: 'count slowly' });
  const said = () => (chat.messages[1]?.parts ?? []).filter(p => p.type === 'text').map(p => p.text).join('');
  for (let i = 0; i < 500 && !said(); i++) await new Promise(resolve => setTimeout(resolve, 20));
  assert.ok(said(), 'the answer began');

  const stop = await fetch(`${baseUrl}/api/chat/${chat.id}/stop`, { method: 'POST' });
  assert.equal(stop.status, 200);
  assert.deepEqual(await stop.json(), { stopped: true });
  // The client never aborted: the server's own end of the stream (an abort part) finished it.
  await sending;
  assert.equal(chat.status, 'ready');
  assert.equal(chat.error, undefined);
  const answer = chat.messages[1];
  assert.deepEqual(answer.metadata, { incomplete: true, stopped: true });
  assert.ok(answer.parts.filter(p => p.type === 'text').every(p => p.state === 'done'), JSON.stringify(answer.parts));
  const stored = await (await fetch(`${baseUrl}/api/chats/${chat.id}`)).json();
  assert.equal(stored.running, false);
  assert.deepEqual(stored.messages[1].metadata, { incomplete: true, stopped: true });
  assert.equal(stored.messages[1].parts.filter(p => p.type === 'text').map(p => p.text).join(''), said());

  await chat.sendMessage({ text: 'hello again' });
  assert.equal(chat.status, 'ready');
  assert.equal(chat.messages.at(-1).parts.filter(p => p.type === 'text').map(p => p.text).join(''), 'Hello again from the stub.');
});
