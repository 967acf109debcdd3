// How each tool's call and result read in the chat. A tool without its own view still reads well:
// its data is recognised by shape (amounts with decimals, hashes, search results, times), and the
// raw JSON is always one click away.
import type { ReactNode } from 'react';

import { isAddress, isHash } from '../lib/address';
import { Amount } from './Amount';
import { ChainRef } from './ChainRef';

/** A tool's presentation. */
export interface ToolView {
  /** The card's title. */
  title: string;
  /** The result, formatted; the default reads the data by shape. */
  render?: (data: unknown, input: unknown) => ReactNode;
}

/** `get_current_time` → `Get current time`. */
export function humanize(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isInteger = (value: unknown) =>
  (typeof value === 'string' && /^-?\d+$/.test(value)) || (typeof value === 'number' && Number.isSafeInteger(value));

/** The keys under which aomi's tools give an amount in base units (`balance` is already decimal). */
const BASE_UNIT_KEYS = ['wei', 'raw', 'balanceWei', 'delta'];

/** The amount of a token-shaped object: base units (`wei`, `raw`, …) with `decimals` and `symbol`. */
function tokenAmount(data: Json): ReactNode | undefined {
  const value = BASE_UNIT_KEYS.map(key => data[key]).find(isInteger);
  if (value === undefined || typeof data.decimals !== 'number') return undefined;
  return (
    <Amount
      value={value as string}
      decimals={data.decimals}
      symbol={typeof data.symbol === 'string' ? data.symbol : undefined}
      signed={'delta' in data}
    />
  );
}

/** Search results: `{results: [{title, url, snippet}]}`. */
function searchResults(data: Json): ReactNode | undefined {
  const results = data.results;
  if (!Array.isArray(results) || !results.every(r => isObject(r) && typeof r.url === 'string')) return undefined;
  return (
    <ol className="search-results">
      {(results as Json[]).map(result => (
        <li key={String(result.url)}>
          <a href={String(result.url)} target="_blank" rel="noreferrer noopener">
            {String(result.title ?? result.url)}
          </a>
          <span className="host">{hostOf(String(result.url))}</span>
          {typeof result.snippet === 'string' ? <p>{result.snippet}</p> : null}
        </li>
      ))}
    </ol>
  );
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

const HASH_KEYS = ['hash', 'txHash', 'transactionHash'];

/** Reads tool data by its shape; undefined when nothing is recognised (the JSON then speaks). */
export function renderByShape(data: unknown): ReactNode | undefined {
  if (!isObject(data)) return undefined;
  const chainId = typeof data.chainId === 'number' ? data.chainId : undefined;
  const amount = tokenAmount(data);
  if (amount) {
    const holder = [data.address, data.owner].find(isAddress);
    return (
      <div className="result-line">
        {amount}
        {holder ? (
          <span className="muted">
            held by <ChainRef value={holder} chainId={chainId} />
          </span>
        ) : null}
        {typeof data.network === 'string' ? <span className="badge">{data.network}</span> : null}
      </div>
    );
  }
  const list = Object.values(data).find(
    value => Array.isArray(value) && value.length > 0 && value.every(item => isObject(item) && tokenAmount(item)),
  ) as Json[] | undefined;
  if (list) {
    return (
      <table className="result-table">
        <tbody>
          {list.map((item, index) => (
            <tr key={index}>
              <th scope="row">{String(item.symbol ?? item.name ?? '')}</th>
              <td>{tokenAmount(item)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  const search = searchResults(data);
  if (search) return search;
  const hashKey = HASH_KEYS.find(key => isHash(data[key]));
  if (hashKey) {
    return (
      <div className="result-line">
        Transaction <ChainRef value={String(data[hashKey])} chainId={chainId} kind="tx" />
        {typeof data.status === 'string' ? <span className={`badge ${data.status}`}>{data.status}</span> : null}
      </div>
    );
  }
  return undefined;
}

function CurrentTime({ data }: { data: unknown }) {
  if (!isObject(data) || typeof data.utc !== 'string') return null;
  const date = new Date(data.utc);
  return (
    <div className="result-line spaced">
      <time dateTime={data.utc}>{date.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'long' })}</time>
      {typeof data.unix === 'number' ? <span className="muted mono">unix {data.unix}</span> : null}
    </div>
  );
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter(v => typeof v === 'string') : []);

/** `get_contract`: the contract's name, whether verified or a proxy, its functions and events. */
function ContractSummary({ data }: { data: unknown }) {
  if (!isObject(data) || !isAddress(data.address)) return null;
  const chainId = typeof data.chainId === 'number' ? data.chainId : undefined;
  const sections: [string, string[]][] = [
    ['Read', strings(data.readFunctions)],
    ['Write', strings(data.writeFunctions)],
    ['Events', strings(data.events)],
  ];
  return (
    <div className="contract-summary">
      <div className="result-line">
        <strong>{typeof data.name === 'string' && data.name ? data.name : 'Unnamed contract'}</strong>
        <ChainRef value={data.address} chainId={chainId} />
        <span className={`badge ${data.verified ? 'success' : 'warning'}`}>
          {data.verified ? `verified (${String(data.verifiedBy)})` : 'not verified'}
        </span>
        {typeof data.network === 'string' ? <span className="badge">{data.network}</span> : null}
      </div>
      {isAddress(data.implementation) ? (
        <p className="muted small">
          A proxy: its code is <ChainRef value={data.implementation} chainId={chainId} />
        </p>
      ) : null}
      {sections.map(([title, entries]) =>
        entries.length > 0 ? (
          <details key={title}>
            <summary>
              {title} ({entries.length})
            </summary>
            <ul className="signatures mono">
              {entries.map(entry => (
                <li key={entry}>{entry}</li>
              ))}
            </ul>
          </details>
        ) : null,
      )}
    </div>
  );
}

/** `get_transaction_history`: one row per transaction, linked to the explorer. */
function TransactionHistory({ data }: { data: unknown }) {
  if (!isObject(data) || !Array.isArray(data.entries)) return null;
  const chainId = typeof data.chainId === 'number' ? data.chainId : undefined;
  const entries = data.entries.filter(isObject);
  const scanned = isObject(data.scanned) ? data.scanned : undefined;
  return (
    <div className="history">
      <div className="result-line">
        {isAddress(data.address) ? <ChainRef value={data.address} chainId={chainId} /> : null}
        {typeof data.network === 'string' ? <span className="badge">{data.network}</span> : null}
        <span className="muted small">
          {data.source === 'node' && scanned
            ? `blocks ${String(scanned.first)}–${String(scanned.last)} of the node`
            : `from ${String(data.source)}`}
        </span>
      </div>
      {entries.length === 0 ? (
        <p className="muted">No transactions found.</p>
      ) : (
        <table className="result-table history-table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Direction</th>
              <th scope="col">What</th>
              <th scope="col">Call</th>
              <th scope="col">Transaction</th>
            </tr>
          </thead>
          <tbody>
            {entries.map(entry => {
              const transfers = Array.isArray(entry.transfers) ? entry.transfers.filter(isObject) : [];
              return (
                <tr key={String(entry.hash)} className={entry.failed === true ? 'failed' : undefined}>
                  <td>{typeof entry.time === 'string' ? new Date(entry.time).toLocaleString() : `block ${String(entry.block)}`}</td>
                  <td>
                    <span className={`badge ${entry.direction === 'out' ? 'warning' : 'success'}`}>{String(entry.direction)}</span>
                  </td>
                  <td>
                    {transfers.length > 0
                      ? transfers.map((move, index) => (
                          <div key={index}>
                            {typeof move.amount === 'string' ? move.amount : String(move.raw)} {String(move.symbol ?? '')}{' '}
                            <span className="muted">{entry.direction === 'in' ? 'from' : 'to'}</span>{' '}
                            {isAddress(entry.direction === 'in' ? move.from : move.to) ? (
                              <ChainRef value={String(entry.direction === 'in' ? move.from : move.to)} chainId={chainId} />
                            ) : null}
                          </div>
                        ))
                      : (
                          <div>
                            {String(entry.value)}{' '}
                            {isAddress(entry.to) ? <ChainRef value={entry.to} chainId={chainId} /> : null}
                          </div>
                        )}
                  </td>
                  <td className="mono">{typeof entry.method === 'string' ? entry.method : ''}{entry.failed === true ? ' (failed)' : ''}</td>
                  <td>{isHash(entry.hash) ? <ChainRef value={entry.hash} chainId={chainId} kind="tx" /> : null}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** `web_search`: the results card, with the warning that they are untrusted. */
function WebResults({ data }: { data: unknown }) {
  const results = renderByShape(data);
  return (
    <div className="web-results">
      {results ?? <p className="muted">No results.</p>}
      <p className="muted small">Search results are text from the web: aomi treats them as information, never as instructions.</p>
    </div>
  );
}

/** Views of the tools that have their own. */
const views: Record<string, ToolView> = {
  get_current_time: { title: 'Current time', render: data => <CurrentTime data={data} /> },
  send_transaction_to_wallet: { title: 'Transaction for your wallet' },
  request_signature: { title: 'Signature for your wallet' },
  get_contract: { title: 'Contract', render: data => <ContractSummary data={data} /> },
  get_transaction_history: { title: 'Transaction history', render: data => <TransactionHistory data={data} /> },
  web_search: { title: 'Web search', render: data => <WebResults data={data} /> },
};

/** The view of a tool (its own, or the default one). */
export function toolView(name: string): Required<ToolView> {
  const view = views[name];
  return { title: view?.title ?? humanize(name), render: view?.render ?? (data => renderByShape(data)) };
}
