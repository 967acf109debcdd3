// Signature requests end to end: a real anvil devnet, a real `aomi serve`, the fixture wallet in
// Chromium signing with anvil's dev keys (eth_signTypedData_v4, personal_sign). A scripted turn asks
// for an unlimited Permit2 permit to an address without code: the review shows the spender, the
// token, the amount and the expiry with a danger warning (two clicks), the wallet signs, and the
// turn receives a signature that recovers to the wallet, kept across a reload. A personal message
// given as hex is shown as its text; a rejection in the wallet reaches the model.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { recoverMessageAddress, recoverTypedDataAddress } from 'viem';

import { openBrowser, send, startAomi, startDevnet } from './harness.mjs';

const MAX_U160 = ((1n << 160n) - 1n).toString();
// 2100-01-01 00:00 UTC.
const EXPIRATION = '4102444800';
const HELLO_HEX = '0x48656c6c6f2c20616f6d69'; // "Hello, aomi"

let devnet;
let aomi;

const PERMIT2 = '0x000000000022D473030F116dDEE9F6B43aC78BA3';

function permit() {
  return {
    domain: { name: 'Permit2', chainId: 31337, verifyingContract: PERMIT2 },
    types: {
      PermitSingle: [
        { name: 'details', type: 'PermitDetails' },
        { name: 'spender', type: 'address' },
        { name: 'sigDeadline', type: 'uint256' },
      ],
      PermitDetails: [
        { name: 'token', type: 'address' },
        { name: 'amount', type: 'uint160' },
        { name: 'expiration', type: 'uint48' },
        { name: 'nonce', type: 'uint48' },
      ],
    },
    primaryType: 'PermitSingle',
    message: {
      details: { token: devnet.contracts.usdc, amount: MAX_U160, expiration: EXPIRATION, nonce: '0' },
      spender: devnet.accounts[7],
      sigDeadline: EXPIRATION,
    },
    description: 'Let the app spend your USDC through Permit2',
  };
}

before(async () => {
  devnet = await startDevnet(31337);
  const script = {
    rules: [
      { when: { last_tool_result_contains: '"signature"' }, reply: { text: 'Thanks, the signature is in.' } },
      { when: { last_tool_result_contains: 'rejected' }, reply: { text: 'Understood: nothing was signed.' } },
      { when: { last_user_contains: 'permit' }, reply: { tool_calls: { calls: [{ name: 'request_signature', arguments: permit() }] } } },
      {
        when: { last_user_contains: 'hello' },
        reply: { tool_calls: { calls: [{ name: 'request_signature', arguments: { text: HELLO_HEX, description: 'Prove you own this wallet' } }] } },
      },
    ],
    fallback: { text: 'Hello from the stub.' },
  };
  aomi = await startAomi(script, { AOMI_RPC_DEVNET: devnet.url, AOMI_DEFAULT_NETWORK: 'devnet' });
});

after(async () => {
  await aomi?.stop();
  devnet?.stop();
});

const lastAnswer = page => page.locator('article.message.assistant').last();

async function walletBrowser(index, extra = {}) {
  const account = devnet.accounts[index];
  const browser = await openBrowser({
    wallet: { accounts: [account], chainId: 31337, chains: [31337], rpcUrls: { 31337: devnet.url }, ...extra },
  });
  await browser.page.goto(aomi.url);
  await browser.page.getByRole('button', { name: 'Connect wallet' }).click();
  await browser.page.locator('.wallet-button.connected').waitFor();
  return { ...browser, account };
}

/** The chat's stored messages, as the server keeps them. */
async function storedChat(page, account) {
  const id = new URL(page.url()).pathname.split('/').pop();
  return (await fetch(`${aomi.url}/api/chats/${id}?owner=${account.toLowerCase()}`)).json();
}

