// The app picker in real Chromium against a real `aomi serve`: picking an app changes the app of a
// new chat (checked in the stored chat through the API), picking another for a chat with messages
// starts a new chat, and a chat opened again keeps the app it was stored with.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { openBrowser, recordChatRequests, send, startAomi } from './harness.mjs';

/** The batch app's plan for "time twice": two reads of the clock, run at the same time. */
const PLAN = JSON.stringify({
  reads: [
    { tool: 'get_current_time', arguments: {} },
    { tool: 'get_current_time', arguments: {} },
  ],
  action: null,
});

const script = {
  rules: [
    // The planner's request carries the conversation as its one user message.
    { when: { last_user_contains: 'time twice' }, reply: { text: PLAN } },
    { when: { last_tool_result_contains: 'It is ' }, reply: { text: 'Both clocks agree.' } },
  ],
  fallback: { text: 'Hello from the stub.' },
};

let aomi;
before(async () => {
  aomi = await startAomi(script);
});
after(async () => {
  await aomi?.stop();
});

/** The chat id in the page's address, once the first message named it. */
async function chatIdOf(page) {
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]+$/);
  return new URL(page.url()).pathname.split('/').pop();
}

/** The stored chat, through the API (an anonymous chat opens by its id). */
async function storedChat(id) {
  const response = await fetch(`${aomi.url}/api/chats/${id}`);
  assert.equal(response.status, 200, `GET /api/chats/${id}`);
  return response.json();
}

/** Sends `text` and waits for the stub's answer to it. */
async function ask(page, text) {
  const answers = page.locator('article.message.assistant');
  const before = await answers.count();
  await send(page, text);
  await page.waitForFunction(
    count => {
      const all = document.querySelectorAll('article.message.assistant');
      return all.length > count && all[all.length - 1].textContent.includes('Hello from the stub.');
    },
    before,
  );
}

describe('apps', () => {
  test('picking an app changes the app of a new chat, and a reopened chat keeps its own', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    const bodies = recordChatRequests(page);
    try {
      await page.goto(aomi.url);
      const picker = page.getByRole('combobox', { name: 'App' });
      await picker.waitFor();
      const names = await picker.locator('option').allTextContents();
      assert.deepEqual(names, ['analyst', 'batch', 'default', 'explore'], 'the server’s apps, from GET /api/apps');
      assert.equal(await picker.inputValue(), 'default');

      // A new chat with the analyst.
      await picker.selectOption('analyst');
      await ask(page, 'what is in my wallet?');
      const analystChat = await chatIdOf(page);
      assert.equal((await storedChat(analystChat)).app, 'analyst', 'the stored chat is the analyst’s');
      assert.equal(bodies.at(-1).app, 'analyst');

      // Another app for a chat that has messages: a new chat, with that app.
      await picker.selectOption('default');
      await page.waitForURL(url => new URL(url).pathname === '/');
      await ask(page, 'hello');
      const defaultChat = await chatIdOf(page);
      assert.notEqual(defaultChat, analystChat);
      assert.equal((await storedChat(defaultChat)).app, 'default');
      assert.equal((await storedChat(analystChat)).app, 'analyst', 'the first chat keeps its app');

      // The analyst's chat opened again: the picker shows its app and its next turn uses it.
      await page.goto(`${aomi.url}/chat/${analystChat}`);
      await page.getByRole('combobox', { name: 'App' }).waitFor();
      await page.waitForFunction(() => document.querySelector('#app-select')?.value === 'analyst');
      await ask(page, 'and now?');
      assert.equal(bodies.at(-1).id, analystChat);
      assert.equal(bodies.at(-1).app, 'analyst', 'a chat opened from the history answers with its stored app');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a batch turn shows its plan, each step turning green, then the answer', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    try {
      await page.goto(aomi.url);
      const picker = page.getByRole('combobox', { name: 'App' });
      await picker.waitFor();
      await picker.selectOption('batch');
      await send(page, 'what time is it? check the time twice');
      const plan = page.getByRole('region', { name: 'Plan' });
      await plan.waitFor();
      await page.waitForFunction(() => {
        const steps = [...document.querySelectorAll('.plan-step')];
        return steps.length === 2 && steps.every(step => step.getAttribute('data-state') === 'done');
      });
      assert.match(await plan.textContent(), /2 of 2 done/);
      // Done steps are green.
      const colour = await page.locator('.plan-step.done .mono').first().evaluate(el => getComputedStyle(el).color);
      const green = await page.evaluate(() => {
        const probe = document.createElement('span');
        probe.style.color = 'var(--green)';
        document.body.append(probe);
        const value = getComputedStyle(probe).color;
        probe.remove();
        return value;
      });
      assert.equal(colour, green);
      await page.locator('article.message.assistant', { hasText: 'Both clocks agree.' }).waitFor();
      const chat = await storedChat(await chatIdOf(page));
      assert.equal(chat.app, 'batch');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
