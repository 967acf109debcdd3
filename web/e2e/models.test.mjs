// The model menu in real Chromium against a real `aomi serve` allowing a second model: picking it
// makes a new chat take it (the request names it, the stored chat has it), picking another for a
// chat with messages starts a new chat, and a chat opened again shows and keeps its stored model.
// (Which model each turn calls is asserted at the stub in crates/aomi-server/tests/it/models.rs.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { openBrowser, recordChatRequests, send, startAomi } from './harness.mjs';

const script = { rules: [], fallback: { text: 'Hello from the stub.' } };

let aomi;
before(async () => {
  // The default model is the harness's `openai:stub-model`; `fast` is the same stub under another name.
  aomi = await startAomi(script, { AOMI_MODELS: 'fast=openai:model-fast' });
});
after(async () => {
  await aomi?.stop();
});

async function chatIdOf(page) {
  await page.waitForURL(/\/chat\/[A-Za-z0-9_-]+$/);
  return new URL(page.url()).pathname.split('/').pop();
}

async function storedChat(id) {
  const response = await fetch(`${aomi.url}/api/chats/${id}`);
  assert.equal(response.status, 200, `GET /api/chats/${id}`);
  return response.json();
}

async function ask(page, text) {
  const before = await page.locator('article.message.assistant').count();
  await send(page, text);
  await page.waitForFunction(
    count => {
      const all = document.querySelectorAll('article.message.assistant');
      return all.length > count && all[all.length - 1].textContent.includes('Hello from the stub.');
    },
    before,
  );
}

describe('models', () => {
  test('picking a model makes a new chat run on it, and a reopened chat keeps its own', async () => {
    const browser = await openBrowser();
    const { page } = browser;
    const bodies = recordChatRequests(page);
    try {
      await page.goto(aomi.url);
      const menu = page.getByRole('combobox', { name: 'Model' });
      await menu.waitFor();
      const labels = await menu.locator('option').allTextContents();
      assert.deepEqual(labels, ['openai:stub-model', 'fast'], 'the allowed models, from GET /api/models');
      assert.equal(await menu.inputValue(), 'openai:stub-model', 'the default first');

      await menu.selectOption('fast');
      await ask(page, 'hello fast');
      const fastChat = await chatIdOf(page);
      assert.equal((await storedChat(fastChat)).model, 'fast');
      assert.equal(bodies.at(-1).model, 'fast');

      // Another model for a chat that has messages: a new chat on it.
      await menu.selectOption('openai:stub-model');
      await page.waitForURL(url => new URL(url).pathname === '/');
      await ask(page, 'hello default');
      const defaultChat = await chatIdOf(page);
      assert.notEqual(defaultChat, fastChat);
      assert.equal((await storedChat(defaultChat)).model, 'openai:stub-model');

      // The first chat opened again: the menu shows its model, and it stays on it.
      await page.goto(`${aomi.url}/chat/${fastChat}`);
      await page.getByRole('combobox', { name: 'Model' }).waitFor();
      await page.waitForFunction(() => document.querySelector('#model-select')?.value === 'fast');
      await ask(page, 'and now?');
      assert.equal(bodies.at(-1).id, fastChat);
      assert.equal((await storedChat(fastChat)).model, 'fast', 'a chat keeps its model');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
