// The shapes aomi's server sends: UI messages with aomi's data parts, tool outputs, simulation
// reports (DESIGN.md §3) and history records.
import type { UIMessage } from 'ai';
import type { components } from './api.gen';

/** What aomi's server tools return: machine data for the page and a sentence for people. */
export interface ToolOutput {
  data: unknown;
  summary?: string;
}

/** The server's schemas, generated from its OpenAPI document (`npm run generate:api`). */
type Schemas = components['schemas'];

/** The kind of asset a change or an approval is about. */
export type AssetStandard = Schemas['Standard'];

/** An exact amount of an asset, as the server formats it. */
export type AssetAmount = Schemas['Amount'];

/** One balance change of a simulated transaction (the fee excluded). */
export type AssetChange = Schemas['AssetChange'];

/** An allowance or operator approval a simulated transaction sets. */
export type Approval = Schemas['Approval'];

/** A finding of the risk rules. */
export type RiskWarning = Schemas['Warning'];

type Report = Schemas['SimulationReport'];

/** What POST /api/simulate answers, and what a `data-simulation` part carries. */
export interface SimulationReport extends Report {
  /** The wallet tool call this report belongs to (streamed reports only). */
  toolCallId?: string;
  /** The report in a few lines, as the model reads it (streamed reports only). */
  summary?: string;
}

/** A streamed simulation report (`data-simulation`, id: the wallet call's id). */
export type SimulationPart = Schemas['SimulationPart'];

/** The name of the wallet tool, the one call the page answers (the server's `WALLET_TOOL`). */
export type WalletToolName = Schemas['WalletToolName'];

/** The wallet tool's name; typed by the server's schema, so a rename there fails the page's build. */
export const WALLET_TOOL: WalletToolName = 'send_transaction_to_wallet';

/** The signature tool's name (the server's `SIGNATURE_TOOL`). */
export const SIGNATURE_TOOL: Schemas['SignatureToolName'] = 'request_signature';

/** What the server built for a signature call: what the wallet signs, and its review. */
export type SignatureRequest = Schemas['SignatureRequest'];

/** A field of typed data aomi does not recognise, as a tree. */
export type SignatureTree = Schemas['TreeNode'];

/** A token amount of a decoded signature, exact and formatted by the server. */
export type TokenAmountView = Schemas['TokenAmount'];

/** What each native tool returns as `data` (generated from the tools' output types). */
export interface ToolOutputs {
  get_current_time: Schemas['CurrentTime'];
  get_balance: Schemas['Balance'];
  get_token_balance: Schemas['TokenBalance'];
  get_account_info: Schemas['AccountInfo'];
  get_block: Schemas['BlockInfo'];
  get_gas_price: Schemas['GasPrice'];
  call_view_function: Schemas['ViewCall'];
  encode_function_call: Schemas['EncodedCall'];
  get_contract: Schemas['ContractSummary'];
  resolve_ens: Schemas['EnsRecord'];
  lookup_address: Schemas['EnsRecord'];
  switch_network: Schemas['NetworkChoice'];
  get_transaction: Schemas['TransactionInfo'];
  get_receipt: Schemas['ReceiptInfo'];
  send_transaction_to_wallet: Schemas['TransactionRequest'];
  request_signature: Schemas['SignatureRequest'];
}

/** The batch wallet tool: the page sends the chat's pending batch (the server's `SEND_BATCH_TOOL`). */
export const BATCH_TOOL = 'send_batch_to_wallet';

/** The chat's pending batch (GET /api/chats/{id}/batch, `data-pending-batch`). */
export type PendingBatch = Schemas['PendingBatch'];

/** What the server asks the wallet to send for `send_batch_to_wallet`. */
export type BatchRequest = Schemas['BatchRequest'];

/** A batch's simulation: each step's outcome and the net changes. */
export type BatchReport = Schemas['BatchReport'];

/** A contract call decoded with its ABI, as the review lists it (arguments in order, with types). */
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

/** The transaction the server built for the wallet (the wallet tool's output). */
export type TransactionRequest = Schemas['TransactionRequest'];

/** What the server built for a wallet call (`data-wallet-request`, id: the call's id). */
export type WalletRequestPart = Omit<Schemas['WalletRequestPart'], 'request'> & {
  request: TransactionRequest & {
    /** The simulation, when a stored request carries it. */
    simulation?: SimulationReport;
  };
};

/** The data parts aomi streams, by name (`data-<name>` on the wire). */
export type AomiDataParts = {
  /** A tool's live progress; transient: it reaches `onData`, never the message. */
  'tool-progress': Schemas['ToolProgressPart'];
  /** A turn that failed: the message the stream's `error` part carried. */
  error: { message: string };
  /** The model asks the page to switch the wallet's network. */
  network: Schemas['NetworkPart'];
  /** The transaction the server built for a wallet call. */
  'wallet-request': WalletRequestPart;
  /** The simulation of a wallet transaction. */
  simulation: SimulationPart;
  /** A contract's full ABI, for the page only (`get_contract`). */
  contract: Schemas['ContractAbiPart'];
  /** The known labels of the addresses in a tool's output, shown beside them. */
  labels: Schemas['LabelsPart'];
  /** The chat's pending batch after a change (staged, removed, sent). */
  'pending-batch': Schemas['PendingBatchPart'];
  /** A batch's simulation, each step in order and the net changes. */
  'batch-simulation': Schemas['BatchSimulationPart'];
  /** The spend guards' answer on a wallet request (blocked, or a second click in balanced mode). */
  guard: GuardPart;
  /** A plan-and-execute turn's steps and their live states (the batch app). */
  plan: Schemas['PlanPart'];
  /** A tree-search turn's branches, their live states and scores, and the one chosen (the explore app). */
  tree: Schemas['TreePart'];
};

/** The spend guards' answer on a wallet request (`data-guard`, id: the wallet call's id). */
export type GuardPart = Schemas['GuardPart'];

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
export type ChatSummary = Schemas['ChatSummary'];

/** A place of a chat where a message was edited or another answer asked for: the alternatives
 * there, `null` being the one shown. */
export type Fork = Schemas['Fork'];

/** A chat with its messages (GET /api/chats/{id}). */
export interface ChatDetail extends ChatSummary {
  messages: AomiMessage[];
  forks: Fork[];
}

/** A direct command the composer offers after `/`: the server's (with their usage), or one the page
 * handles itself (`/new`, `/theme`: no usage). */
export type DirectCommand = Omit<Schemas['Command'], 'usage'> & Partial<Pick<Schemas['Command'], 'usage'>>;

/** A network the server reads (GET /api/networks). */
export type NetworkInfo = Schemas['NetworkInfo'];

/** The answer of `GET /api/networks`: the networks the server reads and its default one. */
export type NetworkList = Schemas['NetworkList'];

/** A contract as the server's contract database holds it (GET /api/contracts/{chain}/{address}). */
export type ContractInfo = Schemas['Contract'];

/** Every error answer of the API: `{"error": {"code", "message"}}`. */
export type ErrorBody = Schemas['ErrorBody'];
