// The signed-in wallet's spend guards: a level, USD limits per transaction and per day, and an
// allow-list. Only the signed-in user changes them here (PUT /api/guards); the model cannot.
import { useEffect, useState } from 'react';

import { ShieldIcon, Spinner } from '../icons';
import { errorMessage, getGuards, putGuards, type GuardSettings } from '../lib/api';
import type { SignInState } from './useSignIn';

type Level = GuardSettings['level'];

const LEVELS: { value: Level; label: string; help: string }[] = [
  { value: 'open', label: 'Open', help: 'Only the USD limits apply.' },
  { value: 'balanced', label: 'Balanced', help: 'Warnings need a second click in the review.' },
  { value: 'strict', label: 'Strict', help: 'Only allow-listed contracts, functions and recipients.' },
];

/** One allow-list line: `0xaddress [0xselector,0xselector] [label…]`. */
export function parseAllowList(text: string): GuardSettings['allowed'] {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean)
    .map(line => {
      const [address, ...rest] = line.split(/\s+/);
      const selectors = rest[0]?.startsWith('0x') ? rest.shift()!.split(',').filter(Boolean) : [];
      const label = rest.join(' ');
      return { address, selectors, label: label || null };
    });
}

function allowListText(allowed: GuardSettings['allowed']): string {
  return (allowed ?? [])
    .map(entry => [entry.address, entry.selectors?.join(','), entry.label].filter(Boolean).join(' '))
    .join('\n');
}

/** A USD limit typed by the person: empty for none. */
function limit(text: string): number | null {
  return text.trim() === '' ? null : Number(text);
}

export function GuardsPanel({ auth, onClose }: { auth: SignInState; onClose: () => void }) {
  const [loaded, setLoaded] = useState(false);
  const [level, setLevel] = useState<Level>('open');
  const [perTransaction, setPerTransaction] = useState('');
  const [perDay, setPerDay] = useState('');
  const [allowed, setAllowed] = useState('');
  const [status, setStatus] = useState<{ kind: 'idle' | 'saving' | 'saved' } | { kind: 'error'; message: string }>({ kind: 'idle' });

  useEffect(() => {
    if (!auth.signedIn) return;
    let live = true;
    getGuards()
      .then(guards => {
        if (!live) return;
        setLevel(guards.settings.level);
        setPerTransaction(guards.settings.maxTransactionUsd == null ? '' : String(guards.settings.maxTransactionUsd));
        setPerDay(guards.settings.maxDailyUsd == null ? '' : String(guards.settings.maxDailyUsd));
        setAllowed(allowListText(guards.settings.allowed));
        setLoaded(true);
      })
      .catch(error => live && setStatus({ kind: 'error', message: errorMessage(error) }));
    return () => {
      live = false;
    };
  }, [auth.signedIn]);

  const save = async () => {
    setStatus({ kind: 'saving' });
    try {
      await putGuards({
        level,
        maxTransactionUsd: limit(perTransaction),
        maxDailyUsd: limit(perDay),
        allowed: parseAllowList(allowed),
      });
      setStatus({ kind: 'saved' });
    } catch (error) {
      setStatus({ kind: 'error', message: errorMessage(error) });
    }
  };

  return (
    <section className="guards-panel" role="dialog" aria-label="Spend guards">
      <header>
        <ShieldIcon size={18} />
        <h3>Spend guards</h3>
        <button type="button" className="icon-button tiny" aria-label="Close the spend guards" onClick={onClose}>
          ×
        </button>
      </header>
      <p className="muted small">
        Every wallet request is checked against these with its simulated balance changes, priced in USD. A blocked request
        never reaches your wallet. Only you can change them, here.
      </p>
      {!auth.signedIn ? (
        <div>
          <p>Sign in with your wallet to set its guards.</p>
          <button type="button" className="button primary" onClick={() => void auth.signIn()} disabled={auth.busy}>
            {auth.busy ? <Spinner size={14} /> : null} Sign in
          </button>
        </div>
      ) : !loaded && status.kind !== 'error' ? (
        <Spinner size={16} label="Loading your guards" />
      ) : (
        <form
          onSubmit={event => {
            event.preventDefault();
            void save();
          }}
        >
          <fieldset>
            <legend>Level</legend>
            {LEVELS.map(option => (
              <label key={option.value} className="guard-level">
                <input type="radio" name="guard-level" value={option.value} checked={level === option.value} onChange={() => setLevel(option.value)} />
                <strong>{option.label}</strong> <span className="muted small">{option.help}</span>
              </label>
            ))}
          </fieldset>
          <label>
            Per-transaction limit (USD)
            <input type="number" min="0" step="any" inputMode="decimal" value={perTransaction} placeholder="no limit" onChange={e => setPerTransaction(e.target.value)} />
          </label>
          <label>
            Daily limit (USD, last 24 hours)
            <input type="number" min="0" step="any" inputMode="decimal" value={perDay} placeholder="no limit" onChange={e => setPerDay(e.target.value)} />
          </label>
          <label>
            Allow-list (one per line: address, then optional selectors like 0xa9059cbb,0x095ea7b3, then a label)
            <textarea rows={4} className="mono" value={allowed} onChange={e => setAllowed(e.target.value)} />
          </label>
          {status.kind === 'error' ? (
            <p className="tool-error" role="alert">
              {status.message}
            </p>
          ) : status.kind === 'saved' ? (
            <p className="muted small" role="status">
              Saved.
            </p>
          ) : null}
          <div className="review-actions">
            <button type="submit" className="button primary" disabled={status.kind === 'saving'}>
              {status.kind === 'saving' ? <Spinner size={14} /> : null} Save guards
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
