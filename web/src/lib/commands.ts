// The server's direct commands (a message starting with `/` runs one tool without the model), as
// crates/aomi-tools/src/commands.rs defines them. GET /api/commands replaces this list once the
// server offers it.
import type { DirectCommand } from './types';

export const DIRECT_COMMANDS: DirectCommand[] = [
  { name: 'balance', usage: '/balance <address|ens> [network]', description: 'Native balance' },
  { name: 'token', usage: '/token <token> <owner> [network]', description: 'ERC20 balance' },
  { name: 'call', usage: '/call <address> "balanceOf(address)(uint256)" [args…]', description: 'Read a contract' },
  { name: 'encode', usage: '/encode "transfer(address,uint256)" [args…]', description: 'Calldata of a call' },
  { name: 'tx', usage: '/tx <hash> [network]', description: 'A transaction' },
  { name: 'receipt', usage: '/receipt <hash> [network]', description: 'A transaction’s receipt' },
  { name: 'block', usage: '/block [number|hash|latest] [network]', description: 'A block' },
  { name: 'gas', usage: '/gas [network]', description: 'Gas price' },
  { name: 'account', usage: '/account <address> [network]', description: 'Nonce, code, balance' },
  { name: 'ens', usage: '/ens <name>', description: 'Resolve an ENS name' },
  { name: 'lookup', usage: '/lookup <address>', description: 'The ENS name of an address' },
  { name: 'network', usage: '/network [name]', description: 'Switch this chat’s network (none: list them)' },
  { name: 'time', usage: '/time', description: 'The current time' },
  { name: 'help', usage: '/help', description: 'Every command, with examples' },
];
