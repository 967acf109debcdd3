// The model's Markdown: GitHub tables and lists, code blocks with a copy button, and every 0x address
// or transaction hash turned into a short, copyable, explorer-linked reference. No image is ever
// loaded: the model's text can carry a URL that reports who reads it (`![](https://x/?d=…)`), so an
// image becomes a link the reader may follow, or not.
import { memo, type ReactNode } from 'react';
import ReactMarkdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';

import { findChainRefs, isAddress, isHash } from '../lib/address';
import { ChainRef, CopyButton } from './ChainRef';

/** The parts of a HAST tree this file touches. */
interface HastNode {
  type: string;
  tagName?: string;
  value?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

/** Splits text nodes around addresses and hashes into `<chain-ref>` elements (not inside code or links). */
export function rehypeChainRefs() {
  const walk = (node: HastNode) => {
    if (!node.children || node.tagName === 'code' || node.tagName === 'pre' || node.tagName === 'a') return;
    node.children = node.children.flatMap(child => {
      if (child.type !== 'text' || !child.value) {
        walk(child);
        return [child];
      }
      const refs = findChainRefs(child.value);
      if (refs.length === 0) return [child];
      const pieces: HastNode[] = [];
      let at = 0;
      for (const { value, index } of refs) {
        if (index > at) pieces.push({ type: 'text', value: child.value.slice(at, index) });
        pieces.push({ type: 'element', tagName: 'chain-ref', properties: { value }, children: [] });
        at = index + value.length;
      }
      if (at < child.value.length) pieces.push({ type: 'text', value: child.value.slice(at) });
      return pieces;
    });
  };
  return (tree: HastNode) => walk(tree);
}

/** Replaces every image with a link to it (its alt text, else its URL, as the link's text); an image
 * inside a link becomes its alt text, as a link in a link is no HTML. */
export function rehypeNoImages() {
  const walk = (node: HastNode, inLink: boolean) => {
    if (!node.children) return;
    node.children = node.children.map(child => {
      if (child.type !== 'element') return child;
      if (child.tagName !== 'img') {
        walk(child, inLink || child.tagName === 'a');
        return child;
      }
      const src = typeof child.properties?.src === 'string' ? child.properties.src : '';
      const alt = typeof child.properties?.alt === 'string' ? child.properties.alt.trim() : '';
      const label = alt || src || 'image';
      if (inLink || !src) return { type: 'text', value: label };
      return {
        type: 'element',
        tagName: 'a',
        properties: { href: src, title: `Image, not loaded: ${src}`, className: ['image-link'] },
        children: [{ type: 'text', value: label }],
      };
    });
  };
  return (tree: HastNode) => walk(tree, false);
}

function textOf(children: ReactNode): string {
  if (typeof children === 'string' || typeof children === 'number') return String(children);
  if (Array.isArray(children)) return children.map(textOf).join('');
  return '';
}

const components = {
  'chain-ref': ({ value }: { value: string }) => <ChainRef value={value} />,
  a: ({ href, title, className, children }) => (
    <a href={href} title={title} className={className} target="_blank" rel="noreferrer noopener">
      {children}
    </a>
  ),
  // The plugin leaves none; this is the second lock on the same door.
  img: ({ src, alt }) => <span>{alt || (typeof src === 'string' ? src : '')}</span>,
  code: ({ className, children }) => {
    const text = textOf(children);
    // A lone address or hash in backticks is still a chain reference.
    if (!className && (isAddress(text) || isHash(text))) return <ChainRef value={text} />;
    return <code className={className}>{children}</code>;
  },
  pre: ({ children }) => {
    const text = textOf((children as { props?: { children?: ReactNode } })?.props?.children);
    return (
      <div className="code-block">
        <CopyButton text={text.replace(/\n$/, '')} label="Copy code" />
        <pre>{children}</pre>
      </div>
    );
  },
  table: ({ children }) => (
    <div className="table-scroll">
      <table>{children}</table>
    </div>
  ),
} as Components;

/** Renders Markdown text of the model. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown remarkPlugins={[remarkGfm]} rehypePlugins={[rehypeNoImages, rehypeChainRefs]} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});
