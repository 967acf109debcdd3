import { render } from '@testing-library/react';
import { describe, expect, test } from 'vitest';

import { Markdown } from './Markdown';

const ADDRESS = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

describe('Markdown', () => {
  test('addresses in text and in backticks become chain references; code blocks stay code', () => {
    const text = `USDC is ${ADDRESS}.\n\nAlso \`${ADDRESS}\`.\n\n\`\`\`\ncast call ${ADDRESS}\n\`\`\``;
    const { container } = render(<Markdown text={text} />);
    const refs = container.querySelectorAll('.chain-ref');
    expect(refs.length).toBe(2);
    expect(refs[0].getAttribute('data-value')).toBe(ADDRESS);
    expect(refs[0].querySelector('.mono')?.textContent).toBe('0xA0b8…eB48');
    expect(refs[0].querySelector('a')?.getAttribute('href')).toBe(`https://etherscan.io/address/${ADDRESS}`);
    expect(container.querySelector('pre code')?.textContent).toBe(`cast call ${ADDRESS}\n`);
    expect(container.querySelector('.code-block button')?.getAttribute('aria-label')).toBe('Copy code');
  });

  test('tables and links render; links open in a new tab', () => {
    const { container } = render(<Markdown text={'| a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://example.org)'} />);
    expect(container.querySelectorAll('td').length).toBe(2);
    const link = container.querySelector('a[href="https://example.org"]');
    expect(link?.getAttribute('target')).toBe('_blank');
    expect(link?.getAttribute('rel')).toContain('noreferrer');
  });

  test('an address inside a link is left to the link', () => {
    const { container } = render(<Markdown text={`[${ADDRESS}](https://example.org)`} />);
    expect(container.querySelector('.chain-ref')).toBeNull();
  });

  test('an image is never loaded: it becomes a link to its URL, with its alt text (else the URL) as text', () => {
    const url = 'https://x.example/pixel.png?d=0xsecret';
    const { container } = render(
      <Markdown
        text={`See ![the chart](${url}) and ![](${url}&b) and [![inner](${url})](https://example.org) and <img src="${url}">.`}
      />,
    );
    expect(container.querySelector('img')).toBeNull();
    const links = [...container.querySelectorAll('a')];
    expect(links.map(a => [a.textContent, a.getAttribute('href')])).toEqual([
      ['the chart', url],
      [`${url}&b`, `${url}&b`],
      ['inner', 'https://example.org'],
    ]);
    expect(links[0].getAttribute('rel')).toContain('noreferrer');
    expect(links[0].getAttribute('title')).toBe(`Image, not loaded: ${url}`);
  });
});
