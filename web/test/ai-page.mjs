// The AI SDK major the page uses (web/node_modules), for the client tests.
export * from 'ai';
