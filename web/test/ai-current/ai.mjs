// The current AI SDK major (this folder's node_modules), for the client tests.
export * from 'ai';