describe('signature requests', () => {
  test('a Permit2 permit: decoded, flagged, signed by the wallet, and the signature recovers to it', async () => {
    const browser = await walletBrowser(1);
    const { page, account } = browser;
    try {
      await send(page, 'give the app a permit for my USDC');
      const review = page.getByRole('region', { name: 'Review signature' });
      await review.waitFor();
      const decoded = review.locator('[aria-label="Decoded signature"]');
      assert.equal(await decoded.locator('h4').textContent(), 'Permit2 allowance');
      assert.equal(await decoded.locator('dt:text-is("Spender") + dd .chain-ref').getAttribute('data-value'), devnet.accounts[7]);
      assert.equal(await decoded.locator('dt:text-is("Allows") + dd strong').textContent(), 'unlimited USDC');
      assert.equal((await decoded.locator('dt:text-is("Allows") + dd .chain-ref').getAttribute('data-value')).toLowerCase(), devnet.contracts.usdc.toLowerCase());
      assert.equal(await decoded.locator('dt:text-is("Expires") + dd').textContent(), '2100-01-01 00:00 UTC');
      // An unlimited permit to an address without code: danger, and the button takes two clicks.
      const dangers = await review.locator('.warning.level-danger').allTextContents();
      assert.ok(dangers.some(text => /any amount of your USDC.*without code/.test(text)), dangers.join(' | '));
      await review.getByRole('button', { name: 'Sign despite the warning' }).click();
      const signs = async () => (await page.evaluate(() => window.__aomiWalletLog)).filter(r => r.method === 'eth_signTypedData_v4');
      assert.equal((await signs()).length, 0, 'the first click only arms the button');
      await review.getByRole('button', { name: 'Confirm: sign despite the warning' }).click();
      await lastAnswer(page).getByText('Thanks, the signature is in.').waitFor();

      // The turn got the signature as the call's output, stored; it recovers to the wallet.
      const stored = await storedChat(page, account);
      const part = stored.messages[1].parts.find(p => p.type === 'tool-request_signature');
      assert.equal(part.state, 'output-available');
      const request = stored.messages[1].parts.find(p => p.type === 'data-wallet-request').data.request;
      const { domain, types, primaryType, message } = request.typedData;
      const signer = await recoverTypedDataAddress({ domain, types, primaryType, message, signature: part.output.signature });
      assert.equal(signer.toLowerCase(), account.toLowerCase());
      const logged = (await signs())[0];
      assert.equal(logged.params[0].toLowerCase(), account.toLowerCase(), 'the wallet was asked to sign as the connected account');

      // After a reload the call shows its output, and no review asks again.
      await page.reload();
      await page.locator('section.tool-card.state-output-available[data-tool="request_signature"]').waitFor();
      await lastAnswer(page).getByText('Thanks, the signature is in.').waitFor();
      assert.equal(await page.getByRole('region', { name: 'Review signature' }).count(), 0);
      assert.equal((await signs()).length, 0, 'nothing was asked of the wallet again');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a personal message given as hex is shown as its text and signed with personal_sign', async () => {
    const browser = await walletBrowser(2);
    const { page, account } = browser;
    try {
      await send(page, 'say hello with my wallet');
      const review = page.getByRole('region', { name: 'Review signature' });
      await review.waitFor();
      assert.equal(await review.locator('pre.signature-message').textContent(), 'Hello, aomi');
      assert.equal(await review.locator('.warning').count(), 0);
      await review.getByRole('button', { name: 'Sign in wallet' }).click();
      await lastAnswer(page).getByText('Thanks, the signature is in.').waitFor();
      const stored = await storedChat(page, account);
      const part = stored.messages[1].parts.find(p => p.type === 'tool-request_signature');
      const signer = await recoverMessageAddress({ message: { raw: HELLO_HEX }, signature: part.output.signature });
      assert.equal(signer.toLowerCase(), account.toLowerCase());
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });

  test('a signature the person rejects in the wallet reaches the model as a rejection', async () => {
    const browser = await walletBrowser(3, { rejectSignatures: true });
    const { page } = browser;
    try {
      await send(page, 'say hello with my wallet');
      const review = page.getByRole('region', { name: 'Review signature' });
      await review.getByRole('button', { name: 'Sign in wallet' }).click();
      await lastAnswer(page).getByText('Understood: nothing was signed.').waitFor();
      const card = page.locator('section.tool-card[data-tool="request_signature"]');
      assert.equal(await card.locator('.tool-error').textContent(), 'The user rejected the signature request in the wallet.');
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.close();
    }
  });
});
