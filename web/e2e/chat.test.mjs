// The page in real Chromium against a real `aomi serve` and the stub model: streaming, tool cards,
// errors, resuming after a reload, the wallet context of each turn, network switching, history.
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEV_ACCOUNT, openBrowser, recordChatRequests, send, startAomi } from './harness.mjs';

const ANSWER =
  'Here is what I found.\n\n| field | value |\n|---|---|\n| burn address | 0x000000000000000000000000000000000000dEaD |\n| block | 19000000 |\n\nDone.';

/** Replies of the stub model, chosen by what the conversation ends with. */
const script = {
  rules: [
    { when: { last_user_contains: 'time' }, reply: { tool_calls: { text: 'Let me check the clock.', calls: [{ name: 'get_current_time', arguments: {} }] } } },
    { when: { last_tool_result_contains: 'utc' }, reply: { text: ANSWER } },
    // Before "fail": after a failed turn the model sees both user messages.
    { when: { last_user_contains: 'again' }, reply: { text: 'Hello again from the stub.' } },
    { when: { last_user_contains: 'fail' }, reply: { http_error: { status: 500, message: 'stub failure' } } },
    { when: { last_user_contains: 'stop me' }, reply: { text: 'This answer goes on and on. '.repeat(40) } },
    { when: { last_user_contains: 'slowly' }, reply: { text: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty. The end.' } },
  ],
  fallback: { text: 'Hello from the stub.' },
  // Slow enough that a test sees the answer grow and can reload in the middle of it.
  timing: { ttft_ms: 0, tokens_per_second: 12, chars_per_token: 4 },
};

/** A local HTTP server standing in for a tracking pixel's host: it counts the requests it gets. */
let pixel;
let pixelRequests = 0;

let aomi;
before(async () => {
  pixel = createServer((_request, response) => {
    pixelRequests += 1;
    response.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
  });
  await new Promise(resolve => pixel.listen(0, '127.0.0.1', resolve));
  const image = `http://127.0.0.1:${pixel.address().port}/pixel.gif?d=0xfeedface`;
  script.rules.unshift({
    when: { last_user_contains: 'picture' },
    reply: { text: `Here it is: ![the chart](${image}) and ![](${image}&again).` },
  });
  aomi = await startAomi(script);
});
after(async () => {
  await aomi?.stop();
  pixel?.close();
});

/** The text of the last assistant message. */
const lastAnswer = page => page.locator('article.message.assistant').last();

describe('chat', () => {
  test('streams the answer and shows a tool card with its formatted result', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await send(page, 'what time is it?');
      // While the turn runs the send button is a stop button, and the answer grows.
      await page.getByRole('button', { name: 'Stop' }).waitFor();
      const card = page.locator('section.tool-card[data-tool="get_current_time"]');
      await card.waitFor();
      await card.locator('.tool-status.ok').waitFor();
      assert.equal(await card.locator('.tool-title').textContent(), 'Current time');
      // The result is formatted: a <time> with the tool's RFC 3339 instant (its summary on hover).
      const datetime = await card.locator('time').getAttribute('datetime');
      assert.match(datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(await card.locator('.tool-result').getAttribute('title'), `It is ${datetime}.`);
      // Streamed Markdown: the table renders, the address in it is a shortened chain reference.
      await lastAnswer(page).getByText('Done.').waitFor();
      await page.getByRole('button', { name: 'Send' }).waitFor();
      const table = lastAnswer(page).locator('table');
      assert.equal(await table.locator('td').nth(3).textContent(), '19000000');
      const ref = table.locator('.chain-ref');
      assert.equal(await ref.getAttribute('data-value'), '0x000000000000000000000000000000000000dEaD');
      assert.equal(await ref.locator('.mono').textContent(), '0x0000…dEaD');
      const text = await lastAnswer(page).locator('.markdown').first().textContent();
      assert.equal(text, 'Let me check the clock.');
      // The address now names the chat, and the server holds what the page shows.
      const id = new URL(page.url()).pathname.split('/').pop();
      const stored = await (await fetch(`${aomi.url}/api/chats/${id}`)).json();
      assert.equal(stored.messages.length, 2);
      assert.ok(stored.messages[1].parts.some(part => part.type === 'tool-get_current_time' && part.state === 'output-available'));
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('an image in the model\'s answer is never loaded: it is a link, and its host gets no request', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await send(page, 'show me a picture');
      const answer = lastAnswer(page);
      await answer.getByText('Here it is:').waitFor();
      await page.getByRole('button', { name: 'Send' }).waitFor();
      assert.equal(await answer.locator('img').count(), 0);
      const links = answer.locator('a.image-link');
      assert.deepEqual(await links.allTextContents(), ['the chart', `http://127.0.0.1:${pixel.address().port}/pixel.gif?d=0xfeedface&again`]);
      // A reload renders it from the stored history: still no request.
      await page.reload();
      await lastAnswer(page).getByText('Here it is:').waitFor();
      assert.equal(pixelRequests, 0, 'the page never asked the image host');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
    assert.equal(pixelRequests, 0);
  });

  test('a model error shows in the chat, and the chat goes on', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await send(page, 'please fail');
      const notice = page.locator('.error-notice');
      await notice.waitFor();
      assert.match(await notice.textContent(), /stub failure/);
      assert.equal(await page.locator('.spinner').count(), 0, 'nothing spins after an error');
      // The chat still takes messages.
      await send(page, 'hello again');
      await lastAnswer(page).getByText('Hello again from the stub.').waitFor();
      // The error stays in the chat where it happened, also after a reload (the server stored it).
      await page.reload();
      await page.getByText('Hello again from the stub.').waitFor();
      assert.match(await page.locator('.error-notice').first().textContent(), /stub failure/);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a reload in the middle of a turn re-attaches and the answer completes once', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    const full =
      'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty. The end.';
    try {
      await page.goto(aomi.url);
      await send(page, 'count slowly');
      await lastAnswer(page).getByText('one two').waitFor();
      await page.waitForURL(/\/chat\//);
      const partial = await lastAnswer(page).locator('.markdown').textContent();
      assert.ok(!partial.endsWith('The end.'), 'the reload happens mid-turn');
      await page.reload();
      // After the reload the same turn goes on streaming into the page, to its end.
      await page.getByRole('button', { name: 'Stop' }).waitFor();
      await lastAnswer(page).getByText('The end.').waitFor();
      await page.getByRole('button', { name: 'Send' }).waitFor();
      assert.equal(await lastAnswer(page).locator('.markdown').textContent(), full);
      assert.equal(await page.locator('article.message.assistant').count(), 1);
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('Stop ends the answer on the server: what was said stays, marked stopped, and the chat goes on', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await send(page, 'please stop me');
      await lastAnswer(page).getByText('This answer goes').waitFor();
      await page.getByRole('button', { name: 'Stop' }).click();
      await lastAnswer(page).getByText('You stopped this answer.').waitFor();
      await page.getByRole('button', { name: 'Send' }).waitFor();
      const id = new URL(page.url()).pathname.split('/').pop();
      const stored = await (await fetch(`${aomi.url}/api/chats/${id}`)).json();
      assert.equal(stored.running, false);
      assert.deepEqual(stored.messages[1].metadata, { incomplete: true, stopped: true });
      const said = stored.messages[1].parts.filter(part => part.type === 'text').map(part => part.text).join('');
      assert.ok(said.length > 0 && said.length < 'This answer goes on and on. '.length * 40, said);
      assert.equal((await lastAnswer(page).locator('.markdown').textContent()).trim(), said.trim());
      // The chat takes the next message at once.
      await send(page, 'hello again');
      await lastAnswer(page).getByText('Hello again from the stub.').waitFor();
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('typing / offers the commands, and a page command runs', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
      const before = await theme();
      await page.getByRole('combobox', { name: 'Message aomi' }).fill('/');
      const options = page.getByRole('listbox', { name: 'Direct commands' }).getByRole('option');
      await options.first().waitFor();
      assert.ok((await options.allTextContents()).some(text => text.startsWith('/theme')), 'a page command');
      // And the server's commands, from GET /api/commands (the page keeps no copy).
      await options.filter({ hasText: '/balance' }).first().waitFor();
      await page.getByRole('combobox', { name: 'Message aomi' }).fill('/th');
      await page.getByRole('combobox', { name: 'Message aomi' }).press('Enter');
      assert.notEqual(await theme(), before);
      assert.equal(await page.locator('article.message').count(), 0, 'a page command sends nothing');
    } finally {
      await browser.close();
    }
  });
});

describe('wallet', () => {
  const wallet = { accounts: [DEV_ACCOUNT], chainId: 31337, chains: [31337, 1, 8453] };

  test('connects, sends its address and chain with every turn, switches network, and stays across a reload', async () => {
    const browser = await openBrowser({ wallet });
    const { page } = browser;
    const bodies = recordChatRequests(page);
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      const button = page.locator('.wallet-button.connected');
      await button.waitFor();
      assert.equal(await button.getAttribute('data-address'), DEV_ACCOUNT);
      assert.equal(await button.locator('.mono').textContent(), '0xf39F…2266');
      assert.equal(await page.getByLabel('Network').inputValue(), '31337');

      await send(page, 'hello');
      await lastAnswer(page).getByText('Hello from the stub.').waitFor();
      assert.deepEqual(bodies[0].wallet, { address: DEV_ACCOUNT, chainId: 31337 });
      // Only the new message travels; the server keeps the history.
      assert.equal(bodies[0].message.role, 'user');
      assert.equal(bodies[0].messages, undefined);

      // The network menu asks the wallet; the very next message carries the new chain.
      await page.getByLabel('Network').selectOption('8453');
      await page.waitForFunction(() => window.__aomiWalletLog.some(r => r.method === 'wallet_switchEthereumChain'));
      assert.equal(await page.getByLabel('Network').inputValue(), '8453');
      await send(page, 'hello on base');
      await page.locator('article.message.assistant').nth(1).getByText('Hello from the stub.').waitFor();
      assert.deepEqual(bodies[1].wallet, { address: DEV_ACCOUNT, chainId: 8453 });

      // A network the wallet does not have, and the person declines to add, is refused visibly,
      // and nothing changes.
      await page.getByLabel('Network').selectOption('10');
      await page.locator('.network-error').waitFor();
      assert.match(await page.locator('.network-error').textContent(), /rejected/);
      assert.equal(await page.getByLabel('Network').inputValue(), '8453');

      // The connection survives a reload.
      await page.reload();
      await page.locator('.wallet-button.connected').waitFor();
      assert.equal(await page.getByLabel('Network').inputValue(), '8453');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('the history lists the wallet’s chats newest first, reopens, searches, renames and deletes them', async () => {
    const owner = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const browser = await openBrowser({ wallet: { ...wallet, accounts: [owner] } });
    const { page } = browser;
    const owned = async () => (await (await fetch(`${aomi.url}/api/chats?owner=${owner.toLowerCase()}`)).json()).chats;
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      await page.locator('.wallet-button.connected').waitFor();
      const list = page.getByRole('navigation', { name: 'Chat history' });
      await list.getByText('No chats for this wallet yet.').waitFor();

      await send(page, 'first question about pelicans');
      await lastAnswer(page).getByText('Hello from the stub.').waitFor();
      const firstId = new URL(page.url()).pathname.split('/').pop();
      await page.getByRole('button', { name: 'New chat' }).click();
      await send(page, 'second question');
      await lastAnswer(page).getByText('Hello from the stub.').waitFor();

      // Newest first, titled by the server from the first message.
      const items = list.locator('ul:not([hidden]) > li');
      await page.waitForFunction(() => document.querySelectorAll('.chat-list ul:not([hidden]) > li').length === 2);
      assert.deepEqual(await items.locator('.chat-title').allTextContents(), ['second question', 'first question about pelicans']);
      assert.deepEqual((await owned()).map(chat => chat.id).includes(firstId), true);

      // Reopen.
      await items.getByText('first question about pelicans').click();
      await page.waitForURL(`**/chat/${firstId}`);
      await page.locator('article.message.user').getByText('first question about pelicans').waitFor();
      assert.equal(await page.locator('article.message').count(), 2);
      assert.equal(await list.locator('li.active .chat-title').textContent(), 'first question about pelicans');

      // Search reads the messages on the server.
      await page.getByLabel('Search chats').fill('pelicans');
      const hits = page.getByRole('list', { name: 'Search results' });
      await hits.locator('li a').first().waitFor();
      assert.equal(await hits.locator('.chat-title').first().textContent(), 'first question about pelicans');
      assert.match(await hits.locator('.snippet strong').first().textContent(), /pelicans/i);
      await page.getByLabel('Search chats').fill('');

      // Rename.
      const first = items.filter({ hasText: 'first question about pelicans' });
      await first.hover();
      await first.getByRole('button', { name: 'Rename chat' }).click();
      await list.getByLabel('New title').fill('Pelican research');
      await list.getByLabel('New title').press('Enter');
      await items.getByText('Pelican research').waitFor();
      assert.equal((await owned()).find(chat => chat.id === firstId).title, 'Pelican research');

      // Delete (after the confirmation).
      page.once('dialog', dialog => void dialog.accept());
      const renamed = items.filter({ hasText: 'Pelican research' });
      await renamed.hover();
      await renamed.getByRole('button', { name: 'Delete chat' }).click();
      await page.waitForFunction(() => document.querySelectorAll('.chat-list ul:not([hidden]) > li').length === 1);
      assert.deepEqual((await owned()).map(chat => chat.title), ['second question']);
      // The open chat was the deleted one: the page starts a new chat.
      await page.waitForURL(url => new URL(url).pathname === '/');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('older chats come a page at a time', async () => {
    const owner = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
    // 32 chats of this wallet, made through the API (the page shows the latest 30 first).
    const chat = async n => {
      const body = {
        id: `older-${n}-${Date.now()}`,
        message: { id: `u-${n}`, role: 'user', parts: [{ type: 'text', text: `question number ${n}` }] },
        wallet: { chainId: 31337, address: owner },
      };
      const response = await fetch(`${aomi.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(response.status, 200);
      await response.text();
    };
    for (let n = 0; n < 32; n += 8) await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(i => chat(n + i)));

    const browser = await openBrowser({ wallet: { ...wallet, accounts: [owner] } });
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      await page.getByRole('button', { name: 'Connect wallet' }).click();
      const list = page.getByRole('navigation', { name: 'Chat history' });
      const items = list.locator('ul:not([hidden]) > li');
      await page.waitForFunction(() => document.querySelectorAll('.chat-list ul:not([hidden]) > li').length === 30);
      await list.getByRole('button', { name: 'Show older chats' }).click();
      await page.waitForFunction(() => document.querySelectorAll('.chat-list ul:not([hidden]) > li').length === 32);
      const titles = await items.locator('.chat-title').allTextContents();
      assert.equal(new Set(titles).size, 32, 'no chat twice');
      assert.equal(await list.getByRole('button', { name: 'Show older chats' }).count(), 0, 'the last page has no more');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
