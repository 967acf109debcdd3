// A plan-and-execute turn's plan (`data-plan`, the batch app): its steps with their live states, each
// turning green when its result comes. The server sends the part again under the same id whenever a
// step changes, so this always shows the latest.
import { CheckIcon, Spinner } from '../icons';
import type { components } from '../lib/api.gen';

type PlanPart = components['schemas']['PlanPart'];
type PlanStep = PlanPart['steps'][number];

const STATE_TEXT: Record<PlanStep['state'], string> = {
  pending: 'waiting for the reads',
  running: 'running',
  done: 'done',
  failed: 'failed',
  waiting: 'waiting for your wallet',
};

export function PlanView({ plan }: { plan: PlanPart }) {
  if (plan.steps.length === 0) return null;
  const done = plan.steps.filter(step => step.state === 'done').length;
  return (
    <section className="plan" aria-label="Plan">
      <header className="plan-header">
        Plan <span className="muted small">{`${done} of ${plan.steps.length} done`}</span>
      </header>
      <ol>
        {plan.steps.map(step => (
          <li key={step.toolCallId} className={`plan-step ${step.state}`} data-state={step.state}>
            <span className="plan-state" aria-hidden="true">
              {step.state === 'done' ? <CheckIcon size={14} /> : step.state === 'running' ? <Spinner size={12} /> : '•'}
            </span>
            <span className="mono">{step.toolName}</span>
            <span className="muted small">{step.kind === 'action' ? 'wallet action' : 'read'}</span>
            <span className="sr-only">{STATE_TEXT[step.state]}</span>
            {step.summary ? <span className="plan-summary small">{step.summary}</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
