// What the end-to-end tests start: the stub model, a real `aomi serve` serving the built page, and
// Debian's Chromium driven by playwright-core, each browser with a fresh profile.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'aomi', 'target');
export const AOMI_BIN = process.env.AOMI_BIN ?? join(targetDir, 'debug', 'aomi');
export const STUB_BIN = process.env.AOMI_STUB_BIN ?? join(targetDir, 'debug', 'aomi-stub-model');
export const WEB_DIR = process.env.AOMI_WEB_DIR ?? resolve(here, '..', 'dist');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags every test browser runs with: headless, no sandbox (root in CI), nothing phoning home. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The fixture wallet's source: an EIP-1193 provider (see wallet-fixture.js). */
const WALLET_SOURCE = readFileSync(join(here, 'wallet-fixture.js'), 'utf8');

/** anvil's first dev account. */
export const DEV_ACCOUNT = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

/** Starts a process and resolves with what `ready` finds in the first stdout line it matches. */
function startProcess(command, args, env, children, ready = line => /^listening on (\S+)/.exec(line)?.[1]) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('exit', code => reject(new Error(`${command} exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout }).on('line', line => {
      const found = ready(line);
      if (found !== undefined) resolvePromise(found);
    });
  });
}

/**
 * Starts `aomi devnet` (anvil with the project's contracts) with this chain id; resolves with its
 * `{url, chainId, accounts, contracts}` and a `stop`.
 */
export async function startDevnet(chainId = 31337) {
  const children = [];
  const devnet = await startProcess(AOMI_BIN, ['devnet', '--json', '--chain-id', String(chainId)], {}, children, line =>
    line.startsWith('{') ? JSON.parse(line) : undefined,
  );
  return { ...devnet, stop: () => children.forEach(child => child.kill('SIGTERM')) };
}

/** One JSON-RPC call to a node. */
export async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/**
 * Starts the stub model with `script` and `aomi serve` on a free port, serving the built page;
 * `env` adds to the server's environment (AOMI_RPC_DEVNET, …).
 */
export async function startAomi(script, env = {}) {
  if (!existsSync(join(WEB_DIR, 'index.html'))) {
    throw new Error(`no built page in ${WEB_DIR}: run \`npm run build\` in web/ first`);
  }
  const children = [];
  const dir = mkdtempSync(join(tmpdir(), 'aomi-e2e-'));
  const scriptPath = join(dir, 'script.json');
  writeFileSync(scriptPath, JSON.stringify(script));
  const stubUrl = await startProcess(STUB_BIN, ['--script', scriptPath], {}, children);
  const url = await startProcess(
    AOMI_BIN,
    ['serve', '--bind', '127.0.0.1:0'],
    {
      AOMI_MODEL: 'openai:stub-model',
      OPENAI_BASE_URL: `${stubUrl}/v1`,
      OPENAI_API_KEY: 'test-key',
      ANTHROPIC_API_KEY: '',
      AOMI_WEB_DIR: WEB_DIR,
      AOMI_DATA_DIR: dir,
      // Titles from the first message: a title made by the stub model would spend its replies.
      AOMI_TITLES: 'first-message',
      RUST_LOG: 'warn',
      ...env,
    },
    children,
  );
  return {
    url,
    async stop() {
      for (const child of children) child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A browser page on a fresh profile. With `wallet`, the fixture wallet is in the page before its
 * scripts run: `{accounts, chainId, chains, rpcUrls, rejectTransactions, rejectSignatures}`.
 */
export async function openBrowser({ wallet, viewport = { width: 1280, height: 860 }, colorScheme = 'dark' } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'aomi-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    colorScheme,
  });
  if (wallet) {
    // The wallet's node requests run here, outside the page, as an extension's do.
    await context.exposeBinding('__aomiWalletRpc', async (_source, url, request) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      return response.json();
    });
    await context.addInitScript(`(${WALLET_SOURCE.trim().replace(/;$/, '')})(${JSON.stringify(wallet)});`);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  const violations = [];
  page.on('pageerror', error => errors.push(error));
  // Chromium reports what the Content-Security-Policy blocked on the console.
  page.on('console', message => {
    if (/Content Security Policy/i.test(message.text())) {
      const violation = new Error(`CSP violation: ${message.text()}`);
      violations.push(violation);
      errors.push(violation);
    }
  });
  return {
    page,
    context,
    /** Uncaught errors in the page so far, and what the Content-Security-Policy blocked. */
    errors,
    /** What the Content-Security-Policy blocked so far. */
    violations,
    /** Closes the browser; fails the test if the Content-Security-Policy blocked anything. */
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      if (violations.length > 0) throw new Error(violations.map(v => v.message).join('\n'));
    },
  };
}

/** axe-core's source, evaluated in the page through the DevTools protocol (an injected script tag
 * would be refused by the page's Content-Security-Policy, rightly). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (WCAG 2.x A and AA rules) on the page as it is now and fails with every serious or
 * critical violation: what it is, the rule, and the elements. `where` names the page's state.
 */
export async function checkAccessibility(page, where) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations
      .filter(violation => violation.impact === 'serious' || violation.impact === 'critical')
      .map(violation => ({ id: violation.id, impact: violation.impact, help: violation.help, nodes: violation.nodes.map(node => node.target.join(' ')) }));
  });
  const text = violations.map(v => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).join('\n    ')}`).join('\n');
  assert.equal(violations.length, 0, `accessibility (${where}):\n${text}`);
}

/** The bodies of the POST /api/chat requests the page sends, in order. */
export function recordChatRequests(page) {
  const bodies = [];
  page.on('request', request => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/chat') {
      bodies.push(JSON.parse(request.postData() ?? '{}'));
    }
  });
  return bodies;
}

/** Types a message into the composer and sends it with Enter. */
export async function send(page, text) {
  const box = page.getByRole('combobox', { name: 'Message aomi' });
  await box.fill(text);
  await box.press('Enter');
}
