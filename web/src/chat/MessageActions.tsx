// What a person can do with a message: copy it, edit their own and send it again, ask for another
// answer, and move between the versions an edit left (the older ones stay, as branches).
import { useEffect, useRef, useState } from 'react';

import { EditIcon, RefreshIcon } from '../icons';
import { CopyButton } from './ChainRef';

/** The versions at a message that was edited or answered again. */
export interface Versions {
  /** 0-based: the version shown. */
  index: number;
  count: number;
  onSelect: (index: number) => void;
}

/** Copy, edit, another answer, and the version switcher, as the message allows. */
export function MessageActions({
  text,
  who,
  onEdit,
  onRegenerate,
  versions,
}: {
  text: string;
  who: 'your message' | 'the answer';
  onEdit?: () => void;
  onRegenerate?: () => void;
  versions?: Versions;
}) {
  return (
    <div className="message-actions">
      {versions && versions.count > 1 ? (
        <span className="versions" role="group" aria-label="Versions">
          <button
            type="button"
            className="icon-button tiny"
            aria-label="Previous version"
            disabled={versions.index === 0}
            onClick={() => versions.onSelect(versions.index - 1)}
          >
            ‹
          </button>
          <span className="muted small" aria-live="polite">
            {versions.index + 1}/{versions.count}
          </span>
          <button
            type="button"
            className="icon-button tiny"
            aria-label="Next version"
            disabled={versions.index === versions.count - 1}
            onClick={() => versions.onSelect(versions.index + 1)}
          >
            ›
          </button>
        </span>
      ) : null}
      {text ? <CopyButton text={text} label={`Copy ${who}`} /> : null}
      {onEdit ? (
        <button type="button" className="icon-button tiny" aria-label="Edit your message" title="Edit" onClick={onEdit}>
          <EditIcon size={13} />
        </button>
      ) : null}
      {onRegenerate ? (
        <button type="button" className="icon-button tiny" aria-label="Another answer" title="Another answer" onClick={onRegenerate}>
          <RefreshIcon size={13} />
        </button>
      ) : null}
    </div>
  );
}

/** A user message being edited: Enter (or Send) sends it again, Esc (or Cancel) leaves it. */
export function MessageEditor({ text, onSend, onCancel }: { text: string; onSend: (text: string) => void; onCancel: () => void }) {
  const [value, setValue] = useState(text);
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const element = area.current;
    if (!element) return;
    element.focus();
    element.setSelectionRange(element.value.length, element.value.length);
  }, []);
  const send = () => {
    if (value.trim()) onSend(value.trim());
  };
  return (
    <form
      className="message-editor"
      onSubmit={event => {
        event.preventDefault();
        send();
      }}
    >
      <textarea
        ref={area}
        aria-label="Edit your message"
        value={value}
        rows={Math.min(8, value.split('\n').length + 1)}
        onChange={event => setValue(event.target.value)}
        onKeyDown={event => {
          if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
            event.preventDefault();
            send();
          } else if (event.key === 'Escape') {
            event.preventDefault();
            onCancel();
          }
        }}
      />
      <div className="editor-actions">
        <button type="button" className="button small secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button small" disabled={!value.trim()}>
          Send
        </button>
      </div>
    </form>
  );
}
