// An external MCP server written with the official MCP SDK, for aomi's tests of its MCP client:
// started by a Rust test (a command of `[[mcp_servers]]`), it speaks MCP on stdin/stdout.
//
// Tools:
// - `lookup` {word}: answers the word reversed, with the nonce of AOMI_TEST_MCP_NONCE, so a test
//   can find this answer (and nothing it wrote itself) in what the model received.
// - `fail` {}: answers an MCP tool error.
// - `hang` {}: never answers (a test of aomi's tool timeout).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const nonce = process.env.AOMI_TEST_MCP_NONCE ?? 'no-nonce';
const server = new McpServer({ name: 'aomi-test-server', version: '1.0.0' });

server.registerTool(
  'lookup',
  { description: 'Looks a word up.', inputSchema: { word: z.string().describe('the word') } },
  async ({ word }) => ({
    content: [{ type: 'text', text: `${word} reversed is ${[...word].reverse().join('')} (nonce ${nonce})` }],
  }),
);

server.registerTool('fail', { description: 'Always fails.' }, async () => ({
  isError: true,
  content: [{ type: 'text', text: `the test server refuses (nonce ${nonce})` }],
}));

server.registerTool('hang', { description: 'Never answers.' }, () => new Promise(() => {}));

await server.connect(new StdioServerTransport());
