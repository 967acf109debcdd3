// An external MCP server written with the official MCP SDK, for aomi's tests of its MCP client:
// started by a Rust test (a command of `[[mcp_servers]]`), it speaks MCP on stdin/stdout; with
// `--http` it serves MCP streamable HTTP on a free port of 127.0.0.1 instead (printing `listening on
// <url>`), and with AOMI_TEST_MCP_TOKEN set it refuses a request without that bearer token.
//
// Tools:
// - `lookup` {word}: answers the word reversed, with the nonce of AOMI_TEST_MCP_NONCE, so a test
//   can find this answer (and nothing it wrote itself) in what the model received.
// - `fail` {}: answers an MCP tool error.
// - `hang` {}: never answers (a test of aomi's tool timeout).
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const nonce = process.env.AOMI_TEST_MCP_NONCE ?? 'no-nonce';
function build() {
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
return server;
}

if (process.argv.includes('--http')) {
  const token = process.env.AOMI_TEST_MCP_TOKEN;
  const http = createServer(async (req, res) => {
    if (token && req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end('a bearer token is required');
      return;
    }
    // Stateless: a server and a transport per request.
    const server = build();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => { transport.close(); server.close(); });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  http.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${http.address().port}/mcp`));
} else {
  await build().connect(new StdioServerTransport());
}
