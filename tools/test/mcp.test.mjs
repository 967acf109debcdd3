// aomi's MCP server driven by the official MCP SDK's client (@modelcontextprotocol/sdk), over
// stdio (`aomi mcp`) and over streamable HTTP (`/mcp` of `aomi serve`, sign-in required): it
// initializes, lists the tools, reads a balance set on anvil, and reads a chat of the signed-in
// wallet from the history resources.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const here = dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'aomi', 'target');
const AOMI_BIN = process.env.AOMI_BIN ?? join(targetDir, 'debug', 'aomi');
const STUB_BIN = process.env.AOMI_STUB_BIN ?? join(targetDir, 'debug', 'aomi-stub-model');
const CAST = join(here, '..', 'node_modules', '.bin', 'cast');

const children = [];
let dir;
let devnet;
let baseUrl;
let server;
let cookie;
let wallet;
let chatId;
const word = `okapi${randomUUID().replaceAll('-', '')}`;

/** Starts a process and resolves with the first stdout line that `match` accepts. */
function start(command, args, env, match) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', code => reject(new Error(`${command} exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout }).on('line', line => {
      const found = match(line);
      if (found) resolve(found);
    });
  });
}

async function rpc(method, params) {
  const response = await fetch(devnet.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  assert.equal(body.error, undefined, JSON.stringify(body.error));
  return body.result;
}

/** A random address holding a random balance on the devnet: what get_balance must read. */
async function fundedAddress() {
  const address = `0x${randomBytes(20).toString('hex')}`;
  const wei = BigInt(`0x${randomBytes(8).toString('hex')}`) + 1n;
  await rpc('anvil_setBalance', [address, `0x${wei.toString(16)}`]);
  return { address, wei: wei.toString() };
}

const chainEnv = () => ({ AOMI_RPC_DEVNET: devnet.url, AOMI_DEFAULT_NETWORK: 'devnet', RUST_LOG: 'warn' });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aomi-mcp-'));
  devnet = await start(AOMI_BIN, ['devnet', '--json', '--port', '0'], {}, line => {
    try { return JSON.parse(line); } catch { return undefined; }
  });
  const scriptPath = join(dir, 'script.json');
  writeFileSync(scriptPath, JSON.stringify({ rules: [], fallback: { text: 'Noted.' } }));
  const stubUrl = await start(STUB_BIN, ['--script', scriptPath], {}, line => /^listening on (\S+)/.exec(line)?.[1]);
  const serving = start(AOMI_BIN, ['serve', '--bind', '127.0.0.1:0'], {
    ...chainEnv(),
    AOMI_MODEL: 'openai:stub-model',
    OPENAI_BASE_URL: `${stubUrl}/v1`,
    OPENAI_API_KEY: 'test-key',
    ANTHROPIC_API_KEY: '',
    AOMI_DATA_DIR: join(dir, 'data'),
    AOMI_AUTH: 'required',
    AOMI_TITLES: 'first-message',
  }, line => /^listening on (\S+)/.exec(line)?.[1]);
  server = children.at(-1);
  baseUrl = await serving;

  // Sign in with a fresh key (EIP-4361, signed by Foundry's cast), as a wallet would.
  const key = `0x${randomBytes(32).toString('hex')}`;
  wallet = execFileSync(CAST, ['wallet', 'address', '--private-key', key]).toString().trim();
  const challenge = await (await fetch(`${baseUrl}/api/auth/challenge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ address: wallet, chainId: devnet.chainId }),
  })).json();
  const signature = execFileSync(CAST, ['wallet', 'sign', '--private-key', key, challenge.message]).toString().trim();
  const verified = await fetch(`${baseUrl}/api/auth/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: challenge.message, signature, challenge: challenge.challenge }),
  });
  assert.equal(verified.status, 200, await verified.clone().text());
  cookie = verified.headers.get('set-cookie').split(';')[0];

  // A chat of that wallet, whose words the history resources must give back.
  chatId = `chat-${randomUUID()}`;
  const turn = await fetch(`${baseUrl}/api/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({
      id: chatId,
      message: { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: `remember the word ${word}` }] },
      wallet: { address: wallet, chainId: devnet.chainId },
    }),
  });
  assert.equal(turn.status, 200);
  const stream = await turn.text();
  assert.match(stream, /"finishReason":"stop"/);
  assert.doesNotMatch(stream, /"type":"error"/);
});

after(() => {
  for (const child of children) child.kill();
});

/** What every transport must do: tools, a balance, the history. */
async function exercise(client) {
  const { tools } = await client.listTools();
  const names = tools.map(tool => tool.name);
  for (const name of ['get_balance', 'get_contract', 'simulate', 'search_history']) {
    assert.ok(names.includes(name), `${name} in ${names}`);
  }
  assert.ok(!names.includes('send_transaction_to_wallet'), 'no wallet tool over MCP');
  const balanceTool = tools.find(tool => tool.name === 'get_balance');
  assert.equal(balanceTool.inputSchema.type, 'object');
  assert.ok(balanceTool.inputSchema.properties.address);

  const { address, wei } = await fundedAddress();
  const balance = await client.callTool({ name: 'get_balance', arguments: { address } });
  assert.equal(balance.isError, false, JSON.stringify(balance.content));
  assert.equal(balance.structuredContent.wei, wei);

  const { resources } = await client.listResources();
  const uri = `aomi://chats/${chatId}`;
  assert.deepEqual(resources.map(resource => resource.uri), [uri]);
  const read = await client.readResource({ uri });
  const chat = JSON.parse(read.contents[0].text);
  assert.equal(chat.id, chatId);
  assert.ok(chat.messages[0].parts[0].text.includes(word), read.contents[0].text);
  assert.equal(chat.messages[1].role, 'assistant');

  const found = await client.callTool({ name: 'search_history', arguments: { query: word } });
  assert.equal(found.structuredContent.results[0].chatId, chatId);
}

test('over streamable HTTP, signed in: tools, a balance on anvil, the history', async () => {
  const client = new Client({ name: 'aomi-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
    requestInit: { headers: { cookie } },
  });
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, 'aomi');
  await exercise(client);
  await client.close();
});

test('over streamable HTTP without a session: refused', async () => {
  const client = new Client({ name: 'aomi-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp?owner=${wallet}`));
  await assert.rejects(client.connect(transport), /401|sign in/i);
});

test('over stdio (aomi mcp): tools, a balance on anvil, the history', async () => {
  // One process at a time opens a SQLite data directory: the server stops first (as a local user
  // would run `aomi mcp` on the history of an aomi that is not running; a shared PostgreSQL
  // database lets both run).
  server.removeAllListeners('exit');
  const exited = new Promise(resolve => server.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
  const client = new Client({ name: 'aomi-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: AOMI_BIN,
    args: ['mcp', '--wallet', wallet],
    env: { ...process.env, ...chainEnv(), AOMI_DATA_DIR: join(dir, 'data') },
    stderr: 'inherit',
  });
  await client.connect(transport);
  await exercise(client);
  await client.close();
});
