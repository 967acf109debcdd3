// A tree-search turn's tree (`data-tree`, the explore app): its branches, each a few read calls, with
// their live states, the judge's scores and the branch the answer is built from. The server sends the
// part again under the same id whenever something changes, so this always shows the latest. It is
// open while the branches run and folds once one is chosen (a click opens it again).
import { CheckIcon, Spinner } from '../icons';
import type { components } from '../lib/api.gen';

type TreePart = components['schemas']['TreePart'];
type TreeBranch = TreePart['branches'][number];
type TreeCall = TreeBranch['calls'][number];

const BRANCH_TEXT: Record<TreeBranch['state'], string> = {
  running: 'running',
  done: 'done',
  failed: 'failed',
  pruned: 'pruned',
};

const CALL_TEXT: Record<TreeCall['state'], string> = {
  pending: 'waiting',
  running: 'running',
  done: 'done',
  failed: 'failed',
  skipped: 'not run',
};

function StateMark({ state }: { state: TreeBranch['state'] | TreeCall['state'] }) {
  return (
    <span className="plan-state" aria-hidden="true">
      {state === 'done' ? <CheckIcon size={14} /> : state === 'running' ? <Spinner size={12} /> : state === 'failed' ? '✕' : '•'}
    </span>
  );
}

export function TreeView({ tree }: { tree: TreePart }) {
  if (tree.branches.length === 0) return null;
  const chosen = tree.chosen ?? null;
  const running = tree.branches.filter(branch => branch.state === 'running').length;
  const status =
    chosen !== null && tree.branches[chosen]
      ? `answered from “${tree.branches[chosen].label}”`
      : running > 0
        ? `${running} running`
        : 'no branch chosen';
  return (
    <details className="tree plan" open={chosen === null} aria-label="Explored branches">
      <summary className="plan-header">
        {`Explored ${tree.branches.length} ${tree.branches.length === 1 ? 'branch' : 'branches'}`}{' '}
        <span className="muted small">{status}</span>
      </summary>
      <ol>
        {tree.branches.map((branch, index) => (
          <li
            key={index}
            className={`tree-branch plan-step ${branch.state}${index === chosen ? ' chosen' : ''}`}
            data-state={branch.state}
            data-chosen={index === chosen ? 'true' : undefined}
          >
            <StateMark state={branch.state} />
            <span className="tree-label">{branch.label}</span>
            <span className="muted small">{BRANCH_TEXT[branch.state]}</span>
            {branch.score != null ? <span className="tree-score small">{`score ${branch.score}/10`}</span> : null}
            {index === chosen ? <span className="tree-chosen small">chosen</span> : null}
            {branch.note ? <span className="plan-summary small">{branch.note}</span> : null}
            <ol className="tree-calls">
              {branch.calls.map(call => (
                <li key={call.toolCallId} className={`tree-call plan-step ${call.state}`} data-state={call.state}>
                  <StateMark state={call.state} />
                  <span className="mono">{call.toolName}</span>
                  <span className="sr-only">{CALL_TEXT[call.state]}</span>
                  {call.summary ? <span className="plan-summary small">{call.summary}</span> : null}
                </li>
              ))}
            </ol>
          </li>
        ))}
      </ol>
      {chosen !== null && tree.reason ? <p className="tree-reason small muted">{tree.reason}</p> : null}
    </details>
  );
}
