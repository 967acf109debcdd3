// Chat controls in real Chromium against a real `aomi serve`: another answer, an edit sent again,
// the versions they leave (kept by the server: they survive a reload), copy, and the keyboard.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { checkAccessibility, openBrowser, recordChatRequests, send, startAomi } from './harness.mjs';

let aomi;
before(async () => {
  // Each model call takes the next answer, so every answer can be told apart.
  aomi = await startAomi({ rules: [], steps: [{ text: 'Answer one.' }, { text: 'Answer two.' }, { text: 'Answer three.' }], fallback: { text: 'More.' } });
});
after(async () => {
  await aomi?.stop();
});

const answer = page => page.locator('article.message.assistant').last();
const question = page => page.locator('article.message.user').last();
const versions = page => question(page).getByRole('group', { name: 'Versions' });

describe('chat controls', () => {
  test('another answer and an edit each make a new answer; every version stays reachable after a reload', async () => {
    const browser = await openBrowser();
    const { page, context } = browser;
    const bodies = recordChatRequests(page);
    try {
      await page.goto(aomi.url);
      await send(page, 'what is ETH?');
      await answer(page).getByText('Answer one.').waitFor();

      await page.getByRole('button', { name: 'Another answer' }).click();
      await answer(page).getByText('Answer two.').waitFor();
      await versions(page).getByText('2/2').waitFor();
      assert.equal(await page.locator('article.message').count(), 2, 'the new answer replaces the old one on screen');
      assert.equal(bodies[1].replaces, bodies[0].message.id, 'another answer replaces the question with itself');

      await question(page).getByRole('button', { name: 'Edit your message' }).click();
      const editor = page.getByRole('textbox', { name: 'Edit your message' });
      assert.equal(await editor.inputValue(), 'what is ETH?');
      await editor.fill('what is USDC?');
      await editor.press('Enter');
      await answer(page).getByText('Answer three.').waitFor();
      await versions(page).getByText('3/3').waitFor();
      assert.equal(await question(page).locator('.bubble').textContent(), 'what is USDC?');
      assert.equal(bodies[2].replaces, bodies[0].message.id);
      await checkAccessibility(page, 'a chat with versions');

      // The server kept them: after a reload, step back through the versions.
      await page.reload();
      await versions(page).getByText('3/3').waitFor();
      await question(page).getByRole('button', { name: 'Previous version' }).click();
      await answer(page).getByText('Answer two.').waitFor();
      await versions(page).getByText('2/3').waitFor();
      await question(page).getByRole('button', { name: 'Previous version' }).click();
      await answer(page).getByText('Answer one.').waitFor();
      assert.equal(await question(page).locator('.bubble').textContent(), 'what is ETH?');
      await page.reload();
      await answer(page).getByText('Answer one.').waitFor();
      await versions(page).getByText('1/3').waitFor();

      // Copy puts the answer's text on the clipboard.
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: aomi.url });
      await answer(page).getByRole('button', { name: 'Copy the answer' }).click();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'Answer one.');

      // Up in the empty box opens the last message for editing; Esc leaves it as it was.
      const box = page.getByRole('combobox', { name: 'Message aomi' });
      await box.focus();
      await box.press('ArrowUp');
      await editor.waitFor();
      await editor.press('Escape');
      await editor.waitFor({ state: 'detached' });
      assert.equal(await question(page).locator('.bubble').textContent(), 'what is ETH?');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
