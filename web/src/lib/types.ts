// The shapes aomi's server sends: UI messages with aomi's data parts, tool outputs, simulation
// reports (DESIGN.md §3) and history records.
import type { UIMessage } from 'ai';

/** What aomi's server tools return: machine data for the page and a sentence for people. */
export interface ToolOutput {
  data: unknown;
  summary?: string;
}

/** One balance change of a simulated transaction. */
export interface AssetChange {
  /** Whose balance changes. */
  address: string;
  /** The token contract; null for the native coin. */
  token: string | null;
  symbol: string;
  decimals: number;
  /** Signed base units, as a decimal string. */
  delta: string;
}

/** An allowance a simulated transaction grants. */
export interface Approval {
  token: string;
  symbol?: string;
  decimals?: number;
  owner?: string;
  spender: string;
  /** Base units as a decimal string. */
  amount: string;
  /** True when the amount is the maximum (an unlimited approval). */
  unlimited?: boolean;
}

/** A finding of the risk rules. */
export interface RiskWarning {
  id: string;
  level: 'info' | 'warning' | 'danger' | string;
  message: string;
}

/** What POST /api/simulate answers, and what a `data-simulation` part carries. */
export interface SimulationReport {
  success: boolean;
  revert?: { reason?: string; data?: string };
  gasUsed?: string | number;
  /** Gas price or max fee per gas, in wei (decimal string), when known. */
  gasPrice?: string;
  /** The fee in wei (decimal string), when known. */
  fee?: string;
  assetChanges: AssetChange[];
  approvals: Approval[];
  warnings: RiskWarning[];
  /** The decoded call, when the contract's ABI is known. */
  decoded?: DecodedCall;
  /** The wallet tool call this report belongs to. */
  toolCallId?: string;
}

/** A contract call decoded with its ABI. */
export interface DecodedCall {
  contract?: string;
  function: string;
  args?: { name?: string; type?: string; value: unknown }[];
}

/** A transaction for the wallet, as the review shows it and the wallet sends it. */
export interface WalletTransaction {
  to: string;
  /** Wei, decimal string. */
  value?: string;
  data?: string;
  /** Gas limit, decimal string; none lets the wallet estimate. */
  gas?: string | null;
  chainId: number;
  description?: string;
  decoded?: DecodedCall;
  simulation?: SimulationReport;
}

/** What the server built for a wallet call (`data-wallet-request`, id: the call's id). */
export interface WalletRequestPart {
  toolCallId: string;
  toolName: string;
  summary?: string;
  request: {
    chainId: number;
    network?: string;
    from?: string | null;
    to: string;
    value?: string;
    data?: string;
    gas?: string | null;
    description?: string;
    /** The call, decoded: `{function: "transfer(address,uint256)", args: {to: "0x…", amount: "1500000"}}`. */
    decodedCall?: { function: string; args?: Record<string, unknown> } | null;
    /** The simulation, once the server simulates before asking. */
    simulation?: SimulationReport;
  };
}

/** The data parts aomi streams, by name (`data-<name>` on the wire). */
export type AomiDataParts = {
  /** A tool's live progress; transient: it reaches `onData`, never the message. */
  'tool-progress': { toolCallId: string; message: string };
  /** A turn that failed: the message the stream's `error` part carried. */
  error: { message: string };
  /** The model asks the page to switch the wallet's network. */
  network: { chainId: number; name?: string };
  /** The transaction the server built for a wallet call. */
  'wallet-request': WalletRequestPart;
  /** The simulation of a wallet transaction. */
  simulation: SimulationReport;
};

/** Metadata aomi sets on a message. */
export interface AomiMetadata {
  /** The answer was cut off (an error, a crash). */
  incomplete?: boolean;
}

/** A chat message as aomi sends it. */
export type AomiMessage = UIMessage<AomiMetadata, AomiDataParts>;

/** A part of a message. */
export type AomiPart = AomiMessage['parts'][number];

/** A chat of the history. */
export interface ChatSummary {
  id: string;
  owner?: string | null;
  app: string;
  title?: string | null;
  createdAt: string;
  updatedAt: string;
  archived?: boolean;
  running?: boolean;
}

/** A chat with its messages (GET /api/chats/{id}). */
export interface ChatDetail extends ChatSummary {
  messages: AomiMessage[];
}

/** A direct command the composer offers after `/`. */
export interface DirectCommand {
  name: string;
  description: string;
  /** How to call it, e.g. `/balance <address> [token]`. */
  usage?: string;
}
