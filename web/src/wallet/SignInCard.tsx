// Asks the person to sign in with the connected wallet, where the server keeps each wallet's chats
// behind its signature.
import { ShieldIcon, Spinner } from '../icons';
import { shorten } from '../lib/address';
import type { SignInState } from './useSignIn';

export function SignInCard({ address, auth }: { address: string; auth: SignInState }) {
  return (
    <section className="signin-card" aria-label="Sign in">
      <ShieldIcon size={22} />
      <h2>Sign in with your wallet</h2>
      <p>
        This server keeps each wallet's chats private. Sign a message with <span className="mono">{shorten(address)}</span> to open
        yours: it is free and sends no transaction.
      </p>
      {auth.error ? (
        <p className="tool-error" role="alert">
          {auth.error}
        </p>
      ) : null}
      <button type="button" className="button primary" onClick={() => void auth.signIn()} disabled={auth.busy}>
        {auth.busy ? (
          <>
            <Spinner size={14} /> Confirm in your wallet…
          </>
        ) : (
          'Sign in'
        )}
      </button>
    </section>
  );
}
