// A tool call as a card: it shows the call running (with the tool's live progress), then its result
// formatted for people, or the real error. A card never spins once its call has ended.
import type { DynamicToolUIPart, ToolUIPart } from 'ai';

import { AlertIcon, CheckIcon, ToolIcon } from '../icons';
import { Spinner } from '../icons';
import type { ToolOutput } from '../lib/types';
import { toolView } from './toolViews';

/** A tool part of a message, of any tool. */
export type AnyToolPart = ToolUIPart | DynamicToolUIPart;

/** The tool's name from its part (`tool-<name>` or a dynamic tool's `toolName`). */
export function toolNameOf(part: AnyToolPart): string {
  return part.type === 'dynamic-tool' ? part.toolName : part.type.slice('tool-'.length);
}

function asToolOutput(output: unknown): ToolOutput {
  if (typeof output === 'object' && output !== null && 'data' in output) return output as ToolOutput;
  return { data: output };
}

function Json({ label, value }: { label: string; value: unknown }) {
  if (value === undefined) return null;
  return (
    <details className="json">
      <summary>{label}</summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

/** A tool call card. `progress` is the tool's latest progress message while it runs; `ended` says
 * the turn is over (a call still open then was cut off, and must not spin). */
export function ToolCard({ part, progress, ended = false }: { part: AnyToolPart; progress?: string; ended?: boolean }) {
  const name = toolNameOf(part);
  const view = toolView(name);
  const state = part.state;
  const running = (state === 'input-streaming' || state === 'input-available') && !ended;

  let status;
  let body = null;
  if (state === 'output-available') {
    const output = asToolOutput(part.output);
    status = (
      <span className="tool-status ok">
        <CheckIcon size={14} /> <span className="sr-only">done</span>
      </span>
    );
    // The formatted result says what the summary says, better; the summary speaks for data of
    // a shape the page does not know.
    const formatted = view.render(output.data, part.input);
    body = formatted ? (
      <div className="tool-result" title={output.summary}>
        {formatted}
      </div>
    ) : output.summary ? (
      <p className="tool-summary">{output.summary}</p>
    ) : null;
  } else if (state === 'output-error' || state === 'output-denied' || !running) {
    const text =
      state === 'output-error'
        ? part.errorText
        : state === 'output-denied'
          ? 'The call was denied.'
          : 'The call did not finish.';
    status = (
      <span className="tool-status error">
        <AlertIcon size={14} /> <span className="sr-only">failed</span>
      </span>
    );
    body = (
      <p className="tool-error" role="note">
        {text}
      </p>
    );
  } else {
    status = <Spinner size={14} label="running" />;
    body = (
      <p className="tool-progress" aria-live="polite">
        {progress ?? (state === 'input-streaming' ? 'Preparing the call…' : 'Running…')}
      </p>
    );
  }

  return (
    <section
      className={`tool-card state-${running ? 'running' : state}`}
      aria-label={`${view.title}: ${running ? 'running' : state === 'output-available' ? 'done' : 'failed'}`}
      data-tool={name}
    >
      <header>
        <ToolIcon size={14} className="tool-icon" />
        <span className="tool-title">{view.title}</span>
        <span className="tool-name mono">{name}</span>
        {status}
      </header>
      {body}
      <div className="tool-raw">
        <Json label="Input" value={part.input} />
        {state === 'output-available' ? <Json label="Output" value={part.output} /> : null}
      </div>
    </section>
  );
}
