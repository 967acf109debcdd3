// The chat's pending batch as the page shows it: read from the server when the chat opens and when a
// turn ends, replaced live by each `data-pending-batch` part a turn streams, and re-read from the
// server's answer after the person removes a step.
import { useCallback, useEffect, useRef, useState } from 'react';

import { errorMessage, getBatch, removeBatchStep } from '../lib/api';
import type { PendingBatch } from '../lib/types';

const EMPTY: PendingBatch = { chainId: null, steps: [] };

/** The chat's pending batch, what changes it, and the last error of a removal. */
export function usePendingBatch(chatId: string, owner: string | undefined) {
  // Kept with the chat it belongs to: another chat shows nothing until its own batch is read.
  const [kept, setKept] = useState<{ chatId: string; batch: PendingBatch }>({ chatId, batch: EMPTY });
  const batch = kept.chatId === chatId ? kept.batch : EMPTY;
  const setBatch = useCallback((next: PendingBatch) => setKept({ chatId, batch: next }), [chatId]);
  const [error, setError] = useState<string>();
  // The batch requests run one after another: a read asked for while a removal is on its way is
  // sent once the removal is answered, so an answer never shows the batch as it was before a
  // later request (a read served before the removal, answered after it, would bring the step back).
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const enqueue = useCallback((next: () => Promise<unknown>) => {
    const run = queue.current.then(next, next);
    queue.current = run.catch(() => undefined);
    return run;
  }, []);

  const reload = useCallback(() => {
    enqueue(() => getBatch(chatId, owner).then(setBatch)).catch(() => undefined);
  }, [chatId, owner, setBatch, enqueue]);

  useEffect(() => {
    reload();
  }, [reload]);

  const remove = useCallback(
    (index: number) => {
      setError(undefined);
      enqueue(() => removeBatchStep(chatId, owner, index).then(setBatch)).catch(removeError => {
        setError(errorMessage(removeError));
        reload();
      });
    },
    [chatId, owner, reload, setBatch, enqueue],
  );

  return { batch, setBatch, reload, remove, error };
}
