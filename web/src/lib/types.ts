// The shapes aomi's server sends: UI messages with aomi's data parts, tool outputs, simulation
// reports (DESIGN.md §3) and history records.
import type { UIMessage } from 'ai';

/** What aomi's server tools return: machine data for the page and a sentence for people. */
export interface ToolOutput {
  data: unknown;
  summary?: string;
}

/** The kind of asset a change or an approval is about. */
export type AssetStandard = 'native' | 'erc20' | 'erc721' | 'erc1155';

/** An exact amount of an asset, as the server formats it. */
export interface AssetAmount {
  /** Base units, as a decimal string. */
  amount: string;
  decimals: number;
  symbol: string;
  /** For people: "0.000042 ETH". */
  formatted: string;
}

/** One balance change of a simulated transaction (the fee excluded). */
export interface AssetChange {
  /** Whose balance changes. */
  address: string;
  /** The token contract; null for the native coin. */
  token: string | null;
  standard: AssetStandard;
  /** The token id (ERC721, ERC1155). */
  tokenId?: string;
  /** As the chain reports it; null when the contract has none. */
  symbol: string | null;
  /** As the chain reports it; null when an ERC20 does not answer `decimals()`. */
  decimals: number | null;
  /** Signed base units, as a decimal string. */
  delta: string;
  /** The change for people: "-1.5 USDC", "+1 TCOL #7". */
  formatted: string;
}

/** An allowance or operator approval a simulated transaction sets. */
export interface Approval {
  owner: string;
  token: string;
  standard: AssetStandard;
  spender: string;
  /** Base units as a decimal string; null for an operator over every token or one ERC721 token. */
  amount: string | null;
  tokenId?: string;
  /** True when the spender may move any amount. */
  unlimited: boolean;
  /** False when the approval is revoked. */
  granted: boolean;
  symbol: string | null;
  decimals: number | null;
  /** For people: "100 USDC", "unlimited DAI", "every TCOL". */
  formatted: string;
}

/** A finding of the risk rules. */
export interface RiskWarning {
  id: string;
  level: 'info' | 'warning' | 'danger' | string;
  message: string;
}

/** What POST /api/simulate answers, and what a `data-simulation` part carries. */
export interface SimulationReport {
  chainId: number;
  blockNumber?: number | null;
  /** `eth_simulateV1`, or `eth_call` when the node cannot simulate. */
  method?: string;
  success: boolean;
  revert?: { reason: string; kind?: string; name?: string; args?: unknown; data?: string };
  gasUsed?: number | string | null;
  /** The gas price at simulation time, in wei (decimal string). */
  gasPrice?: string;
  /** Gas used times gas price, in the native coin. */
  estimatedFee?: AssetAmount | null;
  assetChanges: AssetChange[];
  approvals: Approval[];
  warnings: RiskWarning[];
  /** The wallet tool call this report belongs to (streamed reports only). */
  toolCallId?: string;
  /** The report in a few lines, as the model reads it (streamed reports only). */
  summary?: string;
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
  /** The answer was cut off (an error, a crash, a stop). */
  incomplete?: boolean;
  /** Its user stopped the answer (POST /api/chat/{id}/stop). */
  stopped?: boolean;
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
